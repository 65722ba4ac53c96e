/**
 * The planner: every tick (and at each window close) it schedules newly confirmed readers,
 * skips slots too old to send, and turns due readers into editions and ledger rows, one chunk
 * per transaction. Due readers are taken FOR UPDATE SKIP LOCKED and their schedule is advanced in
 * the same transaction as their rows, so concurrent planners split the work, and a crash loses
 * nothing: an uncommitted chunk is simply still due.
 */
import { type DbClient, withTransaction } from '../db/pool.js';
import type { Frequency } from '../subscriptions/schemas.js';
import { scheduleUnscheduled, setDigestSlots } from '../subscriptions/subscriber-store.js';
import { groupReaders } from './audience.js';
import { articleSetHash, fillEdition } from './edition-store.js';
import { nextSlotOrFallback, weeklyDayOf } from './schedule.js';
import type { DigestDeps, Lane } from './types.js';

export interface PlanResult {
  scheduled: number;
  expired: number;
  readers: number;
  editions: string[];
  rows: number;
  batches: number;
}

export interface BatchJob {
  lane: Lane;
  editionId: string;
  batches: number[];
}

/**
 * Where a run's keyset walk over due readers stands: the sort key of the last reader it planned.
 * The order groups readers by what decides their edition (due slot, language, frequency, topics,
 * alerts), so a chunk fills a few editions with whole batches instead of spreading over all of
 * them; `id` makes the order total.
 */
interface DueCursor {
  due: Date;
  language: string;
  frequency: string;
  topics: string[];
  alerts: boolean;
  id: string;
}

interface DueReader extends SlotKey {
  id: string;
  next_digest_at: Date;
  language: string;
  topics: string[];
  alerts: boolean;
}

/** What decides a reader's slot; weekly_day (null: the publication's day) counts for weekly readers only. */
interface SlotKey {
  frequency: Frequency;
  timezone: string;
  send_hour: number;
  weekly_day: number | null;
}

/** The columns of a SlotKey, with weekly_day blanked for readers it does not apply to. */
const SLOT_COLUMNS = `frequency, timezone, send_hour,
  CASE WHEN frequency = 'weekly' THEN weekly_day END AS weekly_day`;

export function createPlanner(deps: DigestDeps) {
  const { db, clock, log, publication, config, enqueuer } = deps;

  const slotAfter = (k: SlotKey, after: Date): Date | null => {
    const rule = {
      frequency: k.frequency,
      sendHour: k.send_hour,
      weeklyDay: weeklyDayOf(k.weekly_day, publication.digest.weeklyDay),
      timezone: k.timezone,
    };
    return nextSlotOrFallback(rule, after, publication.timezone).at;
  };

  /**
   * Sets next_digest_at (and, with `last`, last_digest_at) for the given readers from their
   * frequency/zone/hour, computing each distinct combination once.
   */
  async function advance(
    client: DbClient,
    readers: Array<{ id: string } & SlotKey>,
    after: Date,
    /** now: the window ran to now (planned); slot: it ran to the skipped slot (expired) */
    last: 'now' | 'slot',
    now: Date,
  ): Promise<void> {
    const keys = new Map<string, SlotKey>();
    for (const r of readers) {
      const k = {
        frequency: r.frequency,
        timezone: r.timezone,
        send_hour: r.send_hour,
        weekly_day: r.weekly_day,
      };
      keys.set(`${k.frequency} ${k.timezone} ${k.send_hour} ${k.weekly_day}`, k);
    }
    if (keys.size === 0) return;
    const slots = [...keys.values()].map((k) => ({ ...k, nextAt: slotAfter(k, after) }));
    await setDigestSlots(
      client,
      readers.map((r) => r.id),
      slots,
      last === 'now' ? now : 'slot',
    );
  }

  /** Confirmed daily/weekly readers without a slot get their next local send hour. */
  async function scheduleNew(now: Date): Promise<number> {
    const { rows } = await db.query<SlotKey>(
      `SELECT DISTINCT ${SLOT_COLUMNS} FROM subscribers
       WHERE status = 'confirmed' AND next_digest_at IS NULL AND frequency <> 'immediate'`,
    );
    if (rows.length === 0) return 0;
    return scheduleUnscheduled(
      db,
      rows.map((k) => ({ ...k, nextAt: slotAfter(k, now) })),
    );
  }

  /**
   * Slots that could not start within DIGEST_MAX_AGE_SECONDS are skipped, not sent late: the
   * reader moves to their next slot, and what was due in the skipped slot counts as covered
   * (articles that arrived after it still go in the next digest).
   */
  async function expireOverdue(now: Date): Promise<number> {
    const oldest = new Date(now.getTime() - config.DIGEST_MAX_AGE_SECONDS * 1000);
    let total = 0;
    for (;;) {
      const n = await withTransaction(db, async (client) => {
        const { rows } = await client.query<{ id: string } & SlotKey>(
          `SELECT id, ${SLOT_COLUMNS} FROM subscribers
           WHERE status = 'confirmed' AND next_digest_at < $1
           ORDER BY next_digest_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`,
          [oldest, config.PLANNER_CHUNK_SIZE],
        );
        if (rows.length > 0) await advance(client, rows, now, 'slot', now);
        return rows.length;
      });
      total += n;
      if (n < config.PLANNER_CHUNK_SIZE) break;
    }
    if (total > 0) {
      deps.onExpired?.(total);
      log.warn({ readers: total }, 'digest slots expired: too old to send, skipped');
    }
    return total;
  }

  /** One chunk of due readers, planned and committed. Returns how many readers it took. */
  async function planChunk(now: Date, limit: number, cursor: DueCursor, result: PlanResult): Promise<number> {
    const chunkJobs: BatchJob[] = [];
    const taken = await withTransaction(db, async (client) => {
      // Keyset: start past the last reader this run planned. Readers before it that another
      // planner held (SKIP LOCKED) are that planner's; if it rolled back, the next run takes them.
      // The order is subscribers_due_profile_idx's (migration 010).
      const { rows } = await client.query<DueReader>(
        `SELECT id, next_digest_at, language, topics, alerts, ${SLOT_COLUMNS} FROM subscribers
         WHERE status = 'confirmed' AND next_digest_at IS NOT NULL AND next_digest_at <= $1
           AND (next_digest_at, language, frequency, topics, alerts, id)
             > ($2::timestamptz, $3::text, $4::text, $5::text[], $6::boolean, $7::uuid)
         ORDER BY next_digest_at, language, frequency, topics, alerts, id
         LIMIT $8 FOR UPDATE SKIP LOCKED`,
        [now, cursor.due, cursor.language, cursor.frequency, cursor.topics, cursor.alerts, cursor.id, limit],
      );
      if (rows.length === 0) return 0;
      const last = rows.at(-1)!;
      Object.assign(cursor, {
        due: last.next_digest_at,
        language: last.language,
        frequency: last.frequency,
        topics: last.topics,
        alerts: last.alerts,
        id: last.id,
      });
      const ids = rows.map((r) => r.id);
      const groups = await groupReaders(client, {
        readerIds: ids,
        now,
        source: { kind: 'window', graceSeconds: config.DIGEST_ARRIVAL_GRACE_SECONDS },
        maxItems: publication.digest.maxItems,
        weeklyMaxItems: publication.digest.weeklyMaxItems,
      });
      // Same order in every planner, so two of them lock shared editions without deadlocking.
      const keyed = groups
        .map((g) => ({
          g,
          key: `digest-${g.language}-${g.frequency}-${g.dueAt.toISOString()}-${articleSetHash(g.articleIds, g.hasMore)}`,
        }))
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      for (const { g, key } of keyed) {
        const filled = await fillEdition(
          client,
          deps,
          {
            kind: 'digest',
            key,
            template: 'digest',
            language: g.language,
            frequency: g.frequency,
            articleIds: g.articleIds,
            dueAt: g.dueAt,
            moreUrl: g.hasMore ? publication.website : null,
            createdBy: 'planner',
          },
          now,
          () => g.subscriberIds,
        );
        if (filled.status === 'not-rendered') {
          log.warn(
            { editionId: filled.edition.id, reason: filled.reason },
            'edition not rendered; cancelled',
          );
          continue;
        }
        if (filled.status !== 'filled') continue;
        const { edition, persisted } = filled;
        if (!result.editions.includes(edition.id)) result.editions.push(edition.id);
        result.rows += persisted.rows;
        result.batches += persisted.batches.length;
        if (persisted.batches.length > 0)
          chunkJobs.push({ lane: 'send', editionId: edition.id, batches: persisted.batches });
      }
      // Everyone in the chunk moves on, including readers with nothing new (empty digests are not sent).
      await advance(client, rows, now, 'now', now);
      return ids.length;
    });
    // After the commit, so a send job never sees rows that might still roll back; all at once, so
    // the window in which a crash loses jobs (maintenance repairs it) is one Redis round trip.
    await Promise.all(chunkJobs.map((j) => enqueuer.sendBatches(j.lane, j.editionId, j.batches)));
    result.readers += taken;
    return taken;
  }

  /** When the next reader falls due before the next tick, wake a planner for that instant. */
  async function scheduleWakeup(now: Date): Promise<void> {
    const { rows } = await db.query<{ at: Date | null }>(
      // ORDER BY ... LIMIT 1 rather than min(): one probe of subscribers_due_profile_idx even when the
      // statistics are stale (right after a send moved everyone's slot, min() walked the index)
      `SELECT next_digest_at AS at FROM subscribers
        WHERE status = 'confirmed' AND next_digest_at IS NOT NULL AND next_digest_at > $1
        ORDER BY next_digest_at LIMIT 1`,
      [now],
    );
    const at = rows[0]?.at;
    if (at && at.getTime() - now.getTime() < config.PLANNER_INTERVAL_SECONDS * 1000) {
      await enqueuer.planAt(at);
    }
  }

  async function plan(): Promise<PlanResult> {
    const now = clock.now();
    const result: PlanResult = { scheduled: 0, expired: 0, readers: 0, editions: [], rows: 0, batches: 0 };
    result.scheduled = await scheduleNew(now);
    result.expired = await expireOverdue(now);
    // Small first chunk: taken in edition order, it is about one edition's first batch, persisted
    // and sending after a single render while the rest is planned.
    let limit = Math.min(config.DELIVERY_BATCH_SIZE, config.PLANNER_CHUNK_SIZE);
    // expired slots were skipped above; anything older than the limit left here is a race: next run
    const cursor: DueCursor = {
      due: new Date(now.getTime() - config.DIGEST_MAX_AGE_SECONDS * 1000),
      language: '',
      frequency: '',
      topics: [],
      alerts: false,
      id: '00000000-0000-0000-0000-000000000000',
    };
    for (;;) {
      const taken = await planChunk(now, limit, cursor, result);
      if (taken < limit) break;
      limit = Math.min(limit * 4, config.PLANNER_CHUNK_SIZE);
    }
    await scheduleWakeup(now).catch((err) =>
      log.warn({ err: (err as Error).message }, 'could not schedule the next planner wake-up'),
    );
    if (result.readers > 0 || result.expired > 0) {
      log.info(
        {
          readers: result.readers,
          editions: result.editions.length,
          rows: result.rows,
          expired: result.expired,
          scheduled: result.scheduled,
        },
        'digests planned',
      );
    }
    return result;
  }

  return { plan, scheduleNew, expireOverdue };
}

export type Planner = ReturnType<typeof createPlanner>;
