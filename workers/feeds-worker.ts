import type { Container } from '../src/container.js';
import { parsePayload } from '../src/queues/definitions.js';
import type { WorkerSpec } from './worker-spec.js';

export const feedsWorker: WorkerSpec = {
  queue: 'feeds',
  concurrency: () => 2,
  processor: (container: Container) => async (job) => {
    const { feedId } = parsePayload('feeds', 'poll', job.data);
    const result = await container.feedPoller.poll(feedId);
    container.log.info({ jobId: job.id, feedId, ...result, skipped: result?.skipped.length }, 'feed polled');
    return result;
  },
};
