import { Worker } from 'node:worker_threads';
import type { Publication } from '../publication.js';
import type { DeliveryContext, WebhookProvider } from './normalize/delivery.js';
import type { NormalizeJob, SerializedError } from './normalize-worker.js';
import { type ArticleEvent, HeldError, PayloadError } from './types.js';

/**
 * A thread that normalizes large webhook bodies, so no request holds the HTTP event loop: with
 * the field caps and linear text passes, sanitize-html is what is left, and it takes 0.5 to 1.4 s
 * for a 1 MB body (bench/hostile.ts). Small bodies (most articles) stay inline, where copying
 * them to a thread would cost more than it saves.
 */

/** Bodies up to this many bytes are normalized inline: about 30 ms of sanitize-html at worst. */
export const INLINE_BODY_BYTES = 32 * 1024;

export interface NormalizePool {
  normalize(provider: WebhookProvider, body: unknown, context: DeliveryContext): Promise<ArticleEvent[]>;
  close(): Promise<void>;
}

interface Pending {
  resolve(events: ArticleEvent[]): void;
  reject(err: Error): void;
}

/**
 * The worker's file beside this one: .js in dist/; under tsx or vitest the .ts source, loaded
 * through tsx's loader (a devDependency, present wherever the sources run).
 */
function spawnWorker(publication: Publication): Worker {
  const ts = import.meta.url.endsWith('.ts');
  const url = new URL(`./normalize-worker.${ts ? 'ts' : 'js'}`, import.meta.url);
  if (!ts) return new Worker(url, { workerData: { publication } });
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { eval: true, workerData: { publication } });
}

function revive(error: SerializedError): Error {
  if (error.kind === 'held') return new HeldError(error.message, error.externalId, error.title);
  if (error.kind === 'payload') return new PayloadError(error.message);
  return new Error(error.message);
}

/** One worker thread, started on first use; a crashed one fails its jobs and is started again. */
export function createNormalizePool(publication: Publication): NormalizePool {
  let worker: Worker | undefined;
  let nextId = 1;
  const pending = new Map<number, Pending>();

  function failAll(err: Error) {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  }

  function start(): Worker {
    const w = spawnWorker(publication);
    w.on('message', (msg: { id: number; events?: ArticleEvent[]; error?: SerializedError }) => {
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      if (msg.error) p.reject(revive(msg.error));
      else p.resolve(msg.events ?? []);
      if (pending.size === 0) w.unref();
    });
    w.on('error', (err) => {
      if (worker === w) worker = undefined;
      failAll(err);
    });
    w.on('exit', (code) => {
      if (worker === w) worker = undefined;
      failAll(new Error(`normalize thread exited (${code})`));
    });
    w.unref();
    return w;
  }

  return {
    normalize(provider, body, context) {
      worker ??= start();
      const w = worker;
      const id = nextId++;
      return new Promise<ArticleEvent[]>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        // held by the process only while it has work, so an idle pool never keeps it alive
        w.ref();
        const job: NormalizeJob = { id, provider, body, context };
        w.postMessage(job);
      });
    },
    async close() {
      const w = worker;
      worker = undefined;
      if (w) await w.terminate();
      failAll(new Error('normalize pool closed'));
    },
  };
}
