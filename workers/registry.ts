import { alertsWithFanoutWorker } from './alerts-fanout-worker.js';
import { articleEventsWorker } from './article-events-worker.js';
import { articleLifecycleWorker } from './article-lifecycle-worker.js';
import { bouncesWorker } from './bounces-worker.js';
import { digestSchedulers, digestsWorker } from './digests-worker.js';
import { engagementScheduler, engagementWorker } from './engagement-worker.js';
import { feedsWorker } from './feeds-worker.js';
import { importsWorker } from './imports-worker.js';
import {
  articleSweepScheduler,
  bounceSchedulers,
  feedSchedulers,
  heldReprocessAtBoot,
  importsSweepScheduler,
  type SchedulerSetup,
  transactionalSweepScheduler,
} from './schedulers.js';
import { sendWorker } from './send-worker.js';
import { transactionalWorker } from './transactional-worker.js';
import { webhooksSweepScheduler, webhooksWorker } from './webhooks-worker.js';
import type { WorkerSpec } from './worker-spec.js';

/** Each queue's thin worker registers here; workers/index.ts starts the ones WORKER_QUEUES selects. */
export const workerSpecs: WorkerSpec[] = [
  transactionalWorker,
  articleEventsWorker,
  feedsWorker,
  sendWorker,
  alertsWithFanoutWorker,
  digestsWorker,
  articleLifecycleWorker,
  importsWorker,
  bouncesWorker,
  webhooksWorker,
  engagementWorker,
];

/** Job schedulers (repeatable work shared by every worker process), set up when workers start. */
export const schedulerSetups: SchedulerSetup[] = [
  feedSchedulers,
  articleSweepScheduler,
  transactionalSweepScheduler,
  importsSweepScheduler,
  bounceSchedulers,
  digestSchedulers,
  heldReprocessAtBoot,
  webhooksSweepScheduler,
  engagementScheduler,
];
