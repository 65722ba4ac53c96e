import type { Publication } from '../publication.js';
import { declared, eachItem, type FeedSource, feedContext, type SkipHandler } from './feed-items.js';
import { attr, decodeWithCdata, list, text } from './feed-xml-nodes.js';
import { buildArticle } from './normalize/common.js';
import { dateField } from './normalize/dates.js';
import { isObject, type Json } from './normalize/fields.js';
import { PayloadError } from './types.js';

/** Atom 1.0 documents, parsed by feeds.ts, to articles. */

// ---------------------------------------------------------------- Atom 1.0

export function parseAtom(root: Json, feed: FeedSource, publication: Publication, onSkip: SkipHandler) {
  const feedLang = attr(root, 'xml:lang');
  const ctx = feedContext(feed, publication, atomLink(root.link) ?? feed.url);
  const feedAuthor = atomAuthor(root.author);
  return eachItem(list(root.entry), onSkip, (entry, index) => {
    const id = text(entry.id);
    const link = atomLink(entry.link);
    if (!link) throw new PayloadError(`entry ${index}: no <link rel="alternate" href>`);
    const updated = dateField(text(entry.updated), `entry ${index} updated`, ctx.timezone);
    const published = dateField(text(entry.published), `entry ${index} published`, ctx.timezone) ?? updated;
    const categories = list(entry.category).flatMap((c) => attr(c, 'label') ?? attr(c, 'term') ?? []);
    const terms = list(entry.category).flatMap((c) => attr(c, 'term') ?? []);
    return buildArticle(
      {
        externalId: id ?? link,
        url: link,
        urlField: `entry ${index} link`,
        title: atomText(entry.title) ?? '',
        titleField: `entry ${index} title`,
        excerptHtml: atomText(entry.summary),
        bodyHtml: atomText(entry.content) ?? atomText(entry.summary) ?? '',
        author: atomAuthor(entry.author) ?? feedAuthor,
        categories,
        matchTerms: terms,
        language: declared([attr(entry, 'xml:lang'), `entry ${index} xml:lang`], [feedLang, 'feed xml:lang']),
        publishedAt: published,
        modifiedAt: updated ?? published,
        status: 'published',
        fields: {
          excerpt: `entry ${index} summary`,
          body: `entry ${index} ${entry.content === undefined ? 'summary' : 'content'}`,
          author: `entry ${index} author`,
        },
      },
      ctx,
    );
  });
}

function atomLink(links: unknown): string | undefined {
  for (const link of list(links)) {
    const rel = attr(link, 'rel') ?? 'alternate';
    const href = attr(link, 'href');
    if (rel === 'alternate' && href) return href;
  }
  return undefined;
}

function atomAuthor(authors: unknown): string | null {
  const first = list(authors)[0];
  return isObject(first) ? (text(first.name) ?? null) : null;
}

/**
 * An Atom text construct as HTML. These are stop nodes, so the value is the raw inner markup:
 * type="xhtml" is markup already; "html" is escaped markup (or CDATA); "text" is escaped text.
 */
function atomText(node: unknown): string | undefined {
  const first = Array.isArray(node) ? node[0] : node;
  const raw = typeof first === 'string' ? first : isObject(first) ? first['#text'] : undefined;
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  const type = attr(first, 'type') ?? 'text';
  if (type === 'xhtml') return raw;
  const value = decodeWithCdata(raw);
  if (type === 'html') return value;
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
