import type { Readable } from 'node:stream';
import multipart from '@fastify/multipart';
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { Value } from '@sinclair/typebox/value';
import type { Container } from '../container.js';
import { notFound, validationError } from '../errors.js';
import { ColumnMapping } from '../imports/columns.js';
import { EXPORT_COLUMNS, exportRows } from '../imports/export.js';
import { rowReasonCode } from '../imports/row-reasons.js';
import { SubscriberParams } from '../subscriptions/schemas.js';
import { adminSecurity } from './admin-auth.js';
import { csvStream, readFilePart } from './csv-http.js';
import {
  ErasureQuery,
  ErasureView,
  ExportQuery,
  ImportParams,
  ImportPreview,
  ImportQuery,
  ImportView,
  ReaderDataView,
  toImportView,
} from './import-schemas.js';

const UPLOAD_TYPES = ['text/csv', 'application/csv', 'text/plain', 'application/octet-stream'];

function parseMapping(raw: string | undefined): ColumnMapping | undefined {
  if (raw === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw validationError('mapping', 'must be a JSON object of field -> column name');
  }
  if (!Value.Check(ColumnMapping, value)) {
    const e = Value.Errors(ColumnMapping, value).First();
    throw validationError('mapping', `${e?.path || ''} ${e?.message ?? 'is not a column mapping'}`.trim());
  }
  return value;
}

/**
 * List import and export, and the reader's data rights (access and erasure). Operator endpoints
 * under /api/v1 (the admin check applies by prefix); the reader's own data download under
 * /preferences/:token, authenticated by the preferences link.
 */
export const importRoutes: FastifyPluginAsyncTypebox<{ container: Container }> = async (
  app,
  { container },
) => {
  const { imports, readerData, db, tokens } = container;
  // the upload reaches the handler as the request stream: parsed while it arrives, never buffered
  app.addContentTypeParser(UPLOAD_TYPES, (_request, payload, done) => done(null, payload));
  // a browser form's upload: the file part is read as a stream too. One byte over the cap: at the
  // cap itself busboy would end the part quietly (truncated) and the import would take a cut-off
  // file; one byte more reaches the byte counter of csv-source.ts, which refuses it with a 413
  await app.register(multipart, {
    limits: { files: 1, fields: 10, fileSize: container.config.IMPORT_MAX_BYTES + 1 },
  });
  const tags = ['subscribers'];

  app.post(
    '/api/v1/subscribers/import',
    {
      schema: {
        tags,
        summary: 'Import readers from a CSV file (or preview it)',
        description:
          'Body: the CSV file as text/csv, or as the one file part of multipart/form-data (UTF-8, BOM or not; `,` `;` or tab separated, found from the header; quoted fields may hold separators and line breaks). ' +
          'The column names of Mailchimp, listmonk and Substack exports are recognised. With preview=true: the columns, the suggested mapping and the first rows, nothing stored. ' +
          'Otherwise the whole file is staged (a bad file stores nothing: 400 naming the problem) and a background job imports it: follow GET /api/v1/subscribers/imports/{id}, then the per-row report. ' +
          "Besides the address, name, language, frequency, topics and time zone, a file may set each reader's send_hour (0-23), weekly_day (an English or Arabic day name, or 0-6 with 0 = Sunday; empty: the publication's day) and alerts (true/false); empty cells take the defaults. " +
          'Duplicates, invalid values (the reason names the column and the value, e.g. "send_hour must be 0-23, got 25"), suppressed or erased addresses, and rows the old system marked unsubscribed are reported per row, never imported, nothing of them stored.',
        consumes: [...UPLOAD_TYPES, 'multipart/form-data'],
        security: adminSecurity,
        querystring: ImportQuery,
        response: { 200: ImportPreview, 202: ImportView },
      },
    },
    async (request, reply) => {
      const upload = request.isMultipart()
        ? (await readFilePart(request))?.file
        : (request.body as Readable | undefined);
      if (!upload || typeof upload.pipe !== 'function')
        throw validationError(
          'file',
          'send the CSV file as the body with Content-Type: text/csv, or as the file part of multipart/form-data',
        );
      const q = request.query;
      const mapping = parseMapping(q.mapping);
      if (q.preview) {
        const preview = await imports.preview(upload, mapping);
        upload.resume(); // the rest of the file is not needed
        return reply.code(200).send(preview);
      }
      const started = await imports.start(upload, {
        mapping,
        mode: q.mode,
        attestation: q.attestation,
        operator: q.operator ?? 'operator',
        source: q.source ?? 'upload',
      });
      return reply.code(202).send(toImportView(started));
    },
  );

  app.get(
    '/api/v1/subscribers/imports/:id',
    {
      schema: {
        tags,
        summary: "An import's progress and counts",
        security: adminSecurity,
        params: ImportParams,
        response: { 200: ImportView },
      },
    },
    async (request) => toImportView(await imports.get(request.params.id)),
  );

  app.get(
    '/api/v1/subscribers/imports/:id/report',
    {
      schema: {
        tags,
        summary: 'The per-row report of an import (CSV: row, email, outcome, reason, code)',
        description:
          'outcome: imported, duplicate, invalid, suppressed, skipped; empty while the job has not reached the row. reason: an English sentence naming the column and the value; code: the same as a stable code (email_invalid, send_hour, duplicate_in_file, already_reader, ...: src/imports/row-reasons.ts).',
        security: adminSecurity,
        params: ImportParams,
        produces: ['text/csv'],
      },
    },
    async (request, reply) => {
      await imports.get(request.params.id); // 404 before the stream starts
      const rows = (async function* () {
        for await (const r of imports.report(request.params.id))
          yield {
            row: r.row_no,
            email: r.email ?? '',
            outcome: r.outcome ?? '',
            reason: r.reason ?? '',
            code: rowReasonCode(r.reason) ?? '',
          };
      })();
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="import-${request.params.id}.csv"`)
        .send(csvStream(['row', 'email', 'outcome', 'reason', 'code'], rows));
    },
  );

  app.get(
    '/api/v1/subscribers/export',
    {
      schema: {
        tags,
        summary: 'Export subscribers as CSV (streamed), filtered',
        description:
          `Columns: ${EXPORT_COLUMNS.join(', ')}. weekly_day is an English day name (friday), empty for a reader who follows the publication's weekly day; cells a spreadsheet would run as formulas start with an apostrophe. ` +
          'The file imports back as it is (POST /api/v1/subscribers/import): confirmed readers come back with the same preferences, unsubscribed and suppressed ones are reported as skipped.',
        security: adminSecurity,
        querystring: ExportQuery,
        produces: ['text/csv'],
      },
    },
    async (request, reply) =>
      reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="subscribers.csv"')
        .send(csvStream(EXPORT_COLUMNS, exportRows(db, request.query))),
  );

  app.get(
    '/api/v1/subscribers/:id/data',
    {
      schema: {
        tags,
        summary: "A reader's data as JSON: preferences, consent history, deliveries, bounces",
        security: adminSecurity,
        params: SubscriberParams,
        response: { 200: ReaderDataView },
      },
    },
    async (request, reply) =>
      reply
        .header('content-disposition', `attachment; filename="reader-${request.params.id}.json"`)
        .send(await readerData.export(request.params.id)),
  );

  app.delete(
    '/api/v1/subscribers/:id',
    {
      schema: {
        tags,
        summary: 'Erase a reader',
        description:
          'Removes the reader, their consent history, their address on ledger rows, import rows and caught mail, and their queued jobs; keeps a keyed hash of the address on the suppression list, so a later subscribe or import of it is refused. Records who erased which id and when, never the address. Repeating it answers with the first erasure.',
        security: adminSecurity,
        params: SubscriberParams,
        querystring: ErasureQuery,
        response: { 200: ErasureView },
      },
    },
    async (request) => readerData.erase(request.params.id, request.query.by ?? 'operator'),
  );

  app.get(
    '/preferences/:token/data',
    {
      schema: {
        tags: ['subscriptions'],
        summary: "The reader's own data as JSON (linked from the preference centre)",
        params: Type.Object({ token: Type.String({ maxLength: 512 }) }),
        response: { 200: ReaderDataView },
      },
    },
    async (request, reply) => {
      const id = tokens.verifyPreferences(request.params.token);
      if (!id) throw notFound('reader for this link');
      const data = await readerData.export(id);
      return reply
        .header('cache-control', 'no-store')
        .header('content-disposition', 'attachment; filename="my-newsletter-data.json"')
        .send(data);
    },
  );
};
