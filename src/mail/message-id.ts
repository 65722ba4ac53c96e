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

/** The address of MAIL_FROM ("Name <a@b>" or "a@b"), else the publication's sender address. */
export function senderAddress(mailFrom: string | undefined, senderEmail: string): string {
  if (!mailFrom) return senderEmail;
  return (/<([^>\s]+)>/.exec(mailFrom)?.[1] ?? mailFrom).trim();
}

/**
 * The From of a message to a reader of `language`: the address of MAIL_FROM (or the
 * publication's), and always the publication's sender name in the reader's language, so an
 * Arabic reader sees نشرة المدار where an English one sees Al-Madar Newsletter.
 */
export function senderFor(
  mailFrom: string | undefined,
  sender: { name: Record<'ar' | 'en', string>; email: string },
  language: 'ar' | 'en',
): { name: string; address: string } {
  return { name: sender.name[language], address: senderAddress(mailFrom, sender.email) };
}

/** The domain of MAIL_FROM ("Name <a@b>" or "a@b"), else of the publication's sender address. */
export function sendingDomain(mailFrom: string | undefined, senderEmail: string): string {
  const domain = senderAddress(mailFrom, senderEmail).split('@').pop() ?? '';
  return domain.toLowerCase() || senderEmail.split('@').pop()!.toLowerCase();
}
