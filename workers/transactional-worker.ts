import { type Processor, UnrecoverableError } from 'bullmq';
import type { Container } from '../src/container.js';
import { parsePayload } from '../src/queues/definitions.js';
import type { WorkerSpec } from './worker-spec.js';

/** Confirmation and welcome mail: one ledger row per job. */
export function transactionalProcessor(container: Container): Processor {
  const sender = container.transactionalSender;
  return async (job) => {
    if (job.name === 'sweep') return { requeued: await container.owedWork.transactional() };
    const { deliveryId } = parsePayload('transactional', 'send', job.data);
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
