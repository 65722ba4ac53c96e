import type { Queryable } from '../db/pool.js';
import type { Language } from '../publication.js';
import type { ConsentEventView, Frequency, SubscriberStatus, SubscriberView } from './schemas.js';

/** A subscribers row as the domain code uses it. */
export interface SubscriberRow {
  id: string;
  email: string;
  email_key: string;
  name: string | null;
  status: SubscriberStatus;
  language: Language;
  topics: string[];
  frequency: Frequency;
  alerts: boolean;
  timezone: string;
  send_hour: number;
  weekly_day: number | null; // 0 = Sunday; null: the publication's weekly day
  confirm_nonce: string | null;
  confirmation_sent_at: Date | null;
  confirmed_at: Date | null;
  unsubscribed_at: Date | null;
  suppressed_reason: string | null;
  created_at: Date;
}

export type ConsentEventName =
  | 'subscribe_requested'
  | 'confirmed'
  | 'preferences_changed'
  | 'unsubscribed'
  | 'suppressed'
  | 'resubscribed'
  | 'suppression_lifted'
  | 'confirmation_resent'
  | 'resumed';

export interface ConsentEvent {
  subscriberId: string;
  email: string;
  event: ConsentEventName;
  source: string;
  consentVersion?: string | null;
  consentText?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  details?: Record<string, unknown>;
  at: Date;
}

export const COLUMNS = `id, email, email_key, name, status, language, topics, frequency, alerts, timezone, send_hour,
  weekly_day, confirm_nonce, confirmation_sent_at, confirmed_at, unsubscribed_at, suppressed_reason, created_at`;

export async function findByKey(q: Queryable, key: string, lock = false): Promise<SubscriberRow | undefined> {
  const { rows } = await q.query<SubscriberRow>(
    `SELECT ${COLUMNS} FROM subscribers WHERE email_key = $1${lock ? ' FOR UPDATE' : ''}`,
    [key],
  );
  return rows[0];
}

export async function findById(q: Queryable, id: string, lock = false): Promise<SubscriberRow | undefined> {
  const { rows } = await q.query<SubscriberRow>(
    `SELECT ${COLUMNS} FROM subscribers WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0];
}

export async function appendConsent(q: Queryable, e: ConsentEvent): Promise<void> {
  await q.query(
    `INSERT INTO consent_events
       (subscriber_id, email, event, source, consent_version, consent_text, ip, user_agent, details, occurred_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      e.subscriberId,
      e.email,
      e.event,
      e.source,
      e.consentVersion ?? null,
      e.consentText ?? null,
      e.ip ?? null,
      e.userAgent ? e.userAgent.slice(0, 512) : null,
      JSON.stringify(e.details ?? {}),
      e.at,
    ],
  );
}

export interface Suppression {
  subscriberId: string;
  reason: string;
  /** who decided: operator, bounce-hard, bounce-soft, complaint */
  source: string;
  details?: Record<string, unknown>;
  at: Date;
}

/**
 * Suppresses a reader (no more mail of any kind, until an operator lifts it), with a consent
 * event as evidence. Returns false when the reader was already suppressed or does not exist: then
 * nothing is written, so a second report about the same address adds no second event.
 */
export async function suppressSubscriber(q: Queryable, s: Suppression): Promise<boolean> {
  const { rows } = await q.query<{ email: string; previous: string }>(
    `WITH prev AS (SELECT id, email, status FROM subscribers WHERE id = $1 FOR UPDATE)
     UPDATE subscribers sub SET status = 'suppressed', suppressed_reason = $2, confirm_nonce = NULL, updated_at = $3
       FROM prev
      WHERE sub.id = prev.id AND prev.status <> 'suppressed'
      RETURNING prev.email, prev.status AS previous`,
    [s.subscriberId, s.reason.slice(0, 500), s.at],
  );
  const row = rows[0];
  if (!row) return false;
  await appendConsent(q, {
    subscriberId: s.subscriberId,
    email: row.email,
    event: 'suppressed',
    source: s.source,
    details: { reason: s.reason, previousStatus: row.previous, ...s.details },
    at: s.at,
  });
  return true;
}

export interface NewSubscription {
  id: string;
  email: string;
  emailKey: string;
  name: string | null;
  language: string;
  topics: string[];
  frequency: string;
  alerts: boolean;
  timezone: string;
  sendHour: number;
  weeklyDay: number | null;
  nonce: string;
  /** the subscribe_requested evidence, minus what the subscriber row already says */
  consent: Omit<ConsentEvent, 'subscriberId' | 'email' | 'event' | 'at'>;
  confirmationDedupeKey: string;
  at: Date;
}

/**
 * A first request for an address in one statement (no round trips between the rows): the pending
 * subscriber, its consent evidence and its confirmation mail's ledger row. Returns the ledger row's
 * id, or undefined when the address is already known (nothing is written then).
 */
export async function insertNewSubscription(q: Queryable, n: NewSubscription): Promise<number | undefined> {
  const { rows } = await q.query<{ id: string }>(
    `WITH s AS (
       INSERT INTO subscribers (id, email, email_key, name, status, language, topics, frequency, alerts, timezone,
                                send_hour, confirm_nonce, confirmation_sent_at, created_at, updated_at, weekly_day)
       VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9, $10, $11, $12, $12, $12, $20)
       ON CONFLICT (email_key) DO NOTHING
       RETURNING id
     ), c AS (
       INSERT INTO consent_events
         (subscriber_id, email, event, source, consent_version, consent_text, ip, user_agent, details, occurred_at)
       SELECT id, $2::text, 'subscribe_requested', $13::text, $14::text, $15::text, $16::inet, $17::text,
              $18::jsonb, $12::timestamptz
         FROM s
     )
     INSERT INTO deliveries (kind, dedupe_key, subscriber_id, recipient, created_at, updated_at)
     SELECT 'confirmation', $19::text, id, $2::text, $12::timestamptz, $12::timestamptz FROM s
     RETURNING id`,
    [
      n.id,
      n.email,
      n.emailKey,
      n.name,
      n.language,
      n.topics,
      n.frequency,
      n.alerts,
      n.timezone,
      n.sendHour,
      n.nonce,
      n.at,
      n.consent.source,
      n.consent.consentVersion ?? null,
      n.consent.consentText ?? null,
      n.consent.ip ?? null,
      n.consent.userAgent ? n.consent.userAgent.slice(0, 512) : null,
      JSON.stringify(n.consent.details ?? {}),
      n.confirmationDedupeKey,
      n.weeklyDay,
    ],
  );
  return rows[0] ? Number(rows[0].id) : undefined;
}

/** The status a reader had before their last unsubscribe, as its consent event recorded it. */
export async function statusBeforeLastUnsubscribe(
  q: Queryable,
  subscriberId: string,
): Promise<string | undefined> {
  const { rows } = await q.query<{ previous: string | null }>(
    `SELECT details->>'previousStatus' AS previous FROM consent_events
      WHERE subscriber_id = $1 AND event = 'unsubscribed' ORDER BY id DESC LIMIT 1`,
    [subscriberId],
  );
  return rows[0]?.previous ?? undefined;
}

export async function consentHistory(q: Queryable, subscriberId: string): Promise<ConsentEventView[]> {
  const { rows } = await q.query(
    `SELECT event, source, consent_version, consent_text, host(ip) AS ip, user_agent, details, occurred_at
       FROM consent_events WHERE subscriber_id = $1 ORDER BY id`,
    [subscriberId],
  );
  return rows.map((r) => ({
    event: r.event,
    source: r.source,
    consentVersion: r.consent_version,
    consentText: r.consent_text,
    ip: r.ip,
    userAgent: r.user_agent,
    details: r.details,
    occurredAt: (r.occurred_at as Date).toISOString(),
  }));
}

export function toView(r: SubscriberRow): SubscriberView {
  return {
    id: r.id,
    email: r.email,
    name: r.name,
    status: r.status,
    language: r.language,
    topics: r.topics,
    frequency: r.frequency,
    alerts: r.alerts,
    timezone: r.timezone,
    sendHour: r.send_hour,
    weeklyDay: r.weekly_day,
    createdAt: r.created_at.toISOString(),
    confirmedAt: r.confirmed_at?.toISOString() ?? null,
    unsubscribedAt: r.unsubscribed_at?.toISOString() ?? null,
    suppressedReason: r.suppressed_reason,
  };
}

// ---- digest schedule: the planner computes the slots (src/digests/planner.ts); written here

/** A combination of what decides a slot and its next slot (weekly_day: stored; weekly readers only). */
export interface DigestSlot
  extends Pick<SubscriberRow, 'frequency' | 'timezone' | 'send_hour' | 'weekly_day'> {
  nextAt: Date | null;
}

/** the slots as a relation v, from parameters $<first> .. $<first + 4>, and the match on s */
const slotsFrom = (first: number) =>
  `unnest($${first}::text[], $${first + 1}::text[], $${first + 2}::int[], $${first + 3}::timestamptz[],
          $${first + 4}::int[]) AS v(frequency, timezone, send_hour, next_at, weekly_day)`;
const SLOT_MATCH = `s.frequency = v.frequency AND s.timezone = v.timezone AND s.send_hour = v.send_hour
  AND (v.frequency <> 'weekly' OR s.weekly_day IS NOT DISTINCT FROM v.weekly_day)`;
const slotParams = (slots: DigestSlot[]) => [
  ...(['frequency', 'timezone', 'send_hour', 'nextAt'] as const).map((f) => slots.map((k) => k[f])),
  slots.map((k) => (k.frequency === 'weekly' ? k.weekly_day : null)),
];

/**
 * next_digest_at of the given readers from their combination's slot, and last_digest_at: `last`
 * (the window ran to now), or 'slot' (it ran to the slot being skipped: the old next_digest_at).
 */
export async function setDigestSlots(
  q: Queryable,
  readerIds: string[],
  slots: DigestSlot[],
  last: Date | 'slot',
): Promise<void> {
  if (slots.length === 0) return;
  await q.query(
    `UPDATE subscribers s SET next_digest_at = v.next_at
       , last_digest_at = ${last === 'slot' ? 's.next_digest_at' : '$7'}
     FROM ${slotsFrom(2)}
     WHERE s.id = ANY($1::uuid[]) AND ${SLOT_MATCH}`,
    [readerIds, ...slotParams(slots), ...(last === 'slot' ? [] : [last])],
  );
}

/** Confirmed daily/weekly readers without a slot get their combination's. Returns how many. */
export async function scheduleUnscheduled(q: Queryable, slots: DigestSlot[]): Promise<number> {
  if (slots.length === 0) return 0;
  const res = await q.query(
    `UPDATE subscribers s SET next_digest_at = v.next_at
     FROM ${slotsFrom(1)}
     WHERE s.status = 'confirmed' AND s.next_digest_at IS NULL AND s.frequency <> 'immediate' AND ${SLOT_MATCH}`,
    slotParams(slots),
  );
  return res.rowCount ?? 0;
}

/**
 * Opens the window of every confirmed immediate reader of `language` who follows one of `topics`
 * (or every topic) and whose window is closed: their digest falls due at `closes`.
 */
export async function openImmediateWindows(
  q: Queryable,
  closes: Date,
  language: string,
  topics: string[],
): Promise<number> {
  const res = await q.query(
    `UPDATE subscribers SET next_digest_at = $1
     WHERE status = 'confirmed' AND frequency = 'immediate' AND next_digest_at IS NULL AND language = $2
       AND (topics = '{}' OR topics && $3::text[])`,
    [closes, language, topics],
  );
  return res.rowCount ?? 0;
}

// ---- operator actions on one reader (src/subscriptions/reader-admin.ts)

/** Back to `status` from suppressed; a pending reader's old link stays void (no nonce). */
export async function liftSuppression(
  q: Queryable,
  id: string,
  status: SubscriberStatus,
  at: Date,
): Promise<void> {
  await q.query(
    `UPDATE subscribers SET status = $2, suppressed_reason = NULL, next_digest_at = NULL, updated_at = $3
      WHERE id = $1 AND status = 'suppressed'`,
    [id, status, at],
  );
}

/** A pending reader's fresh confirmation nonce: older links stop working. */
export async function renewConfirmation(q: Queryable, id: string, nonce: string, at: Date): Promise<void> {
  await q.query(
    `UPDATE subscribers SET confirm_nonce = $2, confirmation_sent_at = $3, updated_at = $3
      WHERE id = $1 AND status = 'pending'`,
    [id, nonce, at],
  );
}

/** An operator's confirmation; the planner gives the reader a first slot on its next tick. */
export async function confirmByOperator(q: Queryable, id: string, at: Date): Promise<void> {
  await q.query(
    `UPDATE subscribers SET status = 'confirmed', confirmed_at = $2, confirm_nonce = NULL, unsubscribed_at = NULL,
            next_digest_at = NULL, updated_at = $2
      WHERE id = $1 AND status = 'pending'`,
    [id, at],
  );
}
