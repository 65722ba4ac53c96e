import { type Processor, UnrecoverableError } from 'bullmq';
import type { Container } from '../src/container.js';
import { jobId, parsePayload } from '../src/queues/definitions.js';
import type { SchedulerSetup } from './schedulers.js';
import type { WorkerSpec } from './worker-spec.js';

function processor(container: Container): Processor {
  const { digests, log } = container;
  return async (job) => {
    switch (job.name) {
      case 'plan':
      // a window close is just a planner run at that instant: it plans whoever is due
      case 'close-window': {
        const r = await digests.planner.plan();
        return { readers: r.readers, editions: r.editions.length, rows: r.rows, expired: r.expired };
      }
      case 'build-edition': {
        const { editionId } = parsePayload('digests', 'build-edition', job.data);
        const r = await digests.operator.buildRun(editionId);
        log.info({ jobId: job.id, editionId, rows: r.rows }, 'operator run fanned out');
        return r;
      }
      case 'maintenance':
        return digests.maintenance.run();
      default:
        throw new UnrecoverableError(`no handler for job "${job.name}" on queue digests`);
    }
  };
}

export const digestsWorker: WorkerSpec = {
  queue: 'digests',
  // planners run concurrently without harm (SKIP LOCKED); two keep a long fan-out from blocking a tick
  concurrency: () => 2,
  processor,
};

/** The planner tick and maintenance, as job schedulers: any number of worker processes share them. */
export const digestSchedulers: SchedulerSetup = async ({ queues, config }) => {
  const queue = queues.get('digests');
  await queue.upsertJobScheduler(
    'planner',
    { every: config.PLANNER_INTERVAL_SECONDS * 1000 },
    { name: 'plan', data: {} },
  );
  await queue.upsertJobScheduler(
    'digests-maintenance',
    { every: config.MAINTENANCE_INTERVAL_SECONDS * 1000 },
    { name: 'maintenance', data: {} },
  );
  // and once now: a worker starting after a crash repairs the batches the crash left without a
  // job at once, not at the next tick (up to MAINTENANCE_INTERVAL_SECONDS later)
  await queues.enqueue('digests', 'maintenance', {}, { jobId: jobId('maintenance-start', Date.now()) });
};
