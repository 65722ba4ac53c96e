import type { Publication } from '../../publication.js';
import { type ArticleEvent, type ArticleStatus, HeldError } from '../types.js';
import { buildArticle, derivedEventId } from './common.js';
import { dateField } from './dates.js';
import { idAt, isObject, type Json, namesAt, objectAt, optionalStringAt, stringAt } from './fields.js';
import { sourceContext } from './language.js';
import { capped } from './limits.js';
import { strapiContentToHtml } from './strapi-content.js';

/**
 * Strapi webhooks: `{event, createdAt, model, uid, entry}` where `entry` is the content entry with its
 * own (publisher-defined) fields. Strapi 4 sends `entry.id`; Strapi 5 adds `entry.documentId`, the id
 * that stays the same across draft and published versions and locales, so it is preferred.
 * Field names differ per project: the usual ones are read (title, slug, description, content, cover,
 * author, category, tags, locale, url) and the model list and URL template are configurable.
 */

export interface StrapiOptions {
  /** Models (`model`, or `uid` like "api::article.article") that are articles. */
  models?: string[];
  /** Models that are never articles: their events are ignored rather than held. */
  ignoredModels?: string[];
  /**
   * Article URL when the entry has no url field, e.g. "https://example.com/{locale}/news/{slug}".
   * Placeholders: {slug} {id} {documentId} {locale} {model}.
   */
  urlTemplate?: string;
  deliveryId?: string;
}

const DEFAULT_MODELS = ['article', 'post', 'news', 'story'];

const ENTRY_EVENTS = ['entry.create', 'entry.update', 'entry.publish', 'entry.unpublish', 'entry.delete'];

export function normalizeStrapi(
  body: unknown,
  publication: Publication,
  options: StrapiOptions = {},
): ArticleEvent[] {
  const root = objectAt(body, 'body');
  const event = stringAt(root, 'event', 'body');
  // media.*, review-workflows.* and the "trigger-test" ping are not about articles.
  if (!ENTRY_EVENTS.includes(event)) return [];
  const model = stringAt(root, 'model', 'body');
  const uid = optionalStringAt(root, 'uid', 'body');
  const listed = (list: string[]) => list.includes(model) || (uid !== undefined && list.includes(uid));
  if (listed(options.ignoredModels ?? [])) return [];

  const entry = objectAt(root.entry, 'entry');
  // before anything reads them, held events included (their raw body is stored)
  capped(firstString(entry, ['title', 'headline', 'name']), 'title', 'entry.title');
  const content = entry.content ?? entry.body ?? entry.text;
  if (typeof content === 'string') capped(content, 'body', `entry.${bodyKey(entry)}`);
  const externalId =
    entry.documentId !== undefined ? idAt(entry, 'documentId', 'entry') : idAt(entry, 'id', 'entry');
  const locale = optionalStringAt(entry, 'locale', 'entry');
  // Locales of one document are separate articles (one per newsletter language).
  const key = locale && entry.documentId !== undefined ? `${externalId}:${locale}` : externalId;
  if (!listed(options.models ?? DEFAULT_MODELS)) {
    // Strapi sends every content type's events. One shaped like an article (a title and a body) may
    // be the publisher's article model under another name: hold it rather than lose it.
    if (!looksLikeArticle(entry)) return [];
    throw new HeldError(
      `Strapi model "${uid ?? model}" is not in sources.strapi.models (add it there, or to sources.strapi.ignoredModels if it is not news)`,
      key,
      firstString(entry, ['title', 'headline']),
    );
  }
  const ctx = sourceContext(publication, 'strapi');
  const modifiedAt = dateField(entry.updatedAt ?? entry.updated_at, 'entry.updatedAt', ctx.timezone);
  const eventAt = dateField(root.createdAt ?? root.created_at, 'createdAt', ctx.timezone);

  if (event === 'entry.delete' || event === 'entry.unpublish') {
    const action = event === 'entry.delete' ? 'delete' : 'unpublish';
    return [
      {
        provider: 'strapi',
        eventId: options.deliveryId ?? derivedEventId(key, eventAt ?? modifiedAt, action),
        action,
        externalId: key,
        article: null,
      },
    ];
  }

  // publishedAt null: a draft (v4 with draft & publish, or a Strapi 5 draft version beside a live one).
  // Without draft & publish there is no publishedAt field at all, and every saved entry is live.
  const draftAndPublish = 'publishedAt' in entry || 'published_at' in entry;
  const publishedAt = draftAndPublish
    ? dateField(entry.publishedAt ?? entry.published_at, 'entry.publishedAt', ctx.timezone)
    : dateField(entry.createdAt ?? entry.created_at, 'entry.createdAt', ctx.timezone);
  const status: ArticleStatus = publishedAt || !draftAndPublish ? 'published' : 'draft';
  const slug = optionalStringAt(entry, 'slug', 'entry');
  const article = buildArticle(
    {
      externalId: key,
      url: entryUrl(entry, { slug, externalId, key, locale, model }, options.urlTemplate),
      urlField: 'entry.url',
      title: firstString(entry, ['title', 'headline', 'name']) ?? '',
      titleField: 'entry.title',
      excerptHtml: firstString(entry, ['description', 'excerpt', 'summary', 'lead']),
      bodyHtml: bodyHtml(entry),
      ...image(entry),
      author: relationName(entry.author ?? entry.authors),
      categories: namesAt(relationList(entry.categories ?? entry.category), 'entry.categories'),
      tags: namesAt(relationList(entry.tags), 'entry.tags'),
      language: locale === undefined ? undefined : { value: locale, field: 'entry.locale' },
      publishedAt,
      modifiedAt,
      status,
      bodySourceCapped: typeof content === 'string',
      fields: {
        excerpt: 'entry.description',
        body: `entry.${bodyKey(entry)}`,
        author: 'entry.author',
        imageUrl: 'entry.cover.url',
        imageAlt: 'entry.cover.alternativeText',
      },
    },
    ctx,
  );
  return [
    {
      provider: 'strapi',
      eventId: options.deliveryId ?? derivedEventId(key, modifiedAt, status),
      // A draft never replaces or retracts the live copy; entry.unpublish does that.
      action: 'upsert',
      externalId: key,
      article,
    },
  ];
}

/** The rich-text field the body is read from (bodyHtml), for messages. */
function bodyKey(entry: Json): string {
  for (const key of ['content', 'body', 'text'])
    if (entry[key] !== undefined && entry[key] !== null) return key;
  return 'blocks';
}

function firstString(entry: Json, keys: string[]): string | undefined {
  for (const key of keys) {
    const value = optionalStringAt(entry, key, 'entry');
    if (value !== undefined) return value;
  }
  return undefined;
}

function entryUrl(
  entry: Json,
  values: { slug?: string; externalId: string; key: string; locale?: string; model: string },
  template?: string,
): string {
  const own = firstString(entry, ['url', 'link', 'permalink', 'canonicalUrl']);
  if (own) return own;
  const title = firstString(entry, ['title', 'headline', 'name']);
  if (!template) {
    throw new HeldError(
      'the entry has no url field and sources.strapi.urlTemplate is not set (e.g. "https://example.com/{locale}/news/{slug}")',
      values.key,
      title,
    );
  }
  return template.replace(/\{(slug|id|documentId|locale|model)\}/g, (_, name: string) => {
    const value =
      name === 'slug'
        ? values.slug
        : name === 'locale'
          ? values.locale
          : name === 'model'
            ? values.model
            : name === 'id'
              ? String(entry.id ?? '')
              : values.externalId;
    if (!value) {
      throw new HeldError(
        `sources.strapi.urlTemplate uses {${name}} and the entry has no ${name === 'documentId' ? 'documentId' : name}`,
        values.key,
        title,
      );
    }
    return encodeURIComponent(value);
  });
}

/** Strapi 4 REST-style relations nest as {data: {attributes}}; webhooks usually send them flat. */
function unwrap(value: unknown): unknown {
  if (isObject(value) && 'data' in value) {
    const data = value.data;
    if (Array.isArray(data)) return data.map(unwrap);
    if (isObject(data)) return isObject(data.attributes) ? data.attributes : data;
    return null;
  }
  return value;
}

function relationList(value: unknown): unknown {
  return unwrap(value);
}

function relationName(value: unknown): string | null {
  const v = unwrap(value);
  const first = Array.isArray(v) ? v[0] : v;
  if (typeof first === 'string') return first;
  if (!isObject(first)) return null;
  const name = first.name ?? first.fullName ?? first.username ?? first.title;
  return typeof name === 'string' ? name : null;
}

function image(entry: Json): { imageUrl: string | null; imageAlt: string | null } {
  for (const key of ['cover', 'image', 'featuredImage', 'thumbnail']) {
    const v = unwrap(entry[key]);
    const media = Array.isArray(v) ? v[0] : v;
    if (isObject(media) && typeof media.url === 'string') {
      return {
        imageUrl: media.url,
        imageAlt: typeof media.alternativeText === 'string' ? media.alternativeText : null,
      };
    }
  }
  return { imageUrl: null, imageAlt: null };
}

/** A title and a body: what an article model has and categories, authors or settings do not. */
function looksLikeArticle(entry: Json): boolean {
  const title = ['title', 'headline'].some((k) => typeof entry[k] === 'string' && entry[k] !== '');
  const body = ['content', 'body', 'text', 'blocks'].some((k) => entry[k] !== undefined && entry[k] !== null);
  return title && body;
}

/**
 * The body: a rich-text field (Blocks, Markdown or HTML), else the `blocks` dynamic zone of
 * Strapi 5's example article (its shared.rich-text and shared.quote components).
 */
function bodyHtml(entry: Json): string {
  const field = entry.content ?? entry.body ?? entry.text;
  if (field !== undefined && field !== null) return strapiContentToHtml(field);
  if (!Array.isArray(entry.blocks)) return '';
  // A Blocks field named "blocks" holds nodes with a type; a dynamic zone holds components.
  if (entry.blocks.some((b) => isObject(b) && typeof b.type === 'string' && !('__component' in b)))
    return strapiContentToHtml(entry.blocks);
  return entry.blocks
    .map((component) => {
      if (!isObject(component)) return '';
      const name = typeof component.__component === 'string' ? component.__component : '';
      if (name.endsWith('.rich-text')) return strapiContentToHtml(component.body);
      if (name.endsWith('.quote')) {
        const quote = strapiContentToHtml(component.body);
        return quote ? `<blockquote>${quote}</blockquote>` : '';
      }
      // shared.media and sliders: their uploads are relative to the CMS host, not the article page,
      // and the cover is the article's image already.
      return '';
    })
    .filter(Boolean)
    .join('\n');
}
