import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { type Db, withTransaction } from '../db/pool.js';
import { createConfirmationRows } from '../delivery/reader-rows.js';
import { notFound, validationError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Publication } from '../publication.js';
import { newNonce } from '../security/tokens.js';
import { insertImportedChunk, startImportConfirmations } from '../subscriptions/subscriber-import-store.js';
import { confirmationDedupeKey } from '../subscriptions/subscription-service.js';
import type { AddressHasher } from '../subscriptions/suppression-store.js';
import {
  type ColumnMapping,
  type KnownFormat,
  recognizeFormat,
  resolveMapping,
  suggestMapping,
} from './columns.js';
import { type CsvSource, openCsv } from './csv-source.js';
import {
  advance,
  findImport,
  type ImportMode,
  type ImportRow,
  insertImport,
  markDuplicatesInFile,
  markKnownAddresses,
  markMailed,
  openImports,
  type ReportLine,
  recentImports,
  rejectedPage,
  reportPage,
  setState,
  setTotal,
  settleRange,
  stageRows,
  takeUnmailed,
} from './import-store.js';
import { createRowParser, type StagedRow } from './row-parser.js';
import { type RowReasonCode, rowReasonCode } from './row-reasons.js';

/** What the import needs from the queues; container.ts builds it over the typed queue map. */
export interface ImportJobs {
  run(importId: string): Promise<void>;
  /** the paced round of confirmation mails numbered `round` (mails created before it), after `delayMs` */
  mail(importId: string, round: number, delayMs: number): Promise<void>;
  /** hands confirmation ledger rows to the transactional queue, behind signups' confirmations */
  confirmations(deliveryIds: number[]): Promise<void>;
}

export interface ImportDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  publication: Publication;
  config: Pick<Config, 'DEFAULT_LANGUAGE' | 'IMPORT_MAX_BYTES' | 'IMPORT_CONFIRMATIONS_PER_MINUTE'>;
  hasher: AddressHasher;
  jobs: ImportJobs;
}

export interface ImportOptions {
  mapping?: ColumnMapping;
  mode: ImportMode;
  attestation?: string;
  operator: string;
  source: string;
}

type Upload = AsyncIterable<Buffer | string>;

/** rows staged per INSERT while the upload streams in */
const STAGE_CHUNK = 2000;
/** rows settled per transaction by the job */
const PROCESS_CHUNK = 5000;
/** a paced round of confirmation mails every this many ms */
export const MAIL_ROUND_MS = 10_000;
const PREVIEW_ROWS = 10;

export function createImportService(deps: ImportDeps) {
  const { db, clock, log, publication, config, hasher, jobs } = deps;
  const perRound = Math.max(1, Math.ceil((config.IMPORT_CONFIRMATIONS_PER_MINUTE * MAIL_ROUND_MS) / 60_000));

  const parserFor = (csv: CsvSource, mapping: ColumnMapping, mode?: ImportMode) =>
    createRowParser({
      attested: mode === 'attested',
      publication,
      defaultLanguage: config.DEFAULT_LANGUAGE,
      hasher,
      columns: resolveMapping(csv.header, mapping),
    });

  return {
    /** The columns, the mapping Gazette suggests, and the first rows as that mapping reads them. */
    async preview(upload: Upload, mapping?: ColumnMapping) {
      const csv = await openCsv(upload, config.IMPORT_MAX_BYTES);
      const suggested = suggestMapping(csv.header);
      const used = mapping ?? suggested;
      const parse = used.email ? parserFor(csv, used) : undefined;
      const rows: Array<{
        row: number;
        cells: Record<string, string>;
        outcome: string | null;
        reason: string | null;
        code: RowReasonCode | null;
      }> = [];
      let n = 0;
      for await (const record of csv.records) {
        n++;
        const staged = parse?.(record, n);
        rows.push({
          row: n,
          cells: Object.fromEntries(csv.header.map((h, i) => [h || `column ${i + 1}`, record[i] ?? ''])),
          outcome: staged?.outcome ?? null,
          reason: staged?.reason ?? null,
          code: rowReasonCode(staged?.reason ?? null),
        });
        if (n >= PREVIEW_ROWS) break;
      }
      return {
        delimiter: csv.delimiter,
        format: recognizeFormat(csv.header) as KnownFormat | null,
        columns: csv.header,
        suggestedMapping: suggested,
        rows,
      };
    },

    /**
     * Stages the whole file in one transaction as it streams in (nothing is kept of a file that
     * turns out bad), then queues the job that imports it. Returns the import.
     */
    async start(upload: Upload, opts: ImportOptions): Promise<ImportRow> {
      if (opts.mode === 'attested' && !opts.attestation?.trim())
        throw validationError(
          'attestation',
          'attested mode needs the statement of how these readers consented',
        );
      const csv = await openCsv(upload, config.IMPORT_MAX_BYTES);
      const mapping = opts.mapping ?? suggestMapping(csv.header);
      const parse = parserFor(csv, mapping, opts.mode);
      const id = randomUUID();
      const at = clock.now();
      await withTransaction(db, async (tx) => {
        await insertImport(tx, {
          id,
          mode: opts.mode,
          attestation: opts.mode === 'attested' ? opts.attestation!.trim() : null,
          mapping,
          delimiter: csv.delimiter,
          operator: opts.operator,
          source: opts.source,
          at,
        });
        let chunk: StagedRow[] = [];
        let n = 0;
        for await (const record of csv.records) {
          chunk.push(parse(record, ++n));
          if (chunk.length >= STAGE_CHUNK) {
            await stageRows(tx, id, chunk);
            chunk = [];
          }
        }
        await stageRows(tx, id, chunk);
        await setTotal(tx, id, n);
      });
      try {
        await jobs.run(id);
      } catch (err) {
        // stored: the imports sweep queues it once Redis answers
        log.warn(
          { importId: id, err: (err as Error).message },
          'import stored but not queued (redis unreachable)',
        );
      }
      log.info({ importId: id, mode: opts.mode, operator: opts.operator }, 'import staged and queued');
      return (await findImport(db, id))!;
    },

    /** The job: outcomes for every staged row, chunk by chunk from the cursor (a restart resumes). */
    async run(importId: string): Promise<ImportRow['state'] | 'missing'> {
      const imp = await findImport(db, importId);
      if (!imp) return 'missing';
      if (imp.state !== 'queued' && imp.state !== 'running') return imp.state;
      await setState(db, importId, 'running', clock.now());
      if (imp.cursor === 0) await markDuplicatesInFile(db, importId);
      for (let from = imp.cursor; from < imp.total_rows; from += PROCESS_CHUNK) {
        const to = Math.min(imp.total_rows, from + PROCESS_CHUNK);
        await withTransaction(db, async (tx) => {
          await markKnownAddresses(tx, importId, from, to);
          const inserted = await insertImportedChunk(tx, {
            importId,
            fromRow: from,
            toRow: to,
            mode: imp.mode,
            attestation: imp.attestation,
            operator: imp.operator,
            sendHour: publication.digest.defaultSendHour,
            consentVersion: publication.consent.version,
            consentText: publication.consent.text,
            at: clock.now(),
          });
          await settleRange(tx, importId, from, to, inserted);
          await advance(tx, importId, from, to);
        });
      }
      const after = (await findImport(db, importId))!;
      if (after.mode === 'confirm' && after.imported > 0) {
        await setState(db, importId, 'mailing', clock.now());
        await jobs.mail(importId, 0, 0);
        return 'mailing';
      }
      await setState(db, importId, 'done', clock.now());
      log.info({ importId, imported: after.imported, total: after.total_rows }, 'import done');
      return 'done';
    },

    /**
     * One paced round of confirmation mails (IMPORT_CONFIRMATIONS_PER_MINUTE): nonces, ledger rows
     * and the queue, then the next round. Each mail then goes through the transactional sender and
     * its share of the global send rate, like any other confirmation.
     */
    async mailRound(importId: string): Promise<'more' | 'done' | 'missing'> {
      const imp = await findImport(db, importId);
      if (!imp) return 'missing';
      if (imp.state !== 'mailing') return 'done';
      const at = clock.now();
      const { deliveryIds, taken } = await withTransaction(db, async (tx) => {
        const rows = await takeUnmailed(tx, importId, perRound);
        const started = await startImportConfirmations(
          tx,
          rows.map((r) => ({ subscriberId: r.subscriberId, nonce: newNonce() })),
          at,
        );
        const ids = await createConfirmationRows(
          tx,
          started.map((s) => ({ ...s, dedupeKey: confirmationDedupeKey(s.subscriberId, s.nonce) })),
          at,
        );
        await markMailed(
          tx,
          importId,
          rows.map((r) => r.rowNo),
          at,
        );
        return { deliveryIds: ids, taken: rows.length };
      });
      await jobs.confirmations(deliveryIds);
      if (taken < perRound) {
        await setState(db, importId, 'done', clock.now());
        return 'done';
      }
      // rounds are numbered by the mails created before them: the same in every process, so a
      // round enqueued twice (a retry, the recovery after a Redis loss) runs once
      await jobs.mail(importId, imp.mailed + taken, MAIL_ROUND_MS);
      return 'more';
    },

    /**
     * After Redis lost its data: the job of every import still open. Every process runs this; the
     * job ids are the same in all of them (the mail round is numbered by the mails created so far),
     * so one job per import survives, and the row cursor makes a repeated run resume, not redo.
     */
    async requeueOpen(): Promise<number> {
      const open = await openImports(db);
      for (const imp of open) {
        if (imp.state === 'mailing') await jobs.mail(imp.id, imp.mailed, 0);
        else await jobs.run(imp.id);
      }
      return open.length;
    },

    /** The job gave up: the import is failed, with the reason (rows already settled stay). */
    async fail(importId: string, message: string): Promise<void> {
      await setState(db, importId, 'failed', clock.now(), message.slice(0, 500));
    },

    async get(importId: string): Promise<ImportRow> {
      const imp = await findImport(db, importId);
      if (!imp) throw notFound('import');
      return imp;
    },

    /** The newest imports, for the console's list. */
    list(limit = 20): Promise<ImportRow[]> {
      return recentImports(db, limit);
    },

    /** The rows not imported, with their reasons: the first `limit` after row `afterRow`. */
    async rejected(importId: string, afterRow = 0, limit = 50): Promise<ReportLine[]> {
      await this.get(importId);
      return rejectedPage(db, importId, afterRow, limit);
    },

    /** The per-row report, page by page (flat memory whatever the size of the import). */
    async *report(importId: string): AsyncGenerator<ReportLine> {
      await this.get(importId);
      let after = 0;
      for (;;) {
        const page = await reportPage(db, importId, after, 5000);
        yield* page;
        if (page.length < 5000) return;
        after = page[page.length - 1]!.row_no;
      }
    },
  };
}

export type ImportService = ReturnType<typeof createImportService>;
