/**
 * What a reader does from the links in their mail: change preferences, unsubscribe, and undo an
 * unsubscribe. Each link is signed for one reader; a bad link changes nothing.
 */
import { type Queryable, withTransaction } from '../db/pool.js';
import { recordSubscriberEvent } from '../outbox/subscriber-events.js';
import { markResubscribed, markUnsubscribed, savePreferences } from './subscriber-state-store.js';
import {
  appendConsent,
  findById,
  type SubscriberRow,
  statusBeforeLastUnsubscribe,
} from './subscriber-store.js';
import { prefsOf, type RequestMeta, type SubscriptionDeps } from './subscription-types.js';
import { parseName, parsePreferences, type RawFields } from './validate.js';

/** Only a reader whose last unsubscribe left a confirmed subscription can take it back. */
async function canUndo(q: Queryable, sub: SubscriberRow): Promise<boolean> {
  if (sub.status !== 'unsubscribed') return false;
  return (await statusBeforeLastUnsubscribe(q, sub.id)) === 'confirmed';
}

export function createReaderChoices(deps: SubscriptionDeps) {
  const { db, clock, publication, tokens } = deps;

  return {
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
        await savePreferences(tx, id, { ...prefs, name }, now);
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
        await markUnsubscribed(tx, id, now);
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
        await recordSubscriberEvent(tx, 'subscriber.unsubscribed', sub, { source: meta.source }, now);
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
        await markResubscribed(tx, id, now);
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
        // back to confirmed: for the CMS the same news as a confirmation
        await recordSubscriberEvent(
          tx,
          'subscriber.confirmed',
          sub,
          { source: meta.source, resubscribed: true },
          now,
        );
        return { result: 'resubscribed' as const, subscriber: (await findById(tx, id))! };
      });
    },

    /** Whether the unsubscribe page may offer undo to this reader. */
    async canUndoUnsubscribe(sub: SubscriberRow): Promise<boolean> {
      return canUndo(db, sub);
    },
  };
}
