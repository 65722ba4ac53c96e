import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Container } from '../container.js';
import {
  DisableBody,
  EndpointCreate,
  EndpointLog,
  EndpointParams,
  EndpointRefusal,
  EndpointView,
  EndpointWithSecret,
} from '../outbox/schemas.js';
import { adminSecurity } from './admin-auth.js';

/**
 * Endpoints of the outgoing CMS webhooks (ADMIN_TOKEN): create, list, disable, enable, rotate,
 * delete, delivery log. Endpoints from the publication file are listed read-only.
 */
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
        summary: 'List the endpoints (without secrets), those from the publication file read-only',
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
        response: { 200: EndpointView, 404: EndpointRefusal },
      },
    },
    async (request) => endpoints.disable(request.params.id, request.body.reason ?? 'operator'),
  );

  app.post(
    '/api/v1/webhook-endpoints/:id/enable',
    {
      schema: {
        tags,
        summary: 'Send to an endpoint again (after a 410 or a disable); what it missed stays cancelled',
        description:
          'A disabled endpoint stays disabled across restarts, from the publication file too, until this. ' +
          '409 for a file endpoint whose entry was taken out of the file.',
        security: adminSecurity,
        params: EndpointParams,
        response: { 200: EndpointView, 404: EndpointRefusal, 409: EndpointRefusal },
      },
    },
    async (request) => endpoints.enable(request.params.id),
  );

  app.delete(
    '/api/v1/webhook-endpoints/:id',
    {
      schema: {
        tags,
        summary: 'Remove an endpoint with its delivery log; what it was still owed is dropped',
        description:
          '409 for an endpoint in the publication file: remove its entry there (it then keeps its log until deleted here).',
        security: adminSecurity,
        params: EndpointParams,
        response: { 204: Type.Null(), 404: EndpointRefusal, 409: EndpointRefusal },
      },
    },
    async (request, reply) => {
      await endpoints.delete(request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/v1/webhook-endpoints/:id/rotate-secret',
    {
      schema: {
        tags,
        summary: 'A new secret; the old one keeps signing beside it for 24 hours',
        description:
          '409 for an endpoint in the publication file: its secret is the environment variable it names.',
        security: adminSecurity,
        params: EndpointParams,
        response: { 200: EndpointWithSecret, 404: EndpointRefusal, 409: EndpointRefusal },
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
