import { type Processor, UnrecoverableError } from 'bullmq';
import type { Container } from '../src/container.js';
import { jobId, parsePayload } from '../src/queues/definitions.js';
import type { SchedulerSetup } from './schedulers.js';
import type { WorkerSpec } from './worker-spec.js';

/**
 * Outgoing CMS webhooks: one (event, endpoint) row per job. Retries are BullMQ's exponential
 * backoff (WEBHOOK_OUT_ATTEMPTS, WEBHOOK_OUT_RETRY_BASE_MS); the row's status lock makes a
 * duplicate job harmless. The sweep hands the queue every row it does not hold: new events (they
 * are written inside the change's transaction, where nothing can be enqueued) and those whose job
 * Redis lost.
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
        await queues.enqueue(
          'webhooks',
          'deliver',
          { deliveryId },
          {
            jobId: id,
            attempts: config.WEBHOOK_OUT_ATTEMPTS,
            backoff: { type: 'exponential', delay: config.WEBHOOK_OUT_RETRY_BASE_MS },
          },
        );
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
