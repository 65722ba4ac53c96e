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
  | 'suppressed';

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

const COLUMNS = `id, email, email_key, name, status, language, topics, frequency, alerts, timezone, send_hour,
  confirm_nonce, confirmation_sent_at, confirmed_at, unsubscribed_at, suppressed_reason, created_at`;

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
                                send_hour, confirm_nonce, confirmation_sent_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9, $10, $11, $12, $12, $12)
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
    ],
  );
  return rows[0] ? Number(rows[0].id) : undefined;
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
    createdAt: r.created_at.toISOString(),
    confirmedAt: r.confirmed_at?.toISOString() ?? null,
    unsubscribedAt: r.unsubscribed_at?.toISOString() ?? null,
    suppressedReason: r.suppressed_reason,
  };
}
