import type { Processor } from 'bullmq';
import type { Container } from '../src/container.js';
import type { QueueName } from '../src/queues/definitions.js';

export interface WorkerSpec {
  queue: QueueName;
  concurrency: (container: Container) => number;
  processor: (container: Container) => Processor;
}

/** Each queue's thin worker registers here; workers/index.ts starts the ones WORKER_QUEUES selects. */
export const workerSpecs: WorkerSpec[] = [];
