/**
 * subscriber.* events, called inside the transaction that changes the reader's state (the
 * subscription service, the operator's confirmation, the bounce policy's suppression).
 */
import type { Queryable } from '../db/pool.js';
import type { OutboxEventType } from './events.js';
import { recordOutboxEvent } from './outbox-store.js';

export interface EventSubscriber {
  id: string;
  email: string;
  language: string;
}

export function recordSubscriberEvent(
  q: Queryable,
  type: Extract<OutboxEventType, `subscriber.${string}`>,
  sub: EventSubscriber,
  details: Record<string, unknown>,
  at: Date,
): Promise<void> {
  return recordOutboxEvent(q, {
    type,
    payload: { subscriberId: sub.id, email: sub.email, language: sub.language, ...details },
    at,
  });
}
