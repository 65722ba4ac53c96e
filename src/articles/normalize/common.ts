import { decode } from 'html-entities';
import sanitizeHtml from 'sanitize-html';
import type { Publication } from '../../publication.js';
import { wallClockToUtc } from '../../time/zoned-time.js';
import {
  type ArticleLanguage,
  type ArticleStatus,
  HeldError,
  type LanguageOrigin,
  type NormalizedArticle,
  PayloadError,
  type Provider,
} from '../types.js';
import { extractText, type HtmlTextOptions } from './html-text.js';
import { capped, shallowHtml } from './limits.js';

/** Shared helpers every normalizer (and the feed parser) goes through, so all sources read alike. */

// ---------------------------------------------------------------- text

/** Titles arrive HTML-escaped from WordPress (`&#8211;`, `&hellip;`, `&amp;`) and sometimes with tags. */
export function decodeTitle(raw: string): string {
  return htmlToText(raw);
}

export function collapseWhitespace(text: string): string {
  return text.replace(/\s+/gu, ' ').trim();
}

/**
 * HTML (or plain text) to plain text: tags dropped, entities decoded, whitespace collapsed. One
 * linear pass (html-text.ts); `stopAfter` reads only as far as that many non-space characters.
 */
export function htmlToText(html: string, options: HtmlTextOptions = {}): string {
  return collapseWhitespace(extractText(html, options));
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
    // Only the start of a body is read: more than 2 * max non-space UTF-16 units is more than max
    // code points, so the text is cut below whatever follows.
    text = htmlToText(bodyHtml, { stopAfter: max * 2 });
    shortened = false;
  }
  if (longerThan(text, max)) {
    text = cutAtWord(text, max);
    shortened = true;
  }
  return shortened ? `${text.replace(TRAILING_PUNCTUATION, '')}…` : text;
}

const wordSegmenter = new Intl.Segmenter('ar', { granularity: 'word' });
const graphemeSegmenter = new Intl.Segmenter('ar', { granularity: 'grapheme' });

/** More than `max` code points, counting no further than needed. */
function longerThan(text: string, max: number): boolean {
  if (text.length <= max) return false;
  let n = 0;
  for (const _ of text) if (++n > max) return true;
  return false;
}

function cutAtWord(whole: string, max: number): string {
  // Leave room for the ellipsis.
  const limit = max - 1;
  // Intl.Segmenter reads its whole input first (about a second for a megabyte): give it only the
  // start, max code points being at most 2 * max UTF-16 units, with room for the last word's end.
  const text = whole.slice(0, max * 4);
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

/** A language the CMS or feed declared, and the field it came from (for the held reason). */
export interface DeclaredLanguage {
  value: unknown;
  field: string;
}

/**
 * A declared language code ('ar', 'ar-SY', 'ar_SA', 'en_US', WPML's 'en') to Gazette's language:
 * the publication's `languageMap` first (full tag, then primary subtag, any case), then Arabic and
 * English by primary subtag. undefined when nothing was declared (absent, not a string, empty);
 * null when a language was declared that maps to neither.
 */
export function declaredLanguage(raw: unknown, publication: Publication): ArticleLanguage | null | undefined {
  if (typeof raw !== 'string') return undefined;
  const tag = raw.trim().toLowerCase().replace(/_/g, '-');
  if (tag === '') return undefined;
  const primary = tag.split('-')[0] ?? tag;
  const map = languageMapIndex(publication);
  const mapped = map.get(tag) ?? map.get(primary);
  if (mapped) return mapped;
  return primary === 'ar' || primary === 'en' ? primary : null;
}

const languageMaps = new WeakMap<Publication, Map<string, ArticleLanguage>>();

function languageMapIndex(publication: Publication): Map<string, ArticleLanguage> {
  let index = languageMaps.get(publication);
  if (!index) {
    index = new Map(
      Object.entries(publication.languageMap ?? {}).map(([code, lang]) => [
        code.trim().toLowerCase().replace(/_/g, '-'),
        lang,
      ]),
    );
    languageMaps.set(publication, index);
  }
  return index;
}

// letters only: harakat are marks, Arabic-Indic digits are numbers
const ARABIC_LETTER = /(?=\p{L})\p{Script=Arabic}/u;
const LATIN_LETTER = /(?=\p{L})\p{Script=Latin}/u;
/** Enough text to tell the script; an article body can run to megabytes. */
const SCRIPT_SAMPLE_CHARS = 2000;

/**
 * The language the letters of a text are written in, or null when it has neither Arabic nor Latin
 * letters. Arabic wins from a third of the letters up: Arabic news is full of Latin brands,
 * acronyms and product names ("Apple Pay", "iPhone 16 Pro", "NATO"), while English news rarely
 * carries Arabic script at all, so an even split means an Arabic text quoting Latin names.
 */
export function scriptLanguage(text: string): ArticleLanguage | null {
  let arabic = 0;
  let latin = 0;
  let seen = 0;
  for (const ch of text) {
    if (++seen > SCRIPT_SAMPLE_CHARS) break;
    if (ARABIC_LETTER.test(ch)) arabic++;
    else if (LATIN_LETTER.test(ch)) latin++;
  }
  if (arabic === 0 && latin === 0) return null;
  return arabic * 2 >= latin ? 'ar' : 'en';
}

/**
 * The readable text of a start of HTML, for counting letters only (never shown, never trusted):
 * tags, scripts and styles dropped, since their names and URLs are Latin whatever the language.
 */
function lettersOf(html: string): string {
  return extractText(html.slice(0, SCRIPT_SAMPLE_CHARS * 4), { stopAfter: SCRIPT_SAMPLE_CHARS });
}

/**
 * An article's language, in this order: what the CMS or feed declares; else the script of its
 * title and text; else the source's configured default. A declared language that maps to neither
 * Arabic nor English is not guessed: the event is held until `languageMap` says what it is.
 */
export function resolveLanguage(
  declared: DeclaredLanguage | undefined,
  /** the title and text, read only when nothing was declared */
  content: () => string,
  ctx: SourceContext,
): { language: ArticleLanguage; origin: LanguageOrigin } {
  if (declared) {
    const lang = declaredLanguage(declared.value, ctx.publication);
    if (lang) return { language: lang, origin: 'cms' };
    if (lang === null) {
      throw new HeldError(
        `language "${String(declared.value).trim()}" (${declared.field}) is neither Arabic nor English: map it in the publication file's languageMap`,
      );
    }
  }
  const script = scriptLanguage(content());
  if (script) return { language: script, origin: 'script' };
  return { language: ctx.language, origin: 'source-default' };
}

export interface SourceContext {
  provider: Provider;
  sourceKey: string;
  /** the source's default language, the last resort of resolveLanguage */
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
  /** The language the CMS or feed declared, with its field; absent when it declares none (Ghost). */
  language?: DeclaredLanguage;
  publishedAt: Date | null;
  modifiedAt: Date | null;
  status: ArticleStatus;
  breaking?: boolean;
  /** the editor's lead story (Ghost featured, WordPress sticky, generic featured) */
  featured?: boolean;
  /** the editor's rank, higher leads (generic priority) */
  priority?: number;
  /**
   * The body's source field was capped before it was converted (Markdown, classic-editor text):
   * escaping may grow the HTML past the cap, which is then no reason to refuse it.
   */
  bodySourceCapped?: boolean;
  /** Where the other capped fields came from, for the refusal (e.g. "post.post_content"). */
  fields?: Partial<Record<'excerpt' | 'body' | 'author' | 'imageUrl' | 'imageAlt', string>>;
}

/**
 * Every field within its size limit, and the HTML ones within the nesting limit, before any of
 * them is parsed (limits.ts): a PayloadError names the first one that is not.
 */
function checkLimits(draft: ArticleDraft): void {
  const f = draft.fields ?? {};
  capped(draft.url, 'url', draft.urlField);
  capped(draft.title, 'title', draft.titleField);
  capped(draft.author, 'author', f.author ?? 'author');
  capped(draft.imageUrl, 'url', f.imageUrl ?? 'image url');
  capped(draft.imageAlt, 'imageAlt', f.imageAlt ?? 'image alt');
  capped(draft.excerptHtml, 'excerpt', f.excerpt ?? 'excerpt');
  if (!draft.bodySourceCapped) capped(draft.bodyHtml, 'body', f.body ?? 'body');
  shallowHtml(draft.title, draft.titleField);
  shallowHtml(draft.excerptHtml, f.excerpt ?? 'excerpt');
  shallowHtml(draft.bodyHtml, f.body ?? 'body');
}

export function buildArticle(draft: ArticleDraft, ctx: SourceContext): NormalizedArticle {
  checkLimits(draft);
  let language: ReturnType<typeof resolveLanguage>;
  try {
    language = resolveLanguage(
      draft.language,
      () => lettersOf(`${draft.title} ${draft.excerptHtml ?? ''} ${draft.bodyHtml ?? ''}`),
      ctx,
    );
  } catch (err) {
    if (err instanceof HeldError)
      throw new HeldError(err.message, draft.externalId, decodeTitle(draft.title));
    throw err;
  }
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
    language: language.language,
    languageOrigin: language.origin,
    publishedAt: draft.publishedAt,
    modifiedAt: draft.modifiedAt,
    status: draft.status,
    breaking: draft.breaking === true || isBreaking(terms, ctx.publication),
    featured: draft.featured === true,
    priority: draft.priority ?? 0,
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
