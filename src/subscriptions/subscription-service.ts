import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { type Db, type Queryable, withTransaction } from '../db/pool.js';
import { createDelivery, hasDeliverySince } from '../delivery/delivery-store.js';
import { notFound, validationError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Language, Publication } from '../publication.js';
import { newNonce, type Tokens } from '../security/tokens.js';
import type { SubscribeBudgets } from './budgets.js';
import type { SubscriberDetail, SubscriberPage, SubscriberStatus, SubscriberView } from './schemas.js';
import {
  appendConsent,
  consentHistory,
  findById,
  findByKey,
  insertNewSubscription,
  type SubscriberRow,
  statusBeforeLastUnsubscribe,
  toView,
} from './subscriber-store.js';
import { type AddressHasher, isSuppressedHash } from './suppression-store.js';
import {
  normalizeEmail,
  type Preferences,
  parseName,
  parsePreferences,
  parseSubscription,
  type RawFields,
} from './validate.js';

/** Where a request came from: kept as consent evidence. */
export interface RequestMeta {
  source: string;
  ip?: string | null;
  userAgent?: string | null;
}

export interface SubscriptionDeps {
  db: Db;
  clock: Clock;
  config: Pick<
    Config,
    'DEFAULT_LANGUAGE' | 'CONFIRM_TOKEN_TTL_SECONDS' | 'CONFIRMATION_RESEND_INTERVAL_SECONDS' | 'PUBLIC_URL'
  >;
  publication: Publication;
  tokens: Tokens;
  log: Logger;
  /** per-mailbox and per-domain budgets, shared by every path and every API process */
  budgets: Pick<SubscribeBudgets, 'takeRecipient'>;
  /** keyed hashes of erased addresses: a subscribe request for one is ignored */
  hasher: AddressHasher;
  /** hands a ledger row to the transactional queue, after the transaction that created it committed */
  enqueueDelivery(deliveryId: number): Promise<void>;
}

export type ConfirmOutcome =
  | { result: 'confirmed' | 'already'; subscriber: SubscriberRow }
  | { result: 'expired'; language?: Language }
  | { result: 'invalid' };

export type TokenCheck =
  | { result: 'valid'; subscriber: SubscriberRow; expiresAt: Date }
  | { result: 'expired'; language?: Language }
  | { result: 'invalid' };

export function confirmationDedupeKey(subscriberId: string, nonce: string): string {
  return `confirmation-${subscriberId}-${nonce}`;
}

export function createSubscriptionService(deps: SubscriptionDeps) {
  const { db, clock, config, publication, tokens, log } = deps;

  const enqueueAll = async (ids: number[]) => {
    for (const id of ids) {
      try {
        await deps.enqueueDelivery(id);
      } catch (err) {
        // the row stays pending; the next request for the address enqueues it again
        log.error({ deliveryId: id, err: (err as Error).message }, 'could not enqueue a transactional mail');
        throw err;
      }
    }
  };

  const prefsOf = (r: SubscriberRow): Preferences => ({
    topics: r.topics,
    frequency: r.frequency,
    alerts: r.alerts,
    language: r.language,
    timezone: r.timezone,
    sendHour: r.send_hour,
    weeklyDay: r.weekly_day,
  });

  return {
    /**
     * A subscription request from a form, an embed or the API. The caller answers the same way
     * whatever happened here, so nothing about the address leaks.
     */
    async subscribe(raw: RawFields, meta: RequestMeta): Promise<void> {
      const input = parseSubscription(raw, publication, config.DEFAULT_LANGUAGE);
      const budget = await deps.budgets.takeRecipient(input.email);
      if (!budget.allowed) {
        // the caller answers as if it were taken: a bombing run learns nothing and sends nothing
        log.warn(
          { budget: budget.budget, source: meta.source, ip: meta.ip },
          'subscribe: over budget, ignored',
        );
        return;
      }
      if (await isSuppressedHash(db, deps.hasher.candidates(input.emailKey))) {
        // an erased address: refused, with the same answer, and nothing of it is stored
        log.info({ source: meta.source }, 'subscribe: address on the suppression list, ignored');
        return;
      }
      const now = clock.now();
      const consent = {
        source: meta.source,
        consentVersion: publication.consent.version,
        consentText: publication.consent.text[input.language],
        ip: meta.ip,
        userAgent: meta.userAgent,
      };
      const choices = {
        language: input.language,
        topics: input.topics,
        frequency: input.frequency,
        alerts: input.alerts,
        timezone: input.timezone,
        sendHour: input.sendHour,
        weeklyDay: input.weeklyDay,
      };

      // The common case, an address seen for the first time, is one statement.
      const id = randomUUID();
      const nonce = newNonce();
      const created = await insertNewSubscription(db, {
        ...input,
        id,
        nonce,
        consent: { ...consent, details: { ...choices, previousStatus: null, confirmationMailed: true } },
        confirmationDedupeKey: confirmationDedupeKey(id, nonce),
        at: now,
      });
      if (created !== undefined) {
        await enqueueAll([created]);
        return;
      }

      const toEnqueue = await withTransaction(db, async (tx) => {
        await tx.query(
          `INSERT INTO subscribers (email, email_key, name, status, language, topics, frequency, alerts, timezone,
                                    send_hour, created_at, updated_at, weekly_day)
           VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9, $10, $10, $11)
           ON CONFLICT (email_key) DO NOTHING`,
          [
            input.email,
            input.emailKey,
            input.name,
            input.language,
            input.topics,
            input.frequency,
            input.alerts,
            input.timezone,
            input.sendHour,
            now,
            input.weeklyDay,
          ],
        );
        const sub = (await findByKey(tx, input.emailKey, true))!;
        // Confirmed readers keep what they chose (an anonymous request must not change it);
        // suppressed addresses get nothing at all, not even a confirmation.
        if (sub.status === 'suppressed') return [];
        if (sub.status === 'confirmed') {
          // a reader who forgot they subscribed gets their preference link instead of silence;
          // at most one such mail per resend interval, and the mailbox budget above applies too
          const since = new Date(now.getTime() - config.CONFIRMATION_RESEND_INTERVAL_SECONDS * 1000);
          if (await hasDeliverySince(tx, sub.id, 'already_subscribed', since)) return [];
          const reminder = await createDelivery(tx, {
            kind: 'already_subscribed',
            dedupeKey: `already-subscribed-${sub.id}-${now.getTime()}`,
            subscriberId: sub.id,
            recipient: sub.email,
            at: now,
          });
          return [reminder.id];
        }

        const revive = sub.status === 'unsubscribed';
        // The resend interval counts only confirmations sent since the reader last left: a reader
        // who unsubscribed and asks again gets a fresh link at once (the per-mailbox budget above
        // still bounds how often any one inbox can be made to receive one).
        const lastSent = revive ? undefined : sub.confirmation_sent_at?.getTime();
        const capped =
          lastSent !== undefined &&
          now.getTime() - lastSent < config.CONFIRMATION_RESEND_INTERVAL_SECONDS * 1000;
        const nonce = capped && !revive ? sub.confirm_nonce : newNonce();

        if (revive) {
          // a reader who left is asking anew: a fresh opt-in with the choices of this request,
          // which take effect only when the mailbox's owner confirms
          await tx.query(
            `UPDATE subscribers SET status = 'pending', name = $2, language = $3, topics = $4, frequency = $5,
                    alerts = $6, timezone = $7, send_hour = $8, confirm_nonce = $9,
                    confirmation_sent_at = CASE WHEN $10 THEN confirmation_sent_at ELSE $11 END,
                    confirmed_at = NULL, updated_at = $11, weekly_day = $12
              WHERE id = $1`,
            [
              sub.id,
              input.name,
              input.language,
              input.topics,
              input.frequency,
              input.alerts,
              input.timezone,
              input.sendHour,
              nonce,
              capped,
              now,
              input.weeklyDay,
            ],
          );
        } else {
          // A pending reader asking again gets the link again (within the resend interval), but
          // anyone can send this request: the stored name, language and choices stay as they are
          // (they change only through the reader's own preference link).
          await tx.query(
            `UPDATE subscribers SET confirm_nonce = $2,
                    confirmation_sent_at = CASE WHEN $3 THEN confirmation_sent_at ELSE $4 END, updated_at = $4
              WHERE id = $1`,
            [sub.id, nonce, capped, now],
          );
        }
        await appendConsent(tx, {
          ...consent,
          subscriberId: sub.id,
          email: input.email,
          event: 'subscribe_requested',
          details: {
            ...choices,
            previousStatus: sub.status,
            confirmationMailed: !capped,
            choicesApplied: revive,
          },
          at: now,
        });
        if (capped) {
          // at most one confirmation per interval; but a row that never left (enqueue failed) is
          // handed to the queue again
          if (revive || !sub.confirm_nonce) return [];
          const { rows } = await tx.query<{ id: number }>(
            `SELECT id FROM deliveries WHERE dedupe_key = $1 AND state = 'pending'`,
            [confirmationDedupeKey(sub.id, sub.confirm_nonce)],
          );
          return rows.map((r) => Number(r.id));
        }
        const delivery = await createDelivery(tx, {
          kind: 'confirmation',
          dedupeKey: confirmationDedupeKey(sub.id, nonce!),
          subscriberId: sub.id,
          recipient: input.email,
          at: now,
        });
        return [delivery.id];
      });
      await enqueueAll(toEnqueue);
    },

    /** Checks a confirmation link without changing anything (GET shows a button, POST confirms). */
    async checkConfirmToken(token: string): Promise<TokenCheck> {
      const claims = tokens.verifyConfirm(token);
      if (!claims) return { result: 'invalid' };
      const sub = await findById(db, claims.subscriberId);
      // the signature is ours, so the reader's language may be used on the "expired" page
      if (claims.expiresAt.getTime() <= clock.now().getTime())
        return { result: 'expired', language: sub?.language };
      if (!sub) return { result: 'invalid' };
      if (sub.status === 'confirmed' && sub.confirm_nonce === null)
        return { result: 'valid', subscriber: sub, expiresAt: claims.expiresAt };
      if (sub.status !== 'pending' || sub.confirm_nonce !== claims.nonce) return { result: 'invalid' };
      return { result: 'valid', subscriber: sub, expiresAt: claims.expiresAt };
    },

    async confirm(token: string, meta: RequestMeta): Promise<ConfirmOutcome> {
      const claims = tokens.verifyConfirm(token);
      if (!claims) return { result: 'invalid' };
      const now = clock.now();
      if (claims.expiresAt.getTime() <= now.getTime())
        return { result: 'expired', language: (await findById(db, claims.subscriberId))?.language };
      const outcome = await withTransaction(db, async (tx) => {
        const sub = await findById(tx, claims.subscriberId, true);
        if (!sub) return { result: 'invalid' as const };
        if (sub.status !== 'pending' || sub.confirm_nonce !== claims.nonce) {
          // a second click on the link that confirmed: say so, change nothing
          const { rows } = await tx.query(
            `SELECT 1 FROM consent_events WHERE subscriber_id = $1 AND event = 'confirmed'
                AND details->>'nonce' = $2`,
            [sub.id, claims.nonce],
          );
          return sub.status === 'confirmed' && rows.length
            ? { result: 'already' as const, subscriber: sub }
            : { result: 'invalid' as const };
        }
        const { rows: requested } = await tx.query(
          `SELECT consent_version, consent_text, host(ip) AS ip, user_agent, source, occurred_at
             FROM consent_events WHERE subscriber_id = $1 AND event = 'subscribe_requested'
            ORDER BY id DESC LIMIT 1`,
          [sub.id],
        );
        const req = requested[0];
        await tx.query(
          // next_digest_at NULL: the planner gives the reader their first slot on its next tick
          `UPDATE subscribers SET status = 'confirmed', confirmed_at = $2, confirm_nonce = NULL,
                  unsubscribed_at = NULL, next_digest_at = NULL, updated_at = $2 WHERE id = $1`,
          [sub.id, now],
        );
        await appendConsent(tx, {
          subscriberId: sub.id,
          email: sub.email,
          event: 'confirmed',
          source: meta.source,
          consentVersion: req?.consent_version ?? publication.consent.version,
          consentText: req?.consent_text ?? publication.consent.text[sub.language],
          ip: meta.ip,
          userAgent: meta.userAgent,
          details: {
            nonce: claims.nonce,
            requestedAt: req ? (req.occurred_at as Date).toISOString() : null,
            requestIp: req?.ip ?? null,
            requestUserAgent: req?.user_agent ?? null,
            requestSource: req?.source ?? null,
          },
          at: now,
        });
        const welcome = await createDelivery(tx, {
          kind: 'welcome',
          dedupeKey: `welcome-${sub.id}-${claims.nonce}`,
          subscriberId: sub.id,
          recipient: sub.email,
          at: now,
        });
        const updated = (await findById(tx, sub.id))!;
        return { result: 'confirmed' as const, subscriber: updated, deliveryId: welcome.id };
      });
      if (outcome.result === 'confirmed') {
        await enqueueAll([outcome.deliveryId]);
        return { result: 'confirmed', subscriber: outcome.subscriber };
      }
      return outcome;
    },

    /** The subscriber a preferences link belongs to, or undefined for a bad link. */
    async forPreferences(token: string): Promise<SubscriberRow | undefined> {
      const id = tokens.verifyPreferences(token);
      return id ? findById(db, id) : undefined;
    },

    /**
     * Saves preferences from a preferences link. Unsubscribed and suppressed readers are not
     * revived here: that needs a new opt-in. Returns undefined for a bad link.
     */
    async updatePreferences(
      token: string,
      raw: RawFields,
      meta: RequestMeta,
    ): Promise<{ subscriber: SubscriberRow; changed: boolean } | undefined> {
      const id = tokens.verifyPreferences(token);
      if (!id) return undefined;
      const current = await findById(db, id);
      if (!current) return undefined;
      if (current.status === 'unsubscribed' || current.status === 'suppressed')
        return { subscriber: current, changed: false };
      const prefs = parsePreferences(raw, prefsOf(current), publication);
      const name = raw.name === undefined ? current.name : parseName(raw.name);
      const now = clock.now();
      return withTransaction(db, async (tx) => {
        const sub = (await findById(tx, id, true))!;
        if (sub.status === 'unsubscribed' || sub.status === 'suppressed')
          return { subscriber: sub, changed: false };
        const before = prefsOf(sub);
        await tx.query(
          // a new frequency, zone or hour drops the old slot so the new rule applies from the next
          // planner tick instead of after one more digest on the old schedule
          `UPDATE subscribers SET topics = $2, frequency = $3, alerts = $4, language = $5, timezone = $6,
                  send_hour = $7, updated_at = $8, name = $9, weekly_day = $10,
                  next_digest_at = CASE WHEN frequency IS DISTINCT FROM $3 OR timezone IS DISTINCT FROM $6
                                          OR send_hour IS DISTINCT FROM $7 OR weekly_day IS DISTINCT FROM $10
                                        THEN NULL ELSE next_digest_at END
            WHERE id = $1`,
          [
            id,
            prefs.topics,
            prefs.frequency,
            prefs.alerts,
            prefs.language,
            prefs.timezone,
            prefs.sendHour,
            now,
            name,
            prefs.weeklyDay,
          ],
        );
        await appendConsent(tx, {
          subscriberId: id,
          email: sub.email,
          event: 'preferences_changed',
          source: meta.source,
          ip: meta.ip,
          userAgent: meta.userAgent,
          details: { before: { ...before, name: sub.name }, after: { ...prefs, name } },
          at: now,
        });
        return { subscriber: (await findById(tx, id))!, changed: true };
      });
    },

    /**
     * A reader who has not confirmed yet asks, from their preference link, for the confirmation
     * mail again: the same request as the form's, so the resend interval and the mailbox budget
     * apply. Undefined for a bad link.
     */
    async resendConfirmation(
      token: string,
      meta: RequestMeta,
    ): Promise<'requested' | 'not-pending' | undefined> {
      const id = tokens.verifyPreferences(token);
      if (!id) return undefined;
      const sub = await findById(db, id);
      if (!sub) return undefined;
      if (sub.status !== 'pending') return 'not-pending';
      await this.subscribe(
        {
          email: sub.email,
          name: sub.name ?? undefined,
          topics: sub.topics.length > 0 ? sub.topics : undefined,
          frequency: sub.frequency,
          alerts: sub.alerts,
          language: sub.language,
          timezone: sub.timezone,
          sendHour: sub.send_hour,
          weeklyDay: sub.weekly_day ?? undefined,
        },
        meta,
      );
      return 'requested';
    },

    /** The subscriber an unsubscribe link belongs to, or undefined for a bad link. */
    async forUnsubscribe(token: string): Promise<SubscriberRow | undefined> {
      const id = tokens.verifyUnsubscribe(token);
      return id ? findById(db, id) : undefined;
    },

    /**
     * Unsubscribes (idempotent). Once this returns, the sender's re-check refuses every pending
     * message for the reader. Returns false for a bad link.
     */
    async unsubscribe(token: string, meta: RequestMeta): Promise<boolean> {
      const id = tokens.verifyUnsubscribe(token);
      if (!id) return false;
      const now = clock.now();
      return withTransaction(db, async (tx) => {
        const sub = await findById(tx, id, true);
        if (!sub) return false;
        if (sub.status === 'unsubscribed' || sub.status === 'suppressed') return true;
        await tx.query(
          `UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = $2, confirm_nonce = NULL,
                  updated_at = $2 WHERE id = $1`,
          [id, now],
        );
        await appendConsent(tx, {
          subscriberId: id,
          email: sub.email,
          event: 'unsubscribed',
          source: meta.source,
          ip: meta.ip,
          userAgent: meta.userAgent,
          details: { previousStatus: sub.status },
          at: now,
        });
        return true;
      });
    },

    /**
     * Undo on the unsubscribe page: the unsubscribe link came to the reader's own mailbox, so it is
     * enough to restore a reader who had confirmed, with the choices they had. A reader who had
     * never confirmed, or an operator block, is not restored. Returns undefined for a bad link.
     */
    async undoUnsubscribe(
      token: string,
      meta: RequestMeta,
    ): Promise<{ result: 'resubscribed' | 'already' | 'refused'; subscriber: SubscriberRow } | undefined> {
      const id = tokens.verifyUnsubscribe(token);
      if (!id) return undefined;
      const now = clock.now();
      return withTransaction(db, async (tx) => {
        const sub = await findById(tx, id, true);
        if (!sub) return undefined;
        if (sub.status === 'confirmed') return { result: 'already' as const, subscriber: sub };
        if (!(await canUndo(tx, sub))) return { result: 'refused' as const, subscriber: sub };
        await tx.query(
          // next_digest_at NULL: the planner gives the reader a fresh slot on its next tick
          `UPDATE subscribers SET status = 'confirmed', unsubscribed_at = NULL, confirm_nonce = NULL,
                  next_digest_at = NULL, updated_at = $2 WHERE id = $1`,
          [id, now],
        );
        await appendConsent(tx, {
          subscriberId: id,
          email: sub.email,
          event: 'resubscribed',
          source: meta.source,
          consentVersion: publication.consent.version,
          consentText: publication.consent.text[sub.language],
          ip: meta.ip,
          userAgent: meta.userAgent,
          details: {
            previousStatus: sub.status,
            unsubscribedAt: sub.unsubscribed_at?.toISOString() ?? null,
            ...prefsOf(sub),
          },
          at: now,
        });
        return { result: 'resubscribed' as const, subscriber: (await findById(tx, id))! };
      });
    },

    /** Whether the unsubscribe page may offer undo to this reader. */
    async canUndoUnsubscribe(sub: SubscriberRow): Promise<boolean> {
      return canUndo(db, sub);
    },

    /** Operator block: this address is never mailed again, confirmations included. */
    async suppress(id: string, reason: string, meta: RequestMeta): Promise<SubscriberView> {
      const now = clock.now();
      return withTransaction(db, async (tx) => {
        const sub = await findById(tx, id, true);
        if (!sub) throw notFound('subscriber');
        if (sub.status !== 'suppressed') {
          await tx.query(
            `UPDATE subscribers SET status = 'suppressed', suppressed_reason = $2, confirm_nonce = NULL,
                    updated_at = $3 WHERE id = $1`,
            [id, reason, now],
          );
          await appendConsent(tx, {
            subscriberId: id,
            email: sub.email,
            event: 'suppressed',
            source: meta.source,
            ip: meta.ip,
            userAgent: meta.userAgent,
            details: { reason, previousStatus: sub.status },
            at: now,
          });
        }
        return toView((await findById(tx, id))!);
      });
    },

    async list(q: {
      email?: string;
      status?: SubscriberStatus;
      cursor?: string;
      limit: number;
    }): Promise<SubscriberPage> {
      const where: string[] = [];
      const params: unknown[] = [];
      if (q.email !== undefined) {
        params.push(normalizeEmail(q.email).key);
        where.push(`email_key = $${params.length}`);
      }
      if (q.status) {
        params.push(q.status);
        where.push(`status = $${params.length}`);
      }
      if (q.cursor) {
        const c = decodeCursor(q.cursor);
        params.push(c.createdAt, c.id);
        where.push(`(created_at, id) > ($${params.length - 1}, $${params.length})`);
      }
      params.push(q.limit + 1);
      const { rows } = await db.query<SubscriberRow>(
        `SELECT id, email, email_key, name, status, language, topics, frequency, alerts, timezone, send_hour, weekly_day,
                confirm_nonce, confirmation_sent_at, confirmed_at, unsubscribed_at, suppressed_reason, created_at
           FROM subscribers ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY created_at, id LIMIT $${params.length}`,
        params,
      );
      const page = rows.slice(0, q.limit);
      const last = page[page.length - 1];
      return {
        items: page.map(toView),
        nextCursor: rows.length > q.limit && last ? encodeCursor(last.created_at, last.id) : null,
      };
    },

    async detail(id: string): Promise<SubscriberDetail> {
      const sub = await findById(db, id);
      if (!sub) throw notFound('subscriber');
      const { rows } = await db.query(
        `SELECT id, kind, state, attempts, created_at, sent_at, error FROM deliveries
          WHERE subscriber_id = $1 ORDER BY id DESC LIMIT 50`,
        [id],
      );
      return {
        ...toView(sub),
        consent: await consentHistory(db, id),
        deliveries: rows.map((r) => ({
          id: Number(r.id),
          kind: r.kind,
          state: r.state,
          attempts: r.attempts,
          createdAt: (r.created_at as Date).toISOString(),
          sentAt: r.sent_at ? (r.sent_at as Date).toISOString() : null,
          error: r.error,
        })),
      };
    },
  };
}

/** Only a reader whose last unsubscribe left a confirmed subscription can take it back. */
async function canUndo(q: Queryable, sub: SubscriberRow): Promise<boolean> {
  if (sub.status !== 'unsubscribed') return false;
  return (await statusBeforeLastUnsubscribe(q, sub.id)) === 'confirmed';
}

export type SubscriptionService = ReturnType<typeof createSubscriptionService>;

function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(JSON.stringify([createdAt.toISOString(), id])).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof createdAt === 'string' && !Number.isNaN(Date.parse(createdAt)) && /^[0-9a-f-]{36}$/.test(id))
      return { createdAt, id };
  } catch {}
  throw validationError('cursor', 'is not a cursor from a previous page');
}
