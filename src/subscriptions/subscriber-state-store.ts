/**
 * The statements behind a reader's own state changes (subscribe, confirm, preferences, unsubscribe,
 * undo) and the operator's block and listing. subscriber-store.ts holds the shared row shape, the
 * consent log and the planner's and importer's statements; this file holds the rest of the
 * subscribers writes of the subscription service, so the service files carry no SQL.
 */
import type { Queryable } from '../db/pool.js';
import type { Language } from '../publication.js';
import type { Frequency, SubscriberStatus } from './schemas.js';
import { COLUMNS, type SubscriberRow } from './subscriber-store.js';
import type { SubscriptionInput } from './validate.js';

/** A pending row for an address not seen yet; an existing row is left as it is. */
export async function insertPendingIfAbsent(q: Queryable, f: SubscriptionInput, at: Date): Promise<void> {
  await q.query(
    `INSERT INTO subscribers (email, email_key, name, status, language, topics, frequency, alerts, timezone,
                              send_hour, created_at, updated_at, weekly_day)
     VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9, $10, $10, $11)
     ON CONFLICT (email_key) DO NOTHING`,
    [
      f.email,
      f.emailKey,
      f.name,
      f.language,
      f.topics,
      f.frequency,
      f.alerts,
      f.timezone,
      f.sendHour,
      at,
      f.weeklyDay,
    ],
  );
}

/**
 * A reader who left asks anew: pending again with the choices of this request. `keepSentAt` keeps
 * the old confirmation time (the resend interval still runs).
 */
export async function reopenPending(
  q: Queryable,
  id: string,
  f: Omit<SubscriptionInput, 'email' | 'emailKey'>,
  nonce: string | null,
  keepSentAt: boolean,
  at: Date,
): Promise<void> {
  await q.query(
    `UPDATE subscribers SET status = 'pending', name = $2, language = $3, topics = $4, frequency = $5,
            alerts = $6, timezone = $7, send_hour = $8, confirm_nonce = $9,
            confirmation_sent_at = CASE WHEN $10 THEN confirmation_sent_at ELSE $11 END,
            confirmed_at = NULL, updated_at = $11, weekly_day = $12
      WHERE id = $1`,
    [
      id,
      f.name,
      f.language,
      f.topics,
      f.frequency,
      f.alerts,
      f.timezone,
      f.sendHour,
      nonce,
      keepSentAt,
      at,
      f.weeklyDay,
    ],
  );
}

/** A pending reader asking again: only the nonce (and, unless kept, the sent time) change. */
export async function refreshPendingNonce(
  q: Queryable,
  id: string,
  nonce: string | null,
  keepSentAt: boolean,
  at: Date,
): Promise<void> {
  await q.query(
    `UPDATE subscribers SET confirm_nonce = $2,
            confirmation_sent_at = CASE WHEN $3 THEN confirmation_sent_at ELSE $4 END, updated_at = $4
      WHERE id = $1`,
    [id, nonce, keepSentAt, at],
  );
}

/** Ledger rows of a confirmation that never left (its enqueue failed). */
export async function pendingDeliveryIds(q: Queryable, dedupeKey: string): Promise<number[]> {
  const { rows } = await q.query<{ id: number }>(
    `SELECT id FROM deliveries WHERE dedupe_key = $1 AND state = 'pending'`,
    [dedupeKey],
  );
  return rows.map((r) => Number(r.id));
}

/** Whether this nonce's link already confirmed the reader (a second click). */
export async function confirmedWithNonce(q: Queryable, id: string, nonce: string): Promise<boolean> {
  const { rows } = await q.query(
    `SELECT 1 FROM consent_events WHERE subscriber_id = $1 AND event = 'confirmed'
        AND details->>'nonce' = $2`,
    [id, nonce],
  );
  return rows.length > 0;
}

export interface SubscribeRequestEvidence {
  consent_version: string | null;
  consent_text: string | null;
  ip: string | null;
  user_agent: string | null;
  source: string | null;
  occurred_at: Date;
}

/** The last subscribe request: its consent evidence goes with the confirmation. */
export async function lastSubscribeRequest(
  q: Queryable,
  id: string,
): Promise<SubscribeRequestEvidence | undefined> {
  const { rows } = await q.query<SubscribeRequestEvidence>(
    `SELECT consent_version, consent_text, host(ip) AS ip, user_agent, source, occurred_at
       FROM consent_events WHERE subscriber_id = $1 AND event = 'subscribe_requested'
      ORDER BY id DESC LIMIT 1`,
    [id],
  );
  return rows[0];
}

/** Confirmed by the reader's link; next_digest_at NULL: the planner gives a first slot next tick. */
export async function markConfirmed(q: Queryable, id: string, at: Date): Promise<void> {
  await q.query(
    `UPDATE subscribers SET status = 'confirmed', confirmed_at = $2, confirm_nonce = NULL,
            unsubscribed_at = NULL, next_digest_at = NULL, updated_at = $2 WHERE id = $1`,
    [id, at],
  );
}

export interface SavedPreferences {
  topics: string[];
  frequency: Frequency;
  alerts: boolean;
  language: Language;
  timezone: string;
  sendHour: number;
  weeklyDay: number | null;
  name: string | null;
}

export async function savePreferences(
  q: Queryable,
  id: string,
  p: SavedPreferences,
  at: Date,
): Promise<void> {
  await q.query(
    // a new frequency, zone or hour drops the old slot so the new rule applies from the next
    // planner tick instead of after one more digest on the old schedule
    `UPDATE subscribers SET topics = $2, frequency = $3, alerts = $4, language = $5, timezone = $6,
            send_hour = $7, updated_at = $8, name = $9, weekly_day = $10,
            next_digest_at = CASE WHEN frequency IS DISTINCT FROM $3 OR timezone IS DISTINCT FROM $6
                                    OR send_hour IS DISTINCT FROM $7 OR weekly_day IS DISTINCT FROM $10
                                  THEN NULL ELSE next_digest_at END
      WHERE id = $1`,
    [id, p.topics, p.frequency, p.alerts, p.language, p.timezone, p.sendHour, at, p.name, p.weeklyDay],
  );
}

export async function markUnsubscribed(q: Queryable, id: string, at: Date): Promise<void> {
  await q.query(
    `UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = $2, confirm_nonce = NULL,
            updated_at = $2 WHERE id = $1`,
    [id, at],
  );
}

/** Undo of an unsubscribe; next_digest_at NULL: the planner gives a fresh slot on its next tick. */
export async function markResubscribed(q: Queryable, id: string, at: Date): Promise<void> {
  await q.query(
    `UPDATE subscribers SET status = 'confirmed', unsubscribed_at = NULL, confirm_nonce = NULL,
            next_digest_at = NULL, updated_at = $2 WHERE id = $1`,
    [id, at],
  );
}

/** The operator's block (bounces and complaints use suppressSubscriber in subscriber-store.ts). */
export async function markSuppressed(q: Queryable, id: string, reason: string, at: Date): Promise<void> {
  await q.query(
    `UPDATE subscribers SET status = 'suppressed', suppressed_reason = $2, confirm_nonce = NULL,
            updated_at = $3 WHERE id = $1`,
    [id, reason, at],
  );
}

export interface ListFilter {
  emailKey?: string;
  status?: SubscriberStatus;
  after?: { createdAt: string; id: string };
  /** rows to read (one more than the page, to know whether another page follows) */
  take: number;
}

export async function listSubscribers(q: Queryable, f: ListFilter): Promise<SubscriberRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.emailKey !== undefined) {
    params.push(f.emailKey);
    where.push(`email_key = $${params.length}`);
  }
  if (f.status) {
    params.push(f.status);
    where.push(`status = $${params.length}`);
  }
  if (f.after) {
    params.push(f.after.createdAt, f.after.id);
    where.push(`(created_at, id) > ($${params.length - 1}, $${params.length})`);
  }
  params.push(f.take);
  const { rows } = await q.query<SubscriberRow>(
    `SELECT ${COLUMNS}
       FROM subscribers ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at, id LIMIT $${params.length}`,
    params,
  );
  return rows;
}

export interface RecentDelivery {
  id: number;
  kind: string;
  state: string;
  attempts: number;
  created_at: Date;
  sent_at: Date | null;
  error: string | null;
}

export async function recentDeliveries(q: Queryable, subscriberId: string): Promise<RecentDelivery[]> {
  const { rows } = await q.query<RecentDelivery>(
    `SELECT id, kind, state, attempts, created_at, sent_at, error FROM deliveries
      WHERE subscriber_id = $1 ORDER BY id DESC LIMIT 50`,
    [subscriberId],
  );
  return rows;
}

/** Re-permission unanswered (src/engagement/): confirmed readers paused; returns the ones changed. */
export async function markPaused(q: Queryable, ids: string[], at: Date): Promise<string[]> {
  if (ids.length === 0) return [];
  const { rows } = await q.query<{ id: string }>(
    `UPDATE subscribers SET status = 'paused', updated_at = $2
      WHERE id = ANY($1::uuid[]) AND status = 'confirmed' RETURNING id`,
    [ids, at],
  );
  return rows.map((r) => r.id);
}

/** A paused reader resumed (keep link, preference centre, operator); next_digest_at NULL: a fresh slot. */
export async function markUnpaused(q: Queryable, id: string, at: Date): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE subscribers SET status = 'confirmed', next_digest_at = NULL, updated_at = $2
      WHERE id = $1 AND status = 'paused'`,
    [id, at],
  );
  return (rowCount ?? 0) > 0;
}
