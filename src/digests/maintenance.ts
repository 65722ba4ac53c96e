/**
 * Periodic repair and housekeeping for editions (also run once when a worker process starts):
 * batches left without a live job (a crash between the commit and the enqueue, a job failed for
 * good), fan-outs that stopped, editions too old to start, retention of the ledger and of the
 * outgoing webhooks' outbox.
 */
import { pruneDeliveryLedger } from '../delivery/retention.js';
import { pruneOutboxEvents } from '../outbox/outbox-store.js';
import { expireUnstarted, reviveSentWithPending } from './edition-state-store.js';
import { laneFor } from './edition-store.js';
import type { DigestDeps, EditionKind } from './types.js';

const STALE_MS = 5 * 60_000;

export interface MaintenanceResult {
  rekicked: number;
  revived: number;
  resumedFanouts: number;
  expired: number;
  pruned: number;
  outboxPruned: number;
}

const OUTBOX_PRUNE_CHUNK = 5000;

export function createMaintenance(deps: DigestDeps) {
  const { db, clock, log, config, enqueuer } = deps;

  async function run(): Promise<MaintenanceResult> {
    const now = clock.now();
    const stale = new Date(now.getTime() - STALE_MS);
    const result: MaintenanceResult = {
      rekicked: 0,
      revived: 0,
      resumedFanouts: 0,
      expired: 0,
      pruned: 0,
      outboxPruned: 0,
    };

    // Planned/paused editions that never got going in time are expired, not sent late.
    const oldest = new Date(now.getTime() - config.DIGEST_MAX_AGE_SECONDS * 1000);
    result.expired = (await expireUnstarted(db, oldest, now)).length;

    // Editions declared sent that still have rows to send (added afterwards, or left under a
    // claim): sending again, so the repair below finds their batches.
    result.revived = await reviveSentWithPending(db, now);

    // Batches with rows still pending and no live job: lost between the planner's commit and its
    // enqueue (a crash), or failed for good (stalled too often, out of attempts). No age limit: a
    // batch whose job is waiting, delayed or active is left alone, so this is safe right after a
    // restart, while the planner that committed the rows may still be enqueueing them.
    // Also batches holding rows under a claim nobody renewed for a lock duration (a crashed
    // attempt) and no job: the job that would settle them was lost (Redis lost its data while it
    // waited for the claim to run out); the batch's next job settles them (stale-claims.ts).
    const { rows: pending } = await db.query<{ edition_id: string; kind: EditionKind; batches: number[] }>(
      `SELECT d.edition_id, e.kind, array_agg(DISTINCT d.batch_no ORDER BY d.batch_no) AS batches
       FROM deliveries d JOIN editions e ON e.id = d.edition_id
       WHERE e.state = 'sending'
         AND (d.state = 'pending'
              OR (d.state = 'sending' AND d.claimed_at < now() - $1 * interval '1 millisecond'))
       GROUP BY d.edition_id, e.kind`,
      [config.JOB_LOCK_DURATION_MS],
    );
    for (const p of pending) {
      const enqueued = await enqueuer.repairBatches(laneFor(p.kind), p.edition_id, p.batches);
      result.rekicked += enqueued.length;
    }

    // Fan-outs that stopped half-way (alerts, operator runs).
    const { rows: fanouts } = await db.query<{ article_id: string }>(
      `SELECT article_ids[1] AS article_id FROM editions
       WHERE kind = 'alert' AND fanout_done_at IS NULL AND state IN ('planned', 'sending') AND updated_at < $1`,
      [stale],
    );
    for (const f of fanouts) await enqueuer.fanoutAlert(f.article_id);
    const { rows: runs } = await db.query<{ edition_id: string }>(
      `SELECT (SELECT id FROM editions e WHERE e.run_id = r.id ORDER BY id LIMIT 1) AS edition_id
       FROM digest_runs r WHERE r.state = 'running' AND r.updated_at < $1`,
      [stale],
    );
    for (const r of runs) if (r.edition_id) await enqueuer.buildRun(r.edition_id);
    result.resumedFanouts = fanouts.length + runs.length;

    // Retention (the delivery side's pruner): counts sealed in final_counts, detail deleted.
    const pruned = await pruneDeliveryLedger({ db, clock, log, config });
    result.pruned = pruned.rowsDeleted;
    // the outbox keeps the same days: events every endpoint is done with, in chunks
    const outboxCutoff = new Date(now.getTime() - config.DELIVERY_RETENTION_DAYS * 24 * 3600 * 1000);
    for (let n = OUTBOX_PRUNE_CHUNK; n === OUTBOX_PRUNE_CHUNK; ) {
      n = await pruneOutboxEvents(db, outboxCutoff, OUTBOX_PRUNE_CHUNK);
      result.outboxPruned += n;
    }

    if (Object.values(result).some((n) => n > 0)) log.info(result, 'edition maintenance');
    return result;
  }

  return { run };
}
