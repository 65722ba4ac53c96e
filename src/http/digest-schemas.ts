import { type Static, Type } from '@sinclair/typebox';
import { Frequency, LanguageField as Language } from '../subscriptions/schemas.js';
import { dryRunSendExample, testSendExample } from './openapi-examples.js';

/** Schemas of the operator digest API and the public archive: validation, types and OpenAPI. */

const Uuid = Type.String({ format: 'uuid' });
const TopicId = Type.String({
  pattern: '^[a-z0-9][a-z0-9-]*$',
  description: 'A topic id from the publication config',
});

export const SendBody = Type.Object(
  {
    topics: Type.Optional(
      Type.Array(TopicId, {
        maxItems: 50,
        description: 'Only articles in these topics (readers get those they follow)',
      }),
    ),
    language: Type.Optional(Language),
    frequency: Type.Optional(Frequency),
    lookbackHours: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 24 * 31,
        default: 24,
        description: 'Articles first published within this many hours (ignored with articleIds)',
      }),
    ),
    articleIds: Type.Optional(
      Type.Array(Uuid, {
        minItems: 1,
        maxItems: 100,
        description: 'Exactly these articles (published ones only)',
      }),
    ),
    dryRun: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'Report who would get what, without creating or sending anything',
      }),
    ),
  },
  {
    additionalProperties: false,
    title: 'DigestSendRequest',
    description: 'Try it with dryRun: true first: the answer says who would get what',
    examples: [dryRunSendExample],
  },
);
export type SendBody = Static<typeof SendBody>;

export const EditionRef = Type.Object({ id: Uuid });

export const SendAccepted = Type.Object(
  {
    runId: Type.Union([Type.String(), Type.Null()], { description: 'Operator run the editions belong to' }),
    editions: Type.Array(EditionRef, {
      description:
        'One edition per distinct (language, frequency, article set); empty when nobody has anything new',
    }),
  },
  {
    title: 'DigestSendAccepted',
    description: 'Editions created; readers are added and sent in the background',
  },
);

export const DryRun = Type.Object(
  {
    dryRun: Type.Literal(true),
    recipients: Type.Integer({ description: 'Readers who would get a digest' }),
    articles: Type.Integer({ description: 'Candidate articles selected' }),
    editions: Type.Array(
      Type.Object({
        language: Language,
        frequency: Frequency,
        recipients: Type.Integer(),
        hasMore: Type.Boolean({ description: 'More articles than fit: the mail links to the site' }),
        articles: Type.Array(Type.Object({ id: Uuid, title: Type.String() })),
        sample: Type.Array(Type.String(), { description: 'A few recipient addresses' }),
      }),
    ),
    languageGaps: Type.Array(
      Type.Object({
        language: Language,
        readers: Type.Integer(),
        articlesByLanguage: Type.Record(Type.String(), Type.Integer()),
        message: Type.String(),
      }),
      {
        description:
          "Readers who would get nothing because every selected article is in another language (see each article's language and languageOrigin in GET /api/v1/articles)",
      },
    ),
  },
  { title: 'DigestDryRun', description: 'Who would get what' },
);

export const TestBody = Type.Object(
  {
    email: Type.String({
      pattern: '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$',
      maxLength: 254,
      description: 'Where to send the copy',
    }),
    language: Language,
    articleIds: Type.Optional(
      Type.Array(Uuid, { minItems: 1, maxItems: 100, description: 'Default: the latest published articles' }),
    ),
  },
  { additionalProperties: false, title: 'TestSendRequest', examples: [testSendExample] },
);
export type TestBody = Static<typeof TestBody>;

export const EditionParams = Type.Object({ id: Uuid });
export type EditionParams = Static<typeof EditionParams>;
export const ArchiveParams = Type.Object({ editionId: Uuid });
export type ArchiveParams = Static<typeof ArchiveParams>;

const Counts = Type.Object(
  {
    planned: Type.Integer({ description: 'Ledger rows created for the edition (all states)' }),
    pending: Type.Integer(),
    sending: Type.Integer(),
    sent: Type.Integer(),
    failed: Type.Integer(),
    ambiguous: Type.Integer({ description: 'Outcome unknown (crash mid-send); never resent' }),
    suppressed: Type.Integer(),
    cancelled: Type.Integer(),
    bounced: Type.Integer({
      description:
        'Rows with a hard, soft or block bounce (a refusal at send time, a DSN, or a relay webhook); a refused row is also counted in failed',
    }),
    complained: Type.Integer({
      description: 'Rows whose reader marked the message as spam (feedback loops)',
    }),
    autoReplied: Type.Integer({ description: 'Rows answered by an out-of-office or other auto-reply' }),
  },
  {
    description:
      'From the ledger, or the counts kept when retention pruned it; bounced, complained and autoReplied from the bounce reports, which outlive retention',
  },
);

export const Edition = Type.Object(
  {
    id: Uuid,
    kind: Type.Union([Type.Literal('digest'), Type.Literal('alert'), Type.Literal('test')]),
    state: Type.Union(
      ['planned', 'sending', 'paused', 'cancelled', 'sent', 'expired'].map((s) => Type.Literal(s)),
      { description: 'planned: no batch yet; sending: batches persisted; sent: no row left to send' },
    ),
    template: Type.String(),
    language: Language,
    frequency: Type.Union([Frequency, Type.Null()]),
    subject: Type.Union([Type.String(), Type.Null()]),
    dueAt: Type.String({ format: 'date-time' }),
    createdAt: Type.String({ format: 'date-time' }),
    createdBy: Type.String({ description: 'planner, alerts, api, api-test or resend' }),
    batchCount: Type.Integer(),
    articleIds: Type.Array(Uuid),
    resendOf: Type.Union([Uuid, Type.Null()]),
    archiveUrl: Type.String({ description: 'Public web copy ("view in browser")' }),
    counts: Counts,
  },
  { title: 'Edition' },
);

export const ResendAccepted = Type.Object({
  editions: Type.Array(EditionRef, {
    description: 'The copy sent to readers whose row failed (empty: none)',
  }),
  recipients: Type.Integer(),
});

export const PreviewQuery = Type.Object({
  language: Language,
  frequency: Type.Optional(
    Type.Union([Type.Literal('immediate'), Type.Literal('daily'), Type.Literal('weekly')], {
      default: 'daily',
    }),
  ),
  topics: Type.Optional(Type.String({ description: 'Comma-separated topic ids; empty = all topics' })),
  token: Type.Optional(Type.String({ description: 'ADMIN_TOKEN, so a browser can open the preview' })),
});
export type PreviewQuery = Static<typeof PreviewQuery>;

export const TokenQuery = Type.Object({
  token: Type.Optional(Type.String({ description: 'ADMIN_TOKEN, so a browser can open the preview' })),
});

export const Html = Type.String({ description: 'text/html' });

const Paging = {
  offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0, description: 'rows to skip' }),
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 25 }),
};

export const EditionListQuery = Type.Object({
  state: Type.Optional(
    Type.Union(['planned', 'sending', 'paused', 'cancelled', 'sent', 'expired'].map((s) => Type.Literal(s))),
  ),
  kind: Type.Optional(Type.Union([Type.Literal('digest'), Type.Literal('alert'), Type.Literal('test')])),
  language: Type.Optional(Language),
  frequency: Type.Optional(Frequency),
  ...Paging,
});
export type EditionListQuery = Static<typeof EditionListQuery>;

export const EditionList = Type.Object(
  {
    items: Type.Array(Edition),
    total: Type.Integer({ description: 'editions matching the filters, all pages' }),
    offset: Type.Integer(),
    limit: Type.Integer(),
  },
  { title: 'EditionList' },
);
