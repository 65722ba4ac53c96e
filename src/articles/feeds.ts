import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { Publication } from '../publication.js';
import { parseAtom } from './feed-atom.js';
import { eachItem, type FeedSource, feedContext, type SkipHandler } from './feed-items.js';
import { parseRdf, parseRss } from './feed-rss.js';
import { isObject, type Json } from './normalize/fields.js';
import { restPostEvent } from './normalize/wordpress-rest.js';
import { type NormalizedArticle, PayloadError } from './types.js';

/**
 * Polled sources: RSS 2.0, RSS 1.0 (RDF), Atom 1.0 and a WordPress REST list (`/wp-json/wp/v2/posts?_embed`).
 * The XML parser never expands entities itself (no DOCTYPE entity bombs, no external entities): text
 * is decoded here with the five XML entities and character references only.
 */

export type { FeedSource, SkipHandler } from './feed-items.js';

const ALWAYS_ARRAY = new Set([
  'item',
  'entry',
  'category',
  'link',
  'author',
  'dc:creator',
  'dc:subject',
  'media:content',
  'media:thumbnail',
  'enclosure',
]);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  cdataPropName: '__cdata',
  ignoreDeclaration: true,
  ignorePiTags: true,
  isArray: (name) => ALWAYS_ARRAY.has(name),
  // Atom text constructs may hold XHTML: keep them as markup instead of parsing them into objects.
  stopNodes: ['feed.entry.content', 'feed.entry.summary', 'feed.entry.title'],
});

export function parseFeed(
  body: string,
  feed: FeedSource,
  publication: Publication,
  onSkip: SkipHandler = () => {},
): NormalizedArticle[] {
  if (feed.type === 'wordpress') return parseWordPressList(body, feed, publication, onSkip);
  // The parser is lenient with unclosed tags; a truncated download must fail, not yield half a feed.
  const valid = XMLValidator.validate(body);
  if (valid !== true) {
    throw new PayloadError(`feed: not well-formed XML (${valid.err.msg} at line ${valid.err.line})`);
  }
  let doc: Json;
  try {
    doc = parser.parse(body) as Json;
  } catch (err) {
    throw new PayloadError(`feed: not well-formed XML (${(err as Error).message.split('\n')[0]})`);
  }
  // Trust the document over the configured type: publishers switch formats without telling anyone.
  if (isObject(doc.rss)) return parseRss(doc.rss, feed, publication, onSkip);
  if (isObject(doc.feed)) return parseAtom(doc.feed, feed, publication, onSkip);
  if (isObject(doc['rdf:RDF'])) return parseRdf(doc['rdf:RDF'], feed, publication, onSkip);
  throw new PayloadError('feed: neither an RSS 2.0 <rss>, an RSS 1.0 <rdf:RDF> nor an Atom <feed> document');
}

// ---------------------------------------------------------------- WordPress REST list

function parseWordPressList(
  body: string,
  feed: FeedSource,
  publication: Publication,
  onSkip: SkipHandler,
): NormalizedArticle[] {
  let posts: unknown;
  try {
    posts = JSON.parse(body);
  } catch {
    throw new PayloadError('feed: not JSON (expected a wp/v2/posts list)');
  }
  if (!Array.isArray(posts)) throw new PayloadError('feed: expected a JSON array of wp/v2 posts');
  const ctx = feedContext(feed, publication, new URL(feed.url).origin);
  return eachItem(posts, onSkip, (post) => {
    const event = restPostEvent(post, ctx, { allowFetch: false });
    if (!event.article) throw new PayloadError(`post ${event.externalId}: no article`);
    return event.article;
  });
}

// ---------------------------------------------------------------- first poll without a flood

export interface NewItemsOptions {
  /** Items dated at or before this are old news (the feed's creation time minus its lookback). */
  since: Date;
  /** External ids already taken from this feed. */
  seen: ReadonlySet<string>;
  /**
   * Undated items cannot be placed against `since`; take them only after the first poll, when
   * everything present at the first poll is already in `seen`.
   */
  includeUndated?: boolean;
}

/**
 * The items to ingest from one poll: not seen before and newer than `since`, oldest first, each
 * external id once. On the first poll `seen` is empty and `since` holds back the feed's backlog.
 */
export function selectNewItems<
  T extends Pick<NormalizedArticle, 'externalId' | 'publishedAt' | 'modifiedAt'>,
>(items: readonly T[], options: NewItemsOptions): T[] {
  const taken = new Set<string>();
  const out: T[] = [];
  for (const item of items) {
    if (options.seen.has(item.externalId) || taken.has(item.externalId)) continue;
    const date = item.publishedAt ?? item.modifiedAt;
    if (date ? date.getTime() <= options.since.getTime() : !options.includeUndated) continue;
    taken.add(item.externalId);
    out.push(item);
  }
  const time = (i: T) => (i.publishedAt ?? i.modifiedAt)?.getTime() ?? Number.POSITIVE_INFINITY;
  return out.sort((a, b) => time(a) - time(b));
}
