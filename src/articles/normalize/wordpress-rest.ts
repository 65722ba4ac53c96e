import type { ArticleEvent } from '../types.js';
import { PayloadError } from '../types.js';
import { buildArticle, derivedEventId } from './common.js';
import { dateField } from './dates.js';
import { idAt, isObject, type Json, objectAt, optionalStringAt, stringAt } from './fields.js';
import type { SourceContext } from './language.js';
import { actionFor, fetchEvent, isSticky, siteFetchUrl, wpLanguage, wpStatus } from './wordpress-post.js';

/** A REST `wp/v2/posts` object: from a webhook, the WordPress feed, or Gazette's own fetch by id. */

/** One wp/v2 post (with `_embed` for names) to an event; exported for the feed reader and fetches. */
export function restPostEvent(
  root: Json,
  ctx: SourceContext,
  options: { deliveryId?: string; allowFetch?: boolean } = {},
): ArticleEvent {
  const { deliveryId, allowFetch = true } = options;
  const externalId = idAt(root, 'id', 'body');
  const status = wpStatus(optionalStringAt(root, 'status', 'body') ?? 'publish', 'status');
  const action = actionFor(status);
  const modifiedAt =
    dateField(root.modified_gmt, 'modified_gmt', 'UTC') ?? dateField(root.modified, 'modified', ctx.timezone);
  const embedded = isObject(root._embedded) ? root._embedded : undefined;
  const hasTermIds = Array.isArray(root.categories) || Array.isArray(root.tags);
  if (allowFetch && !embedded && hasTermIds && action === 'upsert') {
    // Without _embed only term ids came: names (hence topics and the breaking flag) need a fetch.
    const fetchUrl = restFetchUrl(root, externalId, ctx);
    if (fetchUrl) {
      return fetchEvent(
        externalId,
        ctx,
        deliveryId ?? derivedEventId(externalId, modifiedAt, 'fetch'),
        fetchUrl,
        'body.id',
      );
    }
  }
  const publishedAt =
    dateField(root.date_gmt, 'date_gmt', 'UTC') ?? dateField(root.date, 'date', ctx.timezone);
  const { categories, tags, slugs } = embeddedTerms(embedded);
  const media = embeddedFirst(embedded, 'wp:featuredmedia');
  const author = embeddedFirst(embedded, 'author');
  const article = buildArticle(
    {
      externalId,
      url: stringAt(root, 'link', 'body'),
      urlField: 'link',
      title: rendered(root, 'title'),
      titleField: 'title.rendered',
      excerptHtml: rendered(root, 'excerpt'),
      bodyHtml: rendered(root, 'content'),
      imageUrl: media && typeof media.source_url === 'string' ? media.source_url : null,
      imageAlt: media && typeof media.alt_text === 'string' ? media.alt_text : null,
      author: author && typeof author.name === 'string' ? author.name : null,
      categories,
      tags,
      matchTerms: slugs,
      language: wpLanguage([[root, '']]),
      publishedAt,
      modifiedAt,
      status,
      featured: isSticky(root.sticky),
      fields: {
        excerpt: 'excerpt.rendered',
        body: 'content.rendered',
        author: '_embedded.author[0].name',
        imageUrl: '_embedded.wp:featuredmedia[0].source_url',
        imageAlt: '_embedded.wp:featuredmedia[0].alt_text',
      },
    },
    ctx,
  );
  return {
    provider: 'wordpress',
    eventId: deliveryId ?? derivedEventId(externalId, modifiedAt, status),
    action,
    externalId,
    article,
  };
}

function rendered(root: Json, key: string): string {
  const value = root[key];
  if (value === undefined) return '';
  const obj = objectAt(value, key);
  const text = obj.rendered;
  if (typeof text !== 'string') throw new PayloadError(`${key}.rendered: must be a string`);
  return text;
}

function embeddedFirst(embedded: Json | undefined, key: string): Json | undefined {
  const list = embedded?.[key];
  const first = Array.isArray(list) ? list[0] : undefined;
  // An image the requester may not see comes back as {code: 'rest_forbidden', ...}.
  return isObject(first) && !('code' in first) ? first : undefined;
}

/** `_embedded['wp:term']` is an array per taxonomy, each an array of terms carrying their taxonomy. */
function embeddedTerms(embedded: Json | undefined): {
  categories: string[];
  tags: string[];
  slugs: string[];
} {
  const categories: string[] = [];
  const tags: string[] = [];
  const slugs: string[] = [];
  const groups = embedded?.['wp:term'];
  if (!Array.isArray(groups)) return { categories, tags, slugs };
  groups.forEach((group, g) => {
    if (!Array.isArray(group)) return;
    group.forEach((term, t) => {
      if (!isObject(term)) return;
      const path = `_embedded.wp:term[${g}][${t}]`;
      const name = stringAt(term, 'name', path);
      if (term.taxonomy === 'category') categories.push(name);
      else if (term.taxonomy === 'post_tag') tags.push(name);
      else return;
      if (typeof term.slug === 'string') slugs.push(term.slug);
    });
  });
  return { categories, tags, slugs };
}

function restFetchUrl(root: Json, externalId: string, ctx: SourceContext): string | undefined {
  const links = isObject(root._links) ? root._links.self : undefined;
  const self = Array.isArray(links) && isObject(links[0]) ? links[0].href : undefined;
  if (typeof self === 'string' && /^https?:\/\//.test(self)) {
    const url = new URL(self);
    url.searchParams.set('_embed', '1');
    return url.href;
  }
  return siteFetchUrl(externalId, ctx);
}
