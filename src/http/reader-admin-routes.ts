import { type Static, Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Container } from '../container.js';
import type { OperatorMeta } from '../subscriptions/reader-admin.js';
import {
  Frequency,
  LanguageField,
  SubscriberParams,
  SubscriberStatus,
  SubscriberView,
} from '../subscriptions/schemas.js';
import { adminSecurity } from './admin-auth.js';

const SearchQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 254, description: 'any part of the address, case-insensitive' })),
  status: Type.Optional(SubscriberStatus),
  language: Type.Optional(LanguageField),
  frequency: Type.Optional(Frequency),
  topic: Type.Optional(
    Type.String({ maxLength: 64, description: 'readers who follow this topic (or every topic)' }),
  ),
  source: Type.Optional(
    Type.String({
      maxLength: 64,
      description:
        "where readers came from: form, embed, api, import or operator (their first consent event's source), or an import's id",
    }),
  ),
  offset: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 0 }),
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
});
type SearchQuery = Static<typeof SearchQuery>;

const SearchPage = Type.Object({
  items: Type.Array(SubscriberView),
  total: Type.Integer({ description: 'readers matching the filters, all pages' }),
  offset: Type.Integer(),
  limit: Type.Integer(),
});

const ConfirmBody = Type.Object(
  { reason: Type.String({ minLength: 3, maxLength: 500, description: 'why: kept as the consent evidence' }) },
  {
    additionalProperties: false,
    title: 'OperatorConfirmRequest',
    examples: [{ reason: 'Signed paper form at the Damascus office, 2026-12-05, kept in file 114' }],
  },
);

const LiftBody = Type.Optional(
  Type.Object(
    {
      reason: Type.Optional(
        Type.String({ minLength: 3, maxLength: 500, description: 'why: kept as the consent evidence' }),
      ),
      override: Type.Optional(
        Type.Boolean({
          description: 'required (true) to lift a suppression the reader caused by a spam complaint',
        }),
      ),
    },
    { additionalProperties: false },
  ),
);

/** Who acted on the reader: the bearer token here, the operator's address in the console. */
export function operatorMeta(request: FastifyRequest, operator: string): OperatorMeta {
  return { source: 'operator', operator, ip: request.ip, userAgent: request.headers['user-agent'] ?? null };
}

/** Operator actions on readers beyond list, detail and suppress (subscription-routes.ts). */
export const readerAdminRoutes: FastifyPluginAsync<{ container: Container }> = async (app, { container }) => {
  const admin = container.readerAdmin;
  const tags = ['operators'];

  app.get<{ Querystring: SearchQuery }>(
    '/api/v1/subscribers/search',
    {
      schema: {
        tags,
        summary: 'Find readers by any part of the address, with filters and a total',
        security: adminSecurity,
        querystring: SearchQuery,
        response: { 200: SearchPage },
      },
    },
    async (request) => admin.search(request.query),
  );

  app.post<{ Params: Static<typeof SubscriberParams>; Body: Static<typeof LiftBody> }>(
    '/api/v1/subscribers/:id/lift-suppression',
    {
      schema: {
        tags,
        summary: 'Take an address off the block list',
        description:
          'Back to the status it had when suppressed (a pending reader needs a new confirmation link). Recorded as consent evidence with the reason. 409 when not suppressed, and for a reader suppressed by their own spam complaint unless the body has "override": true and a "reason". Why a reader is suppressed: GET /api/v1/subscribers/{id}/bounces.',
        security: adminSecurity,
        params: SubscriberParams,
        body: LiftBody,
        response: { 200: SubscriberView },
      },
      // the body is optional (only a complaint's lift needs one): no body is an empty one
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request) => admin.liftSuppression(request.params.id, operatorMeta(request, 'api'), request.body),
  );

  app.post<{ Params: Static<typeof SubscriberParams> }>(
    '/api/v1/subscribers/:id/resend-confirmation',
    {
      schema: {
        tags,
        summary: 'Send a pending reader a fresh confirmation link (older links stop working)',
        security: adminSecurity,
        params: SubscriberParams,
        response: { 200: SubscriberView },
      },
    },
    async (request) => admin.resendConfirmation(request.params.id, operatorMeta(request, 'api')),
  );

  app.post<{ Params: Static<typeof SubscriberParams>; Body: Static<typeof ConfirmBody> }>(
    '/api/v1/subscribers/:id/confirm',
    {
      schema: {
        tags,
        summary: 'Confirm a pending reader by hand, with the reason recorded',
        description:
          'For consent given outside Gazette. The reason and the operator are kept as the consent evidence. 409 unless pending.',
        security: adminSecurity,
        params: SubscriberParams,
        body: ConfirmBody,
        response: { 200: SubscriberView },
      },
    },
    async (request) =>
      admin.confirmManually(request.params.id, request.body.reason, operatorMeta(request, 'api')),
  );
};
