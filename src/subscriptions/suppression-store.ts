import { createHmac } from 'node:crypto';
import type { Queryable } from '../db/pool.js';

/**
 * The suppression list of erased addresses, kept only as keyed hashes, and the record of each
 * erasure (who, when, which subscriber id; never the address). Owner of `suppression_hashes` and
 * `erasures`.
 *
 * The hash is HMAC-SHA256 of the lower-cased address under a key derived from SECRET_KEY, so the
 * list cannot be reversed by hashing a dictionary of addresses without the server's secret. Checks
 * also try the key derived from SECRET_KEY_PREVIOUS, so a rotation does not forget erasures.
 */
export interface AddressHasher {
  /** the hash under the current key (what is stored) */
  hash(emailKey: string): Buffer;
  /** the hashes a stored entry may have (current key, then the previous one) */
  candidates(emailKey: string): Buffer[];
}

export function createAddressHasher(secretKey: string, previousKey?: string): AddressHasher {
  const derive = (secret: string) => createHmac('sha256', secret).update('gazette-suppression-v1').digest();
  const keys = [derive(secretKey), ...(previousKey ? [derive(previousKey)] : [])];
  const mac = (key: Buffer, emailKey: string) => createHmac('sha256', key).update(emailKey, 'utf8').digest();
  return {
    hash: (emailKey) => mac(keys[0]!, emailKey),
    candidates: (emailKey) => keys.map((k) => mac(k, emailKey)),
  };
}

export async function isSuppressedHash(q: Queryable, hashes: Buffer[]): Promise<boolean> {
  const { rows } = await q.query(
    `SELECT 1 FROM suppression_hashes WHERE email_hash = ANY($1::bytea[]) LIMIT 1`,
    [hashes],
  );
  return rows.length > 0;
}

export async function addSuppressionHash(q: Queryable, hash: Buffer, at: Date): Promise<void> {
  await q.query(
    `INSERT INTO suppression_hashes (email_hash, reason, created_at) VALUES ($1, 'erased', $2)
     ON CONFLICT (email_hash) DO NOTHING`,
    [hash, at],
  );
}

export async function recordErasure(
  q: Queryable,
  e: { subscriberId: string; erasedBy: string; at: Date; details: Record<string, unknown> },
): Promise<void> {
  await q.query(
    `INSERT INTO erasures (subscriber_id, erased_by, erased_at, details) VALUES ($1, $2, $3, $4)`,
    [e.subscriberId, e.erasedBy, e.at, JSON.stringify(e.details)],
  );
}

export interface ErasureView {
  subscriberId: string;
  erasedBy: string;
  erasedAt: string;
  details: Record<string, unknown>;
}

export async function findErasure(q: Queryable, subscriberId: string): Promise<ErasureView | undefined> {
  const { rows } = await q.query(
    `SELECT subscriber_id, erased_by, erased_at, details FROM erasures WHERE subscriber_id = $1 ORDER BY id DESC LIMIT 1`,
    [subscriberId],
  );
  const r = rows[0];
  return r
    ? {
        subscriberId: r.subscriber_id,
        erasedBy: r.erased_by,
        erasedAt: (r.erased_at as Date).toISOString(),
        details: r.details,
      }
    : undefined;
}
