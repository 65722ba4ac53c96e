import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/pool.js';
import { sealCountsForPruning } from '../digests/edition-state-store.js';
import type { Logger } from '../logger.js';
import { deletePrunedRows } from './delivery-store.js';

/**
 * Ledger retention: per-reader delivery rows of editions are kept DELIVERY_RETENTION_DAYS, then
 * deleted in bounded chunks. Before the first row of an edition goes, its complete counts are
 * stored in editions.final_counts and ledger_pruned_at is set, so the counts are never
 * recomputed from a partial ledger. Transactional rows (no edition) are left alone: their
 * dedupe keys guard against resending confirmation mail.
 *
 * An edition with rows still pending or sending past the retention window is not touched and is
 * reported as stuck: deleting would hide a delivery problem.
 */
export interface RetentionDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  config: Pick<Config, 'DELIVERY_RETENTION_DAYS'>;
}

export interface RetentionOptions {
  /** rows per DELETE (default 1000) */
  chunkSize?: number;
  /** DELETEs per call (default 50); the maintenance job runs again later for the rest */
  maxChunks?: number;
  /** editions whose counts are stored per call (default 500) */
  maxEditions?: number;
}

export interface RetentionResult {
  cutoff: Date;
  editionsSealed: number;
  stuckEditions: string[];
  rowsDeleted: number;
  /** false when the chunk budget ran out before every old row was gone */
  complete: boolean;
}

/** Call from the `digests` queue's `maintenance` job (or any scheduler), as often as you like. */
export async function pruneDeliveryLedger(
  deps: RetentionDeps,
  opts: RetentionOptions = {},
): Promise<RetentionResult> {
  const { db, clock, log, config } = deps;
  const chunkSize = opts.chunkSize ?? 1000;
  const maxChunks = opts.maxChunks ?? 50;
  const maxEditions = opts.maxEditions ?? 500;
  const now = clock.now();
  const cutoff = new Date(now.getTime() - config.DELIVERY_RETENTION_DAYS * 24 * 3600 * 1000);

  // 1. seal: complete counts of every edition about to lose rows, stored once
  const sealed = await sealCountsForPruning(db, cutoff, now, maxEditions);
  const stuck = await db.query<{ edition_id: string }>(
    `SELECT DISTINCT d.edition_id FROM deliveries d JOIN editions e ON e.id = d.edition_id
      WHERE d.created_at < $1 AND e.ledger_pruned_at IS NULL AND d.state IN ('pending', 'sending')
      LIMIT 100`,
    [cutoff],
  );
  const stuckEditions = stuck.rows.map((r) => r.edition_id);
  if (stuckEditions.length > 0) {
    log.warn(
      { editions: stuckEditions, cutoff },
      'editions with rows still pending or sending past the retention window: not pruned',
    );
  }

  // 2. delete the detail of sealed editions, a bounded chunk at a time
  let rowsDeleted = 0;
  let complete = false;
  for (let i = 0; i < maxChunks; i++) {
    const deleted = await deletePrunedRows(db, cutoff, chunkSize);
    rowsDeleted += deleted;
    if (deleted < chunkSize) {
      complete = true;
      break;
    }
  }
  const result = {
    cutoff,
    editionsSealed: sealed,
    stuckEditions,
    rowsDeleted,
    complete: complete && sealed < maxEditions,
  };
  log.info({ ...result, stuckEditions: stuckEditions.length }, 'delivery ledger pruned');
  return result;
}
