import { UnrecoverableError } from 'bullmq';
import { digestsFor } from '../src/digests/wiring.js';
import type { WorkerSpec } from './worker-spec.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const articleLifecycleWorker: WorkerSpec = {
  queue: 'article-lifecycle',
  concurrency: () => 2,
  processor: (container) => {
    const { lifecycle } = digestsFor(container);
    return async (job) => {
      const articleId = (job.data as { articleId?: unknown } | null)?.articleId;
      if (typeof articleId !== 'string' || !UUID.test(articleId))
        throw new UnrecoverableError(`bad payload: articleId ${JSON.stringify(articleId)}`);
      switch (job.name) {
        case 'published':
          return lifecycle.published(articleId);
        case 'changed':
          return lifecycle.changed(articleId);
        case 'withdrawn':
          return lifecycle.withdrawn(articleId);
        default:
          throw new UnrecoverableError(`no handler for job "${job.name}" on queue article-lifecycle`);
      }
    };
  },
};
