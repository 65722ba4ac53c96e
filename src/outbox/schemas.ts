/** The admin API's webhook endpoint schemas: validation, types and the OpenAPI document (/docs). */
import { type Static, Type } from '@sinclair/typebox';
import { OUTBOX_EVENT_TYPES } from './events.js';

export const EventType = Type.Union(
  OUTBOX_EVENT_TYPES.map((t) => Type.Literal(t)),
  { description: 'An event Gazette reports' },
);

export const EndpointCreate = Type.Object(
  {
    url: Type.String({
      maxLength: 2000,
      description:
        'http(s) URL the events are POSTed to; non-public addresses only if in FETCH_ALLOWED_HOSTS',
      examples: ['https://cms.example.com/gazette-events'],
    }),
    events: Type.Array(EventType, { minItems: 1, maxItems: 5, uniqueItems: true }),
    description: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type EndpointCreate = Static<typeof EndpointCreate>;

export const EndpointView = Type.Object(
  {
    id: Type.String(),
    url: Type.String(),
    description: Type.String(),
    events: Type.Array(Type.String()),
    enabled: Type.Boolean(),
    disabledReason: Type.Union([Type.String(), Type.Null()]),
    disabledAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    createdAt: Type.String({ format: 'date-time' }),
    source: Type.Union([Type.Literal('api'), Type.Literal('file')], {
      description: 'file: from the publication file ("webhooks"), synced at every start',
    }),
    fileId: Type.Union([Type.String(), Type.Null()], { description: "the file entry's id" }),
    readOnly: Type.Boolean({
      description:
        'in the publication file now: rotate-secret and delete answer 409 (disable and enable work)',
    }),
    removedFromFileAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description: 'its entry left the file: no new events, its log stays',
    }),
  },
  {
    examples: [
      {
        id: '3f1c9a52-7d0e-4b8a-9c61-2a5e8f4d7b10',
        url: 'https://cms.example.com/gazette-events',
        description: 'WordPress plugin',
        events: ['subscriber.confirmed', 'subscriber.unsubscribed'],
        enabled: true,
        disabledReason: null,
        disabledAt: null,
        createdAt: '2026-11-29T08:00:00.000Z',
        source: 'file',
        fileId: 'cms',
        readOnly: true,
        removedFromFileAt: null,
      },
    ],
  },
);
export type EndpointView = Static<typeof EndpointView>;

/** Shown once, when the endpoint is created and when its secret is rotated. */
export const EndpointWithSecret = Type.Intersect([
  EndpointView,
  Type.Object({
    secret: Type.String({
      description: 'whsec_<base64>: verify webhook-signature with it (Standard Webhooks)',
    }),
  }),
]);

export const EndpointParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
export const DisableBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);

export const EndpointLog = Type.Object({
  items: Type.Array(
    Type.Object({
      deliveryId: Type.Integer(),
      eventId: Type.String(),
      type: Type.String(),
      attempt: Type.Integer(),
      status: Type.Union([Type.Integer(), Type.Null()]),
      error: Type.Union([Type.String(), Type.Null()]),
      state: Type.String({
        description: 'the delivery now: pending, sending, delivered, failed or cancelled',
      }),
      durationMs: Type.Union([Type.Integer(), Type.Null()], {
        description: 'how long the attempt took; null for attempts logged before durations were kept',
      }),
      attemptedAt: Type.String({ format: 'date-time' }),
    }),
  ),
});

/** Refusals: unknown id (404), or a change the file owns (409). */
export const EndpointRefusal = Type.Object(
  { error: Type.String(), message: Type.String() },
  {
    examples: [
      {
        error: 'GZ_CONFLICT',
        message:
          'endpoint "cms" is configured in the publication file (webhooks): remove its entry there and restart',
      },
    ],
  },
);
