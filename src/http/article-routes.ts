import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { listArticles } from '../articles/article-repository.js';
import type { Db } from '../db/pool.js';
import { validationError } from '../errors.js';
import { adminSecurity } from './admin-auth.js';

const Article = Type.Object({
  id: Type.String({ format: 'uuid' }),
  source: Type.String({ description: 'generic, wordpress, ghost, strapi or feed:<id>' }),
  externalId: Type.String(),
  state: Type.Union(
    ['published', 'updated', 'unpublished', 'draft', 'scheduled'].map((s) => Type.Literal(s)),
    {
      description: 'updated = published and changed since',
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
  language: Type.String(),
  breaking: Type.Boolean(),
  publishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  modifiedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  receivedAt: Type.String({ format: 'date-time' }),
});

const Query = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  cursor: Type.Optional(Type.String({ description: 'nextCursor of the previous page' })),
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

export const articleRoutes: FastifyPluginAsync<{ db: Db }> = async (app, { db }) => {
  app.get<{ Querystring: { limit: number; cursor?: string } }>(
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
      const { limit, cursor } = request.query;
      const page = await listArticles(db, { limit, cursor: cursor ? decodeCursor(cursor) : undefined });
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
};
