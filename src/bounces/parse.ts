import { simpleParser } from 'mailparser';
import { type BounceClass, type Classification, classifyDiagnosis, enhancedStatus } from './classify.js';
import {
  type HeaderList,
  header,
  type MimePart,
  mimeParts,
  parseHeaderBlock,
  splitHeadersBody,
} from './mime-parts.js';

/**
 * What a mail received on the bounce domain says, whatever its shape:
 * - dsn: an RFC 3464 delivery-status report (Postfix, Exim, Exchange/Office 365, Gmail, Yahoo)
 * - arf: an RFC 5965 feedback report (Yahoo, Microsoft JMRP, other feedback loops)
 * - auto-reply: RFC 3834 out-of-office and vacation answers
 * - text-bounce: a non-standard bounce (qmail, old Exim, some providers): classified from its words
 * - other: none of those (a person writing to the bounce address)
 */
export type ReportKind = 'dsn' | 'arf' | 'auto-reply' | 'text-bounce' | 'other';

export interface RecipientReport {
  /** Final-Recipient (or the address found in a text bounce), lower-case, no "rfc822;" */
  recipient: string | null;
  originalRecipient: string | null;
  /** failed, delayed, delivered, relayed, expanded */
  action: string | null;
  /** the enhanced status, e.g. 5.1.1 */
  status: string | null;
  diagnostic: string | null;
  remoteMta: string | null;
  classification: Classification;
}

export interface ParsedReport {
  kind: ReportKind;
  /** the report's own subject (decoded) and sender, for the evidence */
  subject: string | null;
  from: string | null;
  /** one per recipient the report is about (DSN: each per-recipient block) */
  recipients: RecipientReport[];
  /** the Message-ID of the message the report is about (from the returned headers) */
  originalMessageId: string | null;
  /** the envelope sender of that message: ARF Original-Mail-From, or the returned Return-Path */
  originalMailFrom: string | null;
  /** the To of the returned message, when not redacted */
  originalTo: string | null;
  /** ARF Feedback-Type (abuse, fraud, virus, other, not-spam) */
  feedbackType: string | null;
  /** the class of the report as a whole: the first failing recipient's, or complaint/auto-reply */
  classification: Classification;
}

const AUTO_REPLY_SUBJECT =
  /^(auto(matic)?[ -]?(reply|response|antwort|respuesta|réponse)|auto:|out of (the )?office|ooo\b|vacation|abwesenheit|absence|réponse automatique|رد تلقائي|الرد التلقائي|خارج المكتب|إجازة)/i;
const BOUNCE_SUBJECT =
  /undeliver(able|ed)|delivery (status notification|failure|has failed|incomplete)|failure notice|mail delivery (failed|failure|system)|returned mail|returned to sender|could not be delivered|non[- ]?delivery|delivery problem/i;
const DAEMON_FROM = /mailer-daemon|postmaster|mail delivery (subsystem|system)|microsoftexchange/i;

function stripAddressType(value: string | undefined): string | null {
  if (!value) return null;
  const v = value.replace(/^\s*(rfc822|x-[a-z0-9-]+|utf-8)\s*;\s*/i, '').trim();
  const angle = /<([^>]+)>/.exec(v);
  return (angle ? angle[1]! : v).trim().toLowerCase() || null;
}

function messageIdOf(value: string | undefined): string | null {
  const m = value ? /<[^<>\s]+@[^<>\s]+>/.exec(value) : null;
  return m ? m[0] : null;
}

/** An RFC 3464 message/delivery-status body: one per-message block, then per-recipient blocks. */
function parseDeliveryStatus(body: string): RecipientReport[] {
  const blocks = body
    .replace(/\r\n/g, '\n')
    .split(/\n\s*\n/)
    .map((b) => parseHeaderBlock(b))
    .filter((b) => b.length > 0);
  const out: RecipientReport[] = [];
  for (const block of blocks) {
    const final = header(block, 'final-recipient');
    const original = header(block, 'original-recipient');
    if (!final && !original) continue;
    const status = header(block, 'status')?.match(/\d\.\d{1,3}\.\d{1,3}/)?.[0] ?? null;
    const diagnostic = header(block, 'diagnostic-code')?.replace(/^\s*smtp\s*;\s*/i, '') ?? null;
    const action = header(block, 'action')?.toLowerCase() ?? null;
    out.push({
      recipient: stripAddressType(final) ?? stripAddressType(original),
      originalRecipient: stripAddressType(original),
      action,
      status: status ? enhancedStatus(status)! : null,
      diagnostic,
      remoteMta: header(block, 'remote-mta')?.replace(/^\s*dns\s*;\s*/i, '') ?? null,
      classification:
        action && action !== 'failed'
          ? // delayed, delivered, relayed, expanded: a notice, not a bounce
            { class: 'unknown', rule: `dsn-action-${action}` }
          : classifyDiagnosis({ status, text: diagnostic }),
    });
  }
  return out;
}

/** The returned message's headers: a message/rfc822 part (its headers) or text/rfc822-headers. */
function returnedHeaders(parts: MimePart[]): HeaderList | undefined {
  const part = parts.find((p) => p.type === 'message/rfc822' || p.type === 'text/rfc822-headers');
  if (!part) return undefined;
  return part.type === 'message/rfc822'
    ? splitHeadersBody(part.body).headers
    : parseHeaderBlock(part.body.toString('latin1'));
}

/** Lines of a text bounce that look like an SMTP answer about an address, e.g. "550 5.1.1 ... user unknown". */
const COPY_MARKER =
  /^\s*-+\s*(below this line is a copy of the message|this is a copy of the message|original message( follows)?|the original message was received)/im;

function textBounceRecipients(text: string): RecipientReport[] {
  // the returned copy's headers name our own addresses: only the report above it counts
  const marker = COPY_MARKER.exec(text);
  const report = marker ? text.slice(0, marker.index) : text;
  const lines = report.replace(/\r\n/g, '\n').split('\n');
  const found: RecipientReport[] = [];
  let lastAddress: string | null = null;
  for (let i = 0; i < lines.length && found.length < 20; i++) {
    const line = lines[i]!;
    const addr =
      /<?([^\s<>"@:;,()[\]]+@[^\s<>"@:;,()[\]]+\.[a-z]{2,})>?/i.exec(line)?.[1]?.toLowerCase() ?? null;
    if (addr) lastAddress = addr;
    const window = [line, lines[i + 1] ?? '', lines[i + 2] ?? ''].join(' ');
    const classification = classifyDiagnosis({ text: window });
    const smtpish = /\b[45]\d\d\b|\b[45]\.\d{1,3}\.\d{1,3}\b|#[45]\.\d\.\d/.test(window);
    if (lastAddress && smtpish && classification.class !== 'unknown') {
      if (found.some((f) => f.recipient === lastAddress)) continue;
      found.push({
        recipient: lastAddress,
        originalRecipient: null,
        action: 'failed',
        status: enhancedStatus(window.replace(/#/g, ' ')) ?? null,
        diagnostic: window.trim().replace(/\s+/g, ' ').slice(0, 500),
        remoteMta: null,
        classification,
      });
    }
  }
  return found;
}

function isAutoReply(headers: Map<string, unknown>, subject: string): boolean {
  const get = (n: string) => {
    const v = headers.get(n);
    return typeof v === 'string'
      ? v.toLowerCase()
      : v
        ? String((v as { value?: string }).value ?? v).toLowerCase()
        : '';
  };
  const autoSubmitted = get('auto-submitted');
  if (autoSubmitted && autoSubmitted !== 'no') return true;
  if (headers.has('x-autoreply') || headers.has('x-autorespond') || headers.has('x-autoresponder'))
    return true;
  if (get('precedence') === 'auto_reply') return true;
  if (get('x-precedence') === 'auto_reply') return true;
  return AUTO_REPLY_SUBJECT.test(subject.trim());
}

const CAP = 2 * 1024 * 1024;

/** Parses one received mail into a report. Never throws on bad input: unparseable mail is `other`. */
export async function parseReport(raw: Buffer): Promise<ParsedReport> {
  const bytes = raw.length > CAP ? raw.subarray(0, CAP) : raw;
  const parsed = await simpleParser(bytes, {
    skipHtmlToText: true,
    skipTextLinks: true,
    skipImageLinks: true,
  }).catch(() => undefined);
  const subject = parsed?.subject ?? null;
  const from = parsed?.from?.value?.[0]?.address?.toLowerCase() ?? null;
  const contentType = parsed?.headers.get('content-type') as
    | { value?: string; params?: Record<string, string> }
    | undefined;
  const reportType = contentType?.params?.['report-type']?.toLowerCase();
  const parts = mimeParts(bytes);
  const base: ParsedReport = {
    kind: 'other',
    subject,
    from,
    recipients: [],
    originalMessageId: null,
    originalMailFrom: null,
    originalTo: null,
    feedbackType: null,
    classification: { class: 'unknown', rule: 'no-report' },
  };
  const original = returnedHeaders(parts);
  if (original) {
    base.originalMessageId = messageIdOf(header(original, 'message-id'));
    base.originalMailFrom = stripAddressType(header(original, 'return-path'));
    base.originalTo = stripAddressType(header(original, 'to'));
  }

  const feedback = parts.find((p) => p.type === 'message/feedback-report');
  if (reportType === 'feedback-report' || feedback) {
    const fields = feedback ? parseHeaderBlock(feedback.body.toString('latin1')) : [];
    const type = header(fields, 'feedback-type')?.toLowerCase() ?? 'abuse';
    base.kind = 'arf';
    base.feedbackType = type;
    base.originalMailFrom = stripAddressType(header(fields, 'original-mail-from')) ?? base.originalMailFrom;
    const rcpt = stripAddressType(header(fields, 'original-rcpt-to')) ?? base.originalTo;
    // "not-spam" is a reader taking a complaint back: no complaint (RFC 6430)
    const cls: Classification =
      type === 'not-spam'
        ? { class: 'unknown', rule: 'arf-not-spam' }
        : { class: 'complaint', rule: `arf-${type}` };
    base.classification = cls;
    base.recipients = [
      {
        recipient: rcpt,
        originalRecipient: rcpt,
        action: null,
        status: null,
        diagnostic: null,
        remoteMta: header(fields, 'reporting-mta')?.replace(/^\s*dns\s*;\s*/i, '') ?? null,
        classification: cls,
      },
    ];
    return base;
  }

  const status = parts.find(
    (p) => p.type === 'message/delivery-status' || p.type === 'message/global-delivery-status',
  );
  if (reportType === 'delivery-status' || status) {
    base.kind = 'dsn';
    base.recipients = status ? parseDeliveryStatus(status.body.toString('utf8')) : [];
    if (base.recipients.length === 0) base.recipients = textBounceRecipients(parsed?.text ?? '');
    base.classification = overall(base.recipients);
    return base;
  }

  const text = parsed?.text ?? '';
  const headers = parsed?.headers ?? new Map();
  const looksLikeBounce =
    BOUNCE_SUBJECT.test(subject ?? '') ||
    DAEMON_FROM.test(from ?? '') ||
    DAEMON_FROM.test(parsed?.from?.text ?? '');
  if (looksLikeBounce) {
    base.kind = 'text-bounce';
    base.recipients = textBounceRecipients(text);
    base.classification = overall(base.recipients);
    // the returned message is often pasted into the text: its Message-ID names the delivery
    base.originalMessageId ??= messageIdOf(/^message-id:\s*(.+)$/im.exec(text)?.[1]);
    return base;
  }
  if (isAutoReply(headers, subject ?? '')) {
    base.kind = 'auto-reply';
    base.classification = { class: 'auto-reply', rule: 'rfc3834' };
    base.originalMessageId = messageIdOf(headers.get('in-reply-to') as string | undefined);
    return base;
  }
  return base;
}

/** The class of a report as a whole: the first failing recipient decides, hard before soft. */
function overall(recipients: RecipientReport[]): Classification {
  const order: BounceClass[] = ['hard', 'block', 'soft', 'unknown'];
  for (const cls of order) {
    const r = recipients.find((x) => x.classification.class === cls);
    if (r) return r.classification;
  }
  return { class: 'unknown', rule: 'no-recipient' };
}
