import { UnrecoverableError } from 'bullmq';
import type { Container } from '../src/container.js';
import { parsePayload } from '../src/queues/definitions.js';
import type { WorkerSpec } from './worker-spec.js';

/** Applies stored CMS events and repairs what a crash left (sweep). */
export const articleEventsWorker: WorkerSpec = {
  queue: 'article-events',
  concurrency: () => 4,
  processor: (container: Container) => async (job) => {
    const ingest = container.ingest;
    if (job.name === 'sweep') return { requeued: await ingest.sweep() };
    if (job.name === 'reprocess') {
      const result = await ingest.reprocessHeld();
      container.log.info({ jobId: job.id, ...result }, 'held article events applied again');
      return result;
    }
    const { eventId } = parsePayload('article-events', 'process', job.data);
    const result = await ingest.process(eventId);
    container.log.info(
      {
        jobId: job.id,
        eventId,
        articleId: result?.articleId,
        lifecycle: result?.lifecycle,
        skipped: result?.skipped,
      },
      result?.failed ? 'article event failed permanently' : 'article event applied',
    );
    // recorded on the event row (GET /api/v1/article-events); retrying cannot change it
    if (result?.failed) throw new UnrecoverableError(result.failed);
    return result;
  },
};
