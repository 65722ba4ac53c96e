import type { Queryable } from '../db/pool.js';
import type { BounceClass } from './classify.js';

/**
 * The SQL of bounce_events (migration 025), its one owner. Reads of the ledger that a bounce needs
 * (which delivery a Message-ID names) live here too, beside the statement that links them.
 */

/** Where a report came from: a refusal at send time, a relay's webhook, or a DSN/ARF by mail. */
export type BounceSource = 'smtp' | 'postmark' | 'mailgun' | 'sendgrid' | 'standard' | 'ses' | 'inbound';

export interface NewBounceEvent {
  source: BounceSource;
  eventId: string;
  class: BounceClass;
  rule: string | null;
  recipient: string | null;
  subscriberId: string | null;
  deliveryId: number | null;
  editionId: string | null;
  messageId: string | null;
  status: string | null;
  diagnostic: string | null;
  /** the report as received; stored capped (RAW_CAP) */
  raw: Buffer | null;
  occurredAt: Date;
  receivedAt: Date;
}

export interface DeliveryRef {
  id: number;
  subscriberId: string | null;
  editionId: string | null;
  recipient: string;
  messageId: string | null;
}

const DIAGNOSTIC_CAP = 2000;
/** enough for a DSN's report parts and the returned headers; attachments beyond it are not evidence */
export const RAW_CAP = 64 * 1024;

/** "<a@b>" whatever the relay sent ("a@b", " <a@b> "); null when it is not a Message-ID. */
export function normalizeMessageId(value: string | null | undefined): string | null {
  const v = value?.trim();
  if (!v) return null;
  const bare = v.replace(/^<|>$/g, '');
  return /^[^<>\s@]+@[^<>\s@]+$/.test(bare) ? `<${bare}>` : null;
}

/** The ledger row a bounce is about, by its id (VERP, refusals) or by the Message-ID we sent. */
export async function findDelivery(
  q: Queryable,
  by: { deliveryId?: number | null; messageId?: string | null },
): Promise<DeliveryRef | undefined> {
  const messageId = normalizeMessageId(by.messageId);
  if (by.deliveryId == null && !messageId) return undefined;
  const { rows } = await q.query<{
    id: string;
    subscriber_id: string | null;
    edition_id: string | null;
    recipient: string;
    message_id: string | null;
  }>(
    by.deliveryId != null
      ? 'SELECT id, subscriber_id, edition_id, recipient, message_id FROM deliveries WHERE id = $1'
      : // newest first: a resend copy carries a message id of its own, but be definite anyway
        `SELECT id, subscriber_id, edition_id, recipient, message_id FROM deliveries
          WHERE message_id = $1 ORDER BY id DESC LIMIT 1`,
    [by.deliveryId ?? messageId],
  );
  const r = rows[0];
  return r
    ? {
        id: Number(r.id),
        subscriberId: r.subscriber_id,
        editionId: r.edition_id,
        recipient: r.recipient,
        messageId: r.message_id,
      }
    : undefined;
}

/** Stores one event; undefined when (source, event id) was stored before (a replay). */
export async function insertBounceEvent(q: Queryable, e: NewBounceEvent): Promise<number | undefined> {
  const { rows } = await q.query<{ id: string }>(
    `INSERT INTO bounce_events (source, event_id, class, rule, recipient, subscriber_id, delivery_id, edition_id,
                                message_id, status, diagnostic, raw, occurred_at, received_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
     ON CONFLICT (source, event_id) DO NOTHING
     RETURNING id`,
    [
      e.source,
      e.eventId.slice(0, 300),
      e.class,
      e.rule?.slice(0, 100) ?? null,
      e.recipient?.slice(0, 320) ?? null,
      e.subscriberId,
      e.deliveryId,
      e.editionId,
      e.messageId?.slice(0, 500) ?? null,
      e.status?.slice(0, 20) ?? null,
      e.diagnostic?.slice(0, DIAGNOSTIC_CAP) ?? null,
      e.raw ? e.raw.subarray(0, RAW_CAP) : null,
      e.occurredAt,
      e.receivedAt,
    ],
  );
  return rows[0] ? Number(rows[0].id) : undefined;
}

export async function markEventSuppressed(q: Queryable, id: number): Promise<void> {
  await q.query('UPDATE bounce_events SET suppressed = true WHERE id = $1', [id]);
}

/**
 * Soft bounces of a reader that occurred since `since` (the event just stored included), counting
 * only those after the reader's last success before `at`: a message accepted for them that no
 * report came back about. A mailbox full on Monday that took Tuesday's digest starts afresh.
 */
export async function softBouncesSince(
  q: Queryable,
  subscriberId: string,
  since: Date,
  at: Date,
): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `WITH success AS (
       SELECT max(d.sent_at) AS at FROM deliveries d
        WHERE d.subscriber_id = $1 AND d.state = 'sent' AND d.sent_at >= $2 AND d.sent_at < $3
          AND NOT EXISTS (SELECT 1 FROM bounce_events b WHERE b.delivery_id = d.id)
     )
     SELECT count(*)::int AS n FROM bounce_events, success
      WHERE subscriber_id = $1 AND class = 'soft' AND occurred_at >= coalesce(success.at, $2)`,
    [subscriberId, since, at],
  );
  return rows[0]?.n ?? 0;
}

export interface EditionBounceCounts {
  /** ledger rows of the edition with a hard, soft or block bounce */
  bounced: number;
  complained: number;
  autoReplied: number;
}

/** Counted per ledger row (a row bounced twice, by DSN and by webhook, is one bounce). */
export async function editionBounceCounts(q: Queryable, editionId: string): Promise<EditionBounceCounts> {
  return (await editionsBounceCounts(q, [editionId])).get(editionId)!;
}

/** The same for several editions (a page of the edition list) in one query. */
export async function editionsBounceCounts(
  q: Queryable,
  editionIds: string[],
): Promise<Map<string, EditionBounceCounts>> {
  const { rows } = await q.query<EditionBounceCounts & { edition_id: string }>(
    `SELECT edition_id,
            count(DISTINCT coalesce(delivery_id::text, recipient, id::text))
              FILTER (WHERE class IN ('hard', 'soft', 'block'))::int AS bounced,
            count(DISTINCT coalesce(delivery_id::text, recipient, id::text))
              FILTER (WHERE class = 'complaint')::int AS complained,
            count(DISTINCT coalesce(delivery_id::text, recipient, id::text))
              FILTER (WHERE class = 'auto-reply')::int AS "autoReplied"
       FROM bounce_events WHERE edition_id = ANY($1::uuid[]) GROUP BY edition_id`,
    [editionIds],
  );
  const byId = new Map(rows.map(({ edition_id, ...c }) => [edition_id, c]));
  return new Map(editionIds.map((id) => [id, byId.get(id) ?? { bounced: 0, complained: 0, autoReplied: 0 }]));
}

export interface ReaderBounce {
  id: number;
  source: BounceSource;
  class: BounceClass;
  rule: string | null;
  status: string | null;
  diagnostic: string | null;
  deliveryId: number | null;
  editionId: string | null;
  suppressed: boolean;
  occurredAt: string;
  receivedAt: string;
}

/** A report as the console lists it: with the subject of its edition. */
export interface ReaderBounceLine extends ReaderBounce {
  editionSubject: string | null;
}

/**
 * A reader's bounce and complaint reports, newest first (`limit` after `offset`): why the reader
 * is suppressed. bounce_events_subscriber_idx (subscriber_id, occurred_at) serves the order.
 */
export async function readerBounces(
  q: Queryable,
  subscriberId: string,
  limit: number,
  offset = 0,
): Promise<ReaderBounceLine[]> {
  const { rows } = await q.query<{
    id: string;
    source: BounceSource;
    class: BounceClass;
    rule: string | null;
    status: string | null;
    diagnostic: string | null;
    delivery_id: string | null;
    edition_id: string | null;
    suppressed: boolean;
    occurred_at: Date;
    received_at: Date;
    subject: string | null;
  }>(
    `SELECT b.id, b.source, b.class, b.rule, b.status, b.diagnostic, b.delivery_id, b.edition_id,
            b.suppressed, b.occurred_at, b.received_at, e.subject
       FROM bounce_events b LEFT JOIN editions e ON e.id = b.edition_id
      WHERE b.subscriber_id = $1 ORDER BY b.occurred_at DESC, b.id DESC LIMIT $2 OFFSET $3`,
    [subscriberId, limit, offset],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    source: r.source,
    class: r.class,
    rule: r.rule,
    status: r.status,
    diagnostic: r.diagnostic,
    deliveryId: r.delivery_id === null ? null : Number(r.delivery_id),
    editionId: r.edition_id,
    editionSubject: r.subject,
    suppressed: r.suppressed,
    occurredAt: r.occurred_at.toISOString(),
    receivedAt: r.received_at.toISOString(),
  }));
}

/** How many reports a reader has (the console's pager). */
export async function countReaderBounces(q: Queryable, subscriberId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM bounce_events WHERE subscriber_id = $1',
    [subscriberId],
  );
  return rows[0]?.n ?? 0;
}

/**
 * Erasure: a reader's reports stay (edition bounce counts and the complaint rate are computed from
 * them) but lose the address, the reader and the evidence (a DSN or a relay's event quotes the
 * recipient). Returns how many reports were scrubbed.
 */
export async function scrubReaderBounces(
  q: Queryable,
  subscriberId: string,
  emailKey: string,
): Promise<number> {
  const { rowCount } = await q.query(
    `UPDATE bounce_events SET recipient = NULL, subscriber_id = NULL, diagnostic = NULL, raw = NULL
      WHERE subscriber_id = $1 OR lower(recipient) = $2`,
    [subscriberId, emailKey],
  );
  return rowCount ?? 0;
}
