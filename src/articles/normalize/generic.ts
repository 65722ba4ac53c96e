import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Publication } from '../../publication.js';
import { type ArticleEvent, type ArticleStatus, PayloadError } from '../types.js';
import { buildArticle, derivedEventId } from './common.js';
import { dateField } from './dates.js';
import { sourceContext } from './language.js';
import { FIELD_LIMITS, MAX_HTML_DEPTH } from './limits.js';

/**
 * Gazette's own article event, for CMSes without a plugin of their own: POST it signed the Standard
 * Webhooks way (the `webhook-id` header is the de-duplication key unless the body has an `id`).
 * The schemas are exported so the HTTP layer can publish them in OpenAPI.
 */

const Id = Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Integer({ minimum: 0 })], {
  description: 'The article id in the CMS',
});
const DateString = Type.String({
  minLength: 10,
  description: 'ISO 8601; without a zone it is read in the source time zone (sources.generic.timezone)',
});
const HttpUrl = Type.String({ pattern: '^https?://', maxLength: 2000 });

export const GenericArticleDataSchema = Type.Object(
  {
    id: Id,
    url: HttpUrl,
    title: Type.String({ minLength: 1, maxLength: 1000, description: 'Plain text or HTML with entities' }),
    summary: Type.Optional(
      Type.String({
        maxLength: FIELD_LIMITS.excerpt,
        description: 'HTML or text; derived from html when absent',
      }),
    ),
    html: Type.Optional(
      Type.String({
        maxLength: FIELD_LIMITS.body,
        description: `Article body HTML; sanitised on receipt; elements nested at most ${MAX_HTML_DEPTH} deep`,
      }),
    ),
    image: Type.Optional(
      Type.Object({
        url: Type.String({ minLength: 1, maxLength: FIELD_LIMITS.url }),
        alt: Type.Optional(Type.String({ maxLength: FIELD_LIMITS.imageAlt })),
      }),
    ),
    author: Type.Optional(Type.String({ maxLength: FIELD_LIMITS.author })),
    categories: Type.Optional(Type.Array(Type.String())),
    tags: Type.Optional(Type.Array(Type.String())),
    language: Type.Optional(
      Type.String({
        description:
          'BCP 47, e.g. ar, ar-SY or en; without it the language is read from the letters of the title and text',
      }),
    ),
    publishedAt: DateString,
    modifiedAt: Type.Optional(DateString),
    breaking: Type.Optional(Type.Boolean()),
    featured: Type.Optional(
      Type.Boolean({ description: "The editor's lead story: digests that carry it lead with it" }),
    ),
    priority: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 1000,
        description: "The editor's rank: among articles not featured, a higher priority comes first",
      }),
    ),
  },
  { additionalProperties: true },
);

export const GenericRemovalDataSchema = Type.Object({ id: Id }, { additionalProperties: true });

const EventId = Type.String({
  minLength: 1,
  maxLength: 200,
  description: 'Unique per event (de-duplication)',
});

export const GenericArticleChangeSchema = Type.Object({
  type: Type.Union([Type.Literal('article.published'), Type.Literal('article.updated')]),
  id: Type.Optional(EventId),
  data: GenericArticleDataSchema,
});

export const GenericArticleRemovalSchema = Type.Object({
  type: Type.Union([Type.Literal('article.unpublished'), Type.Literal('article.deleted')]),
  id: Type.Optional(EventId),
  data: GenericRemovalDataSchema,
});

export const GenericArticleEventSchema = Type.Union(
  [GenericArticleChangeSchema, GenericArticleRemovalSchema],
  {
    $id: 'GenericArticleEvent',
    description: 'Gazette generic article webhook event',
  },
);

export type GenericArticleEvent = Static<typeof GenericArticleEventSchema>;

const TYPES = ['article.published', 'article.updated', 'article.unpublished', 'article.deleted'];

function firstError(schema: TSchema, value: unknown): string | undefined {
  const first = Value.Errors(schema, value).First();
  if (!first) return undefined;
  const path = first.path.replace(/^\//, '').replace(/\//g, '.');
  return `${path || 'body'}: ${first.message}`;
}

export interface NormalizeOptions {
  /** The transport's delivery id (Standard Webhooks `webhook-id`), used when the body has no `id`. */
  deliveryId?: string;
}

export function normalizeGeneric(
  body: unknown,
  publication: Publication,
  options: NormalizeOptions = {},
): ArticleEvent[] {
  const type = typeof body === 'object' && body !== null ? (body as { type?: unknown }).type : undefined;
  if (typeof type !== 'string' || !TYPES.includes(type)) {
    throw new PayloadError(`type: must be one of ${TYPES.join(', ')}`);
  }
  const removal = type === 'article.unpublished' || type === 'article.deleted';
  // Validating against the one schema the type selects names the real field; a union would only say
  // "expected union value".
  const error = firstError(removal ? GenericArticleRemovalSchema : GenericArticleChangeSchema, body);
  if (error) throw new PayloadError(error);
  const event = body as GenericArticleEvent;
  const ctx = sourceContext(publication, 'generic');
  const externalId = String(event.data.id);

  if (removal) {
    const action = type === 'article.deleted' ? 'delete' : 'unpublish';
    return [
      {
        provider: 'generic',
        eventId: event.id ?? options.deliveryId ?? `${externalId}@${action}`,
        action,
        externalId,
        article: null,
      },
    ];
  }

  const data = (event as Static<typeof GenericArticleChangeSchema>).data;
  const publishedAt = dateField(data.publishedAt, 'data.publishedAt', ctx.timezone);
  const modifiedAt = data.modifiedAt
    ? dateField(data.modifiedAt, 'data.modifiedAt', ctx.timezone)
    : publishedAt;
  const status: ArticleStatus = 'published';
  const article = buildArticle(
    {
      externalId,
      url: data.url,
      urlField: 'data.url',
      title: data.title,
      titleField: 'data.title',
      excerptHtml: data.summary,
      bodyHtml: data.html,
      imageUrl: data.image?.url ?? null,
      imageAlt: data.image?.alt ?? null,
      author: data.author ?? null,
      categories: data.categories,
      tags: data.tags,
      language: data.language === undefined ? undefined : { value: data.language, field: 'data.language' },
      publishedAt,
      modifiedAt,
      status,
      breaking: data.breaking,
      featured: data.featured,
      priority: data.priority,
      fields: {
        excerpt: 'data.summary',
        body: 'data.html',
        author: 'data.author',
        imageUrl: 'data.image.url',
        imageAlt: 'data.image.alt',
      },
    },
    ctx,
  );
  return [
    {
      provider: 'generic',
      eventId: event.id ?? options.deliveryId ?? derivedEventId(externalId, modifiedAt, 'published'),
      action: 'upsert',
      externalId,
      article,
    },
  ];
}
