import { type Static, Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { listSources } from '../articles/sources-view.js';
import type { Container } from '../container.js';
import { adminSecurity } from './admin-auth.js';
import { EditionList } from './digest-schemas.js';

const Role = Type.Union([Type.Literal('admin'), Type.Literal('editor')], {
  description: 'admin: everything; editor: everything but operators, sending controls and erasure',
});
const Timestamp = Type.String({ format: 'date-time' });
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const OperatorView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  role: Role,
  createdAt: Timestamp,
  createdBy: Type.String(),
  lastSignInAt: Nullable(Timestamp),
  lockedUntil: Nullable(Type.String({ format: 'date-time', description: 'set while locked out' })),
  signedOutAt: Nullable(
    Type.String({ format: 'date-time', description: 'sessions issued before are refused' }),
  ),
});

const NewOperator = Type.Object(
  {
    email: Type.String({ maxLength: 254 }),
    password: Type.String({ minLength: 12, maxLength: 200 }),
    role: Role,
  },
  { additionalProperties: false },
);

const Counts = Type.Record(Type.String(), Type.Integer());
const Overview = Type.Object({
  readers: Type.Object({ total: Type.Integer(), byStatus: Counts, byLanguage: Counts, byFrequency: Counts }),
  growth: Type.Array(
    Type.Object({
      day: Type.String({ description: "YYYY-MM-DD in the publication's time zone" }),
      confirmed: Type.Integer(),
      unsubscribed: Type.Integer(),
      suppressed: Type.Integer(),
      bounced: Type.Integer({ description: 'hard and soft bounce reports received that day' }),
      complained: Type.Integer({ description: 'spam complaint reports received that day' }),
    }),
  ),
  editions: EditionList.properties.items,
  sending: Type.Object({
    paused: Type.Boolean(),
    reason: Nullable(Type.String()),
    since: Nullable(Type.String()),
    editionId: Nullable(Type.String()),
    error: Nullable(Type.String()),
  }),
  queues: Type.Array(
    Type.Object({
      name: Type.String(),
      waiting: Type.Integer(),
      active: Type.Integer(),
      delayed: Type.Integer(),
      failed: Type.Integer(),
    }),
  ),
  nextDigests: Type.Array(
    Type.Object({
      at: Timestamp,
      language: Type.String(),
      frequency: Type.String(),
      readers: Type.Integer(),
    }),
  ),
  warnings: Type.Array(
    Type.String({ description: 'public-url-not-https, no-dkim, no-smtp, no-bounce-domain, sending-paused' }),
  ),
});

const Source = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('feed'), Type.Literal('webhook')]),
  url: Nullable(Type.String()),
  enabled: Type.Boolean(),
  lastPolledAt: Nullable(Timestamp),
  lastStatus: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Nullable(Type.String()),
  articles: Type.Integer({ description: 'articles taken from it' }),
  held: Type.Integer(),
  lastArticleAt: Nullable(Timestamp),
});

/** Console operators, the dashboard's figures and the article sources, for operators. */
export const operatorRoutes: FastifyPluginAsync<{ container: Container }> = async (app, { container }) => {
  const { operators, config, publication, db } = container;

  app.get(
    '/api/v1/operators',
    {
      schema: {
        tags: ['console'],
        summary: 'Console operators (never their password hashes)',
        security: adminSecurity,
        response: { 200: Type.Array(OperatorView) },
      },
    },
    async () => operators.list(),
  );

  app.post<{ Body: Static<typeof NewOperator> }>(
    '/api/v1/operators',
    {
      schema: {
        tags: ['console'],
        summary: 'Add a console operator',
        description:
          'The password is stored as a salted scrypt hash. 409 when the address is an operator already.',
        security: adminSecurity,
        body: NewOperator,
        response: { 201: OperatorView },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await operators.create({ ...request.body, createdBy: 'api' })),
  );

  app.get(
    '/api/v1/overview',
    {
      schema: {
        tags: ['console'],
        summary:
          "The dashboard's figures: readers, growth, editions, sending, queues, next digests, warnings",
        security: adminSecurity,
        response: { 200: Overview },
      },
    },
    async () => container.overview.get(),
  );

  app.get(
    '/api/v1/sources',
    {
      schema: {
        tags: ['articles'],
        summary: 'Feeds and CMS webhooks: last poll, last error, articles taken',
        security: adminSecurity,
        response: { 200: Type.Array(Source) },
      },
    },
    async () =>
      listSources(db, publication, {
        generic: config.WEBHOOK_SECRET_GENERIC,
        wordpress: config.WEBHOOK_SECRET_WORDPRESS,
        ghost: config.WEBHOOK_SECRET_GHOST,
        strapi: config.WEBHOOK_SECRET_STRAPI,
      }),
  );
};
