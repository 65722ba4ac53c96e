import type { Queryable } from '../db/pool.js';
import type { ColumnMapping } from './columns.js';
import type { StagedRow } from './row-parser.js';

/** Owner of `imports` and `import_rows` (CONTEXT.md, "Table owners"). */
export type ImportMode = 'confirm' | 'attested';
export type ImportState = 'queued' | 'running' | 'mailing' | 'done' | 'failed';
export type RowOutcome = 'imported' | 'duplicate' | 'invalid' | 'suppressed' | 'skipped';

export interface ImportRow {
  id: string;
  state: ImportState;
  mode: ImportMode;
  attestation: string | null;
  mapping: ColumnMapping;
  delimiter: string;
  operator: string;
  source: string;
  total_rows: number;
  cursor: number;
  imported: number;
  duplicate: number;
  invalid: number;
  suppressed: number;
  skipped: number;
  mailed: number;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface NewImport {
  id: string;
  mode: ImportMode;
  attestation: string | null;
  mapping: ColumnMapping;
  delimiter: string;
  operator: string;
  source: string;
  at: Date;
}

export async function insertImport(q: Queryable, n: NewImport): Promise<void> {
  await q.query(
    `INSERT INTO imports (id, state, mode, attestation, mapping, delimiter, operator, source, created_at)
     VALUES ($1, 'queued', $2, $3, $4, $5, $6, $7, $8)`,
    [n.id, n.mode, n.attestation, JSON.stringify(n.mapping), n.delimiter, n.operator, n.source, n.at],
  );
}

/**
 * One multi-row INSERT per chunk of staged rows, the rows as one JSON parameter: node-postgres
 * builds array parameters element by element in JavaScript, JSON.stringify is native.
 */
export async function stageRows(q: Queryable, importId: string, rows: StagedRow[]): Promise<void> {
  if (rows.length === 0) return;
  await q.query(
    `INSERT INTO import_rows (import_id, row_no, email, email_key, email_hash, name, language, frequency, topics,
                              timezone, send_hour, weekly_day, alerts, consent_at, consent_source, outcome, reason)
     SELECT $1, r."rowNo", r.email, r."emailKey", decode(r."emailHash", 'hex'), r.name, r.language, r.frequency,
            r.topics, r.timezone, r."sendHour", r."weeklyDay", r.alerts, r."consentAt", r."consentSource",
            r.outcome, r.reason
       FROM json_to_recordset($2::json) AS r("rowNo" int, email text, "emailKey" text, "emailHash" text, name text,
            language text, frequency text, topics text[], timezone text, "sendHour" smallint, "weeklyDay" smallint,
            alerts boolean, "consentAt" timestamptz, "consentSource" text, outcome text, reason text)`,
    [importId, JSON.stringify(rows)],
  );
}

export async function setTotal(q: Queryable, importId: string, total: number): Promise<void> {
  await q.query(`UPDATE imports SET total_rows = $2 WHERE id = $1`, [importId, total]);
}

export async function findImport(q: Queryable, id: string, lock = false): Promise<ImportRow | undefined> {
  const { rows } = await q.query<ImportRow>(
    `SELECT * FROM imports WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0];
}

/** Imports a job still owes work to (after Redis lost its data, their jobs are gone). */
export async function openImports(q: Queryable): Promise<Array<Pick<ImportRow, 'id' | 'state' | 'mailed'>>> {
  const { rows } = await q.query(
    `SELECT id, state, mailed FROM imports WHERE state IN ('queued', 'running', 'mailing') ORDER BY created_at`,
  );
  return rows;
}

export async function setState(
  q: Queryable,
  id: string,
  state: ImportState,
  at: Date,
  error: string | null = null,
): Promise<void> {
  await q.query(
    `UPDATE imports SET state = $2, error = coalesce($4, error),
            started_at = CASE WHEN $2 = 'running' THEN coalesce(started_at, $3) ELSE started_at END,
            finished_at = CASE WHEN $2 IN ('done', 'failed') THEN $3 ELSE finished_at END
      WHERE id = $1`,
    [id, state, at, error],
  );
}

/**
 * Every later row with the address of an earlier row is a duplicate of it (the first one wins).
 * Idempotent: a second run finds no new duplicates.
 */
export async function markDuplicatesInFile(q: Queryable, importId: string): Promise<void> {
  await q.query(
    `UPDATE import_rows r SET outcome = 'duplicate', reason = 'same address as row ' || d.first_row
       FROM (SELECT row_no, min(row_no) OVER (PARTITION BY email_key) AS first_row
               FROM import_rows WHERE import_id = $1 AND outcome IS NULL) d
      WHERE r.import_id = $1 AND r.row_no = d.row_no AND d.first_row <> d.row_no`,
    [importId],
  );
}

/**
 * The rows in (from, to] still without an outcome whose address is on the suppression list, or
 * belongs to a reader Gazette already has (suppressed readers are reported as suppressed).
 */
export async function markKnownAddresses(
  q: Queryable,
  importId: string,
  from: number,
  to: number,
): Promise<void> {
  await q.query(
    // the row keeps its number and outcome, not the address: an erased reader stays erased
    `UPDATE import_rows r SET outcome = 'suppressed', reason = 'address erased earlier: on the suppression list',
            email = NULL, email_key = NULL, email_hash = NULL, name = NULL
      WHERE r.import_id = $1 AND r.row_no > $2 AND r.row_no <= $3 AND r.outcome IS NULL
        AND EXISTS (SELECT 1 FROM suppression_hashes h WHERE h.email_hash = r.email_hash)`,
    [importId, from, to],
  );
  await q.query(
    `UPDATE import_rows r
        SET outcome = CASE WHEN s.status = 'suppressed' THEN 'suppressed' ELSE 'duplicate' END,
            reason = CASE WHEN s.status = 'suppressed' THEN 'address is suppressed'
                          ELSE 'already a reader (' || s.status || ')' END
       FROM subscribers s
      WHERE r.import_id = $1 AND r.row_no > $2 AND r.row_no <= $3 AND r.outcome IS NULL AND s.email_key = r.email_key`,
    [importId, from, to],
  );
}

/** Rows the subscriber store inserted get their reader; the rest of the range lost a race to a signup. */
export async function settleRange(
  q: Queryable,
  importId: string,
  from: number,
  to: number,
  inserted: Array<{ emailKey: string; subscriberId: string }>,
): Promise<void> {
  await q.query(
    `UPDATE import_rows r SET outcome = 'imported', subscriber_id = v.id
       FROM unnest($4::text[], $5::uuid[]) AS v(email_key, id)
      WHERE r.import_id = $1 AND r.row_no > $2 AND r.row_no <= $3 AND r.outcome IS NULL AND r.email_key = v.email_key`,
    [importId, from, to, inserted.map((i) => i.emailKey), inserted.map((i) => i.subscriberId)],
  );
  await q.query(
    `UPDATE import_rows SET outcome = 'duplicate', reason = 'already a reader (subscribed during the import)'
      WHERE import_id = $1 AND row_no > $2 AND row_no <= $3 AND outcome IS NULL`,
    [importId, from, to],
  );
}

/**
 * Adds the outcomes of the rows in (from, to] to the import's counts and moves the cursor past
 * them, in the chunk's transaction (counting the whole import again per chunk made the job
 * quadratic). Rows staged with an outcome (invalid, skipped) are counted with their range.
 */
export async function advance(q: Queryable, importId: string, from: number, to: number): Promise<void> {
  await q.query(
    `UPDATE imports i SET cursor = $3,
            imported = i.imported + c.imported, duplicate = i.duplicate + c.duplicate, invalid = i.invalid + c.invalid,
            suppressed = i.suppressed + c.suppressed, skipped = i.skipped + c.skipped
       FROM (SELECT count(*) FILTER (WHERE outcome = 'imported')::int AS imported,
                    count(*) FILTER (WHERE outcome = 'duplicate')::int AS duplicate,
                    count(*) FILTER (WHERE outcome = 'invalid')::int AS invalid,
                    count(*) FILTER (WHERE outcome = 'suppressed')::int AS suppressed,
                    count(*) FILTER (WHERE outcome = 'skipped')::int AS skipped
               FROM import_rows WHERE import_id = $1 AND row_no > $2 AND row_no <= $3) c
      WHERE i.id = $1 AND i.cursor = $2`,
    [importId, from, to],
  );
}

/** confirm mode: the next imported rows without a confirmation mail, locked for this run. */
export async function takeUnmailed(
  q: Queryable,
  importId: string,
  limit: number,
): Promise<Array<{ rowNo: number; subscriberId: string }>> {
  const { rows } = await q.query<{ row_no: number; subscriber_id: string }>(
    `SELECT row_no, subscriber_id FROM import_rows
      WHERE import_id = $1 AND outcome = 'imported' AND mailed_at IS NULL
      ORDER BY row_no LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [importId, limit],
  );
  return rows.map((r) => ({ rowNo: r.row_no, subscriberId: r.subscriber_id }));
}

export async function markMailed(q: Queryable, importId: string, rowNos: number[], at: Date): Promise<void> {
  if (rowNos.length === 0) return;
  await q.query(`UPDATE import_rows SET mailed_at = $3 WHERE import_id = $1 AND row_no = ANY($2::int[])`, [
    importId,
    rowNos,
    at,
  ]);
  await q.query(`UPDATE imports SET mailed = mailed + $2 WHERE id = $1`, [importId, rowNos.length]);
}

export interface ReportLine {
  row_no: number;
  email: string | null;
  outcome: RowOutcome | null;
  reason: string | null;
}

/** The per-row report in row order, one page after `afterRow`. */
export async function reportPage(q: Queryable, importId: string, afterRow: number, limit: number) {
  const { rows } = await q.query<ReportLine>(
    `SELECT row_no, email, outcome, reason FROM import_rows
      WHERE import_id = $1 AND row_no > $2 ORDER BY row_no LIMIT $3`,
    [importId, afterRow, limit],
  );
  return rows;
}

/** Erasure: the person's rows keep their outcome and row number, nothing of the address. */
export async function scrubAddress(q: Queryable, subscriberId: string, emailKey: string): Promise<number> {
  const res = await q.query(
    `UPDATE import_rows SET email = NULL, email_key = NULL, email_hash = NULL, name = NULL,
            reason = coalesce(reason || '; ', '') || 'erased', subscriber_id = NULL
      WHERE subscriber_id = $1 OR email_key = $2 OR (email_key IS NULL AND strpos(lower(email), $2) > 0)`,
    [subscriberId, emailKey],
  );
  return res.rowCount ?? 0;
}

/** The newest imports first, for the console's list. */
export async function recentImports(q: Queryable, limit: number): Promise<ImportRow[]> {
  const { rows } = await q.query<ImportRow>(
    `SELECT * FROM imports ORDER BY created_at DESC, id DESC LIMIT $1`,
    [limit],
  );
  return rows;
}

/** Rows the job did not import (with their reasons), in row order, one page after `afterRow`. */
export async function rejectedPage(q: Queryable, importId: string, afterRow: number, limit: number) {
  const { rows } = await q.query<ReportLine>(
    `SELECT row_no, email, outcome, reason FROM import_rows
      WHERE import_id = $1 AND row_no > $2 AND outcome IS NOT NULL AND outcome <> 'imported'
      ORDER BY row_no LIMIT $3`,
    [importId, afterRow, limit],
  );
  return rows;
}
