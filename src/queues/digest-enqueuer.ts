import type { JobState } from 'bullmq';
import type { Enqueuer, Lane } from '../digests/types.js';
import { jobId, type Queues } from './definitions.js';

/** Job states after which a job will not run again by itself. */
const FINISHED = new Set<JobState | 'unknown'>(['completed', 'failed']);

/** The digest domain's Enqueuer over the typed queues: batch jobs, planner wake-ups, fan-outs. */
export function createDigestEnqueuer(
  queues: Pick<Queues, 'enqueue' | 'enqueueBulk' | 'get'>,
  now: () => Date,
): Enqueuer {
  async function addBatches(lane: Lane, editionId: string, ids: Array<[number, string]>): Promise<void> {
    if (ids.length === 0) return;
    const jobs = ids.map(([batch, id]) => ({ data: { editionId, batch }, opts: { jobId: id } }));
    if (lane === 'alerts')
      await queues.enqueueBulk(
        'alerts',
        jobs.map((j) => ({ name: 'send' as const, ...j })),
      );
    else
      await queues.enqueueBulk(
        'send',
        jobs.map((j) => ({ name: 'batch' as const, ...j })),
      );
  }

  return {
    async sendBatches(lane, editionId, batches, retry) {
      const id = (batch: number) =>
        retry ? jobId('send', editionId, batch, retry) : jobId('send', editionId, batch);
      await addBatches(
        lane,
        editionId,
        batches.map((b) => [b, id(b)]),
      );
    },
    async repairBatches(lane, editionId, batches) {
      // Each batch has two ids: its canonical one and one repair id. The repair id is reused (its
      // finished job removed first), so repeated maintenance never piles up jobs for one batch.
      const queue = queues.get(lane);
      const live = (s: JobState | 'unknown') => s !== 'unknown' && !FINISHED.has(s);
      // all states asked at once: ioredis pipelines them on its one connection
      const decided = await Promise.all(
        batches.map(async (batch): Promise<[number, string] | null> => {
          const canonical = jobId('send', editionId, batch);
          const repair = jobId('send', editionId, batch, 'repair');
          const [first, again] = await Promise.all([queue.getJobState(canonical), queue.getJobState(repair)]);
          if (live(first) || live(again)) return null;
          if (first === 'unknown') return [batch, canonical];
          if (again !== 'unknown') await queue.remove(repair);
          return [batch, repair];
        }),
      );
      const enqueued = decided.filter((d): d is [number, string] => d !== null);
      await addBatches(lane, editionId, enqueued);
      return enqueued.map(([b]) => b);
    },
    async planAt(at) {
      // one wake-up per instant, however many events asked for it
      await queues.enqueue(
        'digests',
        'plan',
        {},
        { jobId: jobId('plan-at', at.getTime()), delay: Math.max(0, at.getTime() - now().getTime()) },
      );
    },
    async fanoutAlert(articleId) {
      // the edition key makes a repeated fan-out harmless; a fresh id lets maintenance re-kick one
      await queues.enqueue(
        'alerts',
        'fanout',
        { articleId },
        { jobId: jobId('fanout', articleId, Date.now()) },
      );
    },
    async buildRun(editionId) {
      await queues.enqueue(
        'digests',
        'build-edition',
        { editionId },
        { jobId: jobId('build', editionId, Date.now()) },
      );
    },
  };
}
