import { createHmac } from 'node:crypto';

/**
 * A Message-ID derived from the delivery id: a retried send of the same ledger row carries the
 * same id (receivers and our own logs can match them), and outsiders cannot guess ids of other
 * deliveries because the derivation is keyed with SECRET_KEY.
 */
export function messageIdFor(deliveryId: number | string, secretKey: string, domain: string): string {
  const local = createHmac('sha256', secretKey)
    .update(`gazette-message-id\0${deliveryId}`)
    .digest()
    .subarray(0, 18)
    .toString('base64url');
  return `<${local}@${domain}>`;
}

/** The domain of MAIL_FROM ("Name <a@b>" or "a@b"), else of the publication's sender address. */
export function sendingDomain(mailFrom: string | undefined, senderEmail: string): string {
  const address = mailFrom ? (/<([^>]+)>/.exec(mailFrom)?.[1] ?? mailFrom) : senderEmail;
  const domain = address.trim().split('@').pop() ?? '';
  return domain.toLowerCase() || senderEmail.split('@').pop()!.toLowerCase();
}
