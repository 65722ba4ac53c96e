/**
 * The double opt-in's second half: checking a confirmation link, confirming (with the request's
 * consent evidence and the welcome mail), and a pending reader asking for the link again.
 */
import { withTransaction } from '../db/pool.js';
import { createDelivery } from '../delivery/delivery-store.js';
import { recordSubscriberEvent } from '../outbox/subscriber-events.js';
import type { Language } from '../publication.js';
import { confirmedWithNonce, lastSubscribeRequest, markConfirmed } from './subscriber-state-store.js';
import { appendConsent, findById, type SubscriberRow } from './subscriber-store.js';
import { deliveryEnqueuer, type RequestMeta, type SubscriptionDeps } from './subscription-types.js';
import type { RawFields } from './validate.js';

export type ConfirmOutcome =
  | { result: 'confirmed' | 'already'; subscriber: SubscriberRow }
  | { result: 'expired'; language?: Language }
  | { result: 'invalid' };

export type TokenCheck =
  | { result: 'valid'; subscriber: SubscriberRow; expiresAt: Date }
  | { result: 'expired'; language?: Language }
  | { result: 'invalid' };

export function createConfirmation(
  deps: SubscriptionDeps,
  subscribe: (raw: RawFields, meta: RequestMeta) => Promise<void>,
) {
  const { db, clock, publication, tokens } = deps;
  const enqueueAll = deliveryEnqueuer(deps);

  return {
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
          return sub.status === 'confirmed' && (await confirmedWithNonce(tx, sub.id, claims.nonce))
            ? { result: 'already' as const, subscriber: sub }
            : { result: 'invalid' as const };
        }
        const req = await lastSubscribeRequest(tx, sub.id);
        await markConfirmed(tx, sub.id, now);
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
            requestedAt: req ? req.occurred_at.toISOString() : null,
            requestIp: req?.ip ?? null,
            requestUserAgent: req?.user_agent ?? null,
            requestSource: req?.source ?? null,
          },
          at: now,
        });
        await recordSubscriberEvent(tx, 'subscriber.confirmed', sub, { source: meta.source }, now);
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
      await subscribe(
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
  };
}
