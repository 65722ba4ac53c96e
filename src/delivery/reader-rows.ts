import type { Queryable } from '../db/pool.js';

/**
 * Ledger statements over many readers at once: the confirmation rows of a list import's paced
 * mailer, and the erasure scrub. Third owner of `deliveries` beside delivery-store.ts (per row) and
 * delivery-batch-store.ts (per batch).
 */
export async function createConfirmationRows(
  q: Queryable,
  readers: Array<{ subscriberId: string; email: string; dedupeKey: string }>,
  at: Date,
): Promise<number[]> {
  if (readers.length === 0) return [];
  const { rows } = await q.query<{ id: number }>(
    `INSERT INTO deliveries (kind, dedupe_key, subscriber_id, recipient, created_at, updated_at)
     SELECT 'confirmation', v.dedupe_key, v.subscriber_id, v.recipient, $4, $4
       FROM unnest($1::text[], $2::uuid[], $3::text[]) AS v(dedupe_key, subscriber_id, recipient)
     ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
    [readers.map((r) => r.dedupeKey), readers.map((r) => r.subscriberId), readers.map((r) => r.email), at],
  );
  return rows.map((r) => Number(r.id));
}

/**
 * Erasure: the reader's ledger rows stay (edition counts are computed from them) but lose the
 * address, the reader and whatever the relay answered (SMTP replies often quote the recipient).
 * Open rows are cancelled so nothing is sent to an address that is no longer known. Returns the
 * row ids, whose queue jobs the caller removes.
 */
export async function scrubReaderRows(q: Queryable, subscriberId: string, emailKey: string, at: Date) {
  const { rows } = await q.query<{ id: number }>(
    `UPDATE deliveries SET recipient = 'erased', subscriber_id = NULL, smtp_response = NULL, error = NULL,
            message_id = NULL, updated_at = $3,
            state = CASE WHEN state IN ('pending', 'sending') THEN 'cancelled' ELSE state END
      WHERE subscriber_id = $1 OR (subscriber_id IS NULL AND lower(recipient) = $2)
      RETURNING id`,
    [subscriberId, emailKey, at],
  );
  return rows.map((r) => Number(r.id));
}
