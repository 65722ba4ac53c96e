import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { type IngestService, WEBHOOK_PROVIDERS, type WebhookProvider } from '../articles/ingest-service.js';
import { GenericArticleEventSchema } from '../articles/normalize/generic.js';
import { PayloadError, SignatureError } from '../articles/types.js';
import { GazetteError } from '../errors.js';
import { genericPublishedExample, genericUnpublishedExample } from './openapi-examples.js';

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: Buffer;
  }
}

const Accepted = Type.Object(
  {
    status: Type.Union([Type.Literal('accepted'), Type.Literal('ignored'), Type.Literal('held')]),
    events: Type.Array(
      Type.Object({
        id: Type.Integer(),
        action: Type.String(),
        externalId: Type.String(),
        duplicate: Type.Boolean({ description: 'true when this delivery was already stored (a replay)' }),
        held: Type.Optional(
          Type.String({
            description:
              'Why the event waits: only the configuration keeps it from being an article (it is applied when the publication file changes, at boot, or by POST /api/v1/articles/reprocess)',
          }),
        ),
      }),
    ),
  },
  {
    description:
      'Stored durably; processed from a queue. held: stored raw, applied once the configuration allows.',
  },
);

const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() }, { title: 'Error' });

const DESCRIPTIONS: Record<WebhookProvider, string> = {
  generic:
    "Gazette's own article event, signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body> with the whsec_ secret in WEBHOOK_SECRET_GENERIC). Body: GenericArticleEvent.",
  wordpress:
    'WP Webhooks post_create/post_update/post_delete (X-WP-Webhook-Signature: base64 HMAC-SHA256 of the body), New Post Webhook or a wp/v2 post object (secret as ?token=). Optional ?trigger=post_update.',
  ghost:
    'Ghost post.published, post.published.edited, post.unpublished, post.deleted, verified by X-Ghost-Signature (sha256=<hex>, t=<ms>). Optional ?event=post.unpublished to name the event.',
  strapi:
    'Strapi v4/v5 entry.publish, entry.update, entry.unpublish, entry.delete; Strapi does not sign, so it must send Authorization: Bearer <WEBHOOK_SECRET_STRAPI>.',
};

/** POST /webhooks/<provider>: verify on the raw bytes, store, answer 202. */
export const webhookRoutes: FastifyPluginAsync<{ ingest: IngestService; bodyLimit: number }> = async (
  app,
  { ingest, bodyLimit },
) => {
  // Signatures are over the exact bytes: keep them, parse JSON ourselves afterwards.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (request, body, done) => {
    request.rawBody = body as Buffer;
    done(null, body);
  });
  app.addSchema({
    ...GenericArticleEventSchema,
    $id: 'GenericArticleEvent',
    examples: [genericPublishedExample, genericUnpublishedExample],
  });

  for (const provider of WEBHOOK_PROVIDERS) {
    app.post(
      `/webhooks/${provider}`,
      {
        schema: {
          tags: ['webhooks'],
          summary: `${provider} article webhook`,
          description: DESCRIPTIONS[provider],
          ...(provider === 'generic' ? { body: { $ref: 'GenericArticleEvent#' } } : {}),
          response: {
            200: Accepted,
            202: Accepted,
            400: ErrorBody,
            401: ErrorBody,
            404: ErrorBody,
            413: ErrorBody,
          },
        },
        // the body schema above documents the event; validation happens after the signature check
        validatorCompiler: () => () => true,
      },
      async (request, reply) => {
        if (!ingest.isEnabled(provider)) {
          throw new GazetteError('GZ_NOT_FOUND', `webhook provider ${provider} is not configured`, 404);
        }
        try {
          const events = await ingest.receive({
            provider,
            headers: request.headers,
            query: request.query as Record<string, unknown>,
            rawBody: request.rawBody ?? Buffer.alloc(0),
          });
          const held = events.some((e) => e.held !== undefined);
          const body = {
            status: held ? ('held' as const) : events.length ? ('accepted' as const) : ('ignored' as const),
            events: events.map((e) => ({
              id: e.id,
              action: e.action,
              externalId: e.externalId,
              duplicate: e.duplicate,
              ...(e.held !== undefined ? { held: e.held } : {}),
            })),
          };
          // on the request's one completion line (app.ts), not a line of its own
          request.logFields = { provider, events: body.events };
          return reply.status(events.length ? 202 : 200).send(body);
        } catch (err) {
          if (err instanceof SignatureError) throw new GazetteError(err.code, err.message, 401);
          if (err instanceof PayloadError) throw new GazetteError(err.code, err.message, 400);
          throw err;
        }
      },
    );
  }
};
