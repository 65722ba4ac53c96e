import { type Static, Type } from '@sinclair/typebox';
import { preferencesExample, subscribeExample, subscriberExample, suppressExample } from './examples.js';

/**
 * The subscription domain's schemas, shared by request validation, TypeScript types and the
 * OpenAPI document. The hosted form, the JSON API and the preferences page use the same field
 * names. Rules that depend on the publication (topic ids) or on Intl (time zones) are checked
 * by validate.ts, which names the field the same way.
 */
export const Frequency = Type.Union(
  [Type.Literal('immediate'), Type.Literal('daily'), Type.Literal('weekly')],
  {
    description: 'How often digests arrive: as articles appear (immediate), once a day, or once a week',
  },
);
export type Frequency = Static<typeof Frequency>;

export const LanguageField = Type.Union([Type.Literal('ar'), Type.Literal('en')], {
  description: 'Language of the newsletter and of the pages',
});

const Email = Type.String({
  description:
    'One mailbox address. Internationalised domains are accepted and stored in punycode. At most 254 octets, 64 in the local part.',
  examples: ['reader@example.com'],
});
const Name = Type.String({ description: 'How to greet the reader (optional, at most 100 characters)' });
const Topics = Type.Array(Type.String(), {
  description: "Topic ids from the publication's list. Omitted: every topic.",
  maxItems: 100,
});
const Alerts = Type.Boolean({ description: 'Receive breaking-news alerts as they happen' });
const Timezone = Type.String({
  description: "IANA time zone for the send hour, e.g. Asia/Riyadh. Omitted: the publication's zone.",
});
const SendHour = Type.Integer({
  minimum: 0,
  maximum: 23,
  description: "Local hour (0-23) for daily and weekly digests. Omitted: the publication's default (07:00).",
});

const WeeklyDay = Type.Integer({
  minimum: 0,
  maximum: 6,
  description:
    "Day of the weekly digest in the reader's time zone, 0 = Sunday ... 6 = Saturday (5: Friday). " +
    "Omitted: the publication's weekly day. Used when frequency is weekly.",
});

export const PreferenceFields = {
  topics: Type.Optional(Topics),
  frequency: Type.Optional(Frequency),
  alerts: Type.Optional(Alerts),
  language: Type.Optional(LanguageField),
  timezone: Type.Optional(Timezone),
  sendHour: Type.Optional(SendHour),
  weeklyDay: Type.Optional(WeeklyDay),
};

const Altcha = Type.String({
  maxLength: 2000,
  description:
    'A solved proof-of-work challenge from GET /api/v1/subscriptions/challenge: base64 of the JSON ' +
    '{algorithm, challenge, number, salt, signature} (the ALTCHA payload). Required when ALTCHA_MODE is ' +
    'always, or high-volume while the volume of requests is high; each challenge is accepted once.',
});

export const SubscribeBody = Type.Object(
  { email: Email, name: Type.Optional(Name), ...PreferenceFields, altcha: Type.Optional(Altcha) },
  {
    additionalProperties: false,
    title: 'SubscribeRequest',
    description: 'A subscription request; a confirmation mail follows',
    examples: [subscribeExample],
  },
);
export type SubscribeBody = Static<typeof SubscribeBody>;

export const PreferencesBody = Type.Object(PreferenceFields, {
  additionalProperties: false,
  title: 'Preferences',
  description: 'The fields to change; absent ones keep their value',
  examples: [preferencesExample],
});
export type PreferencesBody = Static<typeof PreferencesBody>;

export const Accepted = Type.Object(
  { status: Type.Literal('pending') },
  {
    title: 'SubscribeAccepted',
    description:
      'Always the same answer, whatever the state of the address, so the API cannot tell whether someone is subscribed',
  },
);

export const ChallengeResponse = Type.Object(
  {
    rendered: Type.String({
      description:
        'Signed issue time: an embedded form posts it back as embed_rendered, as its proof of the minimum time-to-submit',
    }),
    altcha: Type.Union(
      [
        Type.Object({
          algorithm: Type.Literal('SHA-256'),
          challenge: Type.String({ description: 'hex SHA-256 of salt + the secret number' }),
          maxnumber: Type.Integer({ description: 'the number is at most this' }),
          salt: Type.String(),
          signature: Type.String({
            description: 'HMAC of the challenge, checked when the solution comes back',
          }),
        }),
        Type.Null(),
      ],
      { description: 'the proof-of-work to solve; null when ALTCHA_MODE is off' },
    ),
    expiresInSeconds: Type.Integer({
      description: 'the challenge must be solved and posted within this time (client clocks may differ)',
    }),
  },
  {
    title: 'SubscribeChallenge',
    description: 'What a subscription form needs before it posts: a timing proof and a proof-of-work',
  },
);

export const SubscriberStatus = Type.Union(
  [
    Type.Literal('pending'),
    Type.Literal('confirmed'),
    Type.Literal('unsubscribed'),
    Type.Literal('suppressed'),
    Type.Literal('paused'),
  ],
  {
    description:
      'pending: waiting for the confirmation click; suppressed: never mailed again; paused: did not answer the re-permission mail, not mailed until they or an operator resume',
  },
);
export type SubscriberStatus = Static<typeof SubscriberStatus>;

const Timestamp = Type.String({ format: 'date-time' });
const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);

export const SubscriberView = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    email: Type.String(),
    name: Type.Union([Type.String(), Type.Null()]),
    status: SubscriberStatus,
    language: LanguageField,
    topics: Type.Array(Type.String()),
    frequency: Frequency,
    alerts: Type.Boolean(),
    timezone: Type.String(),
    sendHour: Type.Integer(),
    weeklyDay: Type.Union([Type.Integer({ minimum: 0, maximum: 6 }), Type.Null()], {
      description: "0 = Sunday ... 6 = Saturday; null: the publication's weekly day",
    }),
    createdAt: Timestamp,
    confirmedAt: NullableTimestamp,
    unsubscribedAt: NullableTimestamp,
    suppressedReason: Type.Union([Type.String(), Type.Null()]),
  },
  { title: 'Subscriber', examples: [subscriberExample] },
);
export type SubscriberView = Static<typeof SubscriberView>;

export const ConsentEventView = Type.Object({
  event: Type.String({
    description:
      'subscribe_requested, confirmed, preferences_changed, unsubscribed, suppressed, resubscribed',
  }),
  source: Type.String({ description: 'form, embed, api, email link, one-click, operator' }),
  consentVersion: Type.Union([Type.String(), Type.Null()]),
  consentText: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Unknown()),
  occurredAt: Timestamp,
});
export type ConsentEventView = Static<typeof ConsentEventView>;

export const DeliveryView = Type.Object({
  id: Type.Integer(),
  kind: Type.String(),
  state: Type.String(),
  attempts: Type.Integer(),
  createdAt: Timestamp,
  sentAt: NullableTimestamp,
  error: Type.Union([Type.String(), Type.Null()]),
});

export const SubscriberDetail = Type.Intersect(
  [
    SubscriberView,
    Type.Object({ consent: Type.Array(ConsentEventView), deliveries: Type.Array(DeliveryView) }),
  ],
  { title: 'SubscriberDetail' },
);
export type SubscriberDetail = Static<typeof SubscriberDetail>;

export const ListQuery = Type.Object({
  email: Type.Optional(Type.String({ description: 'exact address (case-insensitive, IDN or punycode)' })),
  status: Type.Optional(SubscriberStatus),
  cursor: Type.Optional(Type.String({ description: 'nextCursor from the previous page' })),
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
});
export type ListQuery = Static<typeof ListQuery>;

export const SubscriberPage = Type.Object(
  {
    items: Type.Array(SubscriberView),
    nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'null on the last page' }),
  },
  { title: 'SubscriberPage' },
);
export type SubscriberPage = Static<typeof SubscriberPage>;

export const SubscriberParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const SuppressBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 200, description: 'why (kept on the subscriber)' })) },
  { additionalProperties: false, title: 'SuppressRequest', examples: [suppressExample] },
);
