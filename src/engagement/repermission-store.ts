/**
 * Owner of `repermissions` (see CONTEXT.md, table owners): one row per reader, the latest
 * re-permission round. The statements that choose whom to ask read subscribers, clicks and
 * click_optouts; only human clicks count (scanner IS NULL), and a reader who turned tracking off
 * is never judged by clicks.
 */
import type { Queryable } from '../db/pool.js';

export interface Candidate {
  id: string;
  email: string;
}

/**
 * Confirmed readers confirmed before `cutoff`, with no human click since, who turned tracking on
 * (no opt-out) and have no open round nor an answer since `cutoff`; in id order after `after`.
 */
export async function candidates(
  q: Queryable,
  cutoff: Date,
  after: string | null,
  limit: number,
): Promise<Candidate[]> {
  const { rows } = await q.query<Candidate>(
    `SELECT s.id, s.email FROM subscribers s
      WHERE s.status = 'confirmed' AND s.confirmed_at < $1
        AND ($2::uuid IS NULL OR s.id > $2)
        AND NOT EXISTS (SELECT 1 FROM click_optouts o WHERE o.subscriber_id = s.id)
        AND NOT EXISTS (SELECT 1 FROM clicks c
                         WHERE c.subscriber_id = s.id AND c.scanner IS NULL AND c.clicked_at >= $1)
        AND NOT EXISTS (SELECT 1 FROM repermissions r
                         WHERE r.subscriber_id = s.id AND (r.answered_at IS NULL OR r.answered_at >= $1))
      ORDER BY s.id LIMIT $3`,
    [cutoff, after, limit],
  );
  return rows;
}

/**
 * The first click ever stored: before it nobody's clicks were counted, so a period that starts
 * earlier would judge readers by a time tracking was off (or not yet in Gazette).
 */
export async function firstClickAt(q: Queryable): Promise<Date | null> {
  const { rows } = await q.query<{ at: Date | null }>('SELECT min(clicked_at) AS at FROM clicks');
  return rows[0]?.at ?? null;
}

/**
 * Starts a round for each reader who has none open: a new row, or the old one when its answer is
 * older than `cutoff`. The row lock makes a second run (or a concurrent one) start nothing.
 */
export async function openRounds(q: Queryable, ids: string[], at: Date, cutoff: Date): Promise<string[]> {
  if (ids.length === 0) return [];
  const { rows } = await q.query<{ subscriber_id: string }>(
    `INSERT INTO repermissions (subscriber_id, asked_at)
     SELECT unnest($1::uuid[]), $2
     ON CONFLICT (subscriber_id) DO UPDATE
        SET asked_at = EXCLUDED.asked_at, delivery_id = NULL, answered_at = NULL, answered_by = NULL,
            paused_at = NULL
      WHERE repermissions.answered_at IS NOT NULL AND repermissions.answered_at < $3
     RETURNING subscriber_id`,
    [ids, at, cutoff],
  );
  return rows.map((r) => r.subscriber_id);
}

export async function setDelivery(q: Queryable, subscriberId: string, deliveryId: number): Promise<void> {
  await q.query('UPDATE repermissions SET delivery_id = $2 WHERE subscriber_id = $1', [
    subscriberId,
    deliveryId,
  ]);
}

/** An open round whose reader clicked (a human click) after the question: that is an answer too. */
export async function answerByClicks(q: Queryable): Promise<number> {
  const { rowCount } = await q.query(
    `UPDATE repermissions r SET answered_at = c.at, answered_by = 'reader'
       FROM (SELECT c.subscriber_id, max(c.clicked_at) AS at
               FROM clicks c JOIN repermissions r2 ON r2.subscriber_id = c.subscriber_id
              WHERE c.scanner IS NULL AND c.clicked_at > r2.asked_at
                AND r2.answered_at IS NULL AND r2.paused_at IS NULL
              GROUP BY c.subscriber_id) c
      WHERE r.subscriber_id = c.subscriber_id AND r.answered_at IS NULL AND r.paused_at IS NULL`,
  );
  return rowCount ?? 0;
}

/**
 * Open rounds whose mail was sent before `cutoff` (the grace started at the send, not the ask),
 * locked and closed as paused; returns their readers.
 */
export async function closeUnanswered(q: Queryable, cutoff: Date, at: Date): Promise<string[]> {
  const { rows } = await q.query<{ subscriber_id: string }>(
    `UPDATE repermissions r SET paused_at = $2
       FROM deliveries d
      WHERE d.id = r.delivery_id AND d.state = 'sent' AND d.sent_at < $1
        AND r.answered_at IS NULL AND r.paused_at IS NULL
     RETURNING r.subscriber_id`,
    [cutoff, at],
  );
  return rows.map((r) => r.subscriber_id);
}

/** The reader's (or an operator's) answer: the round is closed, paused or not. */
export async function recordAnswer(
  q: Queryable,
  subscriberId: string,
  by: 'reader' | 'operator',
  at: Date,
): Promise<void> {
  await q.query(
    `INSERT INTO repermissions (subscriber_id, asked_at, answered_at, answered_by) VALUES ($1, $2, $2, $3)
     ON CONFLICT (subscriber_id) DO UPDATE SET answered_at = $2, answered_by = $3`,
    [subscriberId, at, by],
  );
}

export interface RepermissionCounts {
  /** mails sent or owed, no answer yet, not paused */
  waiting: number;
  /** readers paused now */
  paused: number;
  /** rounds answered by the reader (keep link, click, preference centre) */
  keptByReader: number;
  /** rounds closed by an operator's resume */
  resumedByOperator: number;
}

export async function repermissionCounts(q: Queryable): Promise<RepermissionCounts> {
  const { rows } = await q.query<RepermissionCounts>(
    `SELECT
       (SELECT count(*)::int FROM repermissions WHERE answered_at IS NULL AND paused_at IS NULL) AS waiting,
       (SELECT count(*)::int FROM subscribers WHERE status = 'paused') AS paused,
       (SELECT count(*)::int FROM repermissions WHERE answered_by = 'reader') AS "keptByReader",
       (SELECT count(*)::int FROM repermissions WHERE answered_by = 'operator') AS "resumedByOperator"`,
  );
  return rows[0]!;
}

export async function pausedCount(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM subscribers WHERE status = 'paused'`,
  );
  return rows[0]!.n;
}
