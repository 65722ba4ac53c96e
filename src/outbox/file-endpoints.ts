/**
 * Webhook endpoints kept in the publication file ("webhooks"), beside those made through the admin
 * API. Checked at boot (every error names its entry), then synced into webhook_endpoints at every
 * start by the entry's id: idempotent, so any number of processes may start at once. The admin API
 * shows them read-only (their url, events and secret come from the file and the environment). An
 * entry taken out of the file keeps its row and delivery log; it takes no new events, and what it
 * was still owed is cancelled (as on a disable), since the file no longer says where or how to sign.
 * Whether an endpoint is enabled is not the file's to say: one a 410 disabled stays disabled until
 * an operator enables it (POST /api/v1/webhook-endpoints/{id}/enable).
 */
import type { Clock } from '../clock.js';
import { ConfigError } from '../config.js';
import { type Db, withTransaction } from '../db/pool.js';
import type { WebhookEndpointEntry } from '../publication.js';
import { type FileSync, markRemovedFromFile, upsertFileEndpoint } from './endpoint-store.js';
import { cancelEndpointDeliveries } from './outbox-store.js';

/** How long a secret changed in the environment still signs beside the new one. */
export const PREVIOUS_SECRET_MS = 24 * 3600 * 1000;

export interface FileEndpoint {
  key: string;
  url: string;
  description: string;
  events: string[];
  secret: string;
}

/** whsec_ then the base64 of 24 to 64 bytes (Standard Webhooks' secret format). */
function isWhsec(value: string): boolean {
  if (!value.startsWith('whsec_')) return false;
  const b64 = value.slice('whsec_'.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return false;
  const bytes = Buffer.from(b64, 'base64');
  return (
    bytes.toString('base64').replace(/=+$/, '') === b64.replace(/=+$/, '') &&
    bytes.length >= 24 &&
    bytes.length <= 64
  );
}

/** The file's entries with their secrets from the environment; throws a ConfigError naming the entry. */
export function resolveFileEndpoints(
  entries: WebhookEndpointEntry[],
  secrets: Readonly<Record<string, string>>,
  label = 'PUBLICATION_CONFIG',
): FileEndpoint[] {
  return entries.map((e, i) => {
    const field = `${label} field webhooks.${i} ("${e.id}").secretEnv`;
    const secret = secrets[e.secretEnv]?.trim();
    if (!secret)
      throw new ConfigError(
        `${field}: environment variable ${e.secretEnv} is not set (it holds this endpoint's whsec_ secret)`,
      );
    if (!isWhsec(secret))
      throw new ConfigError(
        `${field}: environment variable ${e.secretEnv} is not a whsec_ secret (whsec_ then base64 of 24 to 64 random bytes, e.g. whsec_$(openssl rand -base64 32))`,
      );
    return {
      key: e.id,
      url: new URL(e.url).href,
      description: e.description,
      events: e.events,
      secret,
    };
  });
}

export interface FileSyncResult {
  inserted: string[];
  updated: string[];
  /** endpoint ids whose entry left the file at this start */
  removed: string[];
}

export async function syncFileEndpoints(
  deps: { db: Db; clock: Clock },
  endpoints: FileEndpoint[],
): Promise<FileSyncResult> {
  const at = deps.clock.now();
  const previousUntil = new Date(at.getTime() + PREVIOUS_SECRET_MS);
  return withTransaction(deps.db, async (tx) => {
    const result: FileSyncResult = { inserted: [], updated: [], removed: [] };
    for (const e of endpoints) {
      const outcome: FileSync = await upsertFileEndpoint(tx, e, at, previousUntil);
      if (outcome !== 'unchanged') result[outcome].push(e.key);
    }
    result.removed = await markRemovedFromFile(
      tx,
      endpoints.map((e) => e.key),
      at,
    );
    for (const id of result.removed) await cancelEndpointDeliveries(tx, id, at);
    return result;
  });
}
