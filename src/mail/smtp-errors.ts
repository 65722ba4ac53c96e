/**
 * One classifier for every SMTP outcome (GUIDE: map errors once at each boundary).
 * - recipient: a permanent refusal of this address (5.1.x, 5.2.x, or a bare 5xx at RCPT): fail the row
 * - pause: policy, relay, authentication or configuration trouble that would fail every row: stop and alert
 * - retry: 4xx and connection errors before the message was handed over: back to pending, retry later
 * - ambiguous: the connection failed after the message body was sent; the server may have accepted it
 */
import { classifyDiagnosis } from '../bounces/classify.js';

export type SmtpOutcome = 'recipient' | 'pause' | 'retry' | 'ambiguous';

export interface SmtpLikeError {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  message?: string;
  /** nodemailer: the socket error underneath an ECONNECTION/ESOCKET */
  originalCode?: string;
  /** nodemailer: which timer fired on ETIMEDOUT */
  timeoutType?: string;
  /** raw-pool.ts: no byte of the message reached the server (the failure came before DATA's 354) */
  messageUnsent?: boolean;
}

// nodemailer's markers of a failure while connecting: nothing of the message was handed over
export const CONNECT_TIMEOUTS = new Set(['CONNECT_TIMEOUT', 'GREETING_TIMEOUT', 'UPGRADE_TIMEOUT']);
export const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);

const ENHANCED = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/;
// nodemailer codes meaning our own setup is wrong (credentials, TLS, DNS of the relay)
export const CONFIG_CODES = new Set(['EAUTH', 'ENOAUTH', 'ETLS', 'EDNS', 'EOAUTH2']);

export function classifySmtpError(err: SmtpLikeError): SmtpOutcome {
  if (err.code && CONFIG_CODES.has(err.code)) return 'pause';
  const code = err.responseCode;
  if (code !== undefined && code >= 500) {
    const text = err.response ?? err.message ?? '';
    const enhanced = ENHANCED.exec(text);
    // the bounce taxonomy (bounces/classify.ts) reads the words too: a refusal about the sender
    // ("blocked using spamhaus") pauses whatever its code, a missing mailbox fails only its row
    // whatever the code (Outlook's "550 5.5.0 mailbox unavailable")
    const verdict = classifyDiagnosis({ code, text }).class;
    if (verdict === 'block') return 'pause';
    if (verdict === 'hard') return 'recipient';
    const subject = enhanced?.[2];
    if (subject === '1' || subject === '2') return 'recipient';
    if (!enhanced && err.command === 'RCPT TO' && code !== 530 && code !== 535) return 'recipient';
    // 5.7.x policy/relay/auth, or any other permanent refusal that is not about this recipient:
    // it would fail every row the same way.
    return 'pause';
  }
  if (code !== undefined && code >= 400) return 'retry';
  // Gazette's own pool knows whether the body started: a connection lost before it is a plain
  // retry, whatever nodemailer calls the stage
  if (err.messageUnsent) return 'retry';
  // No SMTP reply and no word on the stage (a connection lost after the body went out, or an error
  // from nodemailer's own pool, which reports a loss mid-session as command "CONN" whatever the
  // stage): it cannot be told from RFC 1047's "accepted, reply lost", so a resend could be a second
  // copy. Failing to connect is known to be before DATA.
  if (err.timeoutType && CONNECT_TIMEOUTS.has(err.timeoutType)) return 'retry';
  if (err.originalCode && CONNECT_ERRORS.has(err.originalCode)) return 'retry';
  if (
    err.code === 'ECONNECTION' ||
    err.code === 'ESOCKET' ||
    err.code === 'ETIMEDOUT' ||
    err.code === 'ESTREAM'
  ) {
    return 'ambiguous';
  }
  if (err.command === 'DATA' || err.command === 'DATA_END') return 'ambiguous';
  return 'retry';
}

export function describeSmtpError(err: SmtpLikeError): string {
  return [err.code, err.responseCode, err.command, err.response ?? err.message].filter(Boolean).join(' ');
}

// words receiving providers use when they defer a sender for going too fast: Gmail's 4.7.28
// "unusual rate", Yahoo's "[TS01]".."[TS04]" deferrals, Microsoft's "server busy" and "exceeded
// ... limit". Not a bare 4.7.x or "try again later": greylisting says those about one reader.
const THROTTLE_WORDS = /\bTSS?0\d\b|\brate\b|too many|throttl|exceeded|server busy|temporarily deferred/i;
// replies to one message's transaction, not the relay's greeting: about the recipient's provider
const PER_MESSAGE = new Set(['MAIL FROM', 'RCPT TO', 'DATA', 'DATA_END', 'DATA END']);

/**
 * A temporary refusal that says the receiving provider wants the sender to slow down (a 421, TS0x,
 * rate words) while taking one message: the provider backs off
 * (shaping/provider-gate.ts) and the row waits `pending`, rather than the whole batch retrying.
 * A bare 421 at the greeting ("service not available") is the relay's own trouble, not a provider's.
 */
export function isThrottleReply(err: SmtpLikeError): boolean {
  const code = err.responseCode;
  if (code === undefined || code < 400 || code >= 500) return false;
  const text = err.response ?? err.message ?? '';
  const says = THROTTLE_WORDS.test(text);
  if (err.command && PER_MESSAGE.has(err.command)) return code === 421 || says;
  // nodemailer reports a 421 that closed the connection as CONN whatever the command: only the
  // reply's words tell a provider's "too fast" (Gmail's 421 4.7.28) from the relay going away
  return code === 421 && err.messageUnsent === true && says;
}

/**
 * The connection went away without a reply while one message's envelope was on it, before any
 * byte of its body left (raw-pool.ts `messageUnsent`), and not while connecting: the caller knows
 * the connection had been ready for this message. Repeated for one provider's recipients while
 * other providers' go through, that is the provider's storm (docs/delivery.md "Providers").
 */
export function isDropInTransaction(err: SmtpLikeError): boolean {
  if (err.responseCode !== undefined || err.messageUnsent !== true) return false;
  if (err.code && CONFIG_CODES.has(err.code)) return false;
  if (err.timeoutType && CONNECT_TIMEOUTS.has(err.timeoutType)) return false;
  return !(err.originalCode && CONNECT_ERRORS.has(err.originalCode));
}
