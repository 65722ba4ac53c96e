import type { Clock } from '../clock.js';
import { type Db, withTransaction } from '../db/pool.js';
import type { Publication } from '../publication.js';
import type { Queues } from '../queues/definitions.js';
import { jobId } from '../queues/definitions.js';
import { type ApplyResult, applyArticleEvent } from './article-repository.js';
import { createEventWriter, type StoredEvent } from './event-writer.js';
import { sourceContext } from './normalize/common.js';
import { normalizeGeneric } from './normalize/generic.js';
import { normalizeGhost } from './normalize/ghost.js';
import { normalizeStrapi } from './normalize/strapi.js';
import { normalizeWordPress, restPostEvent, type WpTrigger } from './normalize/wordpress.js';
import {
  type HeaderBag,
  verifyGhostWebhook,
  verifyStandardWebhook,
  verifyStrapiWebhook,
  verifyWpWebhook,
} from './signatures.js';
import { type ArticleEvent, type NormalizedArticle, PayloadError } from './types.js';

export type { StoredEvent } from './event-writer.js';

export type WebhookProvider = 'generic' | 'wordpress' | 'ghost' | 'strapi';
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
  /** GET a JSON document (WordPress posts announced by id only) */
  fetchJson?: (url: string) => Promise<unknown>;
}

export class FetchRefusedError extends Error {
  override name = 'FetchRefusedError';
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

async function defaultFetchJson(url: string): Promise<unknown> {
  const res = await fetch(url, {
    headers: { accept: 'application/json' },
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  return res.json();
}

/**
 * Articles in: verify and normalize a CMS webhook, store its events durably (one transaction)
 * before the 202, then apply each from a queue. Replays of the same delivery insert nothing.
 */
export function createIngestService(deps: IngestDeps) {
  const { db, publication, clock, queues } = deps;
  const fetchJson = deps.fetchJson ?? defaultFetchJson;

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

  function normalize(req: WebhookRequest, body: unknown, deliveryId: string | undefined): ArticleEvent[] {
    const q = (name: string) =>
      typeof req.query[name] === 'string' ? (req.query[name] as string) : undefined;
    switch (req.provider) {
      case 'generic':
        return normalizeGeneric(body, publication, { deliveryId });
      case 'wordpress': {
        const trigger = q('trigger') ?? headerValue(req.headers, 'x-wp-webhook-trigger');
        return normalizeWordPress(body, publication, {
          trigger: trigger as WpTrigger | undefined,
          receivedAt: clock.now(),
        });
      }
      case 'ghost':
        return normalizeGhost(body, publication, { event: q('event') });
      case 'strapi':
        return normalizeStrapi(body, publication, {});
    }
  }

  const writer = createEventWriter({ db, queues });

  /** Stores a delivery's events durably (shared group commit, see event-writer.ts). */
  function storeEvents(provider: string, events: ArticleEvent[], rawBody: unknown): Promise<StoredEvent[]> {
    return writer.store({ provider, events, rawBody, receivedAt: clock.now() });
  }

  return {
    isEnabled,

    /** Throws SignatureError (401) or PayloadError (400); stores nothing unless both pass. */
    async receive(req: WebhookRequest): Promise<StoredEvent[]> {
      const { deliveryId } = verify(req);
      let body: unknown;
      try {
        body = JSON.parse(req.rawBody.toString('utf8'));
      } catch (err) {
        throw new PayloadError(notJson(req, err as Error));
      }
      const events = normalize(req, body, deliveryId);
      return storeEvents(req.provider, events, body);
    },

    /** Feed items arrive already normalized; stored the same way as webhook events. */
    storeEvents,

    /** Applies one stored event; safe to run twice or concurrently (row lock, processed_at). */
    async process(eventId: number): Promise<ApplyResult | null> {
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
          if (!(err instanceof FetchRefusedError || err instanceof PayloadError)) throw err; // transient: retry
          // permanent: record why, so the sweep does not retry it forever
          await db.query(
            'UPDATE article_events SET processed_at = $2, error = $3, attempts = attempts + 1 WHERE id = $1',
            [eventId, clock.now(), (err as Error).message],
          );
          return { articleId: null, lifecycle: null, skipped: (err as Error).message };
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
    },

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
    if (event.provider !== 'wordpress' || !site) {
      throw new FetchRefusedError(
        `event ${event.eventId}: only an id arrived and sources.wordpress.siteUrl is not configured`,
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
        ? ' (WP Webhooks: set "Change the data request type" to JSON for this webhook)'
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
