import { DelayedError, type Job, type Processor, UnrecoverableError } from 'bullmq';
import type { Container } from '../src/container.js';
import type { BatchResult } from '../src/delivery/batch-sender.js';
import { parsePayload } from '../src/queues/definitions.js';
import type { WorkerSpec } from './worker-spec.js';

/** Maps a batch outcome to BullMQ: return, throw to retry, delay without spending an attempt. */
async function toBullmq(job: Job, token: string | undefined, result: BatchResult): Promise<unknown> {
  switch (result.status) {
    case 'done':
      return { ...result.counts, editionSent: result.edition !== null };
    case 'skipped':
      return { skipped: result.reason };
    case 'expired':
      return { ...result.counts, expired: result.failedRows };
    case 'retry':
      throw new Error(result.error);
    case 'gave-up':
      throw new UnrecoverableError(`gave up: ${result.error}`);
    case 'paused':
    case 'busy':
    case 'throttled':
    case 'interrupted': {
      // The queue is paused (the job waits in it until resume), another live attempt holds rows,
      // or this worker is shutting down (the next worker takes the job at once): look again
      // later; or its rows left wait on throttled providers. None is a failure of this job, so
      // no attempt is spent.
      const delay =
        result.status === 'busy' || result.status === 'throttled'
          ? result.retryInMs
          : result.status === 'paused'
            ? 1000
            : 0;
      await job.moveToDelayed(Date.now() + delay, token);
      throw new DelayedError();
    }
  }
}

export function batchProcessor(container: Container): Processor {
  const { batchSender: sender, log } = container;
  return async (job, token) => {
    const { editionId, batch } =
      job.queueName === 'alerts'
        ? parsePayload('alerts', 'send', job.data)
        : parsePayload('send', 'batch', job.data);
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

/**
 * On shutdown the batches in progress stop claiming and hand back what they have not sent, within
 * SHUTDOWN_TIMEOUT_MS (send-attempt.ts splits it between SMTP replies, outcome writes and closing),
 * so the process exits before the timeout kills it.
 */
function drainSends(container: Container): void {
  container.batchSender.drain(container.config.SHUTDOWN_TIMEOUT_MS);
}

/** While the relay is unreachable, probe it and resume sending once it answers (relay-watch.ts). */
function watchRelay(container: Container): () => void {
  return container.relayWatch.start();
}

export const sendWorker: WorkerSpec = {
  queue: 'send',
  drain: drainSends,
  start: watchRelay,
  // each job keeps SEND_CONCURRENCY messages in flight; two of them at full speed keep the SMTP
  // pool busy across the short gaps between chunks, the others send only throttled or
  // connection-limited providers' rows meanwhile (delivery/batch-lanes.ts)
  concurrency: (c) => c.config.SEND_BATCH_JOBS,
  processor: dispatchByName({ batch: batchProcessor }),
};

/** `alerts`: add the planner's fanout handler here (`fanout: alertFanoutProcessor`). */
export const alertsWorker: WorkerSpec = {
  queue: 'alerts',
  drain: drainSends,
  start: watchRelay,
  concurrency: () => 2,
  processor: dispatchByName({ send: batchProcessor }),
};
