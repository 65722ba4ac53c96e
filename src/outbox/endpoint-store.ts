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
}

const COLS = 'id, url, description, events, secret, enabled, disabled_reason, disabled_at, created_at';

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
