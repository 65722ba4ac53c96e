/**
 * Delivers one outbox row to one endpoint, at most once: the status lock (claimDelivery) makes a
 * duplicate or retried job that finds the row delivered, or held by another job, do nothing.
 * 2xx delivered; 410 disables the endpoint (Standard Webhooks: the receiver is gone for good);
 * an address the SSRF guard refuses fails at once; anything else is retried by the queue with
 * exponential backoff, and fails once the attempts are used up.
 */
import { FetchRefusedError } from '../articles/safe-fetch.js';
import type { Clock } from '../clock.js';
import { type Db, withTransaction } from '../db/pool.js';
import type { Logger } from '../logger.js';
import { disableEndpoint } from './endpoint-store.js';
import { webhookBody } from './events.js';
import {
  type ClaimedDelivery,
  cancelEndpointDeliveries,
  claimDelivery,
  finishAttempt,
  owedDeliveryIds,
} from './outbox-store.js';
import { postWebhook } from './post.js';
import { webhookHeaders } from './signing.js';

export type WebhookOutcome =
  | { outcome: 'delivered' | 'skipped' | 'gone' }
  | { outcome: 'retry'; error: string }
  | { outcome: 'failed'; error: string };

export interface WebhookSenderDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  allowedHosts: ReadonlySet<string>;
  timeoutMs: number;
}

export function createWebhookSender(deps: WebhookSenderDeps) {
  const { db, clock, log } = deps;
  // the lease outlives one request by far: a row still `sending` after it had a dead worker
  const leaseMs = deps.timeoutMs * 2 + 5_000;

  async function end(
    d: ClaimedDelivery,
    outcome: WebhookOutcome,
    status: number | null,
    excerpt: string | null,
    durationMs: number,
  ) {
    const at = clock.now();
    const error = 'error' in outcome ? outcome.error : null;
    if (outcome.outcome === 'gone') {
      await withTransaction(db, async (tx) => {
        await finishAttempt(
          tx,
          d,
          'cancelled',
          { status, error: 'endpoint answered 410 Gone', excerpt, durationMs },
          at,
        );
        await disableEndpoint(tx, d.endpointId, 'answered 410 Gone', at);
        await cancelEndpointDeliveries(tx, d.endpointId, at);
      });
      return;
    }
    const state =
      outcome.outcome === 'delivered' ? 'delivered' : outcome.outcome === 'failed' ? 'failed' : 'pending';
    await finishAttempt(db, d, state, { status, error, excerpt, durationMs }, at);
  }

  return {
    /** `lastAttempt`: the queue will not try again, so a retryable failure is final. */
    async deliver(deliveryId: number, lastAttempt: boolean): Promise<WebhookOutcome> {
      const d = await claimDelivery(db, deliveryId, clock.now(), leaseMs);
      if (!d) return { outcome: 'skipped' };
      const body = webhookBody(d);
      const timestamp = Math.floor(clock.now().getTime() / 1000);
      const ctx = { deliveryId, eventId: d.eventId, endpointId: d.endpointId, attempt: d.attempts };
      let outcome: WebhookOutcome;
      let status: number | null = null;
      let excerpt: string | null = null;
      // a measurement, not a time of day: the monotonic clock, whatever the container's clock says
      const started = performance.now();
      try {
        const res = await postWebhook(d.url, body, webhookHeaders(d.secrets, d.eventId, timestamp, body), {
          allowedHosts: deps.allowedHosts,
          timeoutMs: deps.timeoutMs,
        });
        status = res.status;
        excerpt = res.excerpt || null;
        if (status >= 200 && status < 300) outcome = { outcome: 'delivered' };
        else if (status === 410) outcome = { outcome: 'gone' };
        else outcome = { outcome: 'retry', error: `endpoint answered ${status}` };
      } catch (err) {
        outcome =
          err instanceof FetchRefusedError
            ? { outcome: 'failed', error: err.message }
            : { outcome: 'retry', error: (err as Error).message };
      }
      const durationMs = Math.round(performance.now() - started);
      if (outcome.outcome === 'retry' && lastAttempt) outcome = { outcome: 'failed', error: outcome.error };
      await end(d, outcome, status, excerpt, durationMs);
      log.info({ ...ctx, status, durationMs, outcome: outcome.outcome }, 'webhook attempt');
      return outcome;
    },

    /** Rows owed to the queue (its job lost with Redis, or its worker killed mid-request). */
    owed(limit = 500): Promise<number[]> {
      return owedDeliveryIds(db, clock.now(), limit);
    },
  };
}

export type WebhookSender = ReturnType<typeof createWebhookSender>;
