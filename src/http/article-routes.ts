import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { listArticles } from '../articles/article-store.js';
import { EVENT_LIST_STATES, type EventListState, listEvents } from '../articles/event-list.js';
import type { IngestService } from '../articles/ingest-service.js';
import type { Db } from '../db/pool.js';
import { validationError } from '../errors.js';
import { adminSecurity } from './admin-auth.js';

const Article = Type.Object({
  id: Type.String({ format: 'uuid' }),
  source: Type.String({ description: 'generic, wordpress, ghost, strapi or feed:<id>' }),
  externalId: Type.String(),
  state: Type.Union(
    ['published', 'updated', 'unpublished', 'draft', 'scheduled', 'held'].map((s) => Type.Literal(s)),
    {
      description:
        'updated = published and changed since; held = an event that cannot be applied until the configuration changes (heldReason says which setting)',
    },
  ),
  title: Type.String(),
  summary: Type.String(),
  url: Type.String(),
  imageUrl: Type.Union([Type.String(), Type.Null()]),
  imageAlt: Type.Union([Type.String(), Type.Null()]),
  author: Type.Union([Type.String(), Type.Null()]),
  categories: Type.Array(Type.String()),
  tags: Type.Array(Type.String()),
  topics: Type.Array(Type.String()),
  language: Type.Union([Type.Literal('ar'), Type.Literal('en'), Type.Null()], {
    description: 'the language of the digests that carry it; null while held',
  }),
  languageOrigin: Type.Union(
    [Type.Literal('cms'), Type.Literal('script'), Type.Literal('source-default'), Type.Null()],
    {
      description:
        'cms = declared by the CMS or feed; script = read from the letters of the title and text; source-default = the source language in the publication file; null for articles stored before it was recorded, or held',
    },
  ),
  breaking: Type.Boolean(),
  featured: Type.Boolean({ description: "the editor's lead story: digests that carry it lead with it" }),
  priority: Type.Integer({ description: "the editor's rank (higher first, after featured)" }),
  heldReason: Type.Union([Type.String(), Type.Null()], {
    description: 'why this article, or its latest change, is held; null when applied',
  }),
  publishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  modifiedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  receivedAt: Type.String({ format: 'date-time' }),
});

const Query = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  cursor: Type.Optional(Type.String({ description: 'nextCursor of the previous page' })),
  held: Type.Optional(
    Type.Boolean({ description: 'true: only articles held (or with a held change), with their heldReason' }),
  ),
});

const Timestamp = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

const ArticleEventView = Type.Object({
  id: Type.Integer(),
  provider: Type.String({ description: 'generic, wordpress, ghost, strapi or feed:<id>' }),
  eventKey: Type.String(),
  action: Type.String(),
  externalId: Type.String(),
  state: Type.Union(EVENT_LIST_STATES.map((s) => Type.Literal(s))),
  articleId: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  attempts: Type.Integer(),
  heldReason: Type.Union([Type.String(), Type.Null()], {
    description: 'held: the setting that stops it; applied again once the configuration is fixed',
  }),
  error: Type.Union([Type.String(), Type.Null()], {
    description:
      'why it failed (failed), the last transient failure (pending) or why nothing changed (applied)',
  }),
  receivedAt: Type.String({ format: 'date-time' }),
  processedAt: Timestamp,
  failedAt: Timestamp,
  lastAttemptAt: Timestamp,
});

const EventsQuery = Type.Object({
  state: Type.Optional(Type.Union(EVENT_LIST_STATES.map((s) => Type.Literal(s)))),
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  before: Type.Optional(Type.Integer({ minimum: 1, description: 'nextBefore of the previous page' })),
});

function decodeCursor(raw: string): { at: Date; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as [string, string];
    const date = new Date(at);
    if (Number.isNaN(date.getTime()) || typeof id !== 'string') throw new Error('bad');
    return { at: date, id };
  } catch {
    throw validationError('cursor', 'not a cursor returned by this endpoint');
  }
}

const Reprocessed = Type.Object(
  {
    applied: Type.Integer({ description: 'held events that became articles (or changes) and were applied' }),
    held: Type.Integer({ description: 'still held: see each heldReason in GET /api/v1/articles' }),
    ignored: Type.Integer({
      description: 'not articles under the current publication file (e.g. ignoredModels)',
    }),
    failed: Type.Integer({ description: 'no longer read as a valid payload; the reason is on the article' }),
  },
  { description: 'What became of the held events' },
);

export const articleRoutes: FastifyPluginAsync<{
  db: Db;
  ingest: Pick<IngestService, 'reprocessHeld'>;
}> = async (app, { db, ingest }) => {
  app.post(
    '/api/v1/articles/reprocess',
    {
      schema: {
        tags: ['articles'],
        summary: 'Apply held events again with the publication file as loaded',
        description:
          'Events that only the configuration kept from becoming articles (no Strapi URL template, a model not listed, an unmapped language) are stored and held. Gazette applies them again at every start (after the publication file was fixed); this applies them now, oldest first, and says what became of them.',
        security: adminSecurity,
        response: { 200: Reprocessed },
      },
    },
    async () => ingest.reprocessHeld(),
  );

  app.get<{ Querystring: { limit: number; cursor?: string; held?: boolean } }>(
    '/api/v1/articles',
    {
      schema: {
        tags: ['articles'],
        summary: 'Normalized articles, newest first, with their state and source',
        security: adminSecurity,
        querystring: Query,
        response: {
          200: Type.Object({
            items: Type.Array(Article),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
        },
      },
    },
    async (request) => {
      const { limit, cursor, held } = request.query;
      const page = await listArticles(db, {
        limit,
        cursor: cursor ? decodeCursor(cursor) : undefined,
        held,
      });
      return {
        items: page.items,
        nextCursor: page.nextCursor
          ? Buffer.from(JSON.stringify([page.nextCursor.at.toISOString(), page.nextCursor.id])).toString(
              'base64url',
            )
          : null,
      };
    },
  );

  app.get<{ Querystring: { state?: EventListState; limit: number; before?: number } }>(
    '/api/v1/article-events',
    {
      schema: {
        tags: ['articles'],
        summary: 'Stored CMS and feed events, newest first: failed ones carry the reason',
        description:
          'An event is `pending` until applied (transient failures are retried; `error` is the last one), ' +
          '`held` while only the configuration stops it (`heldReason`), ' +
          '`applied` once it changed an article (or was skipped, see `error`), `failed` when it can never be ' +
          'applied (the WordPress post is missing or not public, the site did not answer JSON, the fetch was refused).',
        security: adminSecurity,
        querystring: EventsQuery,
        response: {
          200: Type.Object({
            items: Type.Array(ArticleEventView),
            nextBefore: Type.Union([Type.Integer(), Type.Null()], {
              description: 'pass as `before` for the next page',
            }),
          }),
        },
      },
    },
    async (request) => {
      const { state, limit, before } = request.query;
      return listEvents(db, { state, limit, before });
    },
  );
};
