import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Container } from '../container.js';
import { adminSecurity } from './admin-auth.js';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

const SendingStatus = Type.Object({
  paused: Type.Boolean({ description: 'true while the bulk queues (send, alerts) are paused' }),
  reason: Nullable(Type.String()),
  since: Nullable(Type.String({ format: 'date-time' })),
  editionId: Nullable(Type.String({ description: 'the edition whose send met the refusal' })),
  error: Nullable(Type.String({ description: 'the SMTP reply or error that paused sending' })),
  queues: Type.Object(
    { send: Type.Boolean(), alerts: Type.Boolean() },
    { description: 'paused flag per queue' },
  ),
});

const ProviderState = Type.Object({
  provider: Type.String({ description: 'receiving provider (gmail, microsoft, ... or a domain of its own)' }),
  level: Type.Integer({
    description: '0 at full speed; each throttling reply raises it, each level halves its rate',
  }),
  until: Nullable(Type.String({ format: 'date-time', description: 'backing off (no new rows) until then' })),
  throttles: Type.Integer({ description: 'throttling replies met so far' }),
  lastError: Nullable(Type.String({ description: 'the last throttling reply' })),
});

/** Operator controls over bulk sending: see why it is paused, and resume it once fixed. */
export const deliveryRoutes: FastifyPluginAsync<{ container: Container }> = async (app, { container }) => {
  const { sendingPause: control, providerGate } = container;

  app.get(
    '/api/v1/sending/providers',
    {
      schema: {
        tags: ['delivery'],
        summary: 'Receiving providers that throttled Gazette, and their backoff',
        description:
          'Providers that answered too fast (421, 4.7.x, TS0x) or dropped connections mid-transaction in a storm: their rows wait pending while the others go on at full speed.',
        security: adminSecurity,
        response: { 200: Type.Object({ providers: Type.Array(ProviderState) }) },
      },
    },
    async () => ({ providers: await providerGate.states() }),
  );

  app.get(
    '/api/v1/sending',
    {
      schema: {
        tags: ['delivery'],
        summary: 'Whether bulk sending is paused, and why',
        security: adminSecurity,
        response: { 200: SendingStatus },
      },
    },
    async () => control.status(),
  );

  app.post<{ Body: { reason: string } }>(
    '/api/v1/sending/pause',
    {
      schema: {
        tags: ['delivery'],
        summary: 'Pause all bulk sending (digests and alerts) until resumed',
        description:
          'Pauses the send and alerts queues everywhere: no worker takes another batch; confirmations and other transactional mail go on. The reason is kept and shown until POST /api/v1/sending/resume. An earlier pause keeps its reason.',
        security: adminSecurity,
        body: Type.Object(
          { reason: Type.String({ minLength: 3, maxLength: 300, description: 'why sending is paused' }) },
          { additionalProperties: false },
        ),
        response: { 200: SendingStatus },
      },
    },
    async (request) => {
      await control.pause({ reason: request.body.reason.trim() });
      return control.status();
    },
  );

  app.post(
    '/api/v1/sending/resume',
    {
      schema: {
        tags: ['delivery'],
        summary: 'Resume bulk sending after the cause of a pause is fixed',
        description:
          'Resumes the send and alerts queues; batches held while paused continue, and their rows still pending are sent.',
        security: adminSecurity,
        response: { 200: SendingStatus },
      },
    },
    async (request) => {
      const status = await control.resume();
      request.log.info({ alert: 'sending_resumed' }, 'sending resumed by an operator');
      return status;
    },
  );
};
