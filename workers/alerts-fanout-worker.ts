import { type Processor, UnrecoverableError } from 'bullmq';
import type { Container } from '../src/container.js';
import { digestsFor } from '../src/digests/wiring.js';
import { alertsWorker, batchProcessor, dispatchByName } from './send-worker.js';
import type { WorkerSpec } from './worker-spec.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `alerts` `fanout`: one breaking article to every alert reader of its language. */
export function alertFanoutProcessor(container: Container): Processor {
  const { alerts } = digestsFor(container);
  return async (job) => {
    const articleId = (job.data as { articleId?: unknown } | null)?.articleId;
    if (typeof articleId !== 'string' || !UUID.test(articleId))
      throw new UnrecoverableError(`bad payload: articleId ${JSON.stringify(articleId)}`);
    return alerts.fanout(articleId);
  };
}

/** The one Worker of the `alerts` queue: the delivery side's `send` plus our `fanout`. */
export const alertsWithFanoutWorker: WorkerSpec = {
  ...alertsWorker,
  processor: dispatchByName({ send: batchProcessor, fanout: alertFanoutProcessor }),
};
