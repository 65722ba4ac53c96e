import { type ArticleStatus, HeldError, type NormalizedArticle, PayloadError } from '../types.js';
import { type DeclaredLanguage, lettersOf, resolveLanguage, type SourceContext } from './language.js';
import { capped, shallowHtml } from './limits.js';
import { canonicalUrl, sanitizeBody, toAbsoluteHttpUrl } from './sanitize.js';
import { cleanTerms, isBreaking, topicsFor } from './terms.js';
import { decodeTitle, summarize } from './text.js';

/**
 * The article every normalizer (and the feed parser) builds through, so all sources read alike:
 * field limits first, then language, URL, sanitized body, summary, topics.
 */

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
