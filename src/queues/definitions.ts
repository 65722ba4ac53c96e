import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { type ConnectionOptions, type JobsOptions, Queue, UnrecoverableError } from 'bullmq';

const Uuid = Type.String({
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
  description: 'a UUID',
});
/** a bigserial row id */
const RowId = Type.Integer({
  minimum: 1,
  maximum: Number.MAX_SAFE_INTEGER,
  description: 'a positive integer',
});
const NoData = Type.Record(Type.String(), Type.Never());
const ArticleRef = Type.Object({ articleId: Uuid });
const EditionBatch = Type.Object({
  editionId: Uuid,
  batch: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'an integer >= 0' }),
});

/**
 * Every queue, its job names and payload schemas, in one place. Payloads carry ids only, never
 * rendered bodies or recipient lists: handlers re-read state from PostgreSQL.
 */
const PAYLOADS = {
  /** confirmation and welcome mail: never queued behind bulk digest traffic; sweep: rows a failed enqueue left */
  transactional: { send: Type.Object({ deliveryId: RowId }), sweep: NoData },
  /** stored CMS webhook events, processed after the 202; reprocess applies held events again */
  'article-events': { process: Type.Object({ eventId: RowId }), sweep: NoData, reprocess: NoData },
  /**
   * Domain events for the digest pipeline: an article became published (first time), changed
   * while published, or was withdrawn (unpublished or deleted).
   */
  'article-lifecycle': { published: ArticleRef, changed: ArticleRef, withdrawn: ArticleRef },
  /** feed polling, driven by job schedulers */
  feeds: { poll: Type.Object({ feedId: Type.String({ description: 'a feed id' }) }) },
  /** breaking alerts, ahead of all digest traffic */
  alerts: { fanout: ArticleRef, send: EditionBatch },
  /** planning and edition fan-out */
  digests: {
    plan: NoData,
    'build-edition': Type.Object({ editionId: Uuid }),
    'close-window': NoData,
    maintenance: NoData,
  },
  /** bulk sends: one job per persisted batch of ledger rows */
  send: { batch: EditionBatch },
  /** list imports: the staged rows' processing, then the paced confirmation mails (confirm mode) */
  imports: {
    run: Type.Object({ importId: Uuid }),
    sweep: NoData,
    mail: Type.Object({
      importId: Uuid,
      round: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'an integer >= 0' }),
    }),
  },
  /**
   * Bounce mail stored by the inbound listener, processed after its 250 (inbound); sweep: stored
   * mail whose job was lost; complaint-check: the complaint-rate guard's periodic measurement
   */
  bounces: { inbound: Type.Object({ mailId: RowId }), sweep: NoData, 'complaint-check': NoData },
  /** outgoing CMS webhooks: one job per (event, endpoint) row; sweep hands stored rows to the queue */
  webhooks: { deliver: Type.Object({ deliveryId: RowId }), sweep: NoData },
  /** list hygiene from engagement: the periodic re-permission run (src/engagement/) */
  engagement: { repermission: NoData },
} satisfies Record<string, Record<string, TSchema>>;

type PayloadSchemas = typeof PAYLOADS;
export type QueuePayloads = {
  [Q in keyof PayloadSchemas]: {
    [N in keyof PayloadSchemas[Q]]: PayloadSchemas[Q][N] extends TSchema
      ? Static<PayloadSchemas[Q][N]>
      : never;
  };
};

export type QueueName = keyof QueuePayloads;
export const QUEUE_NAMES: QueueName[] = [
  'transactional',
  'article-events',
  'article-lifecycle',
  'feeds',
  'alerts',
  'digests',
  'send',
  'imports',
  'bounces',
  'webhooks',
  'engagement',
];

export type JobName<Q extends QueueName> = keyof QueuePayloads[Q] & string;
export type Payload<Q extends QueueName, N extends JobName<Q>> = QueuePayloads[Q][N];

/**
 * A job's data checked against its payload schema. A payload that does not match will not
 * match on a retry either, so it fails the job for good, naming the field.
 */
export function parsePayload<Q extends QueueName, N extends JobName<Q>>(
  queue: Q,
  name: N,
  data: unknown,
): Payload<Q, N> {
  const schema = (PAYLOADS[queue] as Record<string, TSchema>)[name]!;
  if (Value.Check(schema, data)) return data as Payload<Q, N>;
  const error = Value.Errors(schema, data).First();
  const field = error?.path.slice(1).replace(/\//g, '.') || 'payload';
  const expected = error?.schema.description ? `must be ${error.schema.description}` : error?.message;
  const got = JSON.stringify(error?.value) ?? 'nothing';
  throw new UnrecoverableError(`bad payload for ${queue} ${name}: ${field} ${expected}, got ${got}`);
}

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
