/**
 * What an operator does to one reader beyond suppressing (subscription-service.ts): lift a
 * suppression, send a fresh confirmation link, confirm by hand with a recorded reason, and find
 * readers by any part of the address. The admin API and the console call these same functions.
 */
import type { Clock } from '../clock.js';
import { type Db, type Queryable, withTransaction } from '../db/pool.js';
import { createDelivery } from '../delivery/delivery-store.js';
import { conflict, notFound, validationError } from '../errors.js';
import { recordSubscriberEvent } from '../outbox/subscriber-events.js';
import type { Language } from '../publication.js';
import { newNonce } from '../security/tokens.js';
import type { Frequency, SubscriberStatus, SubscriberView } from './schemas.js';
import {
  appendConsent,
  COLUMNS,
  confirmByOperator,
  findById,
  liftSuppression,
  renewConfirmation,
  type SubscriberRow,
  toView,
} from './subscriber-store.js';
import type { RequestMeta } from './subscription-service.js';

export interface ReaderAdminDeps {
  db: Db;
  clock: Clock;
  /** hands a ledger row to the transactional queue, after its transaction committed */
  enqueueDelivery(deliveryId: number): Promise<void>;
}

/** An operator's lift of a suppression: a complaint one needs override and a reason. */
export interface LiftOptions {
  override?: boolean;
  reason?: string;
}

/** Who acted: the operator's address in the console, "api" for the bearer token. */
export interface OperatorMeta extends RequestMeta {
  operator: string;
}

export interface ReaderSearchPage {
  items: SubscriberView[];
  total: number;
  offset: number;
  limit: number;
}

const confirmationKey = (id: string, nonce: string) => `confirmation-${id}-${nonce}`;

export function createReaderAdmin(deps: ReaderAdminDeps) {
  const { db, clock } = deps;

  return {
    async search(s: ReaderSearch): Promise<ReaderSearchPage> {
      const { rows, total } = await searchReaders(db, s);
      return { items: rows.map(toView), total, offset: s.offset, limit: s.limit };
    },

    /**
     * Takes an address off the block list: back to the status it had when it was suppressed
     * (a pending reader needs a new confirmation link; an unknown earlier status stays unsubscribed).
     * A reader who reported our mail as spam said so themselves: lifting that needs an explicit
     * override with a reason, both kept in the consent record.
     */
    async liftSuppression(id: string, meta: OperatorMeta, lift: LiftOptions = {}): Promise<SubscriberView> {
      const now = clock.now();
      return withTransaction(db, async (tx) => {
        const sub = await findById(tx, id, true);
        if (!sub) throw notFound('subscriber');
        if (sub.status !== 'suppressed') throw conflict('this address is not suppressed');
        const { rows } = await tx.query<{ previous: string | null; source: string }>(
          `SELECT details->>'previousStatus' AS previous, source FROM consent_events
            WHERE subscriber_id = $1 AND event = 'suppressed' ORDER BY id DESC LIMIT 1`,
          [id],
        );
        const complaint = rows[0]?.source === 'complaint';
        const reason = lift.reason?.trim();
        if (complaint && (lift.override !== true || !reason || reason.length < 3))
          throw conflict(
            'this reader reported our mail as spam: lifting it needs "override": true and a "reason" (kept as consent evidence)',
          );
        const previous = rows[0]?.previous;
        const back: SubscriberStatus =
          previous === 'confirmed' || previous === 'pending' ? previous : 'unsubscribed';
        await liftSuppression(tx, id, back, now);
        await appendConsent(tx, {
          subscriberId: id,
          email: sub.email,
          event: 'suppression_lifted',
          source: meta.source,
          ip: meta.ip,
          userAgent: meta.userAgent,
          details: {
            operator: meta.operator,
            previousReason: sub.suppressed_reason,
            status: back,
            ...(reason ? { reason } : {}),
            ...(complaint ? { override: 'complaint' } : {}),
          },
          at: now,
        });
        return toView((await findById(tx, id))!);
      });
    },

    /** A fresh confirmation link for a pending reader; the older links stop working. */
    async resendConfirmation(id: string, meta: OperatorMeta): Promise<SubscriberView> {
      const now = clock.now();
      const out = await withTransaction(db, async (tx) => {
        const sub = await findById(tx, id, true);
        if (!sub) throw notFound('subscriber');
        if (sub.status !== 'pending') throw conflict('only a pending reader is sent a confirmation link');
        const nonce = newNonce();
        await renewConfirmation(tx, id, nonce, now);
        await appendConsent(tx, {
          subscriberId: id,
          email: sub.email,
          event: 'confirmation_resent',
          source: meta.source,
          ip: meta.ip,
          userAgent: meta.userAgent,
          details: { operator: meta.operator, nonce },
          at: now,
        });
        const delivery = await createDelivery(tx, {
          kind: 'confirmation',
          dedupeKey: confirmationKey(id, nonce),
          subscriberId: id,
          recipient: sub.email,
          at: now,
        });
        return { view: toView((await findById(tx, id))!), deliveryId: delivery.id };
      });
      // stored before this: with Redis away the transactional sweep sends it
      await deps.enqueueDelivery(out.deliveryId).catch(() => {});
      return out.view;
    },

    /**
     * Confirms a pending reader without their click, for consent given elsewhere (a paper form,
     * a phone call). The reason is required and kept as the consent evidence, with who did it.
     */
    async confirmManually(id: string, reason: string, meta: OperatorMeta): Promise<SubscriberView> {
      const why = reason.trim();
      if (why.length < 3) throw validationError('reason', 'say why this reader is confirmed by hand');
      if (why.length > 500) throw validationError('reason', 'must be at most 500 characters');
      const now = clock.now();
      return withTransaction(db, async (tx) => {
        const sub = await findById(tx, id, true);
        if (!sub) throw notFound('subscriber');
        if (sub.status !== 'pending') throw conflict('only a pending reader can be confirmed');
        await confirmByOperator(tx, id, now);
        await appendConsent(tx, {
          subscriberId: id,
          email: sub.email,
          event: 'confirmed',
          source: meta.source,
          ip: meta.ip,
          userAgent: meta.userAgent,
          details: { manual: true, operator: meta.operator, reason: why },
          at: now,
        });
        await recordSubscriberEvent(
          tx,
          'subscriber.confirmed',
          sub,
          { source: meta.source, manual: true },
          now,
        );
        return toView((await findById(tx, id))!);
      });
    },
  };
}

export type ReaderAdmin = ReturnType<typeof createReaderAdmin>;

export interface ReaderSearch {
  /** any part of the address, case-insensitive */
  q?: string;
  status?: SubscriberStatus;
  language?: Language;
  frequency?: Frequency;
  topic?: string;
  /**
   * where the reader came from: the source of their first consent event (form, embed, api,
   * import, operator), or an import's id (the readers that import added)
   */
  source?: string;
  offset: number;
  limit: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Readers matching the filters, newest first, with the total of all matches. */
export async function searchReaders(
  q: Queryable,
  s: ReaderSearch,
): Promise<{ rows: SubscriberRow[]; total: number }> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (s.q) where.push(`strpos(email_key, $${params.push(s.q.trim().toLowerCase())}) > 0`);
  if (s.status) where.push(`status = $${params.push(s.status)}`);
  if (s.language) where.push(`language = $${params.push(s.language)}`);
  if (s.frequency) where.push(`frequency = $${params.push(s.frequency)}`);
  // a reader with no topics follows every topic
  if (s.topic) where.push(`(topics = '{}' OR $${params.push(s.topic)} = ANY(topics))`);
  if (s.source && UUID.test(s.source))
    where.push(
      `id IN (SELECT subscriber_id FROM import_rows WHERE import_id = $${params.push(s.source)} AND subscriber_id IS NOT NULL)`,
    );
  else if (s.source)
    where.push(
      `(SELECT c.source FROM consent_events c WHERE c.subscriber_id = subscribers.id ORDER BY c.id LIMIT 1) = $${params.push(s.source)}`,
    );
  const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const { rows } = await q.query<SubscriberRow & { total: string }>(
    `SELECT ${COLUMNS}, count(*) OVER () AS total FROM subscribers ${filter}
      ORDER BY created_at DESC, id DESC OFFSET $${params.push(s.offset)} LIMIT $${params.push(s.limit)}`,
    params,
  );
  if (rows.length === 0 && s.offset > 0) {
    const c = await q.query<{ n: string }>(
      `SELECT count(*) AS n FROM subscribers ${filter}`,
      params.slice(0, -2),
    );
    return { rows: [], total: Number(c.rows[0]!.n) };
  }
  return { rows, total: rows.length ? Number(rows[0]!.total) : 0 };
}
