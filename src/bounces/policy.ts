import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { type Db, type Queryable, withTransaction } from '../db/pool.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { recordSubscriberEvent } from '../outbox/subscriber-events.js';
import { findById, findByKey, suppressSubscriber } from '../subscriptions/subscriber-store.js';
import { normalizeEmail } from '../subscriptions/validate.js';
import {
  type BounceSource,
  findDelivery,
  insertBounceEvent,
  markEventSuppressed,
  normalizeMessageId,
  softBouncesSince,
} from './bounce-store.js';
import type { BounceClass } from './classify.js';
import type { ComplaintGuard } from './complaint-guard.js';

/**
 * What a bounce does to the reader, decided from its class alone (classify.ts):
 * - hard, complaint: suppressed at once (the address is dead, or the reader said "spam");
 * - soft: suppressed once BOUNCE_SOFT_LIMIT soft bounces fall within BOUNCE_SOFT_WINDOW_DAYS with
 *   no success between (a full mailbox now and then is normal; one that stays full is abandoned);
 * - block: never (the receiver refuses the sender, e.g. a block-listed IP: not the reader's
 *   fault); counted, and the sending pause handles it at send time;
 * - auto-reply, unknown: recorded and counted, nothing else.
 * Every report is stored once per (source, event id), in the same transaction as its effect, so a
 * relay redelivering a webhook or a DSN sent twice changes nothing the second time.
 */

export interface BounceReport {
  source: BounceSource;
  /** the relay's own event id, or one derived from the report: the de-duplication key */
  eventId: string;
  class: BounceClass;
  rule?: string | null;
  recipient?: string | null;
  /** the ledger row, when known directly (a refusal at send time, a VERP address) */
  deliveryId?: number | null;
  /** the Message-ID of the message the report is about: finds the ledger row */
  messageId?: string | null;
  status?: string | null;
  diagnostic?: string | null;
  /** the report as received (kept as evidence, capped): the mail, or the relay's event */
  raw?: Buffer | null;
  occurredAt?: Date;
  /**
   * Whether the recipient address alone may name the reader (default true: an authenticated relay
   * says so). Unauthenticated mail sets false: only our own Message-ID or VERP address counts.
   */
  trustRecipient?: boolean;
}

export interface BounceOutcome {
  duplicate: boolean;
  class: BounceClass;
  subscriberId: string | null;
  deliveryId: number | null;
  /** this report suppressed the reader (false when they already were) */
  suppressed: boolean;
}

export interface BouncePolicyDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  metrics: Pick<Metrics, 'bounces' | 'bounceSuppressions'>;
  config: Pick<Config, 'BOUNCE_SOFT_LIMIT' | 'BOUNCE_SOFT_WINDOW_DAYS'>;
  /** measures the complaint rate after each new complaint (complaint-guard.ts) */
  complaints?: Pick<ComplaintGuard, 'check'>;
}

const DAY_MS = 24 * 3600 * 1000;

function subscriberKey(recipient: string | null | undefined): string | undefined {
  if (!recipient) return undefined;
  try {
    return normalizeEmail(recipient).key;
  } catch {
    return undefined;
  }
}

export function createBouncePolicy(deps: BouncePolicyDeps) {
  const { db, clock, log, metrics, config } = deps;

  /** Why the reader is suppressed by this event, or undefined when they are not. */
  async function verdict(
    q: Queryable,
    cls: BounceClass,
    subscriberId: string,
    occurredAt: Date,
  ): Promise<string | undefined> {
    if (cls === 'hard') return 'hard bounce';
    if (cls === 'complaint') return 'spam complaint';
    if (cls !== 'soft') return undefined;
    const since = new Date(occurredAt.getTime() - config.BOUNCE_SOFT_WINDOW_DAYS * DAY_MS);
    const n = await softBouncesSince(q, subscriberId, since, occurredAt);
    return n >= config.BOUNCE_SOFT_LIMIT
      ? `${n} soft bounces within ${config.BOUNCE_SOFT_WINDOW_DAYS} days`
      : undefined;
  }

  async function apply(q: Queryable, r: BounceReport): Promise<BounceOutcome> {
    const now = clock.now();
    const occurredAt = r.occurredAt && !Number.isNaN(r.occurredAt.getTime()) ? r.occurredAt : now;
    const delivery = await findDelivery(q, { deliveryId: r.deliveryId, messageId: r.messageId });
    let subscriberId = delivery?.subscriberId ?? null;
    const recipient = r.recipient?.trim().toLowerCase() || delivery?.recipient || null;
    if (!subscriberId && r.trustRecipient !== false) {
      const key = subscriberKey(recipient);
      subscriberId = key ? ((await findByKey(q, key))?.id ?? null) : null;
    }
    // one reader's reports are decided one at a time (the soft count must see the one before)
    if (subscriberId) await q.query('SELECT 1 FROM subscribers WHERE id = $1 FOR UPDATE', [subscriberId]);
    const id = await insertBounceEvent(q, {
      source: r.source,
      eventId: r.eventId,
      class: r.class,
      rule: r.rule ?? null,
      recipient,
      subscriberId,
      deliveryId: delivery?.id ?? null,
      editionId: delivery?.editionId ?? null,
      messageId: normalizeMessageId(r.messageId) ?? delivery?.messageId ?? null,
      status: r.status ?? null,
      diagnostic: r.diagnostic ?? null,
      raw: r.raw ?? null,
      occurredAt,
      receivedAt: now,
    });
    const base = { class: r.class, subscriberId, deliveryId: delivery?.id ?? null };
    if (id === undefined) return { ...base, duplicate: true, suppressed: false };
    const reason = subscriberId ? await verdict(q, r.class, subscriberId, occurredAt) : undefined;
    let suppressed = false;
    if (subscriberId && reason) {
      suppressed = await suppressSubscriber(q, {
        subscriberId,
        reason,
        source: r.class === 'complaint' ? 'complaint' : `bounce-${r.class}`,
        details: {
          bounceEventId: id,
          relay: r.source,
          deliveryId: delivery?.id ?? null,
          status: r.status ?? null,
          rule: r.rule ?? null,
        },
        at: now,
      });
      if (suppressed) {
        await markEventSuppressed(q, id);
        // the CMS hears of it in this same transaction (outbox, issue 20)
        const sub = (await findById(q, subscriberId))!;
        await recordSubscriberEvent(
          q,
          r.class === 'complaint' ? 'subscriber.complained' : 'subscriber.bounced',
          sub,
          { reason, bounceClass: r.class },
          now,
        );
      }
    }
    return { ...base, duplicate: false, suppressed };
  }

  return {
    /** Stores the report and applies the policy, in one transaction. */
    async record(r: BounceReport): Promise<BounceOutcome> {
      const out = await withTransaction(db, (tx) => apply(tx, r));
      if (!out.duplicate) {
        metrics.bounces.inc({ class: r.class, source: r.source });
        if (out.suppressed) metrics.bounceSuppressions.inc({ class: r.class });
        log.info(
          {
            source: r.source,
            eventId: r.eventId,
            class: r.class,
            rule: r.rule,
            deliveryId: out.deliveryId,
            subscriberId: out.subscriberId,
            suppressed: out.suppressed,
          },
          'bounce recorded',
        );
        // the report is stored whatever the measurement does; the periodic check measures again
        if (r.class === 'complaint')
          await deps.complaints
            ?.check()
            .catch((err) =>
              log.error({ err: (err as Error).message }, 'complaint rate not measured after a complaint'),
            );
      }
      return out;
    },
  };
}

export type BouncePolicy = ReturnType<typeof createBouncePolicy>;
