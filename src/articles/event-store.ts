import type { Queryable } from '../db/pool.js';
import type { ArticleEvent, NormalizedArticle } from './types.js';

/**
 * The owner of `article_events`: every statement that writes it. A stored event is durable before
 * the webhook's 2xx; it is then applied once (processed_at), held while only the configuration
 * stops it (held_reason), or failed for good (failed_at), and its lifecycle job is marked enqueued.
 */

export interface StoredEvent {
  id: number;
  eventKey: string;
  action: ArticleEvent['action'];
  externalId: string;
  /** the same (provider, event key) was stored before, by an earlier delivery or one in this write */
  duplicate: boolean;
  /** stored held, for this reason: only the configuration keeps it from being applied */
  held?: string;
}

/** One row of a group write (event-writer.ts). */
export interface EventRow {
  provider: string;
  event: ArticleEvent;
  /** the body as received, kept with the event */
  rawBody: unknown;
  receivedAt: Date;
}

interface EventKeyRow {
  id: string;
  provider: string;
  event_key: string;
}

/** One multi-row INSERT; a replayed (provider, event key) inserts nothing and is not returned. */
export async function insertEvents(db: Queryable, rows: readonly EventRow[]): Promise<EventKeyRow[]> {
  const values: unknown[] = [];
  const tuples: string[] = [];
  for (const row of rows) {
    const e = row.event;
    const n = values.length;
    tuples.push(`($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5}::jsonb, $${n + 6}::timestamptz)`);
    values.push(
      row.provider,
      e.eventId,
      e.action,
      e.externalId,
      JSON.stringify({ event: e, body: row.rawBody }),
      row.receivedAt,
    );
  }
  const inserted = await db.query<EventKeyRow>(
    `INSERT INTO article_events (provider, event_key, action, external_id, payload, received_at)
     VALUES ${tuples.join(', ')}
     ON CONFLICT (provider, event_key) DO NOTHING
     RETURNING id, provider, event_key`,
    values,
  );
  return inserted.rows;
}

/** The ids of events stored before, by (provider, event key). */
export async function findEventIds(
  db: Queryable,
  keys: ReadonlyArray<{ provider: string; eventKey: string }>,
): Promise<EventKeyRow[]> {
  const { rows } = await db.query<EventKeyRow>(
    `SELECT id, provider, event_key FROM article_events
      WHERE (provider, event_key) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [keys.map((m) => m.provider), keys.map((m) => m.eventKey)],
  );
  return rows;
}

/**
 * A held delivery: the raw body and what normalizing it needs, processed already (the sweep leaves
 * it) and carrying its reason. `fresh` is false for a replay, which inserts nothing.
 */
export async function insertHeldEvent(
  db: Queryable,
  row: { provider: string; eventKey: string; externalId: string; payload: unknown; at: Date; reason: string },
): Promise<{ id: number; fresh: boolean }> {
  const inserted = await db.query<{ id: string }>(
    `INSERT INTO article_events (provider, event_key, action, external_id, payload, received_at, processed_at, held_reason)
     VALUES ($1, $2, 'upsert', $3, $4::jsonb, $5, $5, $6)
     ON CONFLICT (provider, event_key) DO NOTHING RETURNING id`,
    [row.provider, row.eventKey, row.externalId, JSON.stringify(row.payload), row.at, row.reason],
  );
  const fresh = inserted.rows[0];
  if (fresh) return { id: Number(fresh.id), fresh: true };
  const { rows } = await db.query<{ id: string }>(
    'SELECT id FROM article_events WHERE provider = $1 AND event_key = $2',
    [row.provider, row.eventKey],
  );
  return { id: Number(rows[0]!.id), fresh: false };
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

/** A stored event, or null when there is no such row. */
export async function loadEvent(
  db: Queryable,
  eventId: number,
): Promise<{ event: ArticleEvent; processed: boolean } | null> {
  const { rows } = await db.query<{ payload: { event: ArticleEvent }; processed_at: Date | null }>(
    'SELECT payload, processed_at FROM article_events WHERE id = $1',
    [eventId],
  );
  const row = rows[0];
  return row ? { event: reviveEvent(row.payload.event), processed: row.processed_at !== null } : null;
}

/** Locks the row for applying; true when it was applied already (by another attempt). */
export async function lockEventForApply(db: Queryable, eventId: number): Promise<boolean> {
  const { rows } = await db.query<{ processed_at: Date | null }>(
    'SELECT processed_at FROM article_events WHERE id = $1 FOR UPDATE',
    [eventId],
  );
  return Boolean(rows[0]?.processed_at);
}

export async function markEventApplied(
  db: Queryable,
  eventId: number,
  at: Date,
  applied: { articleId: string | null; lifecycle: string | null; skipped?: string },
): Promise<void> {
  await db.query(
    `UPDATE article_events SET processed_at = $2, article_id = $3, lifecycle = $4, error = $5, attempts = attempts + 1
     WHERE id = $1`,
    [eventId, at, applied.articleId, applied.lifecycle, applied.skipped ?? null],
  );
}

/** An event only the configuration stops after it was stored (a WordPress id with no siteUrl). */
export async function markEventHeld(db: Queryable, eventId: number, at: Date, reason: string): Promise<void> {
  await db.query(
    'UPDATE article_events SET processed_at = $2, held_reason = $3, attempts = attempts + 1 WHERE id = $1',
    [eventId, at, reason],
  );
}

/**
 * An event that can never be applied: processed (the sweep leaves it), failed, with the reason the
 * operator reads in GET /api/v1/article-events. A row already applied is left as it is.
 */
export async function markEventFailed(
  db: Queryable,
  eventId: number,
  reason: string,
  at: Date,
): Promise<void> {
  await db.query(
    `UPDATE article_events SET processed_at = $2, failed_at = $2, last_attempt_at = $2, error = $3,
            attempts = attempts + 1
      WHERE id = $1 AND processed_at IS NULL`,
    [eventId, at, reason.slice(0, 1000)],
  );
}

/** A transient failure (5xx, timeout, network): counted and kept as the last error; the job retries. */
export async function noteEventAttempt(
  db: Queryable,
  eventId: number,
  reason: string,
  at: Date,
): Promise<void> {
  await db.query(
    `UPDATE article_events SET last_attempt_at = $2, error = $3, attempts = attempts + 1
      WHERE id = $1 AND processed_at IS NULL`,
    [eventId, at, reason.slice(0, 1000)],
  );
}

export async function markLifecycleEnqueued(db: Queryable, eventId: number, at: Date): Promise<void> {
  await db.query('UPDATE article_events SET lifecycle_enqueued_at = $2 WHERE id = $1', [eventId, at]);
}

/** What a crash or a Redis outage left behind: unprocessed events, unsent lifecycle events. */
export async function owedEvents(
  db: Queryable,
  receivedBefore: Date,
): Promise<
  Array<{ id: number; processed_at: Date | null; article_id: string | null; lifecycle: string | null }>
> {
  const { rows } = await db.query<{
    id: number;
    processed_at: Date | null;
    article_id: string | null;
    lifecycle: string | null;
  }>(
    `SELECT id, processed_at, article_id, lifecycle FROM article_events
      WHERE (processed_at IS NULL OR (lifecycle IS NOT NULL AND lifecycle_enqueued_at IS NULL))
        AND received_at < $1 ORDER BY id LIMIT 500`,
    [receivedBefore],
  );
  return rows;
}

// ---------------------------------------------------------------- held events

/** The next page of held event ids after `cursor`, oldest first. */
export async function heldEventIds(db: Queryable, cursor: number): Promise<number[]> {
  const { rows } = await db.query<{ id: string }>(
    'SELECT id FROM article_events WHERE held_reason IS NOT NULL AND id > $1 ORDER BY id LIMIT 100',
    [cursor],
  );
  return rows.map((r) => Number(r.id));
}

export interface HeldEventRow<P> {
  provider: P;
  external_id: string;
  payload: { body: unknown; context?: unknown };
}

/** Locks a held event for applying again; null when it was applied meanwhile or another process has it. */
export async function lockHeldEvent<P extends string>(
  db: Queryable,
  eventId: number,
): Promise<HeldEventRow<P> | null> {
  const { rows } = await db.query<HeldEventRow<P>>(
    `SELECT provider, external_id, payload FROM article_events
      WHERE id = $1 AND held_reason IS NOT NULL FOR UPDATE SKIP LOCKED`,
    [eventId],
  );
  return rows[0] ?? null;
}

export async function setEventHeldReason(db: Queryable, eventId: number, reason: string): Promise<void> {
  await db.query('UPDATE article_events SET held_reason = $2 WHERE id = $1', [eventId, reason]);
}

/** No longer held and never to be applied: failed to read, or not an article any more. */
export async function releaseHeldEvent(db: Queryable, eventId: number, error: string): Promise<void> {
  await db.query('UPDATE article_events SET held_reason = NULL, error = $2 WHERE id = $1', [eventId, error]);
}

/** A held event normalized again: from now on an ordinary unprocessed event. */
export async function unholdEvent(db: Queryable, eventId: number, event: ArticleEvent): Promise<void> {
  await db.query(
    `UPDATE article_events SET held_reason = NULL, processed_at = NULL, action = $2, external_id = $3,
            payload = jsonb_set(payload, '{event}', $4::jsonb)
      WHERE id = $1`,
    [eventId, event.action, event.externalId, JSON.stringify(event)],
  );
}

/** The CMS removed the article: its held events must not bring it back when applied later. */
export async function supersedeHeldEvents(
  db: Queryable,
  provider: string,
  externalId: string,
): Promise<void> {
  await db.query(
    `UPDATE article_events SET held_reason = NULL, error = 'superseded: the CMS removed the article first'
      WHERE held_reason IS NOT NULL AND provider = $1 AND external_id = $2`,
    [provider, externalId],
  );
}
