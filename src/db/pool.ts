import { userInfo } from 'node:os';
import pg from 'pg';

export type Db = pg.Pool;
export type DbClient = pg.PoolClient;
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

// timestamptz comes back as Date (pg default); bigint counts as numbers: our counts stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/**
 * libpq falls back to the OS user when the URL names none; node-postgres only reads $USER, which
 * service managers and CI shells often leave unset. Do what psql would.
 */
export function withDefaultUser(connectionString: string): string {
  const url = new URL(connectionString);
  if (!url.username) url.username = process.env.PGUSER ?? userInfo().username;
  return url.toString();
}

export function createPool(connectionString: string, max: number): Db {
  const pool = new pg.Pool({
    connectionString: withDefaultUser(connectionString),
    max,
    application_name: 'gazette',
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  return pool;
}

/** Runs fn in a transaction on one pooled client; rolls back on any throw. */
export async function withTransaction<T>(db: Db, fn: (client: DbClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** Creates the database named in the URL when it does not exist yet (first start on a fresh machine). */
export async function ensureDatabase(rawConnectionString: string): Promise<void> {
  const connectionString = withDefaultUser(rawConnectionString);
  const url = new URL(connectionString);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) return;
  const probe = new pg.Client({ connectionString });
  try {
    await probe.connect();
    return;
  } catch (err) {
    if ((err as { code?: string }).code !== '3D000') throw err; // 3D000: invalid_catalog_name
  } finally {
    await probe.end().catch(() => {});
  }
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } catch (err) {
    if ((err as { code?: string }).code !== '42P04') throw err; // another process created it first
  } finally {
    await admin.end();
  }
}
