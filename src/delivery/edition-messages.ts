import { unsubscribeMailto } from '../bounces/unsubscribe-mailto.js';
import { createClickTokens, type EditionLink, plainLinks, readerLinks } from '../clicks/index.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/pool.js';
import { senderFor } from '../mail/message-id.js';
import { buildMessage, type PreparedMessage, prepareEditionMessage } from '../mail/mime/index.js';
import {
  archiveUrl,
  editionHeaders,
  feedbackList,
  type NewsletterKind,
  newsletterMessageId,
  preferencesUrl,
  recipientHeaders,
  sendingDomain,
  unsubscribeUrl,
} from '../mail/newsletter-headers.js';
import type { Language, Publication } from '../publication.js';
import { formatText, localeStrings } from '../render/locale-strings.js';
import type { Tokens } from '../security/tokens.js';
import type { ClaimedRow } from './delivery-batch-store.js';

/**
 * An edition's pre-rendered MIME parts (MJML ran once, at render time), kept in a small LRU so the
 * batches of one edition prepare them once per process, and the per-reader copy built from them.
 */
export interface EditionInfo {
  id: string;
  kind: NewsletterKind;
  state: string;
  language: Language;
  prepared: PreparedMessage;
  envelopeFrom: string;
  /** when the edition was due to go out */
  dueAt: Date;
  /** the article links by slot, filled into `{{link_<slot>}}` per reader; null before migration 033 */
  links: EditionLink[] | null;
}

export type LoadedEdition = EditionInfo | { missing: string } | { state: string };

export interface EditionMessagesDeps {
  db: Db;
  clock: Clock;
  tokens: Pick<Tokens, 'unsubscribe' | 'preferences'>;
  publication: Publication;
  config: Pick<Config, 'PUBLIC_URL' | 'SECRET_KEY' | 'MAIL_FROM' | 'LIST_UNSUBSCRIBE_MAILTO'>;
  /** editions kept prepared */
  cacheSize: number;
}

export interface EditionMessages {
  /** The edition if it may be sent (prepared, from the cache when its render has not changed). */
  load(editionId: string): Promise<LoadedEdition>;
  /** One reader's copy: the edition with the reader's greeting, links and list headers. */
  compose(edition: EditionInfo, row: ClaimedRow): { raw: Buffer; messageId: string };
  size(): number;
}

const SENDABLE_STATES = new Set(['planned', 'sending', 'sent']);

export function createEditionMessages(deps: EditionMessagesDeps): EditionMessages {
  const { db, clock, tokens, publication, config, cacheSize } = deps;
  // click links are signed with the current key only (verification also tries the previous one)
  const clickTokens = createClickTokens({ secretKey: config.SECRET_KEY });
  const domain = sendingDomain(config.MAIL_FROM, publication.sender.email);
  // small LRU: a Map keeps insertion order; a hit is moved to the end
  const cache = new Map<string, EditionInfo>();

  async function load(editionId: string): Promise<LoadedEdition> {
    const { rows } = await db.query<{
      kind: NewsletterKind;
      state: string;
      language: Language;
      frequency: string | null;
      rendered_at: Date | null;
      rendered: boolean;
      due_at: Date;
    }>(
      `SELECT kind, state, language, frequency, rendered_at, due_at,
              (subject IS NOT NULL AND html IS NOT NULL AND text_body IS NOT NULL) AS rendered
         FROM editions WHERE id = $1`,
      [editionId],
    );
    const row = rows[0];
    if (!row) return { missing: 'edition not found' };
    if (!SENDABLE_STATES.has(row.state)) return { state: row.state };
    if (!row.rendered) throw new Error(`edition ${editionId} is not rendered yet`);
    const cacheKey = `${editionId}:${row.rendered_at?.getTime() ?? 0}`;
    const hit = cache.get(cacheKey);
    if (hit) {
      cache.delete(cacheKey);
      cache.set(cacheKey, hit);
      return { ...hit, state: row.state, dueAt: row.due_at };
    }
    const body = await db.query<{
      subject: string;
      html: string;
      text_body: string;
      links: EditionLink[] | null;
    }>('SELECT subject, html, text_body, links FROM editions WHERE id = $1', [editionId]);
    const { subject, html, text_body: text, links } = body.rows[0]!;
    const language = row.language;
    const from = senderFor(config.MAIL_FROM, publication.sender, language);
    const strings = localeStrings(language);
    const prepared = prepareEditionMessage({
      from,
      subject: row.kind === 'test' ? formatText(strings.subject.test, { subject }) : subject,
      html,
      text,
      language,
      greeting: { named: strings.greeting.named, generic: strings.greeting.generic },
      headers: editionHeaders({
        kind: row.kind,
        list: feedbackList(row.kind, row.frequency, language),
        listName: publication.name[language],
        domain,
        replyTo: publication.sender.replyTo,
      }),
    });
    const info: EditionInfo = {
      id: editionId,
      kind: row.kind,
      state: row.state,
      language,
      prepared,
      envelopeFrom: from.address,
      dueAt: row.due_at,
      links,
    };
    cache.set(cacheKey, info);
    while (cache.size > cacheSize) cache.delete(cache.keys().next().value as string);
    return info;
  }

  function compose(edition: EditionInfo, row: ClaimedRow): { raw: Buffer; messageId: string } {
    const messageId = newsletterMessageId(row.id, config.SECRET_KEY, domain);
    if (edition.kind === 'test') return { raw: composeTestCopy(edition, row, messageId), messageId };
    const unsubscribeToken = row.subscriberId ? tokens.unsubscribe(row.subscriberId) : 'preview';
    const prefs = row.subscriberId
      ? preferencesUrl(config.PUBLIC_URL, tokens.preferences(row.subscriberId))
      : `${config.PUBLIC_URL}/preferences`;
    const listHeaders = recipientHeaders({
      publicUrl: config.PUBLIC_URL,
      unsubscribeToken,
      // the reader in the address, so mail to it unsubscribes them (bounces/unsubscribe-mailto.ts)
      mailto:
        config.LIST_UNSUBSCRIBE_MAILTO && row.subscriberId
          ? unsubscribeMailto(config.LIST_UNSUBSCRIBE_MAILTO, row.subscriberId, config.SECRET_KEY)
          : undefined,
    });
    const raw = buildMessage(edition.prepared, {
      to: row.recipient,
      messageId,
      date: clock.now(),
      values: {
        greeting_name: row.name ?? '',
        preferences_url: prefs,
        unsubscribe_url: unsubscribeUrl(config.PUBLIC_URL, unsubscribeToken),
        archive_url: archiveUrl(config.PUBLIC_URL, edition.id),
        // an edition rendered without click tracking has plain links in its body: nothing to sign
        links: edition.prepared.usesLinks
          ? readerLinks({
              tokens: clickTokens,
              publicUrl: config.PUBLIC_URL,
              editionId: edition.id,
              links: edition.links,
              subscriberId: row.subscriberId,
              tracked: row.trackClicks,
            })
          : undefined,
      },
      extraHeaders: listHeaders,
    });
    return { raw, messageId };
  }

  /**
   * An operator's test copy goes to an address that is not a reader: no List-Unsubscribe (there
   * is no list membership to end) and the footer's personal links lead to the publication's
   * site, so a click on them changes nobody's subscription.
   */
  function composeTestCopy(edition: EditionInfo, row: ClaimedRow, messageId: string): Buffer {
    return buildMessage(edition.prepared, {
      to: row.recipient,
      messageId,
      date: clock.now(),
      values: {
        greeting_name: '',
        preferences_url: publication.website,
        unsubscribe_url: publication.website,
        archive_url: publication.website,
        links: plainLinks(edition.links),
      },
    });
  }

  return { load, compose, size: () => cache.size };
}
