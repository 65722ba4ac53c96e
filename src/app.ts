import { randomUUID } from 'node:crypto';
import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyPluginAsync, LogController } from 'fastify';
import helmet from 'helmet';
import type { Container } from './container.js';
import { GazetteError } from './errors.js';
import { installAdminAuth, requireAdmin } from './http/admin-auth.js';
import { archiveRoutes } from './http/archive-routes.js';
import { articleRoutes } from './http/article-routes.js';
import { bounceAdminRoutes } from './http/bounce-admin-routes.js';
import { bounceRoutes } from './http/bounce-routes.js';
import { clickRoutes } from './http/click-routes.js';
import { consoleRoutes } from './http/console/index.js';
import { deliveryRoutes } from './http/delivery-routes.js';
import { devMailboxRoutes } from './http/dev-mailbox-routes.js';
import { digestRoutes } from './http/digest-routes.js';
import { installErrorHandler } from './http/error-handler.js';
import { healthRoutes } from './http/health-routes.js';
import { homeRoutes } from './http/home-routes.js';
import { importRoutes } from './http/import-routes.js';
import { nameSchemas, refResolver } from './http/openapi.js';
import { operatorRoutes } from './http/operator-routes.js';
import { popularityRoutes } from './http/popularity-routes.js';
import { preferenceRoutes } from './http/preference-routes.js';
import { readerAdminRoutes } from './http/reader-admin-routes.js';
import { readerRoutes } from './http/reader-routes.js';
import { repermissionRoutes } from './http/repermission-routes.js';
import { subscriberAdminRoutes } from './http/subscriber-admin-routes.js';
import { subscriptionRoutes } from './http/subscription-routes.js';
import { webhookEndpointRoutes } from './http/webhook-endpoint-routes.js';
import { webhookRoutes } from './http/webhook-routes.js';
import { jsonDepthError, unstorableStringError } from './security/json-guard.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** what a route adds to the request's completion line (one line per request) */
    logFields?: Record<string, unknown>;
  }
}

const validationProblem = (p: { field: string; message: string }) =>
  new GazetteError('GZ_VALIDATION', p.message, 400, p.field);

/** The whole HTTP app as a plugin: server.ts listens, tests use inject. */
export const app: FastifyPluginAsync<{ container: Container }> = async (fastify, { container }) => {
  const { config, metrics } = container;
  installErrorHandler(fastify);
  // before any route is registered: the onRoute hook only sees routes added after it
  installAdminAuth(fastify, config.ADMIN_TOKEN);

  fastify.decorateRequest('logFields', undefined);
  fastify.addHook('onResponse', async (request, reply) => {
    metrics.httpRequests.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    // one line per request (Fastify's default is two), with the route's own lines in between
    request.log.info(
      {
        req: request,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        ...request.logFields,
      },
      'request completed',
    );
  });

  // Security headers from helmet, built once: @fastify/helmet builds the middleware (and parses
  // the CSP directives) again on every request, which showed in the API's profile under load.
  const securityHeaders = helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'https:', 'http:'],
        // hosted forms post to ourselves; embedded forms post to us from the publisher's pages
        formAction: ["'self'", ...container.publication.redirectOrigins],
      },
    },
    // the dev mailbox and archive pages show mail HTML with remote images
    crossOriginEmbedderPolicy: false,
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    securityHeaders(request.raw, reply.raw, (err?: unknown) => done(err as Error | undefined));
  });
  // JSON nested deep enough to overflow a recursive walk is refused before it is parsed; NUL and
  // lone surrogates (PostgreSQL stores neither) are refused after, naming the field, instead of
  // failing as a 500 in the database (see security/json-guard.ts). Forms keep their own checks,
  // which re-render the page with the error.
  fastify.removeContentTypeParser('application/json');
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const deep = jsonDepthError(body as string);
    if (deep) return done(validationProblem(deep), undefined);
    parseJson(request, body as string, (err, value) => {
      if (err) return done(err, undefined);
      // fields named as the schema validation names them ("name", not "body.name")
      const bad = unstorableStringError(value, '');
      if (bad) return done(validationProblem(bad), undefined);
      done(null, value);
    });
  });
  await fastify.register(formbody);
  await fastify.register(swagger, {
    openapi: {
      info: {
        title: 'Gazette',
        version: '0.1.0',
        description:
          'Newsletter delivery for news publishers: subscriptions with double opt-in, CMS article webhooks, per-reader digests.',
      },
      servers: [{ url: config.PUBLIC_URL }],
      components: {
        securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' } },
      },
    },
    refResolver,
    transformObject: nameSchemas as never,
  });
  // the document maps every operator endpoint: in production only operators read it, unless opted out
  const docsPublic = config.NODE_ENV !== 'production' || config.DOCS_PUBLIC;
  await fastify.register(swaggerUi, {
    routePrefix: '/docs',
    ...(docsPublic ? {} : { uiHooks: { onRequest: requireAdmin(config.ADMIN_TOKEN) } }),
  });

  await fastify.register(healthRoutes, { container });
  await fastify.register(homeRoutes);
  await fastify.register(digestRoutes, { container });
  await fastify.register(archiveRoutes, { container });
  await fastify.register(deliveryRoutes, { container });
  await fastify.register(subscriptionRoutes, { container });
  await fastify.register(readerRoutes, { container });
  await fastify.register(preferenceRoutes, { container });
  await fastify.register(clickRoutes, { container });
  await fastify.register(repermissionRoutes, { container });
  await fastify.register(popularityRoutes, { container });
  await fastify.register(subscriberAdminRoutes, { container });
  await fastify.register(readerAdminRoutes, { container });
  await fastify.register(operatorRoutes, { container });
  await fastify.register(importRoutes, { container });
  await fastify.register(webhookEndpointRoutes, { container });
  await fastify.register(webhookRoutes, {
    ingest: container.ingest,
    bodyLimit: config.WEBHOOK_BODY_LIMIT_BYTES,
  });
  await fastify.register(bounceRoutes, {
    bounces: container.bounces,
    clock: container.clock,
    sns: container.sns,
    config,
  });
  await fastify.register(bounceAdminRoutes, { container });
  await fastify.register(articleRoutes, { db: container.db, ingest: container.ingest });
  await fastify.register(consoleRoutes, { container });
  if (container.devMailbox) await fastify.register(devMailboxRoutes, { mailbox: container.devMailbox });
};

/** A Fastify instance with Gazette's server options and the app registered, not listening. */
export async function buildApp(container: Container) {
  const { config } = container;
  const fastify = Fastify({
    loggerInstance: container.log,
    trustProxy:
      typeof config.TRUST_PROXY === 'number'
        ? (_addr: string, hop: number) => hop < (config.TRUST_PROXY as number)
        : config.TRUST_PROXY,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    bodyLimit: config.WEBHOOK_BODY_LIMIT_BYTES,
    routerOptions: { ignoreTrailingSlash: true },
    logController: new LogController({ disableRequestLogging: true }),
  }).withTypeProvider<TypeBoxTypeProvider>();
  await fastify.register(app, { container });
  return fastify;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
