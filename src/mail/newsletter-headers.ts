/**
 * The header contract of every newsletter message (digests, alerts, test sends).
 *
 * - List-Unsubscribe: the https one-click URL first, plus mailto when LIST_UNSUBSCRIBE_MAILTO is
 *   set; List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 2369, RFC 8058; Gmail and Yahoo
 *   require both for bulk senders). Per recipient.
 * - List-Id: "<publication>" <newsletter.<sending domain>> (RFC 2919), so filters and feedback
 *   loops can tell the list apart from the publisher's other mail. Per edition.
 * - Message-ID: HMAC of the delivery id on the sending domain: unique per ledger row, stable
 *   across retries of the same row, unguessable from outside.
 * - Feedback-ID: <edition>:<kind>:<list>:gazette, Gmail's feedback-loop key (campaign first,
 *   sender id last).
 * - Precedence: bulk and Auto-Submitted: auto-generated, so vacation responders stay quiet
 *   (RFC 3834) and, with X-Auto-Response-Suppress, Exchange's out-of-office ones too.
 *
 * DKIM signs List-Unsubscribe, List-Unsubscribe-Post, List-Id and Feedback-ID (DKIM_SIGNED_HEADERS
 * in dkim.ts): a one-click header that is not signed is ignored by Gmail.
 */
import { buildListHeaders } from './list-headers.js';
import { messageIdFor, sendingDomain } from './message-id.js';
import { encodedWords } from './mime/header-encoding.js';

export { messageIdFor as newsletterMessageId, sendingDomain };

export type NewsletterKind = 'digest' | 'alert' | 'test';

export interface EditionHeaderInput {
  editionId: string;
  kind: NewsletterKind;
  /** the list within the publication, e.g. "daily-ar" or "alerts-en" */
  list: string;
  /** the publication's name in the edition's language */
  listName: string;
  /** the sending domain (MAIL_FROM's, or the publication sender's) */
  domain: string;
  replyTo?: string;
}

const FEEDBACK_FIELD = /[^A-Za-z0-9._-]/g;

/** RFC 2919 List-Id: an optional phrase and the list identifier in angle brackets. */
export function listIdValue(listName: string, domain: string): string {
  const id = `<newsletter.${domain.toLowerCase()}>`;
  const name = listName.replace(/[\r\n"\\<>]/g, ' ').trim();
  if (!name) return id;
  // The phrase alone is encoded; an encoded whole value would hide the identifier from filters.
  const phrase = /^[\x20-\x7e]*$/.test(name) ? `"${name}"` : encodedWords(name).join(' ');
  return `${phrase} ${id}`;
}

export function feedbackIdValue(editionId: string, kind: NewsletterKind, list: string): string {
  const field = (s: string) => s.replace(FEEDBACK_FIELD, '-');
  return `${field(editionId)}:${field(kind)}:${field(list)}:gazette`;
}

/** Headers shared by every copy of an edition (prepared once, see prepareEditionMessage). */
export function editionHeaders(input: EditionHeaderInput): Record<string, string> {
  const headers: Record<string, string> = {
    'List-Id': listIdValue(input.listName, input.domain),
    'Feedback-ID': feedbackIdValue(input.editionId, input.kind, input.list),
    Precedence: 'bulk',
    'Auto-Submitted': 'auto-generated',
    'X-Auto-Response-Suppress': 'OOF, AutoReply',
  };
  if (input.replyTo) headers['Reply-To'] = input.replyTo;
  return headers;
}

export interface RecipientHeaderInput {
  publicUrl: string;
  /** the signed unsubscribe token of this reader */
  unsubscribeToken: string;
  mailto?: string;
}

export function unsubscribeUrl(publicUrl: string, token: string): string {
  return `${publicUrl}/unsubscribe/${token}`;
}

export function preferencesUrl(publicUrl: string, token: string): string {
  return `${publicUrl}/preferences/${token}`;
}

export function archiveUrl(publicUrl: string, editionId: string): string {
  return `${publicUrl}/archive/${editionId}`;
}

/** List-Unsubscribe and List-Unsubscribe-Post for one reader. */
export function recipientHeaders(input: RecipientHeaderInput): Record<string, string> {
  return buildListHeaders({
    unsubscribeUrl: unsubscribeUrl(input.publicUrl, input.unsubscribeToken),
    mailto: input.mailto,
  });
}

/** The list part of Feedback-ID: which stream of the publication this edition belongs to. */
export function feedbackList(kind: NewsletterKind, frequency: string | null, language: string): string {
  if (kind === 'alert') return `alerts-${language}`;
  if (kind === 'test') return `test-${language}`;
  return `${frequency ?? 'digest'}-${language}`;
}
