import type { Enqueuer } from '../digests/types.js';
import { jobId, type Queues } from './definitions.js';

/** The digest domain's Enqueuer over the typed queues: batch jobs, planner wake-ups, fan-outs. */
export function createDigestEnqueuer(
  queues: Pick<Queues, 'enqueue' | 'enqueueBulk'>,
  now: () => Date,
): Enqueuer {
  return {
    async sendBatches(lane, editionId, batches, retry) {
      if (batches.length === 0) return;
      const id = (batch: number) =>
        retry ? jobId('send', editionId, batch, retry) : jobId('send', editionId, batch);
      if (lane === 'alerts') {
        await queues.enqueueBulk(
          'alerts',
          batches.map((batch) => ({
            name: 'send' as const,
            data: { editionId, batch },
            opts: { jobId: id(batch) },
          })),
        );
      } else {
        await queues.enqueueBulk(
          'send',
          batches.map((batch) => ({
            name: 'batch' as const,
            data: { editionId, batch },
            opts: { jobId: id(batch) },
          })),
        );
      }
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
