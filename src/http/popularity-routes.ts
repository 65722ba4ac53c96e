import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { FastifyPluginAsync } from 'fastify';
import { verifyStandardWebhook } from '../articles/signatures.js';
import { SignatureError } from '../articles/types.js';
import { replacePopularity } from '../clicks/index.js';
import type { Container } from '../container.js';
import { GazetteError } from '../errors.js';

const PopularityList = Type.Object(
  {
    source: Type.Optional(
      Type.Union(
        [Type.Literal('generic'), Type.Literal('wordpress'), Type.Literal('ghost'), Type.Literal('strapi')],
        {
          description: 'whose post ids `articles[].id` are; absent: Gazette article ids',
        },
      ),
    ),
    articles: Type.Array(
      Type.Object({
        id: Type.String({ minLength: 1, maxLength: 200 }),
        score: Type.Number({ minimum: 0, maximum: 1e15 }),
      }),
      { maxItems: 200 },
    ),
  },
  { additionalProperties: false },
);
const Stored = Type.Object({
  stored: Type.Integer({ description: 'articles in the list now' }),
  unknown: Type.Array(Type.String(), { description: 'ids that name no article Gazette has (left out)' }),
});
const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() });

/**
 * POST /webhooks/popularity: the CMS's "popular posts" (ids and scores), the source of the "most
 * read" section where clicks are not counted. Signed per Standard Webhooks; replaces the list.
 */
export const popularityRoutes: FastifyPluginAsync<{ container: Container }> = async (app, { container }) => {
  const { config, db, clock } = container;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    '*',
    { parseAs: 'buffer', bodyLimit: config.WEBHOOK_BODY_LIMIT_BYTES },
    (_r, body, done) => done(null, body),
  );

  app.post(
    '/webhooks/popularity',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'The CMS’s popularity list for the "most read" section',
        description:
          'Body: {"source"?: "wordpress" | "ghost" | "strapi" | "generic", "articles": [{"id", "score"}]} (higher score = more read), signed per Standard Webhooks with WEBHOOK_SECRET_POPULARITY. Replaces the previous list; used by daily and weekly digests where click tracking is off.',
        body: PopularityList,
        response: { 200: Stored, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      },
      // validated below, after the signature: the raw bytes are what is signed
      validatorCompiler: () => () => true,
    },
    async (request) => {
      const secret = config.WEBHOOK_SECRET_POPULARITY;
      if (!secret) throw new GazetteError('GZ_NOT_FOUND', 'the popularity webhook is not configured', 404);
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      try {
        verifyStandardWebhook({
          secret,
          headers: request.headers,
          body: raw,
          now: clock.now(),
          toleranceSeconds: config.WEBHOOK_TOLERANCE_SECONDS,
        });
      } catch (err) {
        if (err instanceof SignatureError) throw new GazetteError('GZ_UNAUTHORIZED', err.message, 401);
        throw err;
      }
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new GazetteError('GZ_VALIDATION', 'body: not valid JSON', 400);
      }
      if (!Value.Check(PopularityList, body)) {
        const first = [...Value.Errors(PopularityList, body)][0];
        const field = first?.path.replace(/^\//, '').replaceAll('/', '.') || 'body';
        throw new GazetteError('GZ_VALIDATION', `${field}: ${first?.message ?? 'invalid'}`, 400, field);
      }
      const list = body as typeof PopularityList.static;
      return replacePopularity(
        db,
        { source: list.source ?? null, entries: list.articles.map((a) => ({ ref: a.id, score: a.score })) },
        clock.now(),
      );
    },
  );
};
