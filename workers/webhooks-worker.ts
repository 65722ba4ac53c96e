import { type Processor, UnrecoverableError } from 'bullmq';
import type { Config } from '../src/config.js';
import type { Container } from '../src/container.js';
import { listenForDeliveries } from '../src/outbox/delivery-listener.js';
import { jobId, parsePayload } from '../src/queues/definitions.js';
import type { SchedulerSetup } from './schedulers.js';
import type { WorkerSpec } from './worker-spec.js';

/** One delivery row's job; its id is the row's, so a second enqueue of a live job is a no-op. */
function deliverJob(
  config: Pick<Config, 'WEBHOOK_OUT_ATTEMPTS' | 'WEBHOOK_OUT_RETRY_BASE_MS'>,
  deliveryId: number,
) {
  return {
    name: 'deliver' as const,
    data: { deliveryId },
    opts: {
      jobId: jobId('webhook', deliveryId),
      attempts: config.WEBHOOK_OUT_ATTEMPTS,
      backoff: { type: 'exponential', delay: config.WEBHOOK_OUT_RETRY_BASE_MS },
    },
  };
}

/**
 * Outgoing CMS webhooks: one (event, endpoint) row per job. Retries are BullMQ's exponential
 * backoff (WEBHOOK_OUT_ATTEMPTS, WEBHOOK_OUT_RETRY_BASE_MS); the row's status lock makes a
 * duplicate job harmless. New rows are enqueued as their transaction commits (the listener
 * started below); the sweep hands the queue every row it does not hold: those whose notification
 * no listener heard, and those whose job Redis lost.
 */
export function webhooksProcessor(container: Container): Processor {
  const { webhookSender, queues, config } = container;
  const queue = queues.get('webhooks');
  return async (job) => {
    if (job.name === 'sweep') {
      let enqueued = 0;
      for (const deliveryId of await webhookSender.owed()) {
        const id = jobId('webhook', deliveryId);
        const existing = await queue.getJob(id);
        if (existing) {
          const state = await existing.getState();
          // a live job (waiting, delayed for its backoff, active) has it; a finished one is stale
          if (state !== 'completed' && state !== 'failed') continue;
          await existing.remove();
        }
        const job = deliverJob(config, deliveryId);
        await queues.enqueue('webhooks', job.name, job.data, job.opts);
        enqueued++;
      }
      return { enqueued };
    }
    const { deliveryId } = parsePayload('webhooks', 'deliver', job.data);
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const result = await webhookSender.deliver(deliveryId, lastAttempt);
    switch (result.outcome) {
      case 'retry':
        throw new Error(result.error);
      case 'failed':
        throw new UnrecoverableError(result.error);
      default:
        return result.outcome;
    }
  };
}

export const webhooksWorker: WorkerSpec = {
  queue: 'webhooks',
  concurrency: () => 4,
  processor: webhooksProcessor,
  // delivery at commit: the rows' trigger notifies, this process enqueues (src/outbox/delivery-listener.ts)
  start: ({ config, queues, log }) => {
    const listener = listenForDeliveries({
      connectionString: config.DATABASE_URL,
      log: log.child({ component: 'webhooks' }),
      onIds: (ids) =>
        queues.enqueueBulk(
          'webhooks',
          ids.map((id) => deliverJob(config, id)),
        ),
    });
    return () => listener.stop();
  },
};

export const webhooksSweepScheduler: SchedulerSetup = async ({ queues, config }) => {
  await queues
    .get('webhooks')
    .upsertJobScheduler(
      'webhooks-sweep',
      { every: config.WEBHOOK_OUT_SWEEP_INTERVAL_MS },
      { name: 'sweep', data: {}, opts: { attempts: 1 } },
    );
};
