import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { decode } from 'html-entities';
import type { Publication } from '../publication.js';
import { buildArticle, type DeclaredLanguage, dateField, type SourceContext } from './normalize/common.js';
import { isObject, type Json } from './normalize/fields.js';
import { restPostEvent } from './normalize/wordpress.js';
import { type ArticleLanguage, HeldError, type NormalizedArticle, PayloadError } from './types.js';

/**
 * Polled sources: RSS 2.0, RSS 1.0 (RDF), Atom 1.0 and a WordPress REST list (`/wp-json/wp/v2/posts?_embed`).
 * The XML parser never expands entities itself (no DOCTYPE entity bombs, no external entities): text
 * is decoded here with the five XML entities and character references only.
 */

export interface FeedSource {
  id: string;
  type: 'rss' | 'atom' | 'wordpress';
  url: string;
  language?: ArticleLanguage;
  timezone?: string;
}

/** Called for each item that could not be read, so the poller can log it; the rest still count. */
export type SkipHandler = (reason: string, index: number) => void;

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

/** The first declared language among an item's and its feed's, with where it was found. */
function declared(...candidates: Array<[string | undefined, string]>): DeclaredLanguage | undefined {
  for (const [value, field] of candidates) if (value?.trim()) return { value, field };
  return undefined;
}

/** A feed's configured `language` is its default: used when neither the feed nor the letters say. */
function feedContext(feed: FeedSource, publication: Publication, base?: string) {
  const ctx: SourceContext = {
    provider: 'feed',
    sourceKey: `feed:${feed.id}`,
    language: feed.language ?? 'ar',
    timezone: feed.timezone ?? publication.timezone,
    siteUrl: base ?? feed.url,
    publication,
  };
  return ctx;
}

function eachItem<T>(items: unknown[], onSkip: SkipHandler, read: (item: Json, index: number) => T): T[] {
  const out: T[] = [];
  items.forEach((item, index) => {
    try {
      if (!isObject(item)) throw new PayloadError(`item ${index}: not an element`);
      out.push(read(item, index));
    } catch (err) {
      // Held items stay in the feed: the next poll after the configuration is fixed takes them.
      if (!(err instanceof PayloadError || err instanceof HeldError)) throw err;
      onSkip(err instanceof HeldError ? `held: ${err.message}` : err.message, index);
    }
  });
  return out;
}

// ---------------------------------------------------------------- text of parsed XML nodes

function xmlDecode(text: string): string {
  return decode(text, { level: 'xml' });
}

/** The text of an element: character data decoded, CDATA kept verbatim. */
function text(node: unknown): string | undefined {
  if (Array.isArray(node)) return text(node[0]);
  if (typeof node === 'string') return xmlDecode(node);
  if (typeof node === 'number') return String(node);
  if (!isObject(node)) return undefined;
  const parts: string[] = [];
  const plain = node['#text'];
  if (typeof plain === 'string' || typeof plain === 'number') parts.push(xmlDecode(String(plain)));
  const cdata = node.__cdata;
  for (const c of Array.isArray(cdata) ? cdata : cdata === undefined ? [] : [cdata]) {
    if (typeof c === 'string') parts.push(c);
  }
  const joined = parts.join('').trim();
  return joined === '' ? undefined : joined;
}

function attr(node: unknown, name: string): string | undefined {
  if (!isObject(node)) return undefined;
  const value = node[`@_${name}`];
  return typeof value === 'string' ? xmlDecode(value) : undefined;
}

function list(node: unknown): unknown[] {
  return Array.isArray(node) ? node : node === undefined ? [] : [node];
}

// ---------------------------------------------------------------- RSS 2.0

function parseRss(rss: Json, feed: FeedSource, publication: Publication, onSkip: SkipHandler) {
  const channel = isObject(rss.channel) ? rss.channel : undefined;
  if (!channel) throw new PayloadError('feed: <rss> has no <channel>');
  const ctx = feedContext(feed, publication, feedLink(channel.link, feed.url));
  const channelLanguage = text(channel.language) ?? text(channel['dc:language']);
  return eachItem(list(channel.item), onSkip, (item, index) => {
    const link = text(item.link);
    const guid = text(item.guid);
    if (!link && !guid) throw new PayloadError(`item ${index}: neither <link> nor <guid>`);
    const description = text(item.description);
    const content = text(item['content:encoded']);
    const date = text(item.pubDate) ?? text(item['dc:date']);
    const publishedAt = dateField(date, `item ${index} pubDate`, ctx.timezone);
    const image = rssImage(item);
    return buildArticle(
      {
        externalId: guid ?? link!,
        url: link ?? guid!,
        urlField: `item ${index} link`,
        title: text(item.title) ?? '',
        titleField: `item ${index} title`,
        excerptHtml: description,
        bodyHtml: content ?? description ?? '',
        imageUrl: image?.url ?? null,
        imageAlt: image?.alt ?? null,
        author: text(item['dc:creator']) ?? rssAuthor(text(item.author)),
        categories: list(item.category).flatMap((c) => text(c) ?? []),
        language: declared(
          [attr(item, 'xml:lang'), `item ${index} xml:lang`],
          [text(item['dc:language']), `item ${index} dc:language`],
          [channelLanguage, 'channel language'],
          [attr(rss, 'xml:lang'), 'rss xml:lang'],
        ),
        publishedAt,
        modifiedAt:
          dateField(text(item['atom:updated']), `item ${index} atom:updated`, ctx.timezone) ?? publishedAt,
        status: 'published',
        fields: {
          excerpt: `item ${index} description`,
          body: `item ${index} ${content ? 'content:encoded' : 'description'}`,
          author: `item ${index} author`,
          imageUrl: `item ${index} image`,
          imageAlt: `item ${index} media:description`,
        },
      },
      ctx,
    );
  });
}

function feedLink(link: unknown, fallback: string): string {
  for (const l of list(link)) {
    const href = typeof l === 'string' ? xmlDecode(l) : undefined;
    if (href && /^https?:\/\//.test(href)) return href;
  }
  return fallback;
}

/** RSS `<author>` is "email (Name)"; only the name is for readers. */
function rssAuthor(value: string | undefined): string | null {
  if (!value) return null;
  // "(Name)" at the end: the "(" after the last ")" but one. A scan, not /\(([^)]+)\)\s*$/, which
  // retried from every "(" to the end.
  const text = value.trimEnd();
  if (text.endsWith(')')) {
    const close = text.length - 1;
    const open = text.indexOf('(', text.lastIndexOf(')', close - 1) + 1);
    if (open !== -1 && open < close - 1) return text.slice(open + 1, close).trim();
  }
  return value.includes('@') ? null : value;
}

function isImage(node: unknown): boolean {
  const medium = attr(node, 'medium');
  const type = attr(node, 'type');
  if (medium) return medium === 'image';
  if (type) return type.startsWith('image/');
  return /\.(?:jpe?g|png|gif|webp|avif)(?:[?#]|$)/i.test(attr(node, 'url') ?? '');
}

function rssImage(item: Json): { url: string; alt?: string } | undefined {
  const group = isObject(item['media:group']) ? item['media:group'] : {};
  const candidates = [
    ...list(item['media:content']),
    ...list(group['media:content']),
    ...list(item.enclosure),
  ].filter(isImage);
  const thumb = list(item['media:thumbnail'])[0];
  const chosen = candidates[0] ?? thumb;
  const url = attr(chosen, 'url');
  if (!url) return undefined;
  const description = isObject(chosen)
    ? (text(chosen['media:description']) ?? text(chosen['media:title']))
    : undefined;
  return { url, alt: description };
}

// ---------------------------------------------------------------- RSS 1.0 (RDF)

/**
 * RSS 1.0: `<rdf:RDF>` holds the `<channel>` and, beside it rather than inside, the `<item>`s, each
 * named by `rdf:about`; dates, authors, subjects and language come from Dublin Core (`dc:date`,
 * `dc:creator`, `dc:subject`, `dc:language`), the full text from `content:encoded`.
 */
function parseRdf(rdf: Json, feed: FeedSource, publication: Publication, onSkip: SkipHandler) {
  const channel = isObject(rdf.channel) ? rdf.channel : {};
  const ctx = feedContext(feed, publication, feedLink(channel.link, feed.url));
  const channelLanguage = text(channel['dc:language']);
  return eachItem(list(rdf.item), onSkip, (item, index) => {
    const about = attr(item, 'rdf:about');
    const link = text(item.link) ?? about;
    if (!link) throw new PayloadError(`item ${index}: neither <link> nor rdf:about`);
    const description = text(item.description);
    const publishedAt = dateField(text(item['dc:date']), `item ${index} dc:date`, ctx.timezone);
    const image = rssImage(item);
    return buildArticle(
      {
        externalId: about ?? link,
        url: link,
        urlField: `item ${index} link`,
        title: text(item.title) ?? '',
        titleField: `item ${index} title`,
        excerptHtml: description,
        bodyHtml: text(item['content:encoded']) ?? description ?? '',
        imageUrl: image?.url ?? null,
        imageAlt: image?.alt ?? null,
        author: text(item['dc:creator']) ?? null,
        categories: list(item['dc:subject']).flatMap((c) => text(c) ?? []),
        language: declared(
          [attr(item, 'xml:lang'), `item ${index} xml:lang`],
          [text(item['dc:language']), `item ${index} dc:language`],
          [channelLanguage, 'channel dc:language'],
          [attr(rdf, 'xml:lang'), 'rdf:RDF xml:lang'],
        ),
        publishedAt,
        modifiedAt: publishedAt,
        status: 'published',
        fields: {
          excerpt: `item ${index} description`,
          body: `item ${index} ${item['content:encoded'] === undefined ? 'description' : 'content:encoded'}`,
          author: `item ${index} dc:creator`,
          imageUrl: `item ${index} image`,
          imageAlt: `item ${index} media:description`,
        },
      },
      ctx,
    );
  });
}

// ---------------------------------------------------------------- Atom 1.0

function parseAtom(root: Json, feed: FeedSource, publication: Publication, onSkip: SkipHandler) {
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

/**
 * Character data decoded, CDATA sections kept verbatim, in one forward scan (the pattern
 * /(<!\[CDATA\[[\s\S]*?\]\]>)/ searched for "]]>" again from every "<![CDATA["). A section
 * never closed is character data, as it was.
 */
function decodeWithCdata(raw: string): string {
  let out = '';
  let from = 0;
  for (;;) {
    const start = raw.indexOf('<![CDATA[', from);
    const end = start === -1 ? -1 : raw.indexOf(']]>', start + 9);
    if (end === -1) return out + xmlDecode(raw.slice(from));
    out += xmlDecode(raw.slice(from, start)) + raw.slice(start + 9, end);
    from = end + 3;
  }
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
