import type { FastifyPluginAsync } from 'fastify';
import type { Container } from '../container.js';
import type { EditionKind, EditionState } from '../digests/types.js';
import { adminSecurity } from './admin-auth.js';
import {
  DryRun,
  Edition,
  EditionList,
  EditionListQuery,
  EditionParams,
  Html,
  PreviewQuery,
  ResendAccepted,
  SendAccepted,
  SendBody,
  TestBody,
  TokenQuery,
} from './digest-schemas.js';

const HTML_HEADERS = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' };

export const digestRoutes: FastifyPluginAsync<{ container: Container }> = async (app, { container }) => {
  const { operator } = container.digests;
  const tags = ['digests'];

  app.post<{ Body: SendBody }>(
    '/api/v1/digests/send',
    {
      schema: {
        tags,
        summary: 'Send a digest now',
        description:
          'Selects confirmed readers (by language, frequency, topics) and sends each the selected articles they have not received yet. One edition per distinct article set, rendered once. dryRun reports who would get what instead.',
        security: adminSecurity,
        body: SendBody,
        response: { 200: DryRun, 202: SendAccepted },
      },
    },
    async (request, reply) => {
      const { dryRun, ...criteria } = request.body;
      if (dryRun)
        return reply.status(200).send({ dryRun: true as const, ...(await operator.dryRun(criteria)) });
      return reply.status(202).send(await operator.send(criteria));
    },
  );

  app.post<{ Body: TestBody }>(
    '/api/v1/digests/test',
    {
      schema: {
        tags,
        summary: 'Send one real test copy to one address',
        description: 'Not recorded as received by any reader.',
        security: adminSecurity,
        body: TestBody,
        response: { 202: SendAccepted },
      },
    },
    async (request, reply) => {
      const { id } = await operator.testSend(request.body);
      return reply.status(202).send({ runId: null, editions: [{ id }] });
    },
  );

  app.get<{ Querystring: PreviewQuery }>(
    '/api/v1/digests/preview',
    {
      // a browser cannot send a bearer header to a preview page: there the token may be ?token=
      config: { adminQueryToken: true },
      schema: {
        tags,
        summary: 'Preview the digest a reader with these settings would get now (HTML)',
        security: adminSecurity,
        querystring: PreviewQuery,
        response: { 200: Html },
      },
    },
    async (request, reply) => {
      const { language, frequency, topics } = request.query;
      const html = await operator.previewDigest({
        language,
        frequency: frequency ?? 'daily',
        topics: (topics ?? '')
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
      });
      return reply.headers(HTML_HEADERS).send(html);
    },
  );

  app.get<{ Querystring: EditionListQuery }>(
    '/api/v1/editions',
    {
      schema: {
        tags,
        summary: 'Editions, newest first, with their delivery counts',
        description:
          'Filter by state, kind, language and frequency; page with offset and limit (total counts every match).',
        security: adminSecurity,
        querystring: EditionListQuery,
        response: { 200: EditionList },
      },
    },
    async (request) => {
      const { state, kind, ...rest } = request.query;
      return operator.list({
        ...rest,
        state: state as EditionState | undefined,
        kind: kind as EditionKind | undefined,
      });
    },
  );

  app.get<{ Params: EditionParams }>(
    '/api/v1/editions/:id',
    {
      schema: {
        tags,
        summary: 'An edition with its delivery counts',
        security: adminSecurity,
        params: EditionParams,
        response: { 200: Edition },
      },
    },
    async (request) => operator.get(request.params.id),
  );

  app.get<{ Params: EditionParams; Querystring: { token?: string } }>(
    '/api/v1/editions/:id/preview',
    {
      // a browser cannot send a bearer header to a preview page: there the token may be ?token=
      config: { adminQueryToken: true },
      schema: {
        tags,
        summary: 'The edition as stored, with a generic greeting (HTML)',
        security: adminSecurity,
        params: EditionParams,
        querystring: TokenQuery,
        response: { 200: Html },
      },
    },
    async (request, reply) =>
      reply.headers(HTML_HEADERS).send(await operator.previewEdition(request.params.id)),
  );

  const actions = [
    ['pause', 'Pause sending: batches leave pending rows alone until resumed'],
    ['resume', 'Resume a paused edition (expired instead if it is too old to send)'],
    ['cancel', 'Cancel: pending rows are cancelled; mail already sent is not recalled'],
  ] as const;
  for (const [action, summary] of actions) {
    app.post<{ Params: EditionParams }>(
      `/api/v1/editions/:id/${action}`,
      {
        schema: { tags, summary, security: adminSecurity, params: EditionParams, response: { 200: Edition } },
      },
      async (request) => operator[action](request.params.id),
    );
  }

  app.post<{ Params: EditionParams }>(
    '/api/v1/editions/:id/resend-failed',
    {
      schema: {
        tags,
        summary: 'Send the edition again to readers whose delivery failed',
        description:
          'New ledger rows with new dedupe keys; readers whose row was sent or ambiguous are never included.',
        security: adminSecurity,
        params: EditionParams,
        response: { 202: ResendAccepted },
      },
    },
    async (request, reply) => reply.status(202).send(await operator.resendFailed(request.params.id)),
  );
};
