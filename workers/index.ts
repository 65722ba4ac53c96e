import { Worker } from 'bullmq';
import type { Container } from '../src/container.js';
import { QUEUE_NAMES, type QueueName } from '../src/queues/definitions.js';
import { createRedis } from '../src/redis.js';
import { schedulerSetups, workerSpecs } from './registry.js';
import type { WorkerSpec } from './worker-spec.js';

export interface RunningWorkers {
  workers: Worker[];
  close(): Promise<void>;
}

export function selectQueues(setting: string): QueueName[] {
  if (setting.trim() === 'all') return QUEUE_NAMES;
  const wanted = setting
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const name of wanted) {
    if (!QUEUE_NAMES.includes(name as QueueName)) {
      throw new Error(`WORKER_QUEUES: unknown queue "${name}" (known: ${QUEUE_NAMES.join(', ')})`);
    }
  }
  return wanted as QueueName[];
}

/** Upserts every job scheduler; idempotent, so each worker process may run it at start. */
export async function setupSchedulers(container: Container): Promise<void> {
  for (const setup of schedulerSetups) await setup(container);
}

/**
 * After Redis lost its data (src/queues/redis-watch.ts): the schedulers again (the digest setup
 * also queues one maintenance run now), and the owed work PostgreSQL knows of, at once and without
 * the sweeps' age limit: batches with open rows and no live job, unapplied CMS events, the latest
 * lifecycle job of recently applied ones, unsent confirmation and welcome mails, the jobs of open list imports. Idempotent: every process runs it, and the job ids and the rows'
 * status locks absorb the repeats.
 */
export async function recoverOwedWork(container: Container): Promise<{
  batches: number;
  articleEvents: number;
  lifecycle: number;
  transactional: number;
  imports: number;
}> {
  await setupSchedulers(container);
  const batches = await container.owedWork.batches();
  const articleEvents = await container.owedWork.articleEvents(0);
  const lifecycle = await container.owedWork.lifecycle();
  const transactional = await container.owedWork.transactional(0);
  const imports = await container.imports.requeueOpen();
  return { batches, articleEvents, lifecycle, transactional, imports };
}

/** Starts one BullMQ Worker per selected queue; close() stops taking work and waits for active jobs. */
export function startWorkers(container: Container, specs: WorkerSpec[] = workerSpecs): RunningWorkers {
  const { config, log } = container;
  const selected = new Set(selectQueues(config.WORKER_QUEUES));
  const connection = createRedis(config.REDIS_URL, 'worker');
  const workers: Worker[] = [];
  const started: WorkerSpec[] = [];
  const stops: Array<() => void> = [];
  for (const spec of specs) {
    if (!selected.has(spec.queue)) continue;
    started.push(spec);
    const stop = spec.start?.(container);
    if (stop) stops.push(stop);
    const worker = new Worker(spec.queue, spec.processor(container), {
      connection,
      prefix: config.QUEUE_PREFIX,
      concurrency: spec.concurrency(container),
      lockDuration: config.JOB_LOCK_DURATION_MS,
      stalledInterval: config.JOB_STALLED_INTERVAL_MS,
      maxStalledCount: 1,
    });
    worker.on('failed', (job, err) =>
      log.warn(
        { queue: spec.queue, jobId: job?.id, job: job?.name, attempts: job?.attemptsMade, err: err.message },
        'job failed',
      ),
    );
    worker.on('error', (err) => log.error({ queue: spec.queue, err: err.message }, 'worker error'));
    workers.push(worker);
  }
  log.info({ queues: workers.map((w) => w.name) }, 'workers started');
  return {
    workers,
    async close() {
      // active jobs are told first, so closing (which waits for them) is bounded
      for (const spec of started) spec.drain?.(container);
      for (const stop of stops) stop();
      await Promise.all(workers.map((w) => w.close()));
      connection.disconnect();
    },
  };
}
