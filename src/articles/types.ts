import type { Language } from '../publication.js';

export type Provider = 'generic' | 'wordpress' | 'ghost' | 'strapi' | 'feed';
export type ArticleStatus = 'published' | 'draft' | 'scheduled' | 'unpublished' | 'deleted';
/** the publication's languages (src/publication.ts) */
export type ArticleLanguage = Language;
/**
 * Where an article's language came from: the CMS or feed declared it, the letters of its title and
 * text decided, or neither did and the source's configured default applied.
 */
export type LanguageOrigin = 'cms' | 'script' | 'source-default';

export interface NormalizedArticle {
  source: Provider;
  /** The provider name, or `feed:<feedId>` so two feeds never share an id space. */
  sourceKey: string;
  externalId: string;
  /** Absolute http(s) URL; Arabic path segments are left decoded (a valid IRI) for readability. */
  url: string;
  /** Plain text, entities decoded. */
  title: string;
  /** Plain text, at most ~280 characters, cut at a word boundary. */
  summary: string;
  /** Sanitised HTML: safe to place in an email as is. */
  bodyHtml: string;
  imageUrl: string | null;
  imageAlt: string | null;
  author: string | null;
  categories: string[];
  tags: string[];
  /** Gazette topic ids, from categories and tags through `publication.categoryMap`. */
  topics: string[];
  language: ArticleLanguage;
  languageOrigin: LanguageOrigin;
  publishedAt: Date | null;
  modifiedAt: Date | null;
  status: ArticleStatus;
  breaking: boolean;
  /** The editor chose it as a lead story (Ghost `featured`, WordPress `sticky`, generic `featured`). */
  featured: boolean;
  /** The editor's rank (generic `priority`; higher leads), 0 when the CMS says nothing. */
  priority: number;
}

/**
 * One change reported by a CMS.
 *
 * - `upsert`: store the article; only `status: 'published'` (or `'scheduled'`, when its time comes) is
 *   ever sent. An upsert with `status: 'draft'` means a draft changed while the live copy (if any) is
 *   left alone (Strapi 5 keeps drafts and published versions apart).
 * - `unpublish`: the live copy is gone (unpublished, made private, moved back to draft): never send it.
 * - `delete`: the article no longer exists.
 */
export interface ArticleEvent {
  provider: Provider;
  /** Stable de-duplication key: the provider's event id, else `${externalId}@${modifiedAt ISO}`. */
  eventId: string;
  action: 'upsert' | 'unpublish' | 'delete';
  externalId: string;
  /**
   * null when the payload carries only an id and must be fetched (WordPress), or for a removal whose
   * payload carries no article.
   */
  article: NormalizedArticle | null;
  /** Where to fetch the full article when `article` is null on an upsert, e.g. a wp/v2 URL with `?_embed`. */
  fetchUrl?: string;
}

/** The payload is not one Gazette understands; the message names the field, e.g. "post.post_title: required". */
export class PayloadError extends Error {
  readonly code = 'GZ_INVALID_PAYLOAD';
  override name = 'PayloadError';
}

/** The request is not authentic (missing header, stale timestamp, mismatch). Never carries the secret. */
export class SignatureError extends Error {
  readonly code = 'GZ_BAD_SIGNATURE';
  override name = 'SignatureError';
}

/**
 * A well-formed, authentic event that cannot become an article because of Gazette's configuration
 * (no URL template, a model not listed, a language neither mapped nor Arabic/English). It is stored
 * raw and held, and applied again when the configuration changes, instead of being refused.
 */
export class HeldError extends Error {
  readonly code = 'GZ_HELD';
  override name = 'HeldError';
  constructor(
    message: string,
    /** The article it would have been, when the payload says (the held placeholder's key). */
    readonly externalId?: string,
    /** Its title, when known, so an operator can recognise it in the article list. */
    readonly title?: string,
  ) {
    super(message);
  }
}
