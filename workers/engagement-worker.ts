import type { Processor } from 'bullmq';
import type { Container } from '../src/container.js';
import { parsePayload } from '../src/queues/definitions.js';
import type { SchedulerSetup } from './schedulers.js';
import type { WorkerSpec } from './worker-spec.js';

/**
 * The re-permission run (src/engagement/): pauses rounds past their grace, asks readers with no
 * human click for the period. Each reader's round row is the guard, so a repeated run mails nobody
 * twice; the mails themselves go through the transactional queue like every other ledger row.
 */
export function engagementProcessor(container: Container): Processor {
  return async (job) => {
    parsePayload('engagement', 'repermission', job.data);
    return container.repermission.run();
  };
}

export const engagementWorker: WorkerSpec = {
  queue: 'engagement',
  concurrency: () => 1,
  processor: engagementProcessor,
};

/** Hourly: the period and the grace are days, so an hour's lateness does not matter. */
export const engagementScheduler: SchedulerSetup = async ({ queues }) => {
  await queues
    .get('engagement')
    .upsertJobScheduler('repermission', { every: 3_600_000 }, { name: 'repermission', data: {} });
};
