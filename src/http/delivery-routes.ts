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

/** Operator controls over bulk sending: see why it is paused, and resume it once fixed. */
export const deliveryRoutes: FastifyPluginAsync<{ container: Container }> = async (app, { container }) => {
  const { sendingPause: control } = container;

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
