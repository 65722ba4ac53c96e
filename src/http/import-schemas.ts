import { type Static, Type } from '@sinclair/typebox';
import { ColumnMapping } from '../imports/columns.js';
import type { ImportRow } from '../imports/import-store.js';
import { ROW_REASON_CODES } from '../imports/row-reasons.js';
import { ConsentEventView, LanguageField, SubscriberStatus } from '../subscriptions/schemas.js';

/** Schemas of the import, export and data-rights endpoints: validation, types and OpenAPI. */
const Timestamp = Type.String({ format: 'date-time' });
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const ImportQuery = Type.Object({
  preview: Type.Optional(
    Type.Boolean({
      description: 'true: read the header and the first rows only, store nothing (the default is false)',
    }),
  ),
  mode: Type.Union([Type.Literal('confirm'), Type.Literal('attested')], {
    default: 'confirm',
    description:
      'confirm: each new reader gets the double opt-in mail (paced, IMPORT_CONFIRMATIONS_PER_MINUTE); attested: readers are confirmed at once and `attestation` is kept as their consent evidence',
  }),
  attestation: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 2000,
      description: 'attested mode: how and when these readers consented (kept on each consent event)',
    }),
  ),
  mapping: Type.Optional(
    Type.String({
      maxLength: 4000,
      description:
        'JSON object reader field -> column name, e.g. {"email":"Email Address","name":"الاسم"}; fields: email, name, firstName, lastName, language, frequency, topics, timezone, consentDate, consentSource, status, emailDisabled. Omitted: the suggested mapping',
    }),
  ),
  source: Type.Optional(
    Type.String({ maxLength: 200, description: 'a label for the file (its name), kept on the import' }),
  ),
  operator: Type.Optional(
    Type.String({
      maxLength: 200,
      description: 'who runs the import (the console passes the signed-in operator)',
    }),
  ),
});
export type ImportQuery = Static<typeof ImportQuery>;

export const ImportPreview = Type.Object({
  delimiter: Type.String({ description: 'the separator found in the header line' }),
  format: Type.Union(
    [Type.Literal('mailchimp'), Type.Literal('listmonk'), Type.Literal('substack'), Type.Null()],
    {
      description: 'the export the header looks like, if any',
    },
  ),
  columns: Type.Array(Type.String()),
  suggestedMapping: ColumnMapping,
  rows: Type.Array(
    Type.Object({
      row: Type.Integer({ description: 'data row number, 1 = the first row after the header' }),
      cells: Type.Record(Type.String(), Type.String()),
      outcome: Type.Union([Type.String(), Type.Null()], {
        description: 'invalid or skipped when the row cannot be imported whatever the list holds',
      }),
      reason: Type.Union([Type.String(), Type.Null()]),
      code: Type.Union([Type.Union(ROW_REASON_CODES.map((c) => Type.Literal(c))), Type.Null()], {
        description:
          'the reason as a stable code (src/imports/row-reasons.ts); the reason text stays as it was',
      }),
    }),
  ),
});

export const ImportView = Type.Object({
  id: Type.String({ format: 'uuid' }),
  state: Type.Union(
    ['queued', 'running', 'mailing', 'done', 'failed'].map((s) => Type.Literal(s)),
    { description: 'mailing: readers are in, confirmation mails are being created at the paced rate' },
  ),
  mode: Type.Union([Type.Literal('confirm'), Type.Literal('attested')]),
  attestation: Type.Union([Type.String(), Type.Null()]),
  mapping: ColumnMapping,
  delimiter: Type.String(),
  operator: Type.String(),
  source: Type.String(),
  totalRows: Type.Integer(),
  processedRows: Type.Integer(),
  counts: Type.Object({
    imported: Type.Integer(),
    duplicate: Type.Integer({ description: 'in the file already, or already a reader' }),
    invalid: Type.Integer(),
    suppressed: Type.Integer({ description: 'suppressed or erased addresses' }),
    skipped: Type.Integer({ description: 'unsubscribed, cleaned or blocklisted in the file' }),
  }),
  mailed: Type.Integer({ description: 'confirm mode: confirmation mails created so far' }),
  error: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
  startedAt: Nullable(Timestamp),
  finishedAt: Nullable(Timestamp),
});
export type ImportView = Static<typeof ImportView>;

export function toImportView(r: ImportRow): ImportView {
  return {
    id: r.id,
    state: r.state,
    mode: r.mode,
    attestation: r.attestation,
    mapping: r.mapping,
    delimiter: r.delimiter,
    operator: r.operator,
    source: r.source,
    totalRows: r.total_rows,
    processedRows: r.cursor,
    counts: {
      imported: r.imported,
      duplicate: r.duplicate,
      invalid: r.invalid,
      suppressed: r.suppressed,
      skipped: r.skipped,
    },
    mailed: r.mailed,
    error: r.error,
    createdAt: r.created_at.toISOString(),
    startedAt: r.started_at?.toISOString() ?? null,
    finishedAt: r.finished_at?.toISOString() ?? null,
  };
}

export const ImportParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const ExportQuery = Type.Object({
  status: Type.Optional(SubscriberStatus),
  language: Type.Optional(LanguageField),
  frequency: Type.Optional(
    Type.Union([Type.Literal('immediate'), Type.Literal('daily'), Type.Literal('weekly')]),
  ),
  topic: Type.Optional(Type.String({ maxLength: 100, description: 'readers who get this topic id' })),
});

export const ReaderDataView = Type.Object(
  {
    exportedAt: Timestamp,
    subscriber: Type.Object({
      id: Type.String({ format: 'uuid' }),
      email: Type.String(),
      name: Type.Union([Type.String(), Type.Null()]),
      status: SubscriberStatus,
      createdAt: Timestamp,
      confirmedAt: Nullable(Timestamp),
      unsubscribedAt: Nullable(Timestamp),
      suppressedReason: Type.Union([Type.String(), Type.Null()]),
    }),
    preferences: Type.Object({
      language: LanguageField,
      topics: Type.Array(Type.String()),
      frequency: Type.String(),
      alerts: Type.Boolean(),
      timezone: Type.String(),
      sendHour: Type.Integer(),
    }),
    consent: Type.Array(ConsentEventView),
    deliveries: Type.Array(
      Type.Object({
        id: Type.Integer(),
        kind: Type.String(),
        state: Type.String(),
        editionId: Type.Union([Type.String(), Type.Null()]),
        subject: Type.Union([Type.String(), Type.Null()]),
        createdAt: Timestamp,
        sentAt: Nullable(Timestamp),
      }),
    ),
    bounces: Type.Array(
      Type.Object({
        id: Type.Integer(),
        class: Type.String({ description: 'hard, soft, block, complaint, auto-reply or unknown' }),
        source: Type.String({ description: 'smtp, inbound (DSN/ARF by mail) or the relay that reported it' }),
        deliveryId: Type.Union([Type.Integer(), Type.Null()]),
        editionId: Type.Union([Type.String(), Type.Null()]),
        status: Type.Union([Type.String(), Type.Null()], { description: 'the SMTP status code, e.g. 5.1.1' }),
        diagnostic: Type.Union([Type.String(), Type.Null()]),
        at: Timestamp,
      }),
      { description: 'the bounce, complaint and auto-reply reports received about the reader' },
    ),
    imports: Type.Array(
      Type.Object({
        importId: Type.String(),
        row: Type.Integer(),
        outcome: Type.String(),
        mode: Type.String(),
        at: Timestamp,
      }),
    ),
  },
  { description: "Everything Gazette holds about one reader (the reader's right of access)" },
);

export const ErasureQuery = Type.Object({
  by: Type.Optional(
    Type.String({
      maxLength: 200,
      description: 'who erases (recorded; the console passes the signed-in operator)',
    }),
  ),
});

export const ErasureView = Type.Object({
  subscriberId: Type.String({ format: 'uuid' }),
  erasedBy: Type.String(),
  erasedAt: Timestamp,
  alreadyErased: Type.Boolean({ description: 'true: this id was erased before; nothing more to do' }),
  details: Type.Record(Type.String(), Type.Unknown(), {
    description:
      'what was removed: consent events, ledger rows scrubbed, import rows, caught mail, queued jobs',
  }),
});
