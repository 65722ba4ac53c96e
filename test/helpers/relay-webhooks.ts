/**
 * Bounce webhooks as each relay sends them: documented payload shapes and real signatures
 * (Postmark Basic auth, Mailgun HMAC, SendGrid ECDSA, Standard Webhooks HMAC).
 */
import { createHmac, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { signStandardWebhook } from '../../src/articles/signatures.js';

export const POSTMARK_CREDENTIALS = 'gazette:Pm-webhook-password-0123456789';
export const MAILGUN_KEY = `key-${randomBytes(16).toString('hex')}`;
export const STANDARD_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const sendgridPair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
export const SENDGRID_PUBLIC_KEY = sendgridPair.publicKey
  .export({ format: 'der', type: 'spki' })
  .toString('base64');

export const RELAY_ENV = {
  BOUNCE_POSTMARK_CREDENTIALS: POSTMARK_CREDENTIALS,
  BOUNCE_MAILGUN_SIGNING_KEY: MAILGUN_KEY,
  BOUNCE_SENDGRID_PUBLIC_KEY: SENDGRID_PUBLIC_KEY,
  BOUNCE_WEBHOOK_SECRET: STANDARD_SECRET,
};

export interface SignedRequest {
  headers: Record<string, string>;
  payload: string;
}

export function postmarkRequest(body: object, credentials = POSTMARK_CREDENTIALS): SignedRequest {
  return {
    headers: {
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from(credentials).toString('base64')}`,
    },
    payload: JSON.stringify(body),
  };
}

/** A Postmark bounce webhook as documented (https://postmarkapp.com/developer/webhooks/bounce-webhook). */
export function postmarkBounce(o: { id: number; email: string; type?: string; details?: string; at: Date }) {
  return {
    RecordType: 'Bounce',
    MessageStream: 'outbound',
    ID: o.id,
    Type: o.type ?? 'HardBounce',
    TypeCode: o.type === 'SoftBounce' ? 4096 : 1,
    Name: o.type === 'SoftBounce' ? 'Soft bounce' : 'Hard bounce',
    Tag: 'digest',
    MessageID: '883953f4-6105-42a2-a16a-77a8eac79483',
    Metadata: {},
    ServerID: 23,
    Description: 'The server was unable to deliver your message (ex: unknown user, mailbox not found).',
    Details: o.details ?? 'smtp;550 5.1.1 The email account that you tried to reach does not exist.',
    Email: o.email,
    From: 'newsletter@news.example.test',
    BouncedAt: o.at.toISOString(),
    DumpAvailable: true,
    Inactive: true,
    CanActivate: true,
    Subject: 'Your daily digest',
    Content: '',
  };
}

export function mailgunRequest(eventData: object, now: Date, key = MAILGUN_KEY): SignedRequest {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  const token = randomBytes(25).toString('hex');
  const signature = createHmac('sha256', key)
    .update(timestamp + token)
    .digest('hex');
  return {
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ signature: { timestamp, token, signature }, 'event-data': eventData }),
  };
}

/** Mailgun's "failed" event (https://documentation.mailgun.com/docs/mailgun/user-manual/events/). */
export function mailgunFailed(o: {
  id: string;
  recipient: string;
  messageId: string;
  at: Date;
  severity?: 'permanent' | 'temporary';
  code?: number;
  message?: string;
}) {
  return {
    id: o.id,
    event: 'failed',
    severity: o.severity ?? 'permanent',
    reason: 'bounce',
    timestamp: o.at.getTime() / 1000,
    'log-level': 'error',
    recipient: o.recipient,
    'recipient-domain': o.recipient.split('@')[1],
    envelope: { sender: 'bounce@news.example.test', transport: 'smtp', targets: o.recipient },
    flags: { 'is-routed': false, 'is-authenticated': true, 'is-system-test': false, 'is-test-mode': false },
    message: {
      headers: {
        to: o.recipient,
        'message-id': o.messageId,
        from: 'newsletter@news.example.test',
        subject: 'Digest',
      },
      attachments: [],
      size: 4820,
    },
    'delivery-status': {
      'attempt-no': 1,
      code: o.code ?? 550,
      message: o.message ?? '5.1.1 The email account that you tried to reach does not exist.',
      description: '',
      'mx-host': 'mx.example.org',
      'session-seconds': 0.4,
    },
    storage: { url: 'https://se.api.mailgun.net/v3/domains/news.example.test/messages/x', key: 'x' },
    campaigns: [],
    tags: ['digest'],
    'user-variables': {},
  };
}

export function sendgridRequest(
  events: object[],
  now: Date,
  privateKey = sendgridPair.privateKey,
): SignedRequest {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  const payload = JSON.stringify(events);
  const signature = sign('sha256', Buffer.from(timestamp + payload), privateKey).toString('base64');
  return {
    headers: {
      'content-type': 'application/json',
      'x-twilio-email-event-webhook-signature': signature,
      'x-twilio-email-event-webhook-timestamp': timestamp,
    },
    payload,
  };
}

export const otherSendgridKey = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;

export function standardRequest(
  body: object,
  now: Date,
  id: string,
  secret = STANDARD_SECRET,
): SignedRequest {
  const payload = JSON.stringify(body);
  const timestamp = Math.floor(now.getTime() / 1000);
  return {
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signStandardWebhook(secret, id, timestamp, payload),
    },
    payload,
  };
}
