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
