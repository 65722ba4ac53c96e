import type { Container } from '../src/container.js';
import type { WorkerSpec } from './worker-spec.js';

/** The complaint-rate guard's periodic measurement. */
export const bouncesWorker: WorkerSpec = {
  queue: 'bounces',
  concurrency: () => 4,
  processor: (container: Container) => async (job) => {
    if (job.name === 'complaint-check') {
      const s = await container.complaintGuard.check();
      return { level: s.level, complaints: s.complaints, sent: s.sent };
    }
    throw new Error(`unknown bounces job ${job.name}`);
  },
};
