import { decode } from 'html-entities';
import sanitizeHtml from 'sanitize-html';
import type { Publication } from '../../publication.js';
import { wallClockToUtc } from '../../time/zoned-time.js';
import {
  type ArticleLanguage,
  type ArticleStatus,
  type NormalizedArticle,
  PayloadError,
  type Provider,
} from '../types.js';

/** Shared helpers every normalizer (and the feed parser) goes through, so all sources read alike. */

// ---------------------------------------------------------------- text

/** Titles arrive HTML-escaped from WordPress (`&#8211;`, `&hellip;`, `&amp;`) and sometimes with tags. */
export function decodeTitle(raw: string): string {
  return collapseWhitespace(decode(stripTags(raw)));
}

export function collapseWhitespace(text: string): string {
  return text.replace(/\s+/gu, ' ').trim();
}

/** Closing block tags become spaces so "<p>a</p><p>b</p>" reads "a b", not "ab". */
const BLOCK_BOUNDARY =
  /<\/?(?:p|div|br|h[1-6]|li|ul|ol|blockquote|tr|td|th|table|figure|section|article|hr)\b[^>]*>/gi;

function stripTags(html: string): string {
  return sanitizeHtml(html.replace(BLOCK_BOUNDARY, ' $&'), {
    allowedTags: [],
    allowedAttributes: {},
    // Captions and scripts are not part of the text a reader would quote as the article's lead.
    nonTextTags: ['script', 'style', 'textarea', 'option', 'noscript', 'figcaption', 'iframe'],
  });
}

/** HTML (or plain text) to plain text: tags dropped, entities decoded, whitespace collapsed. */
export function htmlToText(html: string): string {
  return collapseWhitespace(decode(stripTags(html)));
}

export const SUMMARY_MAX_CHARS = 280;

/** Punctuation not to leave dangling before the ellipsis, Arabic (، ؛ ؟) included. */
const TRAILING_PUNCTUATION = /[\s,;:،؛؟?!.\-–—(«"'“‘]+$/u;
/** WordPress ends generated excerpts with "[&hellip;]" or "[...]" and a "Read more" link. */
const WP_MORE = /\s*\[(?:…|\.\.\.)\]\s*$/u;

/**
 * A plain-text summary: the excerpt if there is one, else the body; at most `max` characters, cut
 * at a word boundary (never inside an Arabic word) and ended with "…" when shortened.
 */
export function summarize(
  excerptHtml: string | undefined,
  bodyHtml: string,
  max = SUMMARY_MAX_CHARS,
): string {
  let text = excerptHtml ? htmlToText(excerptHtml) : '';
  let shortened = false;
  if (WP_MORE.test(text)) {
    text = text.replace(WP_MORE, '');
    shortened = true;
  }
  if (!text) {
    text = htmlToText(bodyHtml);
    shortened = false;
  }
  if ([...text].length > max) {
    text = cutAtWord(text, max);
    shortened = true;
  }
  return shortened ? `${text.replace(TRAILING_PUNCTUATION, '')}…` : text;
}

const wordSegmenter = new Intl.Segmenter('ar', { granularity: 'word' });
const graphemeSegmenter = new Intl.Segmenter('ar', { granularity: 'grapheme' });

function cutAtWord(text: string, max: number): string {
  // Leave room for the ellipsis.
  const limit = max - 1;
  let end = 0;
  let used = 0;
  for (const seg of wordSegmenter.segment(text)) {
    const length = [...seg.segment].length;
    if (used + length > limit) break;
    used += length;
    if (seg.isWordLike) end = seg.index + seg.segment.length;
  }
  if (end > 0) return text.slice(0, end);
  // A single word longer than the limit (a URL, say): cut between graphemes so no diacritic is orphaned.
  let out = '';
  for (const g of graphemeSegmenter.segment(text)) {
    if ([...out].length + [...g.segment].length > limit) break;
    out += g.segment;
  }
  return out;
}

// ---------------------------------------------------------------- HTML body

/** Tags a news article needs in an email; no scripts, styles, forms, iframes or embeds. */
const ALLOWED_TAGS = [
  'p',
  'br',
  'hr',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'strong',
  'b',
  'em',
  'i',
  'u',
  's',
  'del',
  'ins',
  'mark',
  'small',
  'sub',
  'sup',
  'abbr',
  'cite',
  'q',
  'time',
  'span',
  'blockquote',
  'ul',
  'ol',
  'li',
  'dl',
  'dt',
  'dd',
  'a',
  'img',
  'figure',
  'figcaption',
  'table',
  'caption',
  'thead',
  'tbody',
  'tfoot',
  'tr',
  'th',
  'td',
  'pre',
  'code',
];

/** Safe HTML for the newsletter: the allow-list above, http(s) links only, relative URLs made absolute. */
export function sanitizeBody(html: string, baseUrl?: string): string {
  const absolute = (value: string | undefined): string | undefined => {
    if (value === undefined) return undefined;
    return toAbsoluteHttpUrl(value, baseUrl) ?? undefined;
  };
  return (
    sanitizeHtml(html, {
      allowedTags: ALLOWED_TAGS,
      allowedAttributes: {
        '*': ['dir', 'lang'],
        a: ['href', 'title'],
        img: ['src', 'alt', 'width', 'height'],
        blockquote: ['cite'],
        q: ['cite'],
        time: ['datetime'],
        td: ['colspan', 'rowspan'],
        th: ['colspan', 'rowspan', 'scope'],
        ol: ['start', 'reversed'],
      },
      allowedSchemes: ['http', 'https'],
      allowedSchemesByTag: {},
      allowedSchemesAppliedToAttributes: ['href', 'src', 'cite'],
      allowProtocolRelative: false,
      disallowedTagsMode: 'discard',
      nonTextTags: [
        'script',
        'style',
        'textarea',
        'option',
        'noscript',
        'iframe',
        'object',
        'embed',
        'template',
      ],
      transformTags: {
        a: (tagName, attribs) => ({ tagName, attribs: withUrl(attribs, 'href', absolute) }),
        img: (tagName, attribs) => ({ tagName, attribs: withUrl(attribs, 'src', absolute) }),
      },
      exclusiveFilter: (frame) => frame.tag === 'img' && !frame.attribs.src,
    })
      // Removed comments (Gutenberg's block markers) and scripts leave runs of blank lines behind.
      .replace(/\n\s*\n+/g, '\n')
      .trim()
  );
}

function withUrl(
  attribs: Record<string, string>,
  name: string,
  absolute: (v: string | undefined) => string | undefined,
): Record<string, string> {
  const out = { ...attribs };
  const value = absolute(attribs[name]);
  if (value === undefined) delete out[name];
  else out[name] = value;
  return out;
}

// ---------------------------------------------------------------- URLs

export function toAbsoluteHttpUrl(raw: string, base?: string): string | null {
  let url: URL;
  try {
    url = new URL(decode(raw.trim()), base);
  } catch {
    return null;
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
}

/** Characters that must stay percent-encoded in a path segment for the IRI to mean the same URL. */
const KEEP_ENCODED = /[\s/?#%\\\p{Cc}\p{Cf}\p{Z}]/u;

/**
 * The canonical article URL: absolute http(s), fragment dropped, and percent-encoded path segments
 * that are UTF-8 text shown decoded ("/2024/05/سوريا-أمطار/"), because newsletter readers see and
 * copy these links. A segment stays encoded unless the decoded IRI parses back to the same URL.
 */
export function canonicalUrl(raw: string, base?: string): string | null {
  const href = toAbsoluteHttpUrl(raw, base);
  if (href === null) return null;
  const url = new URL(href);
  url.hash = '';
  const segments = url.pathname.split('/').map((segment) => {
    if (!segment.includes('%')) return segment;
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return segment;
    }
    return KEEP_ENCODED.test(decoded) ? segment : decoded;
  });
  const iri = `${url.protocol}//${url.host}${segments.join('/')}${url.search}`;
  // Percent-encoding is case-insensitive (WordPress writes %d8, URL re-encodes as %D8).
  const upper = (href: string) => href.replace(/%[0-9a-f]{2}/gi, (m) => m.toUpperCase());
  try {
    return upper(new URL(iri).href) === upper(url.href) ? iri : url.href;
  } catch {
    return url.href;
  }
}

// ---------------------------------------------------------------- dates

const ZONELESS = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?$/;
const HAS_ZONE = /(?:Z|[+-]\d{2}:?\d{2}|\b(?:GMT|UTC|UT|[ECMP][SD]T))$/i;

/**
 * A date from a payload: strings with an explicit zone (ISO 8601 or RFC 822) as written; zone-less
 * wall-clock strings in `timeZone`. Empty and WordPress's "0000-00-00 00:00:00" mean no date.
 * Returns undefined for an unreadable string so the caller can name the field.
 */
export function parseDate(value: unknown, timeZone: string): Date | null | undefined {
  if (value === undefined || value === null) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value;
  if (typeof value === 'number') {
    // Numbers are Unix times; seconds unless clearly milliseconds.
    const ms = value < 1e11 ? value * 1000 : value;
    return Number.isFinite(ms) ? new Date(ms) : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '' || text.startsWith('0000-00-00')) return null;
  const local = ZONELESS.exec(text);
  if (local) {
    const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '0'] = local;
    const date = wallClockToUtc(
      {
        year: Number(y),
        month: Number(mo),
        day: Number(d),
        hour: Number(h),
        minute: Number(mi),
        second: Number(s),
        millisecond: Number(frac.padEnd(3, '0').slice(0, 3)),
      },
      timeZone,
    );
    return Number.isNaN(date.getTime()) ? undefined : date;
  }
  // A zone-less string in any other format would be read in the server's zone: refuse it instead.
  if (!HAS_ZONE.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

/** parseDate that throws a PayloadError naming the field. */
export function dateField(value: unknown, path: string, timeZone: string): Date | null {
  const date = parseDate(value, timeZone);
  if (date === undefined) throw new PayloadError(`${path}: not a date`);
  return date;
}

// ---------------------------------------------------------------- taxonomy

// toLowerCase() is Unicode's default (root-locale) case mapping, the same as
// toLocaleLowerCase('und') but without an ICU locale lookup per call (3.4 us against 0.01 us; it was
// 2% of the API's CPU under webhook load)
function termKey(term: string): string {
  return decode(term).normalize('NFC').trim().toLowerCase();
}

const mapCache = new WeakMap<Publication, { topics: Map<string, string>; breaking: Set<string> }>();

function termIndex(publication: Publication) {
  let index = mapCache.get(publication);
  if (!index) {
    index = {
      topics: new Map(Object.entries(publication.categoryMap).map(([term, topic]) => [termKey(term), topic])),
      breaking: new Set(publication.breakingTerms.map(termKey)),
    };
    mapCache.set(publication, index);
  }
  return index;
}

/** Gazette topic ids for a set of category/tag names, in first-seen order (case-insensitive, trimmed). */
export function topicsFor(terms: readonly string[], publication: Publication): string[] {
  const { topics } = termIndex(publication);
  const out = new Set<string>();
  for (const term of terms) {
    const topic = topics.get(termKey(term));
    if (topic) out.add(topic);
  }
  return [...out];
}

/** True when any category or tag (name or slug) is one of `publication.breakingTerms`, e.g. "عاجل". */
export function isBreaking(terms: readonly string[], publication: Publication): boolean {
  const { breaking } = termIndex(publication);
  return terms.some((t) => breaking.has(termKey(t)));
}

/** De-duplicated, entity-decoded, trimmed names. */
export function cleanTerms(names: readonly string[]): string[] {
  const out = new Map<string, string>();
  for (const name of names) {
    const clean = collapseWhitespace(decode(name));
    if (clean && !out.has(termKey(clean))) out.set(termKey(clean), clean);
  }
  return [...out.values()];
}

// ---------------------------------------------------------------- language and source settings

/** 'ar', 'ar-SY', 'ar_SY', 'en-GB' → 'ar' | 'en'; anything else falls back to the source's default. */
export function languageOf(raw: unknown, fallback: ArticleLanguage): ArticleLanguage {
  if (typeof raw !== 'string') return fallback;
  const primary = raw.trim().toLowerCase().split(/[-_]/)[0];
  return primary === 'ar' || primary === 'en' ? primary : fallback;
}

export interface SourceContext {
  provider: Provider;
  sourceKey: string;
  language: ArticleLanguage;
  timezone: string;
  siteUrl?: string;
  publication: Publication;
}

export function sourceContext(publication: Publication, provider: Exclude<Provider, 'feed'>): SourceContext {
  const source = publication.sources[provider];
  return {
    provider,
    sourceKey: provider,
    language: source?.language ?? 'ar',
    timezone: source?.timezone ?? publication.timezone,
    siteUrl: source?.siteUrl,
    publication,
  };
}

// ---------------------------------------------------------------- building the article

/** What a normalizer extracted, before the shared cleaning. Field names are for error messages. */
export interface ArticleDraft {
  externalId: string;
  url: string;
  /** Where the URL came from, e.g. "post_permalink", for the error when it is unusable. */
  urlField: string;
  title: string;
  titleField: string;
  excerptHtml?: string;
  bodyHtml?: string;
  imageUrl?: string | null;
  imageAlt?: string | null;
  author?: string | null;
  categories?: string[];
  tags?: string[];
  /** Extra keys (slugs) matched against topics and breaking terms but not shown. */
  matchTerms?: string[];
  language?: unknown;
  publishedAt: Date | null;
  modifiedAt: Date | null;
  status: ArticleStatus;
  breaking?: boolean;
}

export function buildArticle(draft: ArticleDraft, ctx: SourceContext): NormalizedArticle {
  const url = canonicalUrl(draft.url, ctx.siteUrl);
  if (url === null) throw new PayloadError(`${draft.urlField}: not an absolute http(s) URL`);
  const title = decodeTitle(draft.title);
  if (!title) throw new PayloadError(`${draft.titleField}: required`);
  const bodyHtml = sanitizeBody(draft.bodyHtml ?? '', url);
  const categories = cleanTerms(draft.categories ?? []);
  const tags = cleanTerms(draft.tags ?? []);
  const terms = [...categories, ...tags, ...(draft.matchTerms ?? []).map(safeDecodeUri)];
  // Relative media paths are on the CMS host (Strapi's /uploads), which siteUrl names when set.
  const imageUrl = draft.imageUrl ? toAbsoluteHttpUrl(draft.imageUrl, ctx.siteUrl ?? url) : null;
  const imageAlt = imageUrl && draft.imageAlt ? decodeTitle(draft.imageAlt) || null : null;
  const author = draft.author ? decodeTitle(draft.author) || null : null;
  return {
    source: ctx.provider,
    sourceKey: ctx.sourceKey,
    externalId: draft.externalId,
    url,
    title,
    summary: summarize(draft.excerptHtml, draft.bodyHtml ?? ''),
    bodyHtml,
    imageUrl,
    imageAlt,
    author,
    categories,
    tags,
    topics: topicsFor(terms, ctx.publication),
    language: languageOf(draft.language, ctx.language),
    publishedAt: draft.publishedAt,
    modifiedAt: draft.modifiedAt,
    status: draft.status,
    breaking: draft.breaking === true || isBreaking(terms, ctx.publication),
  };
}

/** WordPress slugs of Arabic terms arrive percent-encoded ("%d8%b9%d8%a7%d8%ac%d9%84" is "عاجل"). */
function safeDecodeUri(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The de-duplication key when the provider has no event id. */
export function derivedEventId(externalId: string, modifiedAt: Date | null, fallback: string): string {
  return `${externalId}@${modifiedAt ? modifiedAt.toISOString() : fallback}`;
}
