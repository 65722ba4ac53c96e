/**
 * Group commit for webhook events. Every delivery is stored durably before its 2xx; one INSERT
 * statement (one transaction, one WAL flush) per delivery caps ingest at the database's commit
 * rate. Deliveries that arrive while writes are in flight (at most two) wait for the next one and
 * share it: one multi-row `INSERT ... ON CONFLICT DO NOTHING RETURNING`, one `addBulk`. A delivery still commits
 * or fails as a whole (a statement is atomic); when a shared write fails, each delivery of it is
 * written again on its own, so one bad delivery cannot fail the others.
 */
import type { Db, Queryable } from '../db/pool.js';
import { jobId, type Queues } from '../queues/definitions.js';
import type { ArticleEvent } from './types.js';

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

export interface EventWrite {
  provider: string;
  events: ArticleEvent[];
  /** the body as received, kept with each event */
  rawBody: unknown;
  receivedAt: Date;
}

interface Entry extends EventWrite {
  resolve(stored: StoredEvent[]): void;
  reject(err: unknown): void;
}

/** Rows per statement: 6 parameters each, far below PostgreSQL's 65,535. */
const MAX_EVENTS_PER_WRITE = 500;
/** Two statements at a time: one commits while the next batch forms and travels. */
const MAX_WRITES_IN_FLIGHT = 2;
const keyOf = (provider: string, eventKey: string) => `${provider}\u0000${eventKey}`;

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

export function createEventWriter(deps: { db: Db; queues: Pick<Queues, 'enqueueBulk'> }) {
  const { db, queues } = deps;
  let waiting: Entry[] = [];
  let inFlight = 0;

  /** One statement for all entries; results in entry order. */
  async function write(entries: Entry[]): Promise<StoredEvent[][]> {
    const values: unknown[] = [];
    const tuples: string[] = [];
    for (const entry of entries) {
      for (const e of entry.events) {
        const n = values.length;
        tuples.push(`($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5}::jsonb, $${n + 6}::timestamptz)`);
        values.push(
          entry.provider,
          e.eventId,
          e.action,
          e.externalId,
          JSON.stringify({ event: e, body: entry.rawBody }),
          entry.receivedAt,
        );
      }
    }
    if (tuples.length === 0) return entries.map(() => []);
    const inserted = await db.query<{ id: string; provider: string; event_key: string }>(
      `INSERT INTO article_events (provider, event_key, action, external_id, payload, received_at)
       VALUES ${tuples.join(', ')}
       ON CONFLICT (provider, event_key) DO NOTHING
       RETURNING id, provider, event_key`,
      values,
    );
    const fresh = new Map(inserted.rows.map((r) => [keyOf(r.provider, r.event_key), Number(r.id)]));

    // Everything else was stored before (a replay), or twice in this write (the first one wins).
    const claimed = new Set<string>();
    const missing: Array<{ provider: string; eventKey: string }> = [];
    for (const entry of entries) {
      for (const e of entry.events) {
        const key = keyOf(entry.provider, e.eventId);
        if (fresh.has(key) && !claimed.has(key)) claimed.add(key);
        else missing.push({ provider: entry.provider, eventKey: e.eventId });
      }
    }
    const existing = new Map<string, number>();
    if (missing.length > 0) {
      const { rows } = await db.query<{ id: string; provider: string; event_key: string }>(
        `SELECT id, provider, event_key FROM article_events
          WHERE (provider, event_key) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
        [missing.map((m) => m.provider), missing.map((m) => m.eventKey)],
      );
      for (const r of rows) existing.set(keyOf(r.provider, r.event_key), Number(r.id));
    }

    const taken = new Set<string>();
    return entries.map((entry) =>
      entry.events.map((e) => {
        const key = keyOf(entry.provider, e.eventId);
        const isNew = fresh.has(key) && !taken.has(key);
        if (isNew) taken.add(key);
        return {
          id: (isNew ? fresh.get(key) : existing.get(key)) ?? 0,
          eventKey: e.eventId,
          action: e.action,
          externalId: e.externalId,
          duplicate: !isNew,
        };
      }),
    );
  }

  function enqueue(stored: StoredEvent[]): void {
    const jobs = stored
      .filter((s) => !s.duplicate)
      .map((s) => ({
        name: 'process' as const,
        data: { eventId: s.id },
        opts: { jobId: jobId('article-event', s.id) },
      }));
    // After the commit and off the answer's path: the event is durable once its row is, and a
    // lost enqueue (Redis down, process killed) is repaired by the sweep, which finds unprocessed rows.
    void queues.enqueueBulk('article-events', jobs).catch(() => {});
  }

  function nextBatch(): Entry[] {
    let events = 0;
    let take = 0;
    while (
      take < waiting.length &&
      (take === 0 || events + waiting[take]!.events.length <= MAX_EVENTS_PER_WRITE)
    ) {
      events += waiting[take]!.events.length;
      take++;
    }
    const batch = waiting.slice(0, take);
    waiting = waiting.slice(take);
    return batch;
  }

  async function flush(batch: Entry[]): Promise<void> {
    let results: Array<StoredEvent[] | { error: unknown }>;
    try {
      results = await write(batch);
    } catch (err) {
      if (batch.length === 1) results = [{ error: err }];
      else {
        results = [];
        for (const entry of batch) {
          results.push(
            await write([entry]).then(
              (r) => r[0]!,
              (error: unknown) => ({ error }),
            ),
          );
        }
      }
    }
    batch.forEach((entry, i) => {
      const r = results[i]!;
      if ('error' in r) entry.reject(r.error);
      else entry.resolve(r);
    });
    enqueue(results.flatMap((r) => ('error' in r ? [] : r)));
  }

  /** Starts writes while fewer than MAX_WRITES_IN_FLIGHT run; what arrives meanwhile waits and batches. */
  function pump(): void {
    while (inFlight < MAX_WRITES_IN_FLIGHT && waiting.length > 0) {
      const batch = nextBatch();
      inFlight++;
      void flush(batch).finally(() => {
        inFlight--;
        pump();
      });
    }
  }

  return {
    /** Resolves once the delivery's events are committed; their jobs are enqueued right after. */
    store(write: EventWrite): Promise<StoredEvent[]> {
      return new Promise((resolve, reject) => {
        waiting.push({ ...write, resolve, reject });
        pump();
      });
    },
  };
}

/**
 * An event that can never be applied: processed (the sweep leaves it), failed, with the reason the
 * operator reads in GET /api/v1/article-events. A row already applied is left as it is.
 */
export async function markEventFailed(db: Db, eventId: number, reason: string, at: Date): Promise<void> {
  await db.query(
    `UPDATE article_events SET processed_at = $2, failed_at = $2, last_attempt_at = $2, error = $3,
            attempts = attempts + 1
      WHERE id = $1 AND processed_at IS NULL`,
    [eventId, at, reason.slice(0, 1000)],
  );
}

/** A transient failure (5xx, timeout, network): counted and kept as the last error; the job retries. */
export async function noteEventAttempt(db: Db, eventId: number, reason: string, at: Date): Promise<void> {
  await db.query(
    `UPDATE article_events SET last_attempt_at = $2, error = $3, attempts = attempts + 1
      WHERE id = $1 AND processed_at IS NULL`,
    [eventId, at, reason.slice(0, 1000)],
  );
}
