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

/**
 * Why a URL cannot be a webhook endpoint, or undefined: one rule for the admin API and the
 * publication file. (Whether its address is public is checked when it is posted to: safe-fetch.ts.)
 */
export function endpointUrlProblem(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be http or https';
  if (url.username || url.password) return 'must not carry credentials';
  return undefined;
}
