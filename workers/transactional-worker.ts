import { type Processor, UnrecoverableError } from 'bullmq';
import type { Container } from '../src/container.js';
import { createTransactionalSender } from '../src/delivery/transactional-sender.js';
import type { Payload } from '../src/queues/definitions.js';
import type { WorkerSpec } from './worker-spec.js';

/** Confirmation and welcome mail: one ledger row per job. */
export function transactionalProcessor(container: Container): Processor {
  const sender = createTransactionalSender(container);
  return async (job) => {
    const { deliveryId } = job.data as Payload<'transactional', 'send'>;
    if (!Number.isSafeInteger(deliveryId) || deliveryId <= 0)
      throw new UnrecoverableError(`bad payload: deliveryId ${String(deliveryId)}`);
    const result = await sender.send(deliveryId);
    switch (result.outcome) {
      case 'done':
        return result.state;
      case 'failed':
        throw new UnrecoverableError(result.error);
      case 'paused':
        throw new Error(`sending paused: ${result.error}`);
      default:
        throw new Error(result.error);
    }
  };
}

export const transactionalWorker: WorkerSpec = {
  queue: 'transactional',
  concurrency: (c) => c.config.SEND_CONCURRENCY,
  processor: transactionalProcessor,
};
