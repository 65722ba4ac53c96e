import { createPublicKey, verify } from 'node:crypto';
import { PayloadError } from '../articles/types.js';
import { type BounceClass, classifyDiagnosis } from './classify.js';
import type { BounceReport } from './policy.js';
import { SignatureError } from './relay-auth.js';

/**
 * Amazon SES bounce and complaint notifications, delivered by SNS. The SNS message is verified
 * with the certificate SNS names (SigningCertURL, which must be an https URL on an SNS host of
 * amazonaws.com), and must come from one of the topics configured (BOUNCE_SES_TOPIC_ARNS): anyone
 * can sign messages from a topic of their own. A SubscriptionConfirmation is confirmed by fetching
 * its SubscribeURL (an SNS host too).
 */

export interface SnsMessage {
  Type: 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: string;
  Signature: string;
  SigningCertURL: string;
  Subject?: string;
  SubscribeURL?: string;
  Token?: string;
}

/** Fetches what SNS points at: its signing certificate, and the subscription confirmation. */
export interface SnsClient {
  certificate(url: string): Promise<string>;
  confirm(subscribeUrl: string): Promise<void>;
}

const SNS_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;

/** An https URL on an SNS host, or a SignatureError naming the field. */
export function snsUrl(value: string, field: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new SignatureError(`${field}: not a URL`);
  }
  if (url.protocol !== 'https:' || !SNS_HOST.test(url.hostname) || url.username || url.port)
    throw new SignatureError(`${field}: not an https URL on an SNS host of amazonaws.com`);
  return url;
}

const TYPES = new Set(['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation']);

export function snsMessage(payload: unknown): SnsMessage {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
    throw new PayloadError('body: not an SNS message');
  const o = payload as Record<string, unknown>;
  for (const k of [
    'Type',
    'MessageId',
    'TopicArn',
    'Message',
    'Timestamp',
    'SignatureVersion',
    'Signature',
    'SigningCertURL',
  ])
    if (typeof o[k] !== 'string') throw new PayloadError(`${k}: missing`);
  if (!TYPES.has(o.Type as string))
    throw new PayloadError(`Type: ${String(o.Type)} is not an SNS message type`);
  if (o.Type !== 'Notification' && (typeof o.SubscribeURL !== 'string' || typeof o.Token !== 'string'))
    throw new PayloadError('SubscribeURL: missing');
  return o as unknown as SnsMessage;
}

/** The string SNS signs: the listed fields, each as "name\nvalue\n", in this order. */
export function snsStringToSign(m: SnsMessage): string {
  const fields =
    m.Type === 'Notification'
      ? [
          'Message',
          'MessageId',
          ...(m.Subject !== undefined ? ['Subject'] : []),
          'Timestamp',
          'TopicArn',
          'Type',
        ]
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  return fields.map((f) => `${f}\n${(m as unknown as Record<string, string>)[f]}\n`).join('');
}

/** SignatureVersion 1 is SHA1withRSA, 2 is SHA256withRSA. `certificate` is the PEM SNS serves. */
export function verifySnsSignature(m: SnsMessage, certificate: string): void {
  const algorithm =
    m.SignatureVersion === '1' ? 'RSA-SHA1' : m.SignatureVersion === '2' ? 'RSA-SHA256' : undefined;
  if (!algorithm) throw new SignatureError(`SignatureVersion: ${m.SignatureVersion} is not 1 or 2`);
  let ok = false;
  try {
    ok = verify(
      algorithm,
      Buffer.from(snsStringToSign(m), 'utf8'),
      createPublicKey(certificate),
      Buffer.from(m.Signature, 'base64'),
    );
  } catch {
    ok = false;
  }
  if (!ok) throw new SignatureError('Signature: does not match the SNS signing certificate');
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {};
const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** Our Message-ID from the original headers SES includes (the notification's mail.headers). */
function originalMessageId(mail: Json): string | null {
  const headers = Array.isArray(mail.headers) ? mail.headers : [];
  for (const h of headers) {
    const o = obj(h);
    if (typeof o.name === 'string' && o.name.toLowerCase() === 'message-id') return text(o.value);
  }
  return text(obj(mail.commonHeaders).messageId);
}

/**
 * SES notifications (notificationType) and event publishing records (eventType): Bounce and
 * Complaint, one report per recipient. Permanent bounces are hard unless their words say
 * otherwise (a full mailbox, a policy refusal), Transient ones soft, Undetermined by their words.
 */
export function sesReports(snsMessageId: string, message: string): BounceReport[] {
  let n: Json;
  try {
    n = obj(JSON.parse(message));
  } catch {
    throw new PayloadError('Message: not a JSON SES notification');
  }
  const type = text(n.notificationType) ?? text(n.eventType);
  if (type !== 'Bounce' && type !== 'Complaint') return [];
  const mail = obj(n.mail);
  const messageId = originalMessageId(mail);
  if (type === 'Complaint') {
    const c = obj(n.complaint);
    const recipients = Array.isArray(c.complainedRecipients) ? c.complainedRecipients : [];
    if (recipients.length === 0) throw new PayloadError('complaint.complainedRecipients: missing');
    // "not-spam" takes a complaint back (RFC 6430)
    if (c.complaintFeedbackType === 'not-spam') return [];
    return recipients.map((r, i) => ({
      source: 'ses' as const,
      eventId: `${text(c.feedbackId) ?? snsMessageId}-${i}`,
      class: 'complaint' as const,
      rule: `ses-complaint-${text(c.complaintFeedbackType) ?? 'abuse'}`,
      recipient: text(obj(r).emailAddress),
      messageId,
      occurredAt: text(c.timestamp) ? new Date(c.timestamp as string) : undefined,
    }));
  }
  const b = obj(n.bounce);
  const recipients = Array.isArray(b.bouncedRecipients) ? b.bouncedRecipients : [];
  if (recipients.length === 0) throw new PayloadError('bounce.bouncedRecipients: missing');
  const bounceType = text(b.bounceType) ?? 'Undetermined';
  const subType = text(b.bounceSubType) ?? 'General';
  return recipients.map((raw, i) => {
    const r = obj(raw);
    const status = text(r.status);
    const diagnostic = text(r.diagnosticCode);
    const c = classifyDiagnosis({ status, text: diagnostic });
    let cls: BounceClass;
    if (bounceType === 'Permanent')
      cls =
        subType === 'Suppressed' || subType === 'OnAccountSuppressionList' || c.class === 'unknown'
          ? 'hard'
          : c.class;
    else if (bounceType === 'Transient') cls = c.class === 'block' ? 'block' : 'soft';
    else cls = c.class;
    return {
      source: 'ses' as const,
      eventId: `${text(b.feedbackId) ?? snsMessageId}-${i}`,
      class: cls,
      rule: `ses-${bounceType}-${subType}`,
      recipient: text(r.emailAddress),
      messageId,
      status,
      diagnostic,
      occurredAt: text(b.timestamp) ? new Date(b.timestamp as string) : undefined,
    };
  });
}
