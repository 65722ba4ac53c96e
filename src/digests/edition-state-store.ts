/**
 * The editions table's state changes after creation (with edition-store.ts, which creates,
 * renders and fills editions, its one owner): the first batch starting, operator controls, expiry
 * and revival, resend copies, the alert fan-out cursor, the final counts when sending ends and retention's seal.
 */
import { type Db, type Queryable, withTransaction } from '../db/pool.js';
import {
  cancelPendingRows,
  EDITION_COUNT_COLUMNS,
  EDITION_COUNTS_SQL,
  type EditionCounts,
} from '../delivery/delivery-store.js';
import { outboxInsertCtes } from '../outbox/outbox-store.js';
import type { EditionKind, LockedEdition } from './types.js';

/** The first batch of an edition starts sending: planned -> sending (a no-op in any other state). */
export async function markEditionSending(q: Queryable, editionId: string, now: Date): Promise<void> {
  await q.query(
    `UPDATE editions SET state = 'sending', updated_at = $2 WHERE id = $1 AND state = 'planned'`,
    [editionId, now],
  );
}

/** An operator's test copy: its one row is batch 0, sent at once. */
export async function startTestEdition(q: Queryable, editionId: string, now: Date): Promise<void> {
  await q.query(`UPDATE editions SET batch_count = 1, state = 'sending', updated_at = $2 WHERE id = $1`, [
    editionId,
    now,
  ]);
}

/** false when the edition was not planned or sending */
export async function pauseEdition(q: Queryable, editionId: string, now: Date): Promise<boolean> {
  const res = await q.query(
    `UPDATE editions SET state = 'paused', updated_at = $2 WHERE id = $1 AND state IN ('planned', 'sending')`,
    [editionId, now],
  );
  return (res.rowCount ?? 0) > 0;
}

/** A paused edition back to sending (planned while it has no batch yet). */
export async function resumeEdition(q: Queryable, editionId: string, now: Date): Promise<void> {
  await q.query(
    `UPDATE editions SET state = CASE WHEN batch_count > 0 THEN 'sending' ELSE 'planned' END, updated_at = $2
     WHERE id = $1`,
    [editionId, now],
  );
}

/** Too old to send: expired with its pending rows, never sent late. */
export async function expireEdition(q: Queryable, editionId: string, now: Date): Promise<void> {
  await q.query(`UPDATE editions SET state = 'expired', updated_at = $2 WHERE id = $1`, [editionId, now]);
  await cancelPendingRows(q, [editionId], now);
}

/** Planned or paused editions (not test copies) due before `oldest` are expired with their pending rows. */
export async function expireUnstarted(q: Queryable, oldest: Date, now: Date): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(
    `UPDATE editions SET state = 'expired', updated_at = $2
     WHERE state IN ('planned', 'paused') AND due_at < $1 AND kind <> 'test' RETURNING id`,
    [oldest, now],
  );
  const ids = rows.map((r) => r.id);
  await cancelPendingRows(q, ids, now);
  return ids;
}

/**
 * Editions declared sent that have rows still to send (pending, or sending under a claim, which
 * maintenance settles only for editions that are sending) are sending again. Returns how many.
 */
export async function reviveSentWithPending(q: Queryable, now: Date): Promise<number> {
  const res = await q.query(
    `UPDATE editions e SET state = 'sending', updated_at = $1
     WHERE e.state = 'sent'
       AND EXISTS (SELECT 1 FROM deliveries d WHERE d.edition_id = e.id AND d.state IN ('pending', 'sending'))
     RETURNING id`,
    [now],
  );
  return res.rowCount ?? 0;
}

/**
 * A copy of an edition (same rendered content and articles, its own archive link) as a new
 * planned edition marked resend_of, locked. The caller adds the readers.
 */
export async function copyForResend(
  q: Queryable,
  c: { originId: string; newId: string; originArchive: string; newArchive: string; now: Date },
): Promise<LockedEdition> {
  await q.query(
    `INSERT INTO editions (id, kind, template, language, frequency, article_ids, edition_key, state, due_at,
                           subject, html, text_body, greeting, more_url, rendered_at, created_by, resend_of,
                           created_at, updated_at)
     SELECT $2, kind, template, language, frequency, article_ids, $6, 'planned', $3,
            subject, replace(html, $4, $5), replace(text_body, $4, $5), greeting, more_url, rendered_at,
            'resend', id, $3, $3
     FROM editions WHERE id = $1`,
    [c.originId, c.newId, c.now, c.originArchive, c.newArchive, `resend-${c.newId}`],
  );
  const { rows } = await q.query<{ kind: EditionKind; batch_count: number }>(
    'SELECT kind, batch_count FROM editions WHERE id = $1 FOR UPDATE',
    [c.newId],
  );
  return {
    id: c.newId,
    kind: rows[0]!.kind,
    state: 'planned',
    batchCount: rows[0]!.batch_count,
    created: true,
  };
}

/** An alert fan-out's cursor (the last reader id it walked), and whether it is done. */
export async function advanceFanout(
  q: Queryable,
  editionId: string,
  cursor: string | null,
  done: boolean,
  now: Date,
): Promise<void> {
  await q.query(
    `UPDATE editions SET fanout_cursor = $2, fanout_done_at = CASE WHEN $3 THEN $4::timestamptz END,
            updated_at = $4
     WHERE id = $1`,
    [editionId, cursor, done, now],
  );
}

/** The articles an edition is rendered from (an article withdrawn from it). */
export async function setArticleIds(q: Queryable, editionId: string, articleIds: string[]): Promise<void> {
  await q.query('UPDATE editions SET article_ids = $2 WHERE id = $1', [editionId, articleIds]);
}

const FINAL_COUNTS = `jsonb_build_object('total', c.total, 'sent', c.sent, 'failed', c.failed,
              'ambiguous', c.ambiguous, 'suppressed', c.suppressed, 'cancelled', c.cancelled,
              'pending', c.pending, 'sending', c.sending)`;

/**
 * State `sent` with final_counts, when the ledger (counted here) has nothing pending or sending
 * and retention has not pruned it. Returns the counts stored, or null when it did not apply.
 *
 * The edition row is locked first and the rows counted in the next statement: a planner adding a
 * batch holds that lock while it inserts the rows (edition-store.ts), and one statement counts
 * from the snapshot it started with, so a count taken while waiting for the lock missed the new
 * batch and the edition was marked sent with its rows still to send (nobody repaired them then).
 */
export async function markEditionSent(db: Db, editionId: string, at: Date): Promise<EditionCounts | null> {
  return withTransaction(db, async (q) => {
    await q.query('SELECT 1 FROM editions WHERE id = $1 FOR UPDATE', [editionId]);
    return countAndMarkSent(q, editionId, at);
  });
}

async function countAndMarkSent(q: Queryable, editionId: string, at: Date): Promise<EditionCounts | null> {
  // The edition.sent event for the CMS (outbox, issue 20) is part of this one statement, so it is
  // stored exactly when the edition becomes sent; its id is the edition's, so a recount or a revival
  // that ends in `sent` again reports nothing new. Test copies are not reported.
  const { rows } = await q.query<{ final_counts: EditionCounts }>(
    `WITH c AS (${EDITION_COUNTS_SQL}),
     prev AS (SELECT id, state FROM editions WHERE id = $1 FOR UPDATE),
     upd AS (
       UPDATE editions e
          SET state = 'sent', updated_at = $2, final_counts = ${FINAL_COUNTS}
         FROM c, prev
        WHERE e.id = $1 AND prev.id = e.id AND e.state IN ('planned', 'sending', 'sent') AND e.ledger_pruned_at IS NULL
          AND c.pending = 0 AND c.sending = 0
        RETURNING e.id, e.kind, e.language, e.final_counts, prev.state AS previous
     ),
     ${outboxInsertCtes(
       `SELECT 'msg_edition-sent-' || upd.id AS id, 'edition.sent' AS type,
               jsonb_build_object('editionId', upd.id, 'kind', upd.kind, 'language', upd.language,
                                  'sentAt', $2::timestamptz, 'counts', upd.final_counts) AS payload,
               $2::timestamptz AS at
          FROM upd WHERE upd.previous <> 'sent' AND upd.kind <> 'test'`,
     )}
     SELECT final_counts FROM upd`,
    [editionId, at],
  );
  return rows[0]?.final_counts ?? null;
}

/**
 * Retention's seal: the complete counts of up to `maxEditions` editions with rows older than
 * `cutoff` (and nothing pending or sending) go to final_counts, with ledger_pruned_at, before any
 * of their rows is deleted. Returns how many editions were sealed.
 */
export async function sealCountsForPruning(
  q: Queryable,
  cutoff: Date,
  now: Date,
  maxEditions: number,
): Promise<number> {
  const res = await q.query(
    `WITH old AS (
       SELECT DISTINCT d.edition_id FROM deliveries d
         JOIN editions e ON e.id = d.edition_id
        WHERE d.edition_id IS NOT NULL AND d.created_at < $1 AND e.ledger_pruned_at IS NULL
        LIMIT $3
     ), c AS (
       SELECT d.edition_id, ${EDITION_COUNT_COLUMNS} FROM deliveries d JOIN old USING (edition_id) GROUP BY d.edition_id
     )
     UPDATE editions e
        SET ledger_pruned_at = $2, updated_at = $2, final_counts = ${FINAL_COUNTS}
       FROM c
      WHERE e.id = c.edition_id AND c.pending = 0 AND c.sending = 0
      RETURNING e.id`,
    [cutoff, now, maxEditions],
  );
  return res.rowCount ?? 0;
}
