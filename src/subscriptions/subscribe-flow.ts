/**
 * A subscription request from a form, an embed or the API: budgets, the suppression list, the
 * one-statement first subscription, and the cases of an address already known (pending asks again,
 * a reader who left asks anew, a confirmed reader forgot, a paused reader wants it again).
 */
import { randomUUID } from 'node:crypto';
import { withTransaction } from '../db/pool.js';
import { createDelivery, hasDeliverySince } from '../delivery/delivery-store.js';
import { newNonce } from '../security/tokens.js';
import {
  insertPendingIfAbsent,
  pendingDeliveryIds,
  refreshPendingNonce,
  reopenPending,
} from './subscriber-state-store.js';
import { appendConsent, findByKey, insertNewSubscription } from './subscriber-store.js';
import {
  confirmationDedupeKey,
  deliveryEnqueuer,
  type RequestMeta,
  type SubscriptionDeps,
} from './subscription-types.js';
import { isSuppressedHash } from './suppression-store.js';
import { parseSubscription, type RawFields } from './validate.js';

export function createSubscribeFlow(deps: SubscriptionDeps) {
  const { db, clock, config, publication, log } = deps;
  const enqueueAll = deliveryEnqueuer(deps);

  /**
   * The caller answers the same way whatever happened here, so nothing about the address leaks.
   */
  return async function subscribe(raw: RawFields, meta: RequestMeta): Promise<void> {
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
      await insertPendingIfAbsent(tx, input, now);
      const sub = (await findByKey(tx, input.emailKey, true))!;
      // Confirmed readers keep what they chose (an anonymous request must not change it);
      // suppressed addresses get nothing at all, not even a confirmation.
      if (sub.status === 'suppressed') return [];
      if (sub.status === 'confirmed' || sub.status === 'paused') {
        // a reader who forgot they subscribed gets their preference link instead of silence; a
        // paused one (re-permission unanswered) also the link that resumes them: the request is
        // anonymous, so it resumes nobody itself, the mailbox's owner does from the mail.
        // At most one such mail per resend interval, and the mailbox budget above applies too
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
        await reopenPending(tx, sub.id, input, nonce, capped, now);
      } else {
        // A pending reader asking again gets the link again (within the resend interval), but
        // anyone can send this request: the stored name, language and choices stay as they are
        // (they change only through the reader's own preference link).
        await refreshPendingNonce(tx, sub.id, nonce, capped, now);
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
        return pendingDeliveryIds(tx, confirmationDedupeKey(sub.id, sub.confirm_nonce));
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
  };
}
