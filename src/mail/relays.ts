/**
 * Several relays (SMTP_URL first, then SMTP_FALLBACK_URLS in order): which failure is about a relay
 * itself, so the same message may go to the next one, and how a relay is named where people read
 * it (never with its credentials).
 */
import type { Config } from '../config.js';
import {
  CONFIG_CODES,
  CONNECT_ERRORS,
  CONNECT_TIMEOUTS,
  isThrottleReply,
  type SmtpLikeError,
} from './smtp-errors.js';

/** SMTP_URL (or the development mailbox), then the fallbacks, in the order they are preferred. */
export function relayUrlsFor(config: Config): string[] {
  const primary = config.SMTP_URL ?? `smtp://127.0.0.1:${config.DEV_SMTP_PORT}`;
  return [primary, ...config.SMTP_FALLBACK_URLS];
}

/**
 * A relay's URL without user, password, path or query (`smtps://relay.example:465`): the name logs,
 * the API and metrics use. A URL may carry an API key as its user name (SendGrid's `apikey` pair,
 * Postmark's server token), so the user goes too.
 */
export function redactRelayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'an unparsable relay URL';
  }
}

// the commands of one message's transaction; anything else (CONN, EHLO, STARTTLS, AUTH) is the session
const TRANSACTION = new Set(['MAIL FROM', 'RCPT TO', 'DATA', 'DATA_END', 'DATA END']);
// RFC 3463 X.3.X: the mail system itself (4.3.0 local error, 4.3.1 system full, 4.3.2 shutting down)
const MAIL_SYSTEM = /\b4\.3\.\d{1,3}\b/;
// authentication required / too weak / failed / temporarily failed
const AUTH_REPLIES = new Set([454, 530, 534, 535, 538]);

/**
 * Whether no byte of the message can have reached the relay: Gazette's own pool says so
 * (`messageUnsent`); for nodemailer's pool only a failure to connect or to open the session is sure.
 */
function provablyUnsent(err: SmtpLikeError): boolean {
  if (err.messageUnsent === true) return true;
  if (err.code && CONFIG_CODES.has(err.code)) return true;
  if (err.timeoutType && CONNECT_TIMEOUTS.has(err.timeoutType)) return true;
  // nodemailer's own pool says CONN for a loss at any stage: only a failure to connect at all is sure
  if (err.originalCode && CONNECT_ERRORS.has(err.originalCode)) return true;
  return false;
}

/**
 * A failure about the relay itself, from before any byte of the message left: the relay is taken
 * out and the same message goes to the next relay at once (it cannot be a second copy).
 * - the connection was refused, reset or timed out, or the session failed (greeting, EHLO, TLS,
 *   AUTH: 421 at the greeting, 535, EAUTH, ETLS) before the body
 * - the relay's own trouble during the envelope: 4.3.x (local error, system full, shutting down),
 *   an authentication reply (530 at MAIL FROM)
 * Not: a provider's throttling reply (`isThrottleReply`: shaping backs that provider off), any reply
 * to RCPT TO (about one recipient or its domain), a permanent refusal of the message, and anything
 * after the body started (`ambiguous`: never resent blindly).
 */
export function isRelayFailure(err: SmtpLikeError): boolean {
  // the body's own stream failed (the hand-off log could not be written): Gazette's trouble
  if (err.code === 'ESTREAM' || err.command === 'API') return false;
  if (!provablyUnsent(err)) return false;
  if (err.code && CONFIG_CODES.has(err.code)) return true;
  const code = err.responseCode;
  if (code === undefined) return true;
  const text = err.response ?? err.message ?? '';
  const inTransaction = err.command !== undefined && TRANSACTION.has(err.command);
  if (!inTransaction) return !isThrottleReply(err);
  if (err.command === 'RCPT TO') return false;
  if (AUTH_REPLIES.has(code)) return true;
  return code >= 400 && code < 500 && MAIL_SYSTEM.test(text) && !isThrottleReply(err);
}
