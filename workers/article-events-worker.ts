import type { Container } from '../src/container.js';
import type { WorkerSpec } from './worker-spec.js';

/** Applies stored CMS events and repairs what a crash left (sweep). */
export const articleEventsWorker: WorkerSpec = {
  queue: 'article-events',
  concurrency: () => 4,
  processor: (container: Container) => async (job) => {
    const ingest = container.ingest;
    if (job.name === 'sweep') return { requeued: await ingest.sweep() };
    const eventId = Number((job.data as { eventId?: unknown }).eventId);
    if (!Number.isInteger(eventId)) throw new Error(`job ${job.id}: eventId missing`);
    const result = await ingest.process(eventId);
    container.log.info(
      {
        jobId: job.id,
        eventId,
        articleId: result?.articleId,
        lifecycle: result?.lifecycle,
        skipped: result?.skipped,
      },
      'article event applied',
    );
    return result;
  },
};
