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
 * - Feedback-ID: <list>:<kind>:<sending domain>, Gmail's feedback-loop key (sender id last).
 *   Only stable fields: Gmail reports spam rates per distinct value once it has enough volume,
 *   so a per-edition id would split every stream below its reporting threshold.
 * - Precedence: bulk and Auto-Submitted: auto-generated, so vacation responders stay quiet
 *   (RFC 3834) and, with X-Auto-Response-Suppress, Exchange's out-of-office ones too.
 *
 * DKIM signs List-Unsubscribe, List-Unsubscribe-Post, List-Id and Feedback-ID (DKIM_SIGNED_HEADERS
 * in dkim.ts): a one-click header that is not signed is ignored by Gmail.
 */

import type { EditionKind } from '../digests/types.js';
import { unsubscribeUrl } from '../render/reader-links.js';
import { buildListHeaders } from './list-headers.js';
import { messageIdFor, sendingDomain } from './message-id.js';
import { encodedWords } from './mime/header-encoding.js';

// re-exported for batch-sender.ts until its split lands; import them from render/reader-links.ts
export { archiveUrl, preferencesUrl, unsubscribeUrl } from '../render/reader-links.js';
export { messageIdFor as newsletterMessageId, sendingDomain };

/** what kind of edition a newsletter message belongs to */
export type NewsletterKind = EditionKind;

export interface EditionHeaderInput {
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

export function feedbackIdValue(list: string, kind: NewsletterKind, senderId: string): string {
  const field = (s: string) => s.replace(FEEDBACK_FIELD, '-');
  return `${field(list)}:${field(kind)}:${field(senderId)}`;
}

/** Headers shared by every copy of an edition (prepared once, see prepareEditionMessage). */
export function editionHeaders(input: EditionHeaderInput): Record<string, string> {
  const headers: Record<string, string> = {
    'List-Id': listIdValue(input.listName, input.domain),
    'Feedback-ID': feedbackIdValue(input.list, input.kind, input.domain),
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
