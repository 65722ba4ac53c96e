import type { Queryable } from '../db/pool.js';

/** The operators table: every write to it is here (CONTEXT.md, "Table owners"). */
export type Role = 'admin' | 'editor';

export interface OperatorRow {
  id: string;
  email: string;
  email_key: string;
  password_hash: string;
  role: Role;
  failed_attempts: number;
  first_failed_at: Date | null;
  locked_until: Date | null;
  created_at: Date;
  created_by: string;
  last_sign_in_at: Date | null;
  signed_out_at: Date | null;
}

const COLUMNS = `id, email, email_key, password_hash, role, failed_attempts, first_failed_at, locked_until,
  created_at, created_by, last_sign_in_at, signed_out_at`;

export async function findOperatorByKey(q: Queryable, key: string): Promise<OperatorRow | undefined> {
  const { rows } = await q.query<OperatorRow>(`SELECT ${COLUMNS} FROM operators WHERE email_key = $1`, [key]);
  return rows[0];
}

export async function findOperatorById(q: Queryable, id: string): Promise<OperatorRow | undefined> {
  const { rows } = await q.query<OperatorRow>(`SELECT ${COLUMNS} FROM operators WHERE id = $1`, [id]);
  return rows[0];
}

export async function listOperators(q: Queryable): Promise<OperatorRow[]> {
  const { rows } = await q.query<OperatorRow>(
    `SELECT ${COLUMNS} FROM operators ORDER BY created_at, email_key`,
  );
  return rows;
}

export interface NewOperator {
  email: string;
  emailKey: string;
  passwordHash: string;
  role: Role;
  createdBy: string;
  at: Date;
}

/** Inserts an operator; undefined when the address already is one. */
export async function insertOperator(q: Queryable, o: NewOperator): Promise<OperatorRow | undefined> {
  const { rows } = await q.query<OperatorRow>(
    `INSERT INTO operators (email, email_key, password_hash, role, created_at, created_by)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (email_key) DO NOTHING RETURNING ${COLUMNS}`,
    [o.email, o.emailKey, o.passwordHash, o.role, o.at, o.createdBy],
  );
  return rows[0];
}

/**
 * The first operator, only while there is none: several processes booting at once make one. The
 * advisory lock serialises them (NOT EXISTS alone would let two different addresses in).
 */
export async function insertFirstOperator(q: Queryable, o: NewOperator): Promise<boolean> {
  const { rows } = await q.query(
    `WITH lock AS (SELECT pg_advisory_xact_lock(727027))
     INSERT INTO operators (email, email_key, password_hash, role, created_at, created_by)
     SELECT $1, $2, $3, $4, $5, $6 FROM lock WHERE NOT EXISTS (SELECT 1 FROM operators)
     ON CONFLICT (email_key) DO NOTHING RETURNING id`,
    [o.email, o.emailKey, o.passwordHash, o.role, o.at, o.createdBy],
  );
  return rows.length > 0;
}

/**
 * One wrong password: counted within the window that started at the first failure (an older
 * window starts over), and the operator locked until `lockUntil` once `max` is reached.
 */
export async function recordFailure(
  q: Queryable,
  id: string,
  at: Date,
  windowStart: Date,
  max: number,
  lockUntil: Date,
): Promise<OperatorRow> {
  const { rows } = await q.query<OperatorRow>(
    `UPDATE operators SET
        failed_attempts = CASE WHEN first_failed_at IS NULL OR first_failed_at < $3 THEN 1 ELSE failed_attempts + 1 END,
        first_failed_at = CASE WHEN first_failed_at IS NULL OR first_failed_at < $3 THEN $2 ELSE first_failed_at END
      WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, at, windowStart],
  );
  const row = rows[0]!;
  if (row.failed_attempts < max) return row;
  const locked = await q.query<OperatorRow>(
    `UPDATE operators SET locked_until = $2, failed_attempts = 0, first_failed_at = NULL
      WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, lockUntil],
  );
  return locked.rows[0]!;
}

export async function recordSignIn(q: Queryable, id: string, at: Date): Promise<void> {
  await q.query(
    `UPDATE operators SET last_sign_in_at = $2, failed_attempts = 0, first_failed_at = NULL, locked_until = NULL
      WHERE id = $1`,
    [id, at],
  );
}

export async function setPassword(q: Queryable, id: string, passwordHash: string): Promise<boolean> {
  const res = await q.query(
    'UPDATE operators SET password_hash = $2, failed_attempts = 0, first_failed_at = NULL, locked_until = NULL WHERE id = $1',
    [id, passwordHash],
  );
  return (res.rowCount ?? 0) > 0;
}

export async function unlockOperator(q: Queryable, id: string): Promise<boolean> {
  const res = await q.query(
    'UPDATE operators SET failed_attempts = 0, first_failed_at = NULL, locked_until = NULL WHERE id = $1',
    [id],
  );
  return (res.rowCount ?? 0) > 0;
}

export async function recordSignOut(q: Queryable, id: string, at: Date): Promise<void> {
  await q.query('UPDATE operators SET signed_out_at = $2 WHERE id = $1', [id, at]);
}
