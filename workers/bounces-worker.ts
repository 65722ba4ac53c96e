import type { Container } from '../src/container.js';
import { parsePayload } from '../src/queues/definitions.js';
import type { WorkerSpec } from './worker-spec.js';

/**
 * Mail the inbound listener stored (reports, unsubscribes), the sweep of stored mail whose job was
 * lost, and the complaint-rate guard's periodic measurement.
 */
export const bouncesWorker: WorkerSpec = {
  queue: 'bounces',
  concurrency: () => 8,
  processor: (container: Container) => async (job) => {
    if (job.name === 'complaint-check') {
      const s = await container.complaintGuard.check();
      return { level: s.level, complaints: s.complaints, sent: s.sent };
    }
    if (job.name === 'sweep') {
      const result = await container.inboundProcessor.sweep();
      if (result.requeued || result.pruned) container.log.info(result, 'inbound mail sweep');
      return result;
    }
    const { mailId } = parsePayload('bounces', 'inbound', job.data);
    const outcome = await container.inboundProcessor.process(mailId);
    container.log.info({ jobId: job.id, mailId, outcome }, 'inbound mail processed');
    return { outcome };
  },
};
