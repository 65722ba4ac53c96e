import { type ConnectionOptions, type JobsOptions, Queue } from 'bullmq';

/**
 * Every queue, its job names and payloads, in one place. Payloads carry ids only, never
 * rendered bodies or recipient lists: handlers re-read state from PostgreSQL.
 */
export interface QueuePayloads {
  /** confirmation and welcome mail: never queued behind bulk digest traffic */
  transactional: { send: { deliveryId: number } };
  /** stored CMS webhook events, processed after the 202 */
  'article-events': { process: { eventId: number }; sweep: Record<string, never> };
  /**
   * Domain events for the digest pipeline: an article became published (first time), changed
   * while published, or was withdrawn (unpublished or deleted).
   */
  'article-lifecycle': {
    published: { articleId: string };
    changed: { articleId: string };
    withdrawn: { articleId: string };
  };
  /** feed polling, driven by job schedulers */
  feeds: { poll: { feedId: string } };
  /** breaking alerts, ahead of all digest traffic */
  alerts: { fanout: { articleId: string }; send: { editionId: string; batch: number } };
  /** planning and edition fan-out */
  digests: {
    plan: Record<string, never>;
    'build-edition': { editionId: string };
    'close-window': { subscriberId: string };
    maintenance: Record<string, never>;
  };
  /** bulk sends: one job per persisted batch of ledger rows */
  send: { batch: { editionId: string; batch: number } };
}

export type QueueName = keyof QueuePayloads;
export const QUEUE_NAMES: QueueName[] = [
  'transactional',
  'article-events',
  'article-lifecycle',
  'feeds',
  'alerts',
  'digests',
  'send',
];

export type JobName<Q extends QueueName> = keyof QueuePayloads[Q] & string;
export type Payload<Q extends QueueName, N extends JobName<Q>> = QueuePayloads[Q][N];

/** BullMQ job ids must not contain ':'; ours are built from ids joined with '-'. */
export function jobId(...parts: Array<string | number>): string {
  return parts.map((p) => String(p).replace(/:/g, '-')).join('-');
}

export class UnknownQueueError extends Error {
  override name = 'UnknownQueueError';
}

export interface Queues {
  enqueue<Q extends QueueName, N extends JobName<Q>>(
    queue: Q,
    name: N,
    data: Payload<Q, N>,
    opts?: JobsOptions,
  ): Promise<void>;
  enqueueBulk<Q extends QueueName, N extends JobName<Q>>(
    queue: Q,
    jobs: Array<{ name: N; data: Payload<Q, N>; opts?: JobsOptions }>,
  ): Promise<void>;
  get(queue: QueueName): Queue;
  all(): Queue[];
  close(): Promise<void>;
}

const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** Producers: one Queue per name, sharing the caller's connection options and prefix. */
export function createQueues(connection: ConnectionOptions, prefix: string, names = QUEUE_NAMES): Queues {
  const queues = new Map<QueueName, Queue>();
  for (const name of names) {
    queues.set(name, new Queue(name, { connection, prefix, defaultJobOptions: DEFAULT_JOB_OPTIONS }));
  }
  const get = (name: QueueName): Queue => {
    const q = queues.get(name);
    if (!q) throw new UnknownQueueError(`queue "${name}" was never set up`);
    return q;
  };
  return {
    async enqueue(queue, name, data, opts) {
      await get(queue).add(name, data, opts);
    },
    async enqueueBulk(queue, jobs) {
      if (jobs.length === 0) return;
      await get(queue).addBulk(jobs.map((j) => ({ name: j.name, data: j.data, opts: j.opts })));
    },
    get,
    all: () => [...queues.values()],
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}
