import type { Processor } from 'bullmq';
import type { Container } from '../src/container.js';
import { parsePayload } from '../src/queues/definitions.js';
import type { WorkerSpec } from './worker-spec.js';

/**
 * List imports: settle the staged rows of one import, send one paced round of its confirmations,
 * or requeue the jobs of open imports (the sweep).
 */
export function importsProcessor(container: Container): Processor {
  const imports = container.imports;
  return async (job) => {
    if (job.name === 'sweep') return { requeued: await imports.requeueOpen() };
    if (job.name === 'mail') {
      const { importId } = parsePayload('imports', 'mail', job.data);
      return imports.mailRound(importId);
    }
    const { importId } = parsePayload('imports', 'run', job.data);
    try {
      const state = await imports.run(importId);
      container.log.info({ importId, state }, 'import job finished');
      return state;
    } catch (err) {
      // the last attempt: the import says so, instead of staying "running" for ever
      if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1))
        await imports.fail(importId, (err as Error).message);
      throw err;
    }
  };
}

export const importsWorker: WorkerSpec = {
  queue: 'imports',
  // one import at a time per process: each is a long run of bulk statements
  concurrency: () => 1,
  processor: importsProcessor,
};
