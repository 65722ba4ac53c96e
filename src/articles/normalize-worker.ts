import { parentPort, workerData } from 'node:worker_threads';
import type { Publication } from '../publication.js';
import { type DeliveryContext, normalizeDelivery, type WebhookProvider } from './normalize/delivery.js';
import { HeldError, PayloadError } from './types.js';

/**
 * The normalize pool's thread (normalize-pool.ts): large webhook bodies are normalized here, off
 * the HTTP event loop. One job at a time; every answer carries the job's id.
 */

export interface NormalizeJob {
  id: number;
  provider: WebhookProvider;
  body: unknown;
  context: DeliveryContext;
}

/** An error as it crosses the thread boundary: the typed ones keep their class and fields. */
export interface SerializedError {
  kind: 'payload' | 'held' | 'other';
  message: string;
  externalId?: string;
  title?: string;
}

const publication = (workerData as { publication: Publication }).publication;

parentPort?.on('message', (job: NormalizeJob) => {
  try {
    const events = normalizeDelivery(publication, job.provider, job.body, job.context);
    parentPort?.postMessage({ id: job.id, events });
  } catch (err) {
    const error: SerializedError =
      err instanceof HeldError
        ? { kind: 'held', message: err.message, externalId: err.externalId, title: err.title }
        : err instanceof PayloadError
          ? { kind: 'payload', message: err.message }
          : { kind: 'other', message: (err as Error).message ?? String(err) };
    parentPort?.postMessage({ id: job.id, error });
  }
});
