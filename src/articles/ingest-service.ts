import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import { type Db, withTransaction } from '../db/pool.js';
import type { Publication } from '../publication.js';
import type { Queues } from '../queues/definitions.js';
import { jobId } from '../queues/definitions.js';
import {
  MAX_JSON_DEPTH,
  parseGuardedJson,
  UnsafeJsonError,
  unstorableStringError,
} from '../security/json-guard.js';
import {
  type ApplyResult,
  applyArticleEvent,
  dropOrphanHeldArticles,
  holdArticle,
  setHeldReason,
} from './article-store.js';
import { createEventWriter, markEventFailed, noteEventAttempt, type StoredEvent } from './event-writer.js';
import { type DeliveryContext, normalizeDelivery, type WebhookProvider } from './normalize/delivery.js';
import { sourceContext } from './normalize/language.js';
import { parsePhpForm } from './normalize/php-form.js';
import { restPostEvent } from './normalize/wordpress-rest.js';
import { INLINE_BODY_BYTES, type NormalizePool } from './normalize-pool.js';
import { FetchRefusedError, type SafeFetchPolicy, safeFetch } from './safe-fetch.js';
import {
  type HeaderBag,
  verifyGhostWebhook,
  verifyStandardWebhook,
  verifyStrapiWebhook,
  verifyWpWebhook,
} from './signatures.js';
import { type ArticleEvent, HeldError, type NormalizedArticle, PayloadError } from './types.js';

export type { StoredEvent } from './event-writer.js';
export type { WebhookProvider } from './normalize/delivery.js';
export { FetchRefusedError } from './safe-fetch.js';
export const WEBHOOK_PROVIDERS: WebhookProvider[] = ['generic', 'wordpress', 'ghost', 'strapi'];

export interface WebhookRequest {
  provider: WebhookProvider;
  headers: HeaderBag;
  query: Record<string, unknown>;
  rawBody: Buffer;
}

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

/** Reads stored JSON back into an event (dates were serialized as ISO strings). */
function reviveEvent(json: ArticleEvent): ArticleEvent {
  const a = json.article as
    | (Omit<NormalizedArticle, 'publishedAt' | 'modifiedAt'> & {
        publishedAt: string | null;
        modifiedAt: string | null;
      })
    | null;
  if (!a) return json;
  return {
    ...json,
    article: {
      ...a,
      publishedAt: a.publishedAt ? new Date(a.publishedAt) : null,
      modifiedAt: a.modifiedAt ? new Date(a.modifiedAt) : null,
    },
  };
}

/** `failed`: the event can never be applied; recorded on its row (markEventFailed). */
export type ProcessResult = ApplyResult & { failed?: string };

/** Answers that say the post is not there for Gazette, now or on any retry. */
const PERMANENT_STATUSES = new Set([401, 403, 404, 410]);

/**
 * The WordPress id fetch: FetchRefusedError for what a retry cannot change (the post is gone or
 * not public, the answer is not JSON, the fetch was refused), plain errors for 5xx, 429, timeouts
 * and network trouble, which are retried.
 */
export function createFetchJson(policy: SafeFetchPolicy): (url: string) => Promise<unknown> {
  return async (url) => {
    const res = await safeFetch(url, policy, { accept: 'application/json' });
    const where = `GET ${new URL(res.url).pathname}`;
    if (PERMANENT_STATUSES.has(res.status)) {
      throw new FetchRefusedError(`${where} answered ${res.status}: the post is missing or not public`);
    }
    if (res.status < 200 || res.status >= 300) throw new Error(`${where} answered ${res.status}`);
    try {
      return parseGuardedJson(res.body.toString('utf8'), 'post');
    } catch (err) {
      if (err instanceof UnsafeJsonError) throw new FetchRefusedError(`${where}: ${err.message}`);
      const type = res.header('content-type')?.split(';')[0] ?? 'no Content-Type';
      throw new FetchRefusedError(`${where} did not answer JSON (${type}): is siteUrl a WordPress site?`);
    }
  };
}

/** WordPress post ids are positive integers; anything else would change the path fetched. */
const WP_POST_ID = /^[1-9][0-9]{0,18}$/;

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

  function verify(req: WebhookRequest): { deliveryId?: string } {
    const secret = deps.secrets[req.provider] as string;
    const now = clock.now();
    switch (req.provider) {
      case 'generic':
        return {
          deliveryId: verifyStandardWebhook({
            secret,
            headers: req.headers,
            body: req.rawBody,
            now,
            toleranceSeconds: deps.toleranceSeconds,
          }).id,
        };
      case 'wordpress':
        verifyWpWebhook({ secret, headers: req.headers, body: req.rawBody, query: req.query });
        return {};
      case 'ghost':
        verifyGhostWebhook({
          secret,
          headers: req.headers,
          body: req.rawBody,
          now,
          toleranceSeconds: deps.toleranceSeconds,
        });
        return {};
      case 'strapi':
        verifyStrapiWebhook({
          token: secret,
          headers: req.headers,
          headerName: publication.sources.strapi?.tokenHeader,
        });
        return {};
    }
  }

  /** What normalizing a delivery needs besides its body; stored with a held event to apply it later. */
  function deliveryContext(req: WebhookRequest, deliveryId: string | undefined): DeliveryContext {
    const q = (name: string) =>
      typeof req.query[name] === 'string' ? (req.query[name] as string) : undefined;
    return {
      deliveryId,
      event: q('event'),
      trigger: q('trigger') ?? headerValue(req.headers, 'x-wp-webhook-trigger'),
      receivedAt: clock.now().toISOString(),
    };
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
      const inserted = await client.query<{ id: string }>(
        `INSERT INTO article_events (provider, event_key, action, external_id, payload, received_at, processed_at, held_reason)
         VALUES ($1, $2, 'upsert', $3, $4::jsonb, $5, $5, $6)
         ON CONFLICT (provider, event_key) DO NOTHING RETURNING id`,
        [provider, eventKey, externalId, JSON.stringify({ body, context: c }), now, held.message],
      );
      const fresh = inserted.rows[0];
      if (fresh && held.externalId)
        await holdArticle(client, provider, held.externalId, held.title, held.message, now);
      const id =
        fresh?.id ??
        (
          await client.query<{ id: string }>(
            'SELECT id FROM article_events WHERE provider = $1 AND event_key = $2',
            [provider, eventKey],
          )
        ).rows[0]!.id;
      return {
        id: Number(id),
        eventKey,
        action: 'upsert' as const,
        externalId,
        duplicate: !fresh,
        held: held.message,
      };
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
      const { deliveryId } = verify(req);
      const body = parseBody(req);
      const context = deliveryContext(req, deliveryId);
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
        const { rows } = await db.query<{ id: string }>(
          'SELECT id FROM article_events WHERE held_reason IS NOT NULL AND id > $1 ORDER BY id LIMIT 100',
          [cursor],
        );
        if (rows.length === 0) break;
        for (const { id } of rows) {
          cursor = Number(id);
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
      const { rows } = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM articles WHERE held_reason IS NOT NULL',
      );
      return rows[0]?.n ?? 0;
    },

    /** Feed items arrive already normalized; stored the same way as webhook events. */
    storeEvents,

    /** Applies one stored event; safe to run twice or concurrently (row lock, processed_at). */
    process: processEvent,

    /** Re-enqueues what a crash or a Redis outage left behind: unprocessed events, unsent lifecycle events. */
    async sweep(olderThanSeconds = 30): Promise<number> {
      const cutoff = new Date(clock.now().getTime() - olderThanSeconds * 1000);
      const { rows } = await db.query<{
        id: number;
        processed_at: Date | null;
        article_id: string | null;
        lifecycle: string | null;
      }>(
        `SELECT id, processed_at, article_id, lifecycle FROM article_events
          WHERE (processed_at IS NULL OR (lifecycle IS NOT NULL AND lifecycle_enqueued_at IS NULL))
            AND received_at < $1 ORDER BY id LIMIT 500`,
        [cutoff],
      );
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
    const pending = await db.query<{ payload: { event: ArticleEvent }; processed_at: Date | null }>(
      'SELECT payload, processed_at FROM article_events WHERE id = $1',
      [eventId],
    );
    const row = pending.rows[0];
    if (!row) return null;
    let event = reviveEvent(row.payload.event);
    if (!row.processed_at && event.action === 'upsert' && !event.article) {
      try {
        event = await fetchAnnounced(event);
      } catch (err) {
        if (err instanceof HeldError) {
          // configuration (no siteUrl): held, and fetched once the publication file names the site
          await withTransaction(db, async (client) => {
            await client.query(
              'UPDATE article_events SET processed_at = $2, held_reason = $3, attempts = attempts + 1 WHERE id = $1',
              [eventId, clock.now(), err.message],
            );
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
      const locked = await client.query<{ processed_at: Date | null }>(
        'SELECT processed_at FROM article_events WHERE id = $1 FOR UPDATE',
        [eventId],
      );
      if (locked.rows[0]?.processed_at) return null;
      const applied = await applyArticleEvent(client, event, clock.now());
      await client.query(
        `UPDATE article_events SET processed_at = $2, article_id = $3, lifecycle = $4, error = $5, attempts = attempts + 1
         WHERE id = $1`,
        [eventId, clock.now(), applied.articleId, applied.lifecycle, applied.skipped ?? null],
      );
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
      const { rows } = await client.query<{
        provider: WebhookProvider;
        external_id: string;
        payload: { body: unknown; context?: DeliveryContext };
      }>(
        `SELECT provider, external_id, payload FROM article_events
          WHERE id = $1 AND held_reason IS NOT NULL FOR UPDATE SKIP LOCKED`,
        [eventRowId],
      );
      const row = rows[0];
      if (!row) return null; // applied meanwhile, or another process has it
      // events held after they were stored (a fetch refused) carry no delivery context
      const { body, context = { receivedAt: now.toISOString() } } = row.payload;
      let events: ArticleEvent[];
      try {
        events = normalize(row.provider, body, context);
      } catch (err) {
        if (err instanceof HeldError) {
          await client.query('UPDATE article_events SET held_reason = $2 WHERE id = $1', [
            eventRowId,
            err.message,
          ]);
          await setHeldReason(client, row.provider, err.externalId ?? row.external_id, err.message, now);
          return 'held' as const;
        }
        if (!(err instanceof PayloadError)) throw err;
        const reason = `the held event no longer reads: ${err.message}`;
        await client.query('UPDATE article_events SET held_reason = NULL, error = $2 WHERE id = $1', [
          eventRowId,
          reason,
        ]);
        await setHeldReason(client, row.provider, row.external_id, reason, now);
        return 'failed' as const;
      }
      const [event, ...more] = events;
      if (!event) {
        await client.query('UPDATE article_events SET held_reason = NULL, error = $2 WHERE id = $1', [
          eventRowId,
          'ignored: not an article under the current publication file',
        ]);
        await setHeldReason(client, row.provider, row.external_id, null, now);
        return 'ignored' as const;
      }
      // From now on an ordinary stored event: process() applies it like any other.
      await client.query(
        `UPDATE article_events SET held_reason = NULL, processed_at = NULL, action = $2, external_id = $3,
                payload = jsonb_set(payload, '{event}', $4::jsonb)
          WHERE id = $1`,
        [eventRowId, event.action, event.externalId, JSON.stringify(event)],
      );
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
    await db.query('UPDATE article_events SET lifecycle_enqueued_at = $2 WHERE id = $1', [
      eventRowId,
      clock.now(),
    ]);
  }

  async function fetchAnnounced(event: ArticleEvent): Promise<ArticleEvent> {
    const site = publication.sources.wordpress?.siteUrl;
    if (event.provider !== 'wordpress') {
      throw new FetchRefusedError(`event ${event.eventId}: only an id arrived from ${event.provider}`);
    }
    if (!site) {
      throw new HeldError(
        `only the id of post ${event.externalId} arrived and sources.wordpress.siteUrl is not set, so Gazette cannot fetch it`,
        event.externalId,
      );
    }
    if (!WP_POST_ID.test(event.externalId)) {
      throw new FetchRefusedError(
        `event ${event.eventId}: post id ${JSON.stringify(event.externalId)} is not numeric`,
      );
    }
    // Always the configured site, whatever URL the payload suggested: the body names the post, not where to fetch.
    const url = new URL(
      `wp-json/wp/v2/posts/${encodeURIComponent(event.externalId)}`,
      site.endsWith('/') ? site : `${site}/`,
    );
    url.searchParams.set('_embed', '1');
    const json = await fetchJson(url.href);
    const fetched = restPostEvent(json as Record<string, unknown>, sourceContext(publication, 'wordpress'), {
      allowFetch: false,
    });
    return { ...fetched, eventId: event.eventId };
  }
}

/**
 * The body as an object: JSON, or for WordPress a form-encoded body (WP Webhooks' "form" request
 * type), read as PHP reads it. The signature was checked on the raw bytes either way.
 */
function parseBody(req: WebhookRequest): unknown {
  const type = headerValue(req.headers, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  const text = req.rawBody.toString('utf8');
  if (req.provider === 'wordpress' && type === 'application/x-www-form-urlencoded') {
    // bracket keys nest (a[b][c]…): cap them like JSON before the recursive parse
    for (const key of new URLSearchParams(text).keys()) {
      if (key.split('[').length - 1 > MAX_JSON_DEPTH) {
        throw new PayloadError(
          `body: field ${key.slice(0, key.indexOf('['))} nested deeper than ${MAX_JSON_DEPTH} levels`,
        );
      }
    }
    const form = parsePhpForm(text);
    // %00 or a lone surrogate decoded from a form cannot be stored either (see json-guard.ts)
    const bad = unstorableStringError(form);
    if (bad) throw new PayloadError(bad.message);
    return form;
  }
  try {
    // depth, NUL and lone surrogates refused here, naming the field (see json-guard.ts)
    return parseGuardedJson(text);
  } catch (err) {
    if (err instanceof UnsafeJsonError) throw new PayloadError(err.message);
    throw new PayloadError(notJson(req, err as Error));
  }
}

/**
 * Why a body is not JSON, naming the sender's setting when the Content-Type says what it sent
 * instead (WP Webhooks can send form-encoded, form-data or XML bodies; Gazette reads JSON only).
 */
function notJson(req: WebhookRequest, err: Error): string {
  const type = headerValue(req.headers, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  if (
    type &&
    /^(application\/x-www-form-urlencoded|multipart\/form-data|application\/xml|text\/xml)$/.test(type)
  ) {
    const hint =
      req.provider === 'wordpress'
        ? ' or form-encoded (WP Webhooks: set "Change the data request type" to JSON or form for this webhook)'
        : '';
    return `body: Content-Type ${type} is not accepted; send JSON${hint}`;
  }
  return `body: not valid JSON (${err.message})`;
}

function headerValue(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export type IngestService = ReturnType<typeof createIngestService>;
