import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Container } from '../container.js';
import {
  DisableBody,
  EndpointCreate,
  EndpointLog,
  EndpointParams,
  EndpointView,
  EndpointWithSecret,
} from '../outbox/schemas.js';
import { adminSecurity } from './admin-auth.js';

/** Endpoints of the outgoing CMS webhooks (ADMIN_TOKEN): create, list, disable, rotate, delivery log. */
export const webhookEndpointRoutes: FastifyPluginAsyncTypebox<{ container: Container }> = async (
  app,
  { container },
) => {
  const endpoints = container.webhookEndpoints;
  const tags = ['webhooks to the CMS'];

  app.post(
    '/api/v1/webhook-endpoints',
    {
      schema: {
        tags,
        summary: 'Add an endpoint; the answer carries its whsec_ secret (shown here and on rotation only)',
        security: adminSecurity,
        body: EndpointCreate,
        response: { 201: EndpointWithSecret },
      },
    },
    async (request, reply) => reply.code(201).send(await endpoints.create(request.body)),
  );

  app.get(
    '/api/v1/webhook-endpoints',
    {
      schema: {
        tags,
        summary: 'List the endpoints (without secrets)',
        security: adminSecurity,
        response: { 200: Type.Array(EndpointView) },
      },
    },
    async () => endpoints.list(),
  );

  app.post(
    '/api/v1/webhook-endpoints/:id/disable',
    {
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        tags,
        summary: 'Stop sending to an endpoint; what it was still owed is cancelled',
        security: adminSecurity,
        params: EndpointParams,
        body: DisableBody,
        response: { 200: EndpointView },
      },
    },
    async (request) => endpoints.disable(request.params.id, request.body.reason ?? 'operator'),
  );

  app.post(
    '/api/v1/webhook-endpoints/:id/rotate-secret',
    {
      schema: {
        tags,
        summary: 'A new secret; the old one keeps signing beside it for 24 hours',
        security: adminSecurity,
        params: EndpointParams,
        response: { 200: EndpointWithSecret },
      },
    },
    async (request) => endpoints.rotateSecret(request.params.id),
  );

  app.get(
    '/api/v1/webhook-endpoints/:id/deliveries',
    {
      schema: {
        tags,
        summary: "The endpoint's delivery log: every attempt, newest first",
        security: adminSecurity,
        params: EndpointParams,
        response: { 200: EndpointLog },
      },
    },
    async (request) => endpoints.log(request.params.id),
  );
};
