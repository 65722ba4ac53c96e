import { UnrecoverableError } from 'bullmq';
import { parsePayload } from '../src/queues/definitions.js';
import type { WorkerSpec } from './worker-spec.js';

export const articleLifecycleWorker: WorkerSpec = {
  queue: 'article-lifecycle',
  concurrency: () => 2,
  processor: (container) => {
    const { lifecycle } = container.digests;
    return async (job) => {
      switch (job.name) {
        case 'published':
          return lifecycle.published(parsePayload('article-lifecycle', 'published', job.data).articleId);
        case 'changed':
          return lifecycle.changed(parsePayload('article-lifecycle', 'changed', job.data).articleId);
        case 'withdrawn':
          return lifecycle.withdrawn(parsePayload('article-lifecycle', 'withdrawn', job.data).articleId);
        default:
          throw new UnrecoverableError(`no handler for job "${job.name}" on queue article-lifecycle`);
      }
    };
  },
};
