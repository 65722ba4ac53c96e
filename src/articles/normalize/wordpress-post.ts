import { type ArticleEvent, type ArticleStatus, HeldError, PayloadError } from '../types.js';
import { isObject, type Json } from './fields.js';
import type { DeclaredLanguage, SourceContext } from './language.js';

/** What the three WordPress shapes share: status, language, sticky posts, and events to fetch. */

const STATUS: Record<string, ArticleStatus> = {
  publish: 'published',
  future: 'scheduled',
  draft: 'draft',
  pending: 'draft',
  'auto-draft': 'draft',
  trash: 'deleted',
  private: 'unpublished',
};

/** Polylang's REST field, then WPML's (its language code, then its locale such as "ar_SA"). */
const LANGUAGE_FIELDS = ['lang', 'wpml_language_code', 'wpml_current_locale'] as const;

/**
 * The language a multilingual plugin declares: Polylang's `lang` or WPML's fields on the post (or
 * on the payload around it), else Polylang's `language` taxonomy term in a WP Webhooks payload.
 */
export function wpLanguage(
  objects: Array<[Json, string]>,
  taxonomies?: unknown,
): DeclaredLanguage | undefined {
  for (const [obj, path] of objects) {
    for (const key of LANGUAGE_FIELDS) {
      const value = obj[key];
      if (typeof value === 'string' && value.trim() !== '')
        return { value, field: path ? `${path}.${key}` : key };
    }
  }
  if (isObject(taxonomies) && isObject(taxonomies.language)) {
    const [slug, term] = Object.entries(taxonomies.language)[0] ?? [];
    const code = isObject(term) && typeof term.slug === 'string' ? term.slug : slug;
    if (code) return { value: code, field: `taxonomies.language.${slug}` };
  }
  return undefined;
}

/** WordPress `sticky` (a post pinned to the front page): the editor's lead story. */
export function isSticky(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 'true';
}

export function wpStatus(raw: string, path: string): ArticleStatus {
  const status = STATUS[raw];
  if (!status) throw new PayloadError(`${path}: unknown status "${raw}"`);
  return status;
}

/**
 * WordPress has one version of a post, so a draft or private post is not live any more: that is an
 * unpublish, not a draft update beside a live copy.
 */
export function actionFor(status: ArticleStatus): ArticleEvent['action'] {
  if (status === 'deleted') return 'delete';
  if (status === 'published' || status === 'scheduled') return 'upsert';
  return 'unpublish';
}

/** WordPress post ids are positive integers; anything else would change the path fetched. */
export const WP_POST_ID = /^[1-9][0-9]{0,18}$/;

/** Held until the publication file names the WordPress site to fetch an id-only post from. */
export function noSiteUrl(externalId: string): HeldError {
  return new HeldError(
    `only the id of post ${externalId} arrived and sources.wordpress.siteUrl is not set, so Gazette cannot fetch it`,
    externalId,
  );
}

export function siteFetchUrl(externalId: string, ctx: SourceContext): string | undefined {
  if (!ctx.siteUrl) return undefined;
  const base = ctx.siteUrl.endsWith('/') ? ctx.siteUrl : `${ctx.siteUrl}/`;
  return new URL(`wp-json/wp/v2/posts/${encodeURIComponent(externalId)}?_embed=1`, base).href;
}

export function fetchEvent(
  externalId: string,
  ctx: SourceContext,
  eventId: string,
  fetchUrl: string | undefined,
  idField: string,
): ArticleEvent {
  // The id becomes part of the path fetched: only a post id (a positive integer) may ("..", "1/../users").
  if (!WP_POST_ID.test(externalId)) {
    throw new PayloadError(`${idField}: must be a numeric WordPress post id`);
  }
  const url = fetchUrl ?? siteFetchUrl(externalId, ctx);
  if (!url) throw noSiteUrl(externalId);
  return { provider: 'wordpress', eventId, action: 'upsert', externalId, article: null, fetchUrl: url };
}
