import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import { type Db, withTransaction } from '../db/pool.js';
import type { Publication } from '../publication.js';
import type { Queues } from '../queues/definitions.js';
import { jobId } from '../queues/definitions.js';
import {
  type ApplyResult,
  applyArticleEvent,
  countHeldArticles,
  dropOrphanHeldArticles,
  holdArticle,
  setHeldReason,
} from './article-store.js';
import {
  heldEventIds,
  insertHeldEvent,
  loadEvent,
  lockEventForApply,
  lockHeldEvent,
  markEventApplied,
  markEventFailed,
  markEventHeld,
  markLifecycleEnqueued,
  noteEventAttempt,
  owedEvents,
  releaseHeldEvent,
  type StoredEvent,
  setEventHeldReason,
  unholdEvent,
} from './event-store.js';
import { createEventWriter } from './event-writer.js';
import { type DeliveryContext, normalizeDelivery, type WebhookProvider } from './normalize/delivery.js';
import { INLINE_BODY_BYTES, type NormalizePool } from './normalize-pool.js';
import { FetchRefusedError, type SafeFetchPolicy } from './safe-fetch.js';
import { type ArticleEvent, HeldError, PayloadError } from './types.js';
import { deliveryContext, parseBody, verifyWebhook, type WebhookRequest } from './webhook-request.js';
import { createFetchJson, fetchAnnounced } from './wordpress-fetch.js';

export type { StoredEvent } from './event-store.js';
export type { WebhookProvider } from './normalize/delivery.js';
export { FetchRefusedError } from './safe-fetch.js';
export const WEBHOOK_PROVIDERS: WebhookProvider[] = ['generic', 'wordpress', 'ghost', 'strapi'];

export interface IngestDeps {
  db: Db;
  publication: Publication;
  clock: Clock;
  queues: Pick<Queues, 'enqueue' | 'enqueueBulk'>;
  secrets: Partial<Record<WebhookProvider, string>>;
  toleranceSeconds: number;
  /** byte cap and allowed private hosts for the WordPress id fetch (see safe-fetch.ts) */
  fetchPolicy: Omit<SafeFetchPolicy, 'timeoutMs'>;
  /** Normalizes bodies over INLINE_BODY_BYTES off the event loop; without it, everything inline. */
  normalizePool?: NormalizePool;
  /** GET a JSON document (WordPress posts announced by id only) */
  fetchJson?: (url: string) => Promise<unknown>;
}

export interface ReprocessResult {
  /** became ordinary events: applied, or queued when applying must be retried (a WordPress fetch failed) */
  applied: number;
  /** still held (the reason may have changed) */
  held: number;
  /** not articles under the current configuration (e.g. their model is now in ignoredModels) */
  ignored: number;
  /** no longer read as a valid payload; the reason is on the article */
  failed: number;
}

/** `failed`: the event can never be applied; recorded on its row (markEventFailed). */
export type ProcessResult = ApplyResult & { failed?: string };

/**
 * Articles in: verify and normalize a CMS webhook, store its events durably (one transaction)
 * before the 202, then apply each from a queue. Replays of the same delivery insert nothing.
 */
export function createIngestService(deps: IngestDeps) {
  const { db, publication, clock, queues } = deps;
  const fetchJson = deps.fetchJson ?? createFetchJson({ ...deps.fetchPolicy, timeoutMs: 10_000 });

  function isEnabled(provider: WebhookProvider): boolean {
    return Boolean(deps.secrets[provider]);
  }

  /** Normalizes with the publication as loaded now: a held event is applied again through here. */
  function normalize(provider: WebhookProvider, body: unknown, c: DeliveryContext): ArticleEvent[] {
    return normalizeDelivery(publication, provider, body, c);
  }

  /**
   * Stores a delivery that only the configuration keeps from becoming an article: the raw body and
   * what normalizing it needs, keyed by the delivery id or the body's hash (so a retry is a replay),
   * and a `held` placeholder article carrying the reason, in one transaction.
   */
  async function storeHeld(
    provider: WebhookProvider,
    body: unknown,
    rawBody: Buffer,
    c: DeliveryContext,
    held: HeldError,
  ): Promise<StoredEvent> {
    const now = clock.now();
    const eventKey =
      c.deliveryId ?? `held-${createHash('sha256').update(rawBody).digest('hex').slice(0, 32)}`;
    const externalId = held.externalId ?? eventKey;
    return withTransaction(db, async (client) => {
      const { id, fresh } = await insertHeldEvent(client, {
        provider,
        eventKey,
        externalId,
        payload: { body, context: c },
        at: now,
        reason: held.message,
      });
      if (fresh && held.externalId)
        await holdArticle(client, provider, held.externalId, held.title, held.message, now);
      return { id, eventKey, action: 'upsert' as const, externalId, duplicate: !fresh, held: held.message };
    });
  }

  const writer = createEventWriter({ db, queues });

  /** Stores a delivery's events durably (shared group commit, see event-writer.ts). */
  function storeEvents(provider: string, events: ArticleEvent[], rawBody: unknown): Promise<StoredEvent[]> {
    return writer.store({ provider, events, rawBody, receivedAt: clock.now() });
  }

  return {
    isEnabled,

    /**
     * Throws SignatureError (401) or PayloadError (400); stores nothing unless both pass. An event
     * only the configuration stops is stored held (its StoredEvent carries `held`), not refused.
     */
    async receive(req: WebhookRequest): Promise<StoredEvent[]> {
      const { deliveryId } = verifyWebhook(req, {
        secret: deps.secrets[req.provider] as string,
        now: clock.now(),
        toleranceSeconds: deps.toleranceSeconds,
        strapiTokenHeader: publication.sources.strapi?.tokenHeader,
      });
      const body = parseBody(req);
      const context = deliveryContext(req, deliveryId, clock.now());
      let events: ArticleEvent[];
      try {
        // a large body in the pool's thread, so one request cannot hold the event loop
        events =
          deps.normalizePool && req.rawBody.length > INLINE_BODY_BYTES
            ? await deps.normalizePool.normalize(req.provider, body, context)
            : normalize(req.provider, body, context);
      } catch (err) {
        if (!(err instanceof HeldError)) throw err;
        return [await storeHeld(req.provider, body, req.rawBody, context, err)];
      }
      return storeEvents(req.provider, events, body);
    },

    /**
     * Applies held events again with the publication as loaded now, oldest first, each directly
     * (not through the queue) so an article's held create and delete keep their order. Run at boot
     * and by the operator; concurrent runs skip each other's rows.
     */
    async reprocessHeld(): Promise<ReprocessResult> {
      const result: ReprocessResult = { applied: 0, held: 0, ignored: 0, failed: 0 };
      let cursor = 0;
      for (;;) {
        const ids = await heldEventIds(db, cursor);
        if (ids.length === 0) break;
        for (const id of ids) {
          cursor = id;
          const outcome = await reapply(cursor);
          if (outcome) result[outcome]++;
        }
      }
      // placeholders whose every held event was applied under another key, or ignored
      await dropOrphanHeldArticles(db);
      return result;
    },

    /** Articles waiting for a configuration change (a held placeholder, or a held change of a live one). */
    async heldCount(): Promise<number> {
      return countHeldArticles(db);
    },

    /** Feed items arrive already normalized; stored the same way as webhook events. */
    storeEvents,

    /** Applies one stored event; safe to run twice or concurrently (row lock, processed_at). */
    process: processEvent,

    /** Re-enqueues what a crash or a Redis outage left behind: unprocessed events, unsent lifecycle events. */
    async sweep(olderThanSeconds = 30): Promise<number> {
      const cutoff = new Date(clock.now().getTime() - olderThanSeconds * 1000);
      const rows = await owedEvents(db, cutoff);
      for (const r of rows) {
        if (!r.processed_at) {
          await queues.enqueue(
            'article-events',
            'process',
            { eventId: r.id },
            { jobId: jobId('article-event', r.id) },
          );
        } else if (r.article_id && r.lifecycle) {
          await publishLifecycle(r.id, r.article_id, r.lifecycle as ApplyResult['lifecycle'] & string);
        }
      }
      return rows.length;
    },
  };

  async function processEvent(eventId: number): Promise<ProcessResult | null> {
    const row = await loadEvent(db, eventId);
    if (!row) return null;
    let event = row.event;
    if (!row.processed && event.action === 'upsert' && !event.article) {
      try {
        event = await fetchAnnounced(event, publication, fetchJson);
      } catch (err) {
        if (err instanceof HeldError) {
          // configuration (no siteUrl): held, and fetched once the publication file names the site
          await withTransaction(db, async (client) => {
            await markEventHeld(client, eventId, clock.now(), err.message);
            await holdArticle(client, event.provider, event.externalId, undefined, err.message, clock.now());
          });
          return { articleId: null, lifecycle: null, skipped: `held: ${err.message}` };
        }
        const reason = (err as Error).message;
        if (!(err instanceof FetchRefusedError || err instanceof PayloadError)) {
          await noteEventAttempt(db, eventId, reason, clock.now());
          throw err; // transient: retry
        }
        // permanent: record why, so the sweep does not retry it forever and the operator sees it
        await markEventFailed(db, eventId, reason, clock.now());
        return { articleId: null, lifecycle: null, skipped: reason, failed: reason };
      }
    }
    const result = await withTransaction(db, async (client) => {
      if (await lockEventForApply(client, eventId)) return null;
      const applied = await applyArticleEvent(client, event, clock.now());
      await markEventApplied(client, eventId, clock.now(), applied);
      return applied;
    });
    if (result?.lifecycle && result.articleId)
      await publishLifecycle(eventId, result.articleId, result.lifecycle);
    return result;
  }

  /** One held event: normalized again; applied, still held, ignored, or failed (no longer reads). */
  async function reapply(eventRowId: number): Promise<keyof ReprocessResult | null> {
    const now = clock.now();
    const outcome = await withTransaction(db, async (client) => {
      const row = await lockHeldEvent<WebhookProvider>(client, eventRowId);
      if (!row) return null; // applied meanwhile, or another process has it
      // events held after they were stored (a fetch refused) carry no delivery context
      const { body, context = { receivedAt: now.toISOString() } } = row.payload as {
        body: unknown;
        context?: DeliveryContext;
      };
      let events: ArticleEvent[];
      try {
        events = normalize(row.provider, body, context);
      } catch (err) {
        if (err instanceof HeldError) {
          await setEventHeldReason(client, eventRowId, err.message);
          await setHeldReason(client, row.provider, err.externalId ?? row.external_id, err.message, now);
          return 'held' as const;
        }
        if (!(err instanceof PayloadError)) throw err;
        const reason = `the held event no longer reads: ${err.message}`;
        await releaseHeldEvent(client, eventRowId, reason);
        await setHeldReason(client, row.provider, row.external_id, reason, now);
        return 'failed' as const;
      }
      const [event, ...more] = events;
      if (!event) {
        await releaseHeldEvent(
          client,
          eventRowId,
          'ignored: not an article under the current publication file',
        );
        await setHeldReason(client, row.provider, row.external_id, null, now);
        return 'ignored' as const;
      }
      // From now on an ordinary stored event: process() applies it like any other.
      await unholdEvent(client, eventRowId, event);
      return { more, provider: row.provider };
    });
    if (outcome === null || typeof outcome === 'string') return outcome;
    if (outcome.more.length) await storeEvents(outcome.provider, outcome.more, null);
    try {
      await processEvent(eventRowId);
    } catch {
      // transient (a WordPress fetch that failed): it is an ordinary unprocessed event now, so the
      // queue retries it with backoff, and the sweep if the enqueue is lost
      await queues
        .enqueue(
          'article-events',
          'process',
          { eventId: eventRowId },
          { jobId: jobId('article-event', eventRowId) },
        )
        .catch(() => {});
    }
    return 'applied';
  }

  async function publishLifecycle(
    eventRowId: number,
    articleId: string,
    lifecycle: 'published' | 'changed' | 'withdrawn',
  ) {
    await queues.enqueue(
      'article-lifecycle',
      lifecycle,
      { articleId },
      { jobId: jobId('lifecycle', lifecycle, eventRowId) },
    );
    await markLifecycleEnqueued(db, eventRowId, clock.now());
  }
}

export type IngestService = ReturnType<typeof createIngestService>;
