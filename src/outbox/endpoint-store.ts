/** Owner of webhook_endpoints: the CMS addresses Gazette reports events to, and their secrets. */
import type { Queryable } from '../db/pool.js';

export interface EndpointRow {
  id: string;
  url: string;
  description: string;
  events: string[];
  secret: string;
  enabled: boolean;
  disabled_reason: string | null;
  disabled_at: Date | null;
  created_at: Date;
  /** the entry's id in the publication file; null: made through the admin API */
  file_key: string | null;
  /** the entry left the file: no new events, its row and log stay */
  removed_from_file_at: Date | null;
}

const COLS =
  'id, url, description, events, secret, enabled, disabled_reason, disabled_at, created_at, file_key, removed_from_file_at';

export async function insertEndpoint(
  q: Queryable,
  e: { url: string; description: string; events: string[]; secret: string; at: Date },
): Promise<EndpointRow> {
  const { rows } = await q.query<EndpointRow>(
    `INSERT INTO webhook_endpoints (url, description, events, secret, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $5) RETURNING ${COLS}`,
    [e.url, e.description, e.events, e.secret, e.at],
  );
  return rows[0]!;
}

export async function listEndpoints(q: Queryable): Promise<EndpointRow[]> {
  const { rows } = await q.query<EndpointRow>(
    `SELECT ${COLS} FROM webhook_endpoints ORDER BY created_at, id`,
  );
  return rows;
}

export async function findEndpoint(q: Queryable, id: string, lock = false): Promise<EndpointRow | undefined> {
  const { rows } = await q.query<EndpointRow>(
    `SELECT ${COLS} FROM webhook_endpoints WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0];
}

/** Returns false when it was already disabled (or does not exist). */
export async function disableEndpoint(q: Queryable, id: string, reason: string, at: Date): Promise<boolean> {
  const res = await q.query(
    `UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2, disabled_at = $3, updated_at = $3
      WHERE id = $1 AND enabled`,
    [id, reason.slice(0, 500), at],
  );
  return (res.rowCount ?? 0) > 0;
}

/** A new secret; the old one keeps signing beside it until `previousUntil`, so the CMS can switch. */
export async function rotateEndpointSecret(
  q: Queryable,
  id: string,
  secret: string,
  previousUntil: Date,
  at: Date,
): Promise<EndpointRow | undefined> {
  const { rows } = await q.query<EndpointRow>(
    `UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_until = $3, secret = $2, updated_at = $4
      WHERE id = $1 RETURNING ${COLS}`,
    [id, secret, previousUntil, at],
  );
  return rows[0];
}

/** Back on after a 410 or an operator's disable; false when it was enabled already (or is gone). */
export async function enableEndpoint(q: Queryable, id: string, at: Date): Promise<boolean> {
  const res = await q.query(
    `UPDATE webhook_endpoints SET enabled = true, disabled_reason = NULL, disabled_at = NULL, updated_at = $2
      WHERE id = $1 AND NOT enabled`,
    [id, at],
  );
  return (res.rowCount ?? 0) > 0;
}

/** The endpoint, its delivery rows and its log (ON DELETE CASCADE); false when there was none. */
export async function deleteEndpoint(q: Queryable, id: string): Promise<boolean> {
  const res = await q.query('DELETE FROM webhook_endpoints WHERE id = $1', [id]);
  return (res.rowCount ?? 0) > 0;
}

export type FileSync = 'inserted' | 'updated' | 'unchanged';

/**
 * One publication-file entry, inserted or brought up to date by its key (ON CONFLICT: processes
 * starting together make one row). Whether it is enabled is left alone, so an endpoint a 410 (or
 * an operator) disabled stays disabled across restarts. A changed secret keeps the old one signing
 * beside it until `previousUntil`, as a rotation through the API does.
 */
export async function upsertFileEndpoint(
  q: Queryable,
  e: { key: string; url: string; description: string; events: string[]; secret: string },
  at: Date,
  previousUntil: Date,
): Promise<FileSync> {
  const { rows } = await q.query<{ inserted: boolean }>(
    `INSERT INTO webhook_endpoints AS w (file_key, url, description, events, secret, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $6)
     ON CONFLICT (file_key) DO UPDATE
        SET url = EXCLUDED.url, description = EXCLUDED.description, events = EXCLUDED.events,
            secret = EXCLUDED.secret,
            previous_secret = CASE WHEN w.secret <> EXCLUDED.secret THEN w.secret ELSE w.previous_secret END,
            previous_secret_until = CASE WHEN w.secret <> EXCLUDED.secret THEN $7 ELSE w.previous_secret_until END,
            removed_from_file_at = NULL, updated_at = $6
      WHERE (w.url, w.description, w.events, w.secret, w.removed_from_file_at IS NULL)
            IS DISTINCT FROM (EXCLUDED.url, EXCLUDED.description, EXCLUDED.events, EXCLUDED.secret, true)
     RETURNING (xmax = 0) AS inserted`,
    [e.key, e.url, e.description, e.events, e.secret, at, previousUntil],
  );
  const r = rows[0];
  return r === undefined ? 'unchanged' : r.inserted ? 'inserted' : 'updated';
}

/** File endpoints whose entry is no longer in the file (`keys`): marked, their ids returned. */
export async function markRemovedFromFile(q: Queryable, keys: string[], at: Date): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(
    `UPDATE webhook_endpoints SET removed_from_file_at = $2, updated_at = $2
      WHERE file_key IS NOT NULL AND removed_from_file_at IS NULL AND NOT (file_key = ANY ($1::text[]))
      RETURNING id`,
    [keys, at],
  );
  return rows.map((r) => r.id);
}
