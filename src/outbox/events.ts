/**
 * The events Gazette reports to the CMS (Standard Webhooks: https://www.standardwebhooks.com/).
 * Each is written to the outbox in the transaction of the change it reports.
 */
export const OUTBOX_EVENT_TYPES = [
  'subscriber.confirmed',
  'subscriber.unsubscribed',
  'subscriber.bounced',
  'subscriber.complained',
  'edition.sent',
] as const;
export type OutboxEventType = (typeof OUTBOX_EVENT_TYPES)[number];

/** The body of one webhook: the same bytes on every attempt (the signature covers them). */
export function webhookBody(e: { type: string; occurredAt: Date; payload: unknown }): string {
  return JSON.stringify({ type: e.type, timestamp: e.occurredAt.toISOString(), data: e.payload });
}
