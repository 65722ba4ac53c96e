import type { Publication } from '../publication.js';
import { declared, eachItem, type FeedSource, feedContext, type SkipHandler } from './feed-items.js';
import { attr, list, text, xmlDecode } from './feed-xml-nodes.js';
import { buildArticle } from './normalize/common.js';
import { dateField } from './normalize/dates.js';
import { isObject, type Json } from './normalize/fields.js';
import { PayloadError } from './types.js';

/** RSS 2.0 and RSS 1.0 (RDF) documents, parsed by feeds.ts, to articles. */

// ---------------------------------------------------------------- RSS 2.0

export function parseRss(rss: Json, feed: FeedSource, publication: Publication, onSkip: SkipHandler) {
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
export function parseRdf(rdf: Json, feed: FeedSource, publication: Publication, onSkip: SkipHandler) {
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
