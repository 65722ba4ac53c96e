import { createHash } from 'node:crypto';
import type { Container } from '../src/container.js';
import { jobId } from '../src/queues/definitions.js';

export type SchedulerSetup = (container: Container) => Promise<void>;

/** One BullMQ job scheduler per configured feed; schedulers of feeds removed from the config go. */
export const feedSchedulers: SchedulerSetup = async ({ queues, feedPoller }) => {
  const queue = queues.get('feeds');
  const wanted = new Map(feedPoller.feeds().map((f) => [`feed-${f.id}`, f]));
  for (const existing of await queue.getJobSchedulers()) {
    if (existing.key.startsWith('feed-') && !wanted.has(existing.key))
      await queue.removeJobScheduler(existing.key);
  }
  for (const [key, feed] of wanted) {
    await queue.upsertJobScheduler(key, { every: feed.everyMs }, { name: 'poll', data: { feedId: feed.id } });
  }
};

/** Re-enqueues stored CMS events that a crash or a Redis outage left unprocessed. */
export const articleSweepScheduler: SchedulerSetup = async ({ queues }) => {
  await queues
    .get('article-events')
    .upsertJobScheduler('article-events-sweep', { every: 60_000 }, { name: 'sweep', data: {} });
};

/**
 * Re-enqueues confirmation and welcome mails stored while Redis was unreachable (the subscribe
 * answered 202 once the row was stored) or lost with Redis.
 */
export const transactionalSweepScheduler: SchedulerSetup = async ({ queues }) => {
  await queues
    .get('transactional')
    .upsertJobScheduler('transactional-sweep', { every: 60_000 }, { name: 'sweep', data: {} });
};

/**
 * Requeues the job of every open list import whose job is gone (its enqueue failed while Redis was
 * unreachable, or Redis lost it); the job ids make a requeue of a live job a no-op.
 */
export const importsSweepScheduler: SchedulerSetup = async ({ queues }) => {
  await queues
    .get('imports')
    .upsertJobScheduler('imports-sweep', { every: 60_000 }, { name: 'sweep', data: {} });
};

/**
 * Held events (stored because the configuration could not make them articles) are applied again
 * when a worker starts, which is when a changed publication file takes effect. One job per
 * publication file content, so several workers starting together run it once.
 */
export const heldReprocessAtBoot: SchedulerSetup = async ({ queues, publication }) => {
  const version = createHash('sha256').update(JSON.stringify(publication)).digest('hex').slice(0, 16);
  await queues.enqueue('article-events', 'reprocess', {}, { jobId: jobId('held-reprocess', version) });
};

/**
 * The complaint rate measured every minute as well as after each complaint: the alert and the
 * pause also follow from mail sent (the rate falls) and from the window moving on. The sweep hands
 * inbound mail stored without a live job (Redis was away or lost it) to the queue again.
 */
export const bounceSchedulers: SchedulerSetup = async ({ queues }) => {
  const queue = queues.get('bounces');
  await queue.upsertJobScheduler('complaint-check', { every: 60_000 }, { name: 'complaint-check', data: {} });
  await queue.upsertJobScheduler('inbound-sweep', { every: 60_000 }, { name: 'sweep', data: {} });
};
