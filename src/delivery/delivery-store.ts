import { randomBytes } from 'node:crypto';
import type { Queryable } from '../db/pool.js';
import type { EditionKind } from '../digests/types.js';

/**
 * The deliveries ledger's owner, with delivery-batch-store.ts (the per-batch claims of bulk
 * sends): no other module writes the table. Row-level statements here, shared by transactional
 * mail, digests (their rows are added and cancelled through this file) and retention.
 *
 * A send takes its row from pending to sending with a fresh claim token (the status lock); every
 * later mark names that token, so only the claimant finishes the row. A row found still
 * `sending` by anyone else is marked `ambiguous` and never sent again: either a crash left it
 * there, or another attempt is in flight and will overwrite the mark with its real outcome.
 */
/** transactional mail, or a reader's copy of an edition */
export type DeliveryKind = 'confirmation' | 'welcome' | 'already_subscribed' | 'repermission' | EditionKind;
export type DeliveryState =
  | 'pending'
  | 'sending'
  | 'sent'
  | 'failed'
  | 'ambiguous'
  | 'suppressed'
  | 'cancelled';

export interface ClaimedDelivery {
  id: number;
  kind: DeliveryKind;
  dedupeKey: string;
  subscriberId: string | null;
  recipient: string;
  attempts: number;
  editionId: string | null;
  claimToken: string;
}

export type ClaimResult = { claimed: ClaimedDelivery } | { claimed: null; state: DeliveryState | 'missing' };

export interface NewDelivery {
  kind: DeliveryKind;
  dedupeKey: string;
  subscriberId: string | null;
  recipient: string;
  at: Date;
}

/** Inserts a pending row, or finds the one with the same dedupe key. Returns its id. */
export async function createDelivery(
  q: Queryable,
  d: NewDelivery,
): Promise<{ id: number; created: boolean }> {
  const { rows } = await q.query<{ id: number }>(
    `INSERT INTO deliveries (kind, dedupe_key, subscriber_id, recipient, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
    [d.kind, d.dedupeKey, d.subscriberId, d.recipient, d.at],
  );
  if (rows[0]) return { id: Number(rows[0].id), created: true };
  const existing = await q.query<{ id: number }>('SELECT id FROM deliveries WHERE dedupe_key = $1', [
    d.dedupeKey,
  ]);
  return { id: Number(existing.rows[0]!.id), created: false };
}

function toClaimed(r: Record<string, unknown>): ClaimedDelivery {
  return {
    id: Number(r.id),
    kind: r.kind as DeliveryKind,
    dedupeKey: r.dedupe_key as string,
    subscriberId: (r.subscriber_id as string | null) ?? null,
    recipient: r.recipient as string,
    attempts: Number(r.attempts),
    editionId: (r.edition_id as string | null) ?? null,
    claimToken: r.claim_token as string,
  };
}

const CLAIM_RETURNING = 'id, kind, dedupe_key, subscriber_id, recipient, attempts, edition_id, claim_token';

/** Whether the reader was given a delivery of this kind after `since` (a per-kind resend interval). */
export async function hasDeliverySince(
  q: Queryable,
  subscriberId: string,
  kind: DeliveryKind,
  since: Date,
): Promise<boolean> {
  const { rows } = await q.query(
    'SELECT 1 FROM deliveries WHERE subscriber_id = $1 AND kind = $2 AND created_at > $3 LIMIT 1',
    [subscriberId, kind, since],
  );
  return rows.length > 0;
}

/** The status lock on several rows: the ones returned are the caller's; the rest are someone else's. */
export async function claimDeliveries(q: Queryable, ids: number[], at: Date): Promise<ClaimedDelivery[]> {
  if (ids.length === 0) return [];
  const token = randomBytes(9).toString('base64url');
  const { rows } = await q.query(
    `UPDATE deliveries SET state = 'sending', attempts = attempts + 1, claim_token = $2, claimed_at = $3,
            updated_at = $3
      WHERE id = ANY($1::bigint[]) AND state = 'pending' RETURNING ${CLAIM_RETURNING}`,
    [ids, token, at],
  );
  return rows.map(toClaimed);
}

/** Claims one row; when it is not pending, says what it is (a row still `sending` becomes `ambiguous`). */
export async function claimDelivery(q: Queryable, id: number, at: Date): Promise<ClaimResult> {
  const [claimed] = await claimDeliveries(q, [id], at);
  if (claimed) return { claimed };
  const marked = await q.query(
    `UPDATE deliveries SET state = 'ambiguous', updated_at = $2,
            error = coalesce(error || '; ', '') || 'found still sending: another attempt is in flight or crashed'
      WHERE id = $1 AND state = 'sending' RETURNING id`,
    [id, at],
  );
  if (marked.rowCount) return { claimed: null, state: 'ambiguous' };
  const { rows } = await q.query<{ state: DeliveryState }>('SELECT state FROM deliveries WHERE id = $1', [
    id,
  ]);
  return { claimed: null, state: rows[0]?.state ?? 'missing' };
}

// The claimant may finish its row even after another attempt marked it ambiguous: it knows.
const OWNED = `id = $1 AND claim_token = $2 AND state IN ('sending', 'ambiguous')`;

export async function markSent(
  q: Queryable,
  d: ClaimedDelivery,
  r: { smtpResponse: string; messageId: string; at: Date },
): Promise<boolean> {
  const res = await q.query(
    `UPDATE deliveries SET state = 'sent', smtp_response = $3, message_id = $4, sent_at = $5, updated_at = $5,
            error = NULL
      WHERE ${OWNED}`,
    [d.id, d.claimToken, r.smtpResponse.slice(0, 1000), r.messageId, r.at],
  );
  return res.rowCount === 1;
}

/** Known to have failed before the message was handed over: sendable again. */
export async function markRetry(q: Queryable, d: ClaimedDelivery, error: string, at: Date): Promise<boolean> {
  return finish(q, d, 'pending', error, at);
}

export async function markFailed(
  q: Queryable,
  d: ClaimedDelivery,
  error: string,
  at: Date,
): Promise<boolean> {
  return finish(q, d, 'failed', error, at);
}

export async function markAmbiguous(
  q: Queryable,
  d: ClaimedDelivery,
  error: string,
  at: Date,
): Promise<boolean> {
  return finish(q, d, 'ambiguous', error, at);
}

/** The reader may not be mailed (unsubscribed, suppressed): recorded, not sent. */
export async function markSuppressed(
  q: Queryable,
  d: ClaimedDelivery,
  reason: string,
  at: Date,
): Promise<boolean> {
  return finish(q, d, 'suppressed', reason, at);
}

/** The message no longer makes sense (e.g. a confirmation link superseded by a newer one). */
export async function markCancelled(
  q: Queryable,
  d: ClaimedDelivery,
  reason: string,
  at: Date,
): Promise<boolean> {
  return finish(q, d, 'cancelled', reason, at);
}

async function finish(
  q: Queryable,
  d: ClaimedDelivery,
  state: DeliveryState,
  error: string,
  at: Date,
): Promise<boolean> {
  const res = await q.query(
    `UPDATE deliveries SET state = $3, error = $4, updated_at = $5,
            claim_token = CASE WHEN $3 = 'pending' THEN NULL ELSE claim_token END
      WHERE ${OWNED}`,
    [d.id, d.claimToken, state, error.slice(0, 1000), at],
  );
  return res.rowCount === 1;
}

// ---- edition rows: the digest domain decides who gets an edition; the rows are written here

/** Per-state row counts of an edition's ledger, `total` being all of them. */
export type EditionCounts = Record<'total' | DeliveryState, number>;

/** EditionCounts as select-list columns over deliveries (finalization and retention store them). */
export const EDITION_COUNT_COLUMNS = `count(*)::int AS total,
  count(*) FILTER (WHERE state = 'pending')::int AS pending,
  count(*) FILTER (WHERE state = 'sending')::int AS sending,
  count(*) FILTER (WHERE state = 'sent')::int AS sent,
  count(*) FILTER (WHERE state = 'failed')::int AS failed,
  count(*) FILTER (WHERE state = 'ambiguous')::int AS ambiguous,
  count(*) FILTER (WHERE state = 'suppressed')::int AS suppressed,
  count(*) FILTER (WHERE state = 'cancelled')::int AS cancelled`;

export const EDITION_COUNTS_SQL = `SELECT ${EDITION_COUNT_COLUMNS} FROM deliveries WHERE edition_id = $1`;

export async function editionCounts(q: Queryable, editionId: string): Promise<EditionCounts> {
  const { rows } = await q.query<EditionCounts>(EDITION_COUNTS_SQL, [editionId]);
  return rows[0]!;
}

export interface EditionRows {
  editionId: string;
  kind: DeliveryKind;
  /** the edition's next batch number */
  firstBatch: number;
  batchSize: number;
  subscriberIds: string[];
  at: Date;
}

/**
 * One pending row per reader still confirmed, numbered in batches of `batchSize` from
 * `firstBatch` in reader-id order, in one multi-row INSERT ... SELECT. A reader who already has a
 * row of the edition is skipped (dedupe key). Returns how many rows, the last batch number and
 * the batches that got rows, ascending.
 */
export async function insertEditionRows(
  q: Queryable,
  r: EditionRows,
): Promise<{ rows: number; lastBatch: number | null; batches: number[] }> {
  if (r.subscriberIds.length === 0) return { rows: 0, lastBatch: null, batches: [] };
  const { rows } = await q.query<{ last: number | null; n: number; batches: number[] | null }>(
    `WITH ins AS (
       INSERT INTO deliveries (kind, dedupe_key, subscriber_id, recipient, state, edition_id, batch_no,
                               created_at, updated_at)
       SELECT $2, $1::text || '-' || s.id, s.id, s.email, 'pending', $1::uuid,
              $3 + (row_number() OVER (ORDER BY s.id) - 1) / $4, $5, $5
       FROM subscribers s WHERE s.id = ANY($6::uuid[]) AND s.status = 'confirmed'
       ON CONFLICT DO NOTHING
       RETURNING batch_no
     )
     SELECT max(batch_no) AS last, count(*) AS n, array_agg(DISTINCT batch_no) AS batches FROM ins`,
    [r.editionId, r.kind, r.firstBatch, r.batchSize, r.at, r.subscriberIds],
  );
  const out = rows[0]!;
  if (!out.n || out.last === null) return { rows: 0, lastBatch: null, batches: [] };
  return { rows: out.n, lastBatch: out.last, batches: (out.batches ?? []).sort((a, b) => a - b) };
}

/** An operator's test copy: one row, batch 0, to an address that need not be a reader. */
export async function insertTestRow(q: Queryable, editionId: string, recipient: string, at: Date) {
  await q.query(
    `INSERT INTO deliveries (kind, dedupe_key, subscriber_id, recipient, state, edition_id, batch_no,
                             created_at, updated_at)
     VALUES ('test', $1::text || '-test', NULL, $2, 'pending', $1::uuid, 0, $3, $3)`,
    [editionId, recipient, at],
  );
}

/** The editions' rows not yet taken by a sender will not be sent (cancelled or expired edition). */
export async function cancelPendingRows(q: Queryable, editionIds: string[], at: Date): Promise<number> {
  if (editionIds.length === 0) return 0;
  const res = await q.query(
    `UPDATE deliveries SET state = 'cancelled', updated_at = $2
      WHERE edition_id = ANY($1::uuid[]) AND state = 'pending'`,
    [editionIds, at],
  );
  return res.rowCount ?? 0;
}

/**
 * Readers (still confirmed) whose row of the edition or of one of its resends failed, and who
 * have no other row in that family that did not fail: sent, ambiguous, suppressed or on its way.
 */
export async function failedReaders(q: Queryable, editionId: string): Promise<string[]> {
  const { rows } = await q.query<{ subscriber_id: string }>(
    `WITH family AS (SELECT id FROM editions WHERE id = $1 OR resend_of = $1)
     SELECT DISTINCT d.subscriber_id FROM deliveries d
     JOIN subscribers s ON s.id = d.subscriber_id AND s.status = 'confirmed'
     WHERE d.edition_id IN (SELECT id FROM family) AND d.state = 'failed'
       AND NOT EXISTS (
         SELECT 1 FROM deliveries d2
         WHERE d2.edition_id IN (SELECT id FROM family) AND d2.subscriber_id = d.subscriber_id
           AND d2.state IN ('pending', 'sending', 'sent', 'ambiguous', 'suppressed'))`,
    [editionId],
  );
  return rows.map((r) => r.subscriber_id);
}

/** Retention: up to `limit` rows older than `cutoff` of editions whose counts are sealed. */
export async function deletePrunedRows(q: Queryable, cutoff: Date, limit: number): Promise<number> {
  const res = await q.query(
    `DELETE FROM deliveries WHERE id IN (
       SELECT d.id FROM deliveries d JOIN editions e ON e.id = d.edition_id
        WHERE d.created_at < $1 AND e.ledger_pruned_at IS NOT NULL
        LIMIT $2)`,
    [cutoff, limit],
  );
  return res.rowCount ?? 0;
}
