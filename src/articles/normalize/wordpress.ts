import { systemClock } from '../../clock.js';
import type { Publication } from '../../publication.js';
import { type ArticleEvent, HeldError, type NormalizedArticle, PayloadError } from '../types.js';
import { type ArticleDraft, buildArticle, derivedEventId } from './common.js';
import { dateField } from './dates.js';
import { idAt, isObject, type Json, namesAt, objectAt, optionalStringAt, stringAt } from './fields.js';
import { type SourceContext, sourceContext } from './language.js';
import { capped } from './limits.js';
import { actionFor, fetchEvent, isSticky, wpLanguage, wpStatus } from './wordpress-post.js';
import { restPostEvent } from './wordpress-rest.js';

/**
 * WordPress arrives in three shapes, told apart by their fields:
 * - WP Webhooks plugin triggers post_create / post_update / post_trash / post_delete:
 *   `{post_id, post: WP_Post, post_meta, post_thumbnail, post_permalink, taxonomies}`;
 * - New Post Webhook plugin: `{id, title, url, content, excerpt, tags[], categories[], author, date.raw}`;
 * - a REST `wp/v2/posts` object (from a custom hook or our own fetch), with or without `_embed`.
 * A body with only an id becomes an event with a `fetchUrl` for the wp/v2 post.
 */

export type WpTrigger = 'post_create' | 'post_update' | 'post_trash' | 'post_delete';

export interface WordPressOptions {
  /** The WP Webhooks trigger, when the route or query says which one fired (the body does not). */
  trigger?: WpTrigger;
  /** Post types that are articles; pages, attachments, revisions and menus are ignored. */
  postTypes?: string[];
  deliveryId?: string;
  /** When the request arrived (from the injected clock); keys id-only events. */
  receivedAt?: Date;
}

export function normalizeWordPress(
  body: unknown,
  publication: Publication,
  options: WordPressOptions = {},
): ArticleEvent[] {
  const root = objectAt(body, 'body');
  const ctx = sourceContext(publication, 'wordpress');
  const postTypes = options.postTypes ?? ['post'];
  if ('post' in root) return fromWpWebhooks(root, ctx, postTypes, options);
  if (isObject(root.title) && 'rendered' in root.title) return fromRestPost(root, ctx, postTypes, options);
  if (typeof root.title === 'string' && isObject(root.date)) return fromNewPostWebhook(root, ctx, options);
  const onlyId = root.post_id ?? root.id ?? root.ID;
  if (onlyId !== undefined && Object.keys(root).length <= 3) {
    const key = root.post_id !== undefined ? 'post_id' : root.id !== undefined ? 'id' : 'ID';
    const externalId = idAt(root, key, 'body');
    // Nothing says when the post changed, so retries cannot be told apart from a later edit: key the
    // event by delivery (or arrival) and let the fetched post's modified_gmt decide what is new.
    const receivedAt = (options.receivedAt ?? systemClock.now()).toISOString();
    return [
      fetchEvent(
        externalId,
        ctx,
        options.deliveryId ?? `${externalId}@fetch-${receivedAt}`,
        undefined,
        `body.${key}`,
      ),
    ];
  }
  throw new PayloadError(
    'body: not a WordPress post payload (expected WP Webhooks post_*, New Post Webhook or a wp/v2 post)',
  );
}

// ---------------------------------------------------------------- WP Webhooks

function fromWpWebhooks(
  root: Json,
  ctx: SourceContext,
  postTypes: string[],
  options: WordPressOptions,
): ArticleEvent[] {
  const post = objectAt(root.post, 'post');
  const postType = optionalStringAt(post, 'post_type', 'post') ?? 'post';
  if (!postTypes.includes(postType)) return [];
  const externalId = root.post_id !== undefined ? idAt(root, 'post_id', 'body') : idAt(post, 'ID', 'post');
  let status = wpStatus(stringAt(post, 'post_status', 'post'), 'post.post_status');
  if (options.trigger === 'post_delete' || options.trigger === 'post_trash') status = 'deleted';
  const action = actionFor(status);
  const tz = ctx.timezone;

  // post_date_gmt is "0000-00-00 00:00:00" until a draft is first published: fall back to local time.
  const publishedAt =
    dateField(post.post_date_gmt, 'post.post_date_gmt', 'UTC') ??
    dateField(post.post_date, 'post.post_date', tz);
  const modifiedAt =
    dateField(post.post_modified_gmt, 'post.post_modified_gmt', 'UTC') ??
    dateField(post.post_modified, 'post.post_modified', tz);

  const { names: categories, slugs: categorySlugs } = taxonomyTerms(root.taxonomies, 'category');
  const { names: tags, slugs: tagSlugs } = taxonomyTerms(root.taxonomies, 'post_tag');
  // A deleted post has no permalink any more; WordPress then sends the ?p= form or nothing.
  const permalink =
    optionalStringAt(root, 'post_permalink', 'body') ?? optionalStringAt(post, 'guid', 'post');
  if (!permalink) {
    if (action !== 'upsert') return [removal(externalId, action, modifiedAt, options)];
    throw new PayloadError('post_permalink: required');
  }
  const title = optionalStringAt(post, 'post_title', 'post');
  if (!title) {
    if (action !== 'upsert') return [removal(externalId, action, modifiedAt, options)];
    throw new PayloadError('post.post_title: required');
  }
  const thumbnail = typeof root.post_thumbnail === 'string' ? root.post_thumbnail : null; // false when none
  const draft: ArticleDraft = {
    externalId,
    url: permalink,
    urlField: 'post_permalink',
    title,
    titleField: 'post.post_title',
    excerptHtml: optionalStringAt(post, 'post_excerpt', 'post'),
    // capped before autoParagraph reads it
    bodyHtml: autoParagraph(
      capped(optionalStringAt(post, 'post_content', 'post'), 'body', 'post.post_content') ?? '',
    ),
    imageUrl: thumbnail,
    imageAlt: null,
    author: null,
    categories,
    tags,
    matchTerms: [...categorySlugs, ...tagSlugs],
    language: wpLanguage(
      [
        [post, 'post'],
        [root, ''],
      ],
      root.taxonomies,
    ),
    publishedAt,
    modifiedAt,
    status,
    featured: isSticky(root.sticky ?? post.sticky ?? root.is_sticky),
    bodySourceCapped: true,
    fields: { excerpt: 'post.post_excerpt', body: 'post.post_content', imageUrl: 'post_thumbnail' },
  };
  let article: NormalizedArticle | null;
  try {
    article = buildArticle(draft, ctx);
  } catch (err) {
    // A removal needs no language: an unmapped one must not hold back an unpublish.
    if (!(err instanceof HeldError) || action === 'upsert') throw err;
    article = null;
  }
  return [
    {
      provider: 'wordpress',
      eventId: options.deliveryId ?? derivedEventId(externalId, modifiedAt, status),
      action,
      externalId,
      article,
    },
  ];
}

/** WP Webhooks sends `taxonomies.<taxonomy>.<slug> = WP_Term`. */
function taxonomyTerms(taxonomies: unknown, taxonomy: string): { names: string[]; slugs: string[] } {
  if (!isObject(taxonomies)) return { names: [], slugs: [] };
  const terms = taxonomies[taxonomy];
  // PHP serialises an empty array as [] rather than {}.
  if (!isObject(terms)) return { names: [], slugs: [] };
  const names: string[] = [];
  const slugs: string[] = [];
  for (const [slug, term] of Object.entries(terms)) {
    const path = `taxonomies.${taxonomy}.${slug}`;
    names.push(stringAt(objectAt(term, path), 'name', path));
    slugs.push(slug);
  }
  return { names, slugs };
}

const BLOCK_TAG = /<(?:p|div|h[1-6]|ul|ol|table|blockquote|figure|pre|section)\b/i;

/**
 * `post_content` is stored without paragraphs for the classic editor (WordPress adds them with
 * wpautop when rendering): blank lines separate paragraphs, single newlines are line breaks.
 * Block-editor content already has its tags and is left alone.
 */
export function autoParagraph(content: string): string {
  if (BLOCK_TAG.test(content)) return content;
  return content
    .replace(/\r\n?/g, '\n')
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => `<p>${p.replace(/\n/g, '<br>\n')}</p>`)
    .join('\n');
}

// ---------------------------------------------------------------- New Post Webhook

function fromNewPostWebhook(root: Json, ctx: SourceContext, options: WordPressOptions): ArticleEvent[] {
  const externalId = idAt(root, 'id', 'body');
  const date = objectAt(root.date, 'date');
  // The plugin sends the site's local time without a zone.
  const publishedAt = dateField(date.raw, 'date.raw', ctx.timezone);
  const author = isObject(root.author) ? optionalStringAt(root.author, 'name', 'author') : undefined;
  const article = buildArticle(
    {
      externalId,
      url: stringAt(root, 'url', 'body'),
      urlField: 'url',
      title: stringAt(root, 'title', 'body'),
      titleField: 'title',
      excerptHtml: optionalStringAt(root, 'excerpt', 'body'),
      bodyHtml: optionalStringAt(root, 'content', 'body'),
      imageUrl: imageFrom(root),
      author: author ?? null,
      categories: namesAt(root.categories, 'categories'),
      tags: namesAt(root.tags, 'tags'),
      language: wpLanguage([[root, '']]),
      publishedAt,
      modifiedAt: publishedAt,
      featured: isSticky(root.sticky),
      // The plugin fires on publish only.
      status: 'published',
      fields: { excerpt: 'excerpt', body: 'content', author: 'author.name', imageUrl: 'featured_image' },
    },
    ctx,
  );
  return [
    {
      provider: 'wordpress',
      eventId: options.deliveryId ?? derivedEventId(externalId, publishedAt, 'published'),
      action: 'upsert',
      externalId,
      article,
    },
  ];
}

function imageFrom(root: Json): string | null {
  for (const key of ['featured_image', 'image', 'thumbnail']) {
    const value = root[key];
    if (typeof value === 'string' && value) return value;
    if (isObject(value) && typeof value.url === 'string') return value.url;
  }
  return null;
}

// ---------------------------------------------------------------- REST wp/v2/posts

function fromRestPost(
  root: Json,
  ctx: SourceContext,
  postTypes: string[],
  options: WordPressOptions,
): ArticleEvent[] {
  const type = optionalStringAt(root, 'type', 'body') ?? 'post';
  if (!postTypes.includes(type)) return [];
  return [restPostEvent(root, ctx, { deliveryId: options.deliveryId })];
}

function removal(
  externalId: string,
  action: ArticleEvent['action'],
  modifiedAt: Date | null,
  options: WordPressOptions,
): ArticleEvent {
  return {
    provider: 'wordpress',
    eventId: options.deliveryId ?? derivedEventId(externalId, modifiedAt, action),
    action,
    externalId,
    article: null,
  };
}
