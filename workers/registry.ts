import type { Processor } from 'bullmq';
import type { Container } from '../src/container.js';
import type { QueueName } from '../src/queues/definitions.js';
import { alertsWithFanoutWorker } from './alerts-fanout-worker.js';
import { articleEventsWorker } from './article-events-worker.js';
import { articleLifecycleWorker } from './article-lifecycle-worker.js';
import { digestSchedulers, digestsWorker } from './digests-worker.js';
import { feedsWorker } from './feeds-worker.js';
import { articleSweepScheduler, feedSchedulers, type SchedulerSetup } from './schedulers.js';
import { sendWorker } from './send-worker.js';
import { transactionalWorker } from './transactional-worker.js';

export interface WorkerSpec {
  queue: QueueName;
  concurrency: (container: Container) => number;
  processor: (container: Container) => Processor;
}

/** Each queue's thin worker registers here; workers/index.ts starts the ones WORKER_QUEUES selects. */
export const workerSpecs: WorkerSpec[] = [
  transactionalWorker,
  articleEventsWorker,
  feedsWorker,
  sendWorker,
  alertsWithFanoutWorker,
  digestsWorker,
  articleLifecycleWorker,
];

/** Job schedulers (repeatable work shared by every worker process), set up when workers start. */
export const schedulerSetups: SchedulerSetup[] = [feedSchedulers, articleSweepScheduler, digestSchedulers];
