import type { Publication } from '../../publication.js';
import { type ArticleEvent, type ArticleStatus, PayloadError } from '../types.js';
import { buildArticle, derivedEventId } from './common.js';
import { dateField } from './dates.js';
import { idAt, isObject, type Json, namesAt, objectAt, optionalStringAt, stringAt } from './fields.js';
import { sourceContext } from './language.js';

/**
 * Ghost webhooks post `{post: {current, previous}}`: `current` is the post as the Admin API serialises
 * it (empty on post.deleted), `previous` the changed fields' old values. The event name is not in the
 * body (each webhook is registered for one event), so the route may pass it; without it the action is
 * read from the post itself.
 */

export interface GhostOptions {
  /** The Ghost event the webhook was registered for, e.g. "post.published", when the route knows it. */
  event?: string;
  deliveryId?: string;
}

const STATUS: Record<string, ArticleStatus> = {
  published: 'published',
  scheduled: 'scheduled',
  draft: 'draft',
  // Email-only posts have no public page to link to.
  sent: 'unpublished',
};

export function normalizeGhost(
  body: unknown,
  publication: Publication,
  options: GhostOptions = {},
): ArticleEvent[] {
  const root = objectAt(body, 'body');
  // page.* events share the shape under "page"; pages are not news.
  if (!('post' in root) && 'page' in root) return [];
  const wrapper = objectAt(root.post, 'post');
  const current = wrapper.current === undefined ? {} : objectAt(wrapper.current, 'post.current');
  const previous = isObject(wrapper.previous) ? wrapper.previous : {};
  const event = options.event;

  if (event === 'post.deleted' || Object.keys(current).length === 0) {
    const externalId = idAt(previous, 'id', 'post.previous');
    const updatedAt = dateField(previous.updated_at, 'post.previous.updated_at', 'UTC');
    return [
      {
        provider: 'ghost',
        eventId: options.deliveryId ?? derivedEventId(externalId, updatedAt, 'delete'),
        action: 'delete',
        externalId,
        article: null,
      },
    ];
  }

  const ctx = sourceContext(publication, 'ghost');
  const externalId = idAt(current, 'id', 'post.current');
  const rawStatus = stringAt(current, 'status', 'post.current');
  let status = STATUS[rawStatus];
  if (!status) throw new PayloadError(`post.current.status: unknown status "${rawStatus}"`);
  if (event === 'post.unpublished') status = 'unpublished';
  // Ghost keeps one version of a post: a draft is not live, so anything but published/scheduled retracts.
  const action: ArticleEvent['action'] =
    status === 'published' || status === 'scheduled' ? 'upsert' : 'unpublish';
  const modifiedAt = dateField(current.updated_at, 'post.current.updated_at', 'UTC');
  const article = buildArticle(
    {
      externalId,
      url: stringAt(current, 'url', 'post.current'),
      urlField: 'post.current.url',
      title: stringAt(current, 'title', 'post.current'),
      titleField: 'post.current.title',
      excerptHtml:
        optionalStringAt(current, 'custom_excerpt', 'post.current') ?? optionalString(current, 'excerpt'),
      bodyHtml: optionalStringAt(current, 'html', 'post.current'),
      imageUrl: optionalStringAt(current, 'feature_image', 'post.current') ?? null,
      imageAlt: optionalStringAt(current, 'feature_image_alt', 'post.current') ?? null,
      author: authorName(current),
      // Ghost has tags only; internal tags (#name) are for theming, not readers.
      tags: namesAt(current.tags, 'post.current.tags').filter((t) => !t.startsWith('#')),
      matchTerms: slugs(current.tags),
      // Ghost declares no language (one site, one locale setting): the letters decide.
      publishedAt: dateField(current.published_at, 'post.current.published_at', 'UTC'),
      modifiedAt,
      status,
      featured: current.featured === true,
      fields: {
        excerpt: current.custom_excerpt ? 'post.current.custom_excerpt' : 'post.current.excerpt',
        body: 'post.current.html',
        author: 'post.current.primary_author.name',
        imageUrl: 'post.current.feature_image',
        imageAlt: 'post.current.feature_image_alt',
      },
    },
    ctx,
  );
  return [
    {
      provider: 'ghost',
      eventId: options.deliveryId ?? derivedEventId(externalId, modifiedAt, status),
      action,
      externalId,
      article,
    },
  ];
}

function optionalString(obj: Json, key: string): string | undefined {
  const value = obj[key];
  return typeof value === 'string' && value.trim() ? value : undefined;
}

function authorName(post: Json): string | null {
  const primary = isObject(post.primary_author) ? post.primary_author : undefined;
  const first = Array.isArray(post.authors) && isObject(post.authors[0]) ? post.authors[0] : undefined;
  const name = (primary ?? first)?.name;
  return typeof name === 'string' ? name : null;
}

function slugs(tags: unknown): string[] {
  if (!Array.isArray(tags)) return [];
  return tags.flatMap((t) => (isObject(t) && typeof t.slug === 'string' ? [t.slug] : []));
}
