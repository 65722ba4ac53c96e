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

const RelayState = Type.Object({
  relay: Type.String({ description: "the relay's URL without user, password, path or query" }),
  position: Type.Integer({ description: '0 for SMTP_URL, then each SMTP_FALLBACK_URLS entry in order' }),
  state: Type.Union([Type.Literal('in'), Type.Literal('out')], {
    description: 'in: takes traffic in its turn; out: failed before a message left, probed until it answers',
  }),
  since: Nullable(Type.String({ format: 'date-time', description: 'when it was taken out' })),
  error: Nullable(Type.String({ description: 'the failure that took it out' })),
});

const RelayList = Type.Object(
  { relays: Type.Array(RelayState) },
  {
    examples: [
      {
        relays: [
          {
            relay: 'smtps://smtp.primary.example:465',
            position: 0,
            state: 'out',
            since: '2026-12-07T06:58:12.000Z',
            error: 'ESOCKET CONN connect ECONNREFUSED 203.0.113.7:465',
          },
          { relay: 'smtp://fallback.example:587', position: 1, state: 'in', since: null, error: null },
        ],
      },
    ],
  },
);

/** Operator controls over bulk sending: see why it is paused, and resume it once fixed. */
export const deliveryRoutes: FastifyPluginAsync<{ container: Container }> = async (app, { container }) => {
  const { sendingPause: control, providerGate, relayBoard } = container;

  app.get(
    '/api/v1/sending/relays',
    {
      schema: {
        tags: ['delivery'],
        summary: 'The SMTP relays in order of preference, and which are taken out',
        description:
          'Mail goes to the first relay in; one that fails before a message left (refused, reset, 421 at the greeting, authentication, 4.3.x) is taken out for every worker, the message goes to the next, and the relay is probed every RELAY_PROBE_INTERVAL_MS until it answers. Credentials are never shown.',
        security: adminSecurity,
        response: { 200: RelayList },
      },
    },
    async () => ({ relays: await relayBoard.states() }),
  );

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
