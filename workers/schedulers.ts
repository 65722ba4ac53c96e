import type { Container } from '../src/container.js';

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
