import { DelayedError, type Job, type Processor, UnrecoverableError } from 'bullmq';
import type { Container } from '../src/container.js';
import { type BatchResult, type BatchSender, createBatchSender } from '../src/delivery/batch-sender.js';
import { createHandoffLog } from '../src/delivery/handoff-log.js';
import { createSendingPause } from '../src/delivery/sending-pause.js';
import type { WorkerSpec } from './worker-spec.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One batch sender per container: the workers of `send` and `alerts` share its edition cache. */
const senders = new WeakMap<Container, BatchSender>();

export function batchSenderFor(container: Container): BatchSender {
  let sender = senders.get(container);
  if (!sender) {
    const { config } = container;
    sender = createBatchSender({
      ...container,
      bucket: container.sendBucket,
      handoffs: createHandoffLog(container.redis, config.QUEUE_PREFIX),
      pause: createSendingPause({ ...container, queuePrefix: config.QUEUE_PREFIX }),
      alertsPending: alertsPendingProbe(container),
    });
    senders.set(container, sender);
  }
  return sender;
}

/** Reads the alerts queue's depth at most every 100 ms, however many batches ask. */
function alertsPendingProbe(container: Container): () => Promise<boolean> {
  const alerts = container.queues.get('alerts');
  let checkedAt = 0;
  let pending = false;
  let inflight: Promise<boolean> | undefined;
  return async () => {
    if (performance.now() - checkedAt < 100) return pending;
    inflight ??= alerts
      .getJobCounts('active', 'waiting', 'prioritized')
      .then((c) => (c.active ?? 0) + (c.waiting ?? 0) + (c.prioritized ?? 0) > 0)
      .catch(() => false) // never hold digests back because Redis answered badly
      .then((p) => {
        pending = p;
        checkedAt = performance.now();
        inflight = undefined;
        return p;
      });
    return inflight;
  };
}

function validPayload(data: unknown): { editionId: string; batch: number } {
  const { editionId, batch } = (data ?? {}) as { editionId?: unknown; batch?: unknown };
  if (typeof editionId !== 'string' || !UUID.test(editionId))
    throw new UnrecoverableError(`bad payload: editionId ${JSON.stringify(editionId)}`);
  if (typeof batch !== 'number' || !Number.isSafeInteger(batch) || batch < 0)
    throw new UnrecoverableError(`bad payload: batch ${JSON.stringify(batch)}`);
  return { editionId, batch };
}

/** Maps a batch outcome to BullMQ: return, throw to retry, delay without spending an attempt. */
async function toBullmq(job: Job, token: string | undefined, result: BatchResult): Promise<unknown> {
  switch (result.status) {
    case 'done':
      return { ...result.counts, editionSent: result.edition !== null };
    case 'skipped':
      return { skipped: result.reason };
    case 'retry':
      throw new Error(result.error);
    case 'gave-up':
      throw new UnrecoverableError(`gave up: ${result.error}`);
    case 'paused':
    case 'busy': {
      // The queue is paused (the job waits in it until resume) or another live attempt holds
      // rows: look again later. Neither is a failure of this job, so no attempt is spent.
      const delay = result.status === 'busy' ? result.retryInMs : 1000;
      await job.moveToDelayed(Date.now() + delay, token);
      throw new DelayedError();
    }
  }
}

export function batchProcessor(container: Container): Processor {
  const sender = batchSenderFor(container);
  const { log } = container;
  return async (job, token) => {
    const { editionId, batch } = validPayload(job.data);
    const attempt = {
      attempt: job.attemptsMade + 1,
      maxAttempts: job.opts.attempts ?? 1,
      lane: job.queueName === 'alerts' ? ('alerts' as const) : ('bulk' as const),
    };
    const result = await sender.sendBatch(editionId, batch, attempt);
    log.debug({ queue: job.queueName, jobId: job.id, editionId, batch, status: result.status }, 'send job');
    return toBullmq(job, token, result);
  };
}

/**
 * Serves several job names on one queue (one Worker per queue): `alerts` carries the planner's
 * `fanout` and our `send`. An unknown name fails for good instead of looping.
 */
export function dispatchByName(handlers: Record<string, (c: Container) => Processor>) {
  return (container: Container): Processor => {
    const built = Object.fromEntries(Object.entries(handlers).map(([name, make]) => [name, make(container)]));
    return async (job, token, signal) => {
      const handler = built[job.name];
      if (!handler)
        throw new UnrecoverableError(`no handler for job "${job.name}" on queue ${job.queueName}`);
      return handler(job, token, signal);
    };
  };
}

export const sendWorker: WorkerSpec = {
  queue: 'send',
  // each job keeps SEND_CONCURRENCY messages in flight; two jobs keep the SMTP pool busy across
  // the short gaps between chunks
  concurrency: () => 2,
  processor: dispatchByName({ batch: batchProcessor }),
};

/** `alerts`: add the planner's fanout handler here (`fanout: alertFanoutProcessor`). */
export const alertsWorker: WorkerSpec = {
  queue: 'alerts',
  concurrency: () => 2,
  processor: dispatchByName({ send: batchProcessor }),
};
