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

export const EndpointView = Type.Object({
  id: Type.String(),
  url: Type.String(),
  description: Type.String(),
  events: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  disabledReason: Type.Union([Type.String(), Type.Null()]),
  disabledAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});
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
      attemptedAt: Type.String({ format: 'date-time' }),
    }),
  ),
});
