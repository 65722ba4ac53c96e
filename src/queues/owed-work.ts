import type { IngestService } from '../articles/ingest-service.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/pool.js';
import { laneFor } from '../digests/edition-store.js';
import type { EditionKind, Enqueuer } from '../digests/types.js';
import { jobId, type Queues } from './definitions.js';

/** Rows per transactional sweep; the next sweep takes the rest. */
const TRANSACTIONAL_SWEEP_LIMIT = 1000;
/**
 * Lifecycle jobs run seconds after their event is applied; one queued this long ago and lost with
 * Redis is taken to have run (nothing in PostgreSQL records that it did).
 */
const LIFECYCLE_REPLAY_MS = 15 * 60_000;

/**
 * What PostgreSQL says is owed to the queues, enqueued again under the ids it was first enqueued
 * with: a job that still exists swallows the repeat, and each handler's status lock on its row
 * makes a second run of a job that already finished harmless. Used by the periodic sweeps and by
 * the recovery after Redis lost its data (queues/redis-watch.ts).
 */
export interface OwedWork {
  /**
   * Confirmation and welcome mails still `pending` (their enqueue failed, Redis was down, or Redis
   * lost the job). `olderThanSeconds` leaves rows the API is enqueueing right now alone.
   */
  transactional(olderThanSeconds?: number): Promise<number>;
  /** Stored CMS events not yet applied (and applied ones whose lifecycle event was never queued). */
  articleEvents(olderThanSeconds?: number): Promise<number>;
  /**
   * Send jobs for every batch of a sending edition with rows still `pending` or `sending` and no
   * live job. Edition maintenance repairs batches with pending rows; after Redis lost its data a
   * batch may also have only `sending` rows, a killed worker's expired claim whose successor job
   * was waiting (delayed while the claim ran out) and is gone: without a job nobody settles them.
   * Returns the batches enqueued.
   */
  batches(): Promise<number>;
  /**
   * After a wipe: the lifecycle job (published, changed, withdrawn) of each article whose last one
   * was queued within LIFECYCLE_REPLAY_MS, as it may have been lost before it ran (a breaking
   * alert never fanned out, immediate windows never opened). Only each article's latest, so an
   * unpublish and a republish cannot replay out of order; each handler is idempotent (windows open
   * only when closed, the alert edition key and the ledger stop a second fan-out).
   */
  lifecycle(): Promise<number>;
}

export function createOwedWork(deps: {
  db: Db;
  clock: Clock;
  queues: Pick<Queues, 'enqueue' | 'enqueueBulk'>;
  ingest: Pick<IngestService, 'sweep'>;
  enqueuer: Pick<Enqueuer, 'repairBatches'>;
}): OwedWork {
  const { db, clock, queues, ingest, enqueuer } = deps;
  return {
    async transactional(olderThanSeconds = 30) {
      const cutoff = new Date(clock.now().getTime() - olderThanSeconds * 1000);
      // deliveries_transactional_pending_idx (018) holds only these rows
      const { rows } = await db.query<{ id: string }>(
        `SELECT id FROM deliveries
          WHERE edition_id IS NULL AND state = 'pending' AND kind IN ('confirmation', 'welcome', 'already_subscribed', 'repermission')
            AND created_at < $1
          ORDER BY id LIMIT $2`,
        [cutoff, TRANSACTIONAL_SWEEP_LIMIT],
      );
      await queues.enqueueBulk(
        'transactional',
        rows.map((r) => ({
          name: 'send' as const,
          data: { deliveryId: Number(r.id) },
          opts: { jobId: jobId('delivery', r.id) },
        })),
      );
      return rows.length;
    },
    articleEvents(olderThanSeconds = 30) {
      return ingest.sweep(olderThanSeconds);
    },
    async lifecycle() {
      const since = new Date(clock.now().getTime() - LIFECYCLE_REPLAY_MS);
      const { rows } = await db.query<{
        id: string;
        article_id: string;
        lifecycle: 'published' | 'changed' | 'withdrawn';
      }>(
        // each article's latest transition, and only while the article is still in that state
        `SELECT DISTINCT ON (e.article_id) e.id, e.article_id, e.lifecycle
           FROM article_events e JOIN articles a ON a.id = e.article_id
          WHERE e.lifecycle IS NOT NULL AND e.lifecycle_enqueued_at > $1
            AND (e.lifecycle = 'withdrawn') = (a.status <> 'published')
          ORDER BY e.article_id, e.processed_at DESC, e.id DESC`,
        [since],
      );
      for (const r of rows) {
        // the job id ingest-service.ts gave it: a job that is still there swallows the repeat
        await queues.enqueue(
          'article-lifecycle',
          r.lifecycle,
          { articleId: r.article_id },
          { jobId: jobId('lifecycle', r.lifecycle, r.id) },
        );
      }
      return rows.length;
    },
    async batches() {
      // deliveries_open_idx (011) holds only pending and sending rows
      const { rows } = await db.query<{ edition_id: string; kind: EditionKind; batches: number[] }>(
        `SELECT d.edition_id, e.kind, array_agg(DISTINCT d.batch_no ORDER BY d.batch_no) AS batches
           FROM deliveries d JOIN editions e ON e.id = d.edition_id
          WHERE d.edition_id IS NOT NULL AND d.state IN ('pending', 'sending') AND e.state = 'sending'
          GROUP BY d.edition_id, e.kind`,
      );
      let enqueued = 0;
      for (const r of rows)
        enqueued += (await enqueuer.repairBatches(laneFor(r.kind), r.edition_id, r.batches)).length;
      return enqueued;
    },
  };
}
