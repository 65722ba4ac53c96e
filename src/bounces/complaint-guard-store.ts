import type { Queryable } from '../db/pool.js';

/**
 * The SQL of complaint_guard (migration 028), its one owner, and the two counts the complaint rate
 * is made of. One row: where the measurement starts and what the guard has done since.
 */
export interface GuardState {
  measuredFrom: Date | null;
  alertedAt: Date | null;
  pausedAt: Date | null;
  pausedComplaints: number | null;
  pausedSent: number | null;
  resumedAt: Date | null;
  resumedBy: string | null;
}

interface GuardRow {
  measured_from: Date | null;
  alerted_at: Date | null;
  paused_at: Date | null;
  paused_complaints: number | null;
  paused_sent: number | null;
  resumed_at: Date | null;
  resumed_by: string | null;
}

const toState = (r: GuardRow | undefined): GuardState => ({
  measuredFrom: r?.measured_from ?? null,
  alertedAt: r?.alerted_at ?? null,
  pausedAt: r?.paused_at ?? null,
  pausedComplaints: r?.paused_complaints ?? null,
  pausedSent: r?.paused_sent ?? null,
  resumedAt: r?.resumed_at ?? null,
  resumedBy: r?.resumed_by ?? null,
});

export async function readGuard(q: Queryable, forUpdate = false): Promise<GuardState> {
  const { rows } = await q.query<GuardRow>(
    `SELECT measured_from, alerted_at, paused_at, paused_complaints, paused_sent, resumed_at, resumed_by
       FROM complaint_guard WHERE id${forUpdate ? ' FOR UPDATE' : ''}`,
  );
  return toState(rows[0]);
}

/** Marks the alert raised; false when another process raised it since `from` already. */
export async function markAlerted(q: Queryable, at: Date, from: Date): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE complaint_guard SET alerted_at = $1 WHERE id AND (alerted_at IS NULL OR alerted_at < $2)`,
    [at, from],
  );
  return (rowCount ?? 0) > 0;
}

export async function markPaused(q: Queryable, at: Date, complaints: number, sent: number): Promise<void> {
  await q.query(
    `UPDATE complaint_guard SET paused_at = $1, paused_complaints = $2, paused_sent = $3 WHERE id`,
    [at, complaints, sent],
  );
}

/**
 * An operator resumed after a complaint pause: the complaints so far are acknowledged, so the rate
 * is measured afresh from now (else it would pause again at once, the same complaints still inside
 * the window).
 */
export async function markResumed(q: Queryable, at: Date, by: string): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE complaint_guard SET measured_from = $1, resumed_at = $1, resumed_by = $2, paused_at = NULL,
            paused_complaints = NULL, paused_sent = NULL, alerted_at = NULL
      WHERE id AND paused_at IS NOT NULL`,
    [at, by.slice(0, 200)],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * Complaints received and messages sent since `from`. A reader's complaint reported twice (a
 * feedback loop and the relay's webhook) counts once.
 */
export async function complaintFigures(
  q: Queryable,
  from: Date,
): Promise<{ complaints: number; sent: number }> {
  const { rows } = await q.query<{ complaints: number; sent: number }>(
    `SELECT (SELECT count(DISTINCT coalesce(delivery_id::text, recipient, id::text))::int
               FROM bounce_events WHERE class = 'complaint' AND received_at >= $1) AS complaints,
            (SELECT count(*)::int FROM deliveries WHERE sent_at >= $1) AS sent`,
    [from],
  );
  return rows[0] ?? { complaints: 0, sent: 0 };
}
