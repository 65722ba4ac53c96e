import type { Processor } from 'bullmq';
import type { Container } from '../src/container.js';
import type { QueueName } from '../src/queues/definitions.js';

/**
 * What a queue's worker module exports. Apart from registry.ts so the worker modules do not import
 * the registry that imports them (a type cycle through every worker).
 */
export interface WorkerSpec {
  queue: QueueName;
  concurrency: (container: Container) => number;
  processor: (container: Container) => Processor;
  /** On shutdown, before the Worker closes: make its active jobs end soon (see send-worker.ts). */
  drain?: (container: Container) => void;
  /** Background work of the queue's process while its Worker runs; returns how to stop it. */
  start?: (container: Container) => () => void;
}
