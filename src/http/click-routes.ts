import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { articleClickStats, editionClickStats } from '../clicks/index.js';
import type { Container } from '../container.js';
import { notFound } from '../errors.js';
import { adminSecurity } from './admin-auth.js';

const Uuid = Type.String({ format: 'uuid' });
const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() });
const ByLanguage = Type.Object({ ar: Type.Integer(), en: Type.Integer() });

const EditionClicks = Type.Object({
  editionId: Uuid,
  language: Type.Union([Type.Literal('ar'), Type.Literal('en')]),
  humanClickers: Type.Integer({ description: 'readers with at least one click that was not a scanner’s' }),
  scannerClicks: Type.Object(
    { head: Type.Integer(), userAgent: Type.Integer(), burst: Type.Integer() },
    { description: 'clicks taken for link scanners, by sign; left out of every other number' },
  ),
  articles: Type.Array(Type.Object({ articleId: Uuid, humanClickers: Type.Integer() })),
});

const ArticleClicks = Type.Object({
  articleId: Uuid,
  humanClickers: Type.Composite([ByLanguage], {
    description: 'unique readers who clicked the article, by the language of the edition they read',
  }),
  editions: Type.Integer({ description: 'editions (one per language) whose readers clicked it' }),
  scannerClicks: Type.Integer(),
});

/**
 * The click redirect (public: the token is the credential) and the click statistics (admin).
 * The redirect answers from memory and a cached edition lookup; clicks are written in batches.
 */
export const clickRoutes: FastifyPluginAsync<{ container: Container }> = async (app, { container }) => {
  const { clicks, db } = container;

  app.get(
    '/c/:token',
    {
      schema: {
        tags: ['clicks'],
        summary: 'Follow an article link from a mail (click tracking)',
        description:
          'Redirects (302) to the article the signed token names; the target is looked up, never carried in the link. A token that does not verify leads to the publication’s home page. HEAD requests and scanner user agents are recorded as scanner clicks.',
        params: Type.Object({ token: Type.String({ maxLength: 200 }) }),
        response: { 302: Type.Null() },
      },
      // a click from a mail client carries no cookie and needs no CSRF or rate budget
      logLevel: 'warn',
    },
    async (request, reply) => {
      const params = request.params as { token: string };
      const redirect = await clicks.follow(params.token, {
        method: request.method,
        userAgent: request.headers['user-agent'],
      });
      return reply
        .code(302)
        .header('location', redirect.location)
        .header('cache-control', 'no-store')
        .header('referrer-policy', 'no-referrer')
        .send();
    },
  );

  app.get(
    '/api/v1/clicks/editions/:id',
    {
      schema: {
        tags: ['clicks'],
        summary: 'Unique human clickers of an edition and of each of its articles',
        security: adminSecurity,
        params: Type.Object({ id: Uuid }),
        response: { 200: EditionClicks, 404: ErrorBody },
      },
    },
    async (request) => {
      const stats = await editionClickStats(db, (request.params as { id: string }).id);
      if (!stats) throw notFound('edition');
      return stats;
    },
  );

  app.get(
    '/api/v1/clicks/articles/:id',
    {
      schema: {
        tags: ['clicks'],
        summary: 'Unique human clickers of an article, by language, over every edition',
        security: adminSecurity,
        params: Type.Object({ id: Uuid }),
        response: { 200: ArticleClicks },
      },
    },
    async (request) => articleClickStats(db, (request.params as { id: string }).id),
  );
};
