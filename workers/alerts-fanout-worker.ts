import type { Processor } from 'bullmq';
import type { Container } from '../src/container.js';
import { parsePayload } from '../src/queues/definitions.js';
import { alertsWorker, batchProcessor, dispatchByName } from './send-worker.js';
import type { WorkerSpec } from './worker-spec.js';

/** `alerts` `fanout`: one breaking article to every alert reader of its language. */
export function alertFanoutProcessor(container: Container): Processor {
  const { alerts } = container.digests;
  return async (job) => {
    const { articleId } = parsePayload('alerts', 'fanout', job.data);
    return alerts.fanout(articleId);
  };
}

/** The one Worker of the `alerts` queue: the delivery side's `send` plus our `fanout`. */
export const alertsWithFanoutWorker: WorkerSpec = {
  ...alertsWorker,
  processor: dispatchByName({ send: batchProcessor, fanout: alertFanoutProcessor }),
};
