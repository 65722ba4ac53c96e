import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Container } from '../container.js';
import {
  ListQuery,
  SubscriberDetail,
  SubscriberPage,
  SubscriberParams,
  SubscriberView,
  SuppressBody,
} from '../subscriptions/schemas.js';
import { adminSecurity } from './admin-auth.js';
import { requestMeta as meta } from './reader-http.js';

/** The operators' subscriber endpoints (ADMIN_TOKEN): list, one reader's record, suppression. */
export const subscriberAdminRoutes: FastifyPluginAsyncTypebox<{ container: Container }> = async (
  app,
  { container },
) => {
  const service = container.subscriptions;

  app.get(
    '/api/v1/subscribers',
    {
      schema: {
        tags: ['operators'],
        summary: 'List subscribers',
        description: 'Filter by exact address or status; page with nextCursor.',
        security: adminSecurity,
        querystring: ListQuery,
        response: { 200: SubscriberPage },
      },
    },
    async (request) => service.list(request.query),
  );

  app.get(
    '/api/v1/subscribers/:id',
    {
      schema: {
        tags: ['operators'],
        summary: 'One subscriber with the consent history and recent deliveries',
        security: adminSecurity,
        params: SubscriberParams,
        response: { 200: SubscriberDetail },
      },
    },
    async (request) => service.detail(request.params.id),
  );

  app.post(
    '/api/v1/subscribers/:id/suppress',
    {
      // the body is optional: a bare POST blocks with reason "operator"
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        tags: ['operators'],
        summary: 'Block an address: no mail of any kind is sent to it again',
        security: adminSecurity,
        params: SubscriberParams,
        body: SuppressBody,
        response: { 200: SubscriberView },
      },
    },
    async (request) =>
      service.suppress(request.params.id, request.body.reason ?? 'operator', meta(request, 'operator')),
  );
};
