import {
  createHash,
  createHmac,
  createPublicKey,
  type KeyObject,
  timingSafeEqual,
  verify,
} from 'node:crypto';
import { type HeaderBag, verifyStandardWebhook } from '../articles/signatures.js';
import { SignatureError } from '../articles/types.js';

/**
 * How each relay proves a bounce webhook is its own, checked on the raw bytes before anything is
 * parsed (Mailgun's signature travels inside the body, so its check takes the parsed signature).
 * Messages name what failed, never the secret or the expected value.
 */

export type { HeaderBag } from '../articles/signatures.js';
export { SignatureError };

function header(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  if (Array.isArray(v)) {
    if (v.length > 1) throw new SignatureError(`${name}: sent more than once`);
    return v[0]?.trim() || undefined;
  }
  return v?.trim() || undefined;
}

function sameDigest(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

function fresh(name: string, sentAtMs: number, now: Date, toleranceSeconds: number): void {
  if (!Number.isFinite(sentAtMs)) throw new SignatureError(`${name}: not a Unix time`);
  if (Math.abs(now.getTime() - sentAtMs) > toleranceSeconds * 1000)
    throw new SignatureError(
      `${name}: more than ${toleranceSeconds} s away from now (a replay or a stale retry)`,
    );
}

/**
 * Postmark: HTTP Basic auth, the credentials written into the webhook URL
 * (https://user:password@host/api/v1/bounces/postmark), which Postmark sends as Authorization.
 */
export function verifyPostmark(credentials: string, headers: HeaderBag): void {
  const auth = header(headers, 'authorization');
  if (!auth) throw new SignatureError('Authorization: missing (put user:password in the webhook URL)');
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(auth);
  if (!m) throw new SignatureError('Authorization: not Basic credentials');
  if (!sameDigest(Buffer.from(m[1]!, 'base64').toString('utf8'), credentials))
    throw new SignatureError('Authorization: credentials do not match');
}

export interface MailgunSignature {
  timestamp: string;
  token: string;
  signature: string;
}

/** Mailgun: hex HMAC-SHA256 of timestamp + token under the HTTP webhook signing key. */
export function signMailgun(signingKey: string, timestamp: string, token: string): string {
  return createHmac('sha256', signingKey)
    .update(timestamp + token)
    .digest('hex');
}

export function verifyMailgun(
  signingKey: string,
  sig: MailgunSignature,
  now: Date,
  toleranceSeconds: number,
): void {
  if (!/^\d{1,12}$/.test(sig.timestamp)) throw new SignatureError('signature.timestamp: not a Unix time');
  fresh('signature.timestamp', Number(sig.timestamp) * 1000, now, toleranceSeconds);
  const expected = Buffer.from(signMailgun(signingKey, sig.timestamp, sig.token), 'hex');
  const given = /^[0-9a-f]{64}$/i.test(sig.signature) ? Buffer.from(sig.signature, 'hex') : Buffer.alloc(0);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new SignatureError('signature.signature: does not match');
}

export const SENDGRID_SIGNATURE = 'x-twilio-email-event-webhook-signature';
export const SENDGRID_TIMESTAMP = 'x-twilio-email-event-webhook-timestamp';

/** The verification key as SendGrid shows it (base64 DER, SubjectPublicKeyInfo), or PEM. */
export function sendgridKey(publicKey: string): KeyObject {
  const v = publicKey.trim();
  if (v.startsWith('-----BEGIN')) return createPublicKey(v);
  return createPublicKey({ key: Buffer.from(v, 'base64'), format: 'der', type: 'spki' });
}

/**
 * SendGrid's Signed Event Webhook: an ECDSA (P-256, SHA-256) signature, base64 DER, over the
 * timestamp header followed by the raw body.
 */
export function verifySendgrid(
  key: KeyObject,
  headers: HeaderBag,
  body: Buffer,
  now: Date,
  toleranceSeconds: number,
): void {
  const signature = header(headers, SENDGRID_SIGNATURE);
  const timestamp = header(headers, SENDGRID_TIMESTAMP);
  if (!signature) throw new SignatureError('X-Twilio-Email-Event-Webhook-Signature: missing header');
  if (!timestamp) throw new SignatureError('X-Twilio-Email-Event-Webhook-Timestamp: missing header');
  if (!/^\d{1,12}$/.test(timestamp))
    throw new SignatureError('X-Twilio-Email-Event-Webhook-Timestamp: not a Unix time');
  fresh('X-Twilio-Email-Event-Webhook-Timestamp', Number(timestamp) * 1000, now, toleranceSeconds);
  let ok = false;
  try {
    ok = verify(
      'sha256',
      Buffer.concat([Buffer.from(timestamp, 'utf8'), body]),
      key,
      Buffer.from(signature, 'base64'),
    );
  } catch {
    ok = false;
  }
  if (!ok) throw new SignatureError('X-Twilio-Email-Event-Webhook-Signature: does not match');
}

/** Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature); returns the event id. */
export function verifyStandard(
  secret: string,
  headers: HeaderBag,
  body: Buffer,
  now: Date,
  toleranceSeconds: number,
): string {
  return verifyStandardWebhook({ secret, headers, body, now, toleranceSeconds }).id;
}
