import { PayloadError } from '../articles/types.js';
import { type BounceClass, classifyDiagnosis, enhancedStatus } from './classify.js';
import type { BounceReport } from './policy.js';

/**
 * Each relay's event feed, read in its documented shape and mapped into the one taxonomy
 * (classify.ts). An event that is no bounce or complaint (delivered, opened, a delay notice) maps
 * to nothing: acknowledged and ignored. A body that is not the documented shape is a PayloadError
 * naming the field.
 */

export { PayloadError };

type Json = Record<string, unknown>;

export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new PayloadError('body: not JSON');
  }
}

function object(v: unknown, path: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new PayloadError(`${path}: not an object`);
  return v as Json;
}

function str(o: Json, key: string, path: string): string {
  const v = o[key];
  if (typeof v === 'string' && v.trim() !== '') return v;
  if (typeof v === 'number') return String(v);
  throw new PayloadError(`${path}${key}: ${v === undefined ? 'missing' : 'not a string'}`);
}

function optStr(o: Json, key: string): string | null {
  const v = o[key];
  return typeof v === 'string' && v.trim() !== '' ? v : typeof v === 'number' ? String(v) : null;
}

function date(v: unknown): Date | undefined {
  if (typeof v === 'number') return new Date(v * 1000);
  if (typeof v === 'string') {
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? undefined : d;
  }
  return undefined;
}

/** A permanent failure the words do not explain is a hard bounce: the relay gave up on the address. */
function permanent(
  text: string | null,
  status: string | null,
  code?: number | null,
): { cls: BounceClass; rule: string } {
  const c = classifyDiagnosis({ text, status, code });
  if (c.class === 'unknown' || c.class === 'auto-reply') return { cls: 'hard', rule: 'relay-permanent' };
  return { cls: c.class, rule: c.rule };
}

// ------------------------------------------------------------------------------------- Postmark

/** Postmark bounce Type (https://postmarkapp.com/developer/api/bounce-api#bounce-types) → class. */
const POSTMARK_TYPES: Record<string, BounceClass> = {
  HardBounce: 'hard',
  BadEmailAddress: 'hard',
  ManuallyDeactivated: 'hard',
  SoftBounce: 'soft',
  Transient: 'soft',
  DnsError: 'soft',
  SpamComplaint: 'complaint',
  SpamNotification: 'block',
  Blocked: 'block',
  DMARCPolicy: 'block',
  VirusNotification: 'block',
  AutoResponder: 'auto-reply',
  ChallengeVerification: 'auto-reply',
};

/**
 * Postmark posts one record per request: Bounce and SpamComplaint (transactional streams), and
 * SubscriptionChange (broadcast streams, where Postmark reports bounces and complaints as the
 * suppressions it applies). Delivery, Open, Click and the rest are ignored.
 */
export function postmarkReports(payload: unknown): BounceReport[] {
  const o = object(payload, 'body');
  const recordType = str(o, 'RecordType', '');
  if (recordType === 'Bounce' || recordType === 'SpamComplaint') {
    const id = str(o, 'ID', '');
    const email = str(o, 'Email', '');
    const type = optStr(o, 'Type') ?? recordType;
    const details = optStr(o, 'Details') ?? optStr(o, 'Description');
    let cls: BounceClass | undefined = recordType === 'SpamComplaint' ? 'complaint' : POSTMARK_TYPES[type];
    let rule = `postmark-${type}`;
    if (!cls) {
      // Unknown, Undeliverable, SMTPApiError...: the words decide, as for a DSN
      const c = classifyDiagnosis({ text: details });
      cls = c.class;
      rule = `postmark-${type}/${c.rule}`;
    }
    return [
      {
        source: 'postmark',
        eventId: `${recordType}-${id}`,
        class: cls,
        rule,
        recipient: email,
        status: enhancedStatus(details) ?? null,
        diagnostic: details,
        occurredAt: date(o.BouncedAt),
      },
    ];
  }
  if (recordType === 'SubscriptionChange') {
    const recipient = str(o, 'Recipient', '');
    if (o.SuppressSending !== true) return [];
    const reason = optStr(o, 'SuppressionReason');
    const cls: BounceClass | undefined =
      reason === 'HardBounce' ? 'hard' : reason === 'SpamComplaint' ? 'complaint' : undefined;
    if (!cls) return []; // ManualSuppression: the publisher's own doing in Postmark, not a report
    const changedAt = str(o, 'ChangedAt', '');
    return [
      {
        source: 'postmark',
        eventId: `SubscriptionChange-${optStr(o, 'MessageID') ?? ''}-${recipient}-${changedAt}`,
        class: cls,
        rule: `postmark-suppression-${reason}`,
        recipient,
        diagnostic: `Postmark suppressed sending: ${reason}`,
        occurredAt: date(changedAt),
      },
    ];
  }
  return [];
}

// -------------------------------------------------------------------------------------- Mailgun

export interface MailgunPayload {
  signature: { timestamp: string; token: string; signature: string };
  eventData: Json;
}

/** The documented envelope: {"signature": {timestamp, token, signature}, "event-data": {...}}. */
export function mailgunPayload(payload: unknown): MailgunPayload {
  const o = object(payload, 'body');
  const sig = object(o.signature, 'signature');
  return {
    signature: {
      timestamp: str(sig, 'timestamp', 'signature.'),
      token: str(sig, 'token', 'signature.'),
      signature: str(sig, 'signature', 'signature.'),
    },
    eventData: object(o['event-data'], 'event-data'),
  };
}

/**
 * failed (severity permanent) and complained. A temporary failure is Mailgun still retrying (a
 * delay notice): ignored, the permanent failure follows if it gives up. Permanent reasons:
 * suppress-bounce / suppress-complaint are Mailgun refusing an address it already knows is bad,
 * espblock is the receiver refusing the sender, old is giving up after its retries.
 */
export function mailgunReports(e: Json): BounceReport[] {
  const event = str(e, 'event', 'event-data.');
  if (event !== 'failed' && event !== 'complained') return [];
  const id = str(e, 'id', 'event-data.');
  const recipient = str(e, 'recipient', 'event-data.');
  const message = typeof e.message === 'object' && e.message ? (e.message as Json) : {};
  const headers = typeof message.headers === 'object' && message.headers ? (message.headers as Json) : {};
  const messageId = optStr(headers, 'message-id');
  const base = {
    source: 'mailgun' as const,
    eventId: id,
    recipient,
    messageId,
    occurredAt: date(e.timestamp),
  };
  if (event === 'complained') return [{ ...base, class: 'complaint', rule: 'mailgun-complained' }];
  const severity = optStr(e, 'severity');
  if (severity !== 'permanent') return [];
  const ds =
    typeof e['delivery-status'] === 'object' && e['delivery-status'] ? (e['delivery-status'] as Json) : {};
  const text = optStr(ds, 'message') ?? optStr(ds, 'description');
  const status = optStr(ds, 'enhanced-code') ?? enhancedStatus(text) ?? null;
  const code = typeof ds.code === 'number' ? ds.code : null;
  const reason = optStr(e, 'reason') ?? 'generic';
  const fixed: Record<string, BounceClass> = {
    'suppress-bounce': 'hard',
    'suppress-complaint': 'complaint',
    espblock: 'block',
    old: 'soft',
  };
  const verdict = fixed[reason]
    ? { cls: fixed[reason]!, rule: `mailgun-${reason}` }
    : reason === 'suppress-unsubscribe'
      ? undefined
      : permanent(text, status, code);
  if (!verdict) return [];
  return [{ ...base, class: verdict.cls, rule: verdict.rule, status, diagnostic: text }];
}

// ------------------------------------------------------------------------------------- SendGrid

/** SendGrid's dropped reasons that name what it knows about the address. */
const SENDGRID_DROPPED: Record<string, BounceClass> = {
  'Bounced Address': 'hard',
  Invalid: 'hard',
  'Invalid SMTPAPI header': 'unknown',
  'Spam Reporting Address': 'complaint',
};

/**
 * The Event Webhook posts a JSON array of events. bounce (type bounce or blocked), dropped and
 * spamreport are reports; processed, deferred (a delay), delivered, open, click and the
 * unsubscribe events are ignored.
 */
export function sendgridReports(payload: unknown): BounceReport[] {
  if (!Array.isArray(payload)) throw new PayloadError('body: not a JSON array of events');
  const out: BounceReport[] = [];
  payload.forEach((raw, i) => {
    const e = object(raw, `[${i}]`);
    const event = str(e, 'event', `[${i}].`);
    if (event !== 'bounce' && event !== 'dropped' && event !== 'spamreport') return;
    const base = {
      source: 'sendgrid' as const,
      eventId: str(e, 'sg_event_id', `[${i}].`),
      recipient: str(e, 'email', `[${i}].`),
      messageId: optStr(e, 'smtp-id'),
      occurredAt: date(e.timestamp),
    };
    const reason = optStr(e, 'reason');
    if (event === 'spamreport') {
      out.push({ ...base, class: 'complaint', rule: 'sendgrid-spamreport' });
      return;
    }
    if (event === 'dropped') {
      const cls = reason ? SENDGRID_DROPPED[reason] : undefined;
      if (cls && cls !== 'unknown')
        out.push({ ...base, class: cls, rule: `sendgrid-dropped-${reason}`, diagnostic: reason });
      return;
    }
    const status = optStr(e, 'status');
    const classification = optStr(e, 'bounce_classification');
    let verdict: { cls: BounceClass; rule: string };
    if (
      optStr(e, 'type') === 'blocked' ||
      /^(Reputation|Content|Frequency or Volume)$/.test(classification ?? '')
    )
      verdict = { cls: 'block', rule: `sendgrid-${classification ?? 'blocked'}` };
    else if (classification === 'Invalid Address')
      verdict = { cls: 'hard', rule: 'sendgrid-Invalid Address' };
    else verdict = permanent(reason, status);
    out.push({ ...base, class: verdict.cls, rule: verdict.rule, status, diagnostic: reason });
  });
  return out;
}

// ---------------------------------------------------------------------------- Standard Webhooks

const STANDARD_CLASSES = new Set<BounceClass>(['hard', 'soft', 'block']);

/**
 * Gazette's own bounce event for any relay that sends Standard Webhooks:
 * {"type": "email.bounced" | "email.complained", "timestamp": ISO 8601,
 *  "data": {"recipient", "messageId"?, "class"? (hard, soft, block), "status"?, "diagnostic"?}}.
 * Without a class, the status and diagnostic decide, as for a DSN. Other types are ignored.
 */
export function standardReports(payload: unknown, webhookId: string): BounceReport[] {
  const o = object(payload, 'body');
  const type = str(o, 'type', '');
  if (type !== 'email.bounced' && type !== 'email.complained') return [];
  const data = object(o.data, 'data');
  const recipient = str(data, 'recipient', 'data.');
  const base = {
    source: 'standard' as const,
    eventId: webhookId,
    recipient,
    messageId: optStr(data, 'messageId'),
    occurredAt: date(o.timestamp),
  };
  if (type === 'email.complained') return [{ ...base, class: 'complaint', rule: 'standard-complained' }];
  const given = optStr(data, 'class');
  if (given !== null && !STANDARD_CLASSES.has(given as BounceClass))
    throw new PayloadError('data.class: must be hard, soft or block');
  const status = optStr(data, 'status');
  const diagnostic = optStr(data, 'diagnostic');
  const verdict = given
    ? { cls: given as BounceClass, rule: `standard-${given}` }
    : (() => {
        const c = classifyDiagnosis({ status, text: diagnostic });
        return { cls: c.class, rule: c.rule };
      })();
  return [{ ...base, class: verdict.cls, rule: verdict.rule, status, diagnostic }];
}
