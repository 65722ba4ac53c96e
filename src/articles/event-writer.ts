/**
 * Group commit for webhook events. Every delivery is stored durably before its 2xx; one INSERT
 * statement (one transaction, one WAL flush) per delivery caps ingest at the database's commit
 * rate. Deliveries that arrive while writes are in flight (at most two) wait for the next one and
 * share it: one multi-row `INSERT ... ON CONFLICT DO NOTHING RETURNING`, one `addBulk`. A delivery still commits
 * or fails as a whole (a statement is atomic); when a shared write fails, each delivery of it is
 * written again on its own, so one bad delivery cannot fail the others.
 */
import type { Db } from '../db/pool.js';
import { jobId, type Queues } from '../queues/definitions.js';
import { findEventIds, insertEvents, type StoredEvent } from './event-store.js';
import type { ArticleEvent } from './types.js';

export type { StoredEvent } from './event-store.js';

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

export function createEventWriter(deps: { db: Db; queues: Pick<Queues, 'enqueueBulk'> }) {
  const { db, queues } = deps;
  let waiting: Entry[] = [];
  let inFlight = 0;

  /** One statement for all entries; results in entry order. */
  async function write(entries: Entry[]): Promise<StoredEvent[][]> {
    const rows = entries.flatMap((entry) =>
      entry.events.map((event) => ({
        provider: entry.provider,
        event,
        rawBody: entry.rawBody,
        receivedAt: entry.receivedAt,
      })),
    );
    if (rows.length === 0) return entries.map(() => []);
    const inserted = await insertEvents(db, rows);
    const fresh = new Map(inserted.map((r) => [keyOf(r.provider, r.event_key), Number(r.id)]));

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
      for (const r of await findEventIds(db, missing))
        existing.set(keyOf(r.provider, r.event_key), Number(r.id));
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
