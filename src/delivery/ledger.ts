import { randomBytes } from 'node:crypto';
import type { Queryable } from '../db/pool.js';

/**
 * Row-level helpers over the deliveries ledger, shared by transactional mail and digests.
 *
 * A send takes its row from pending to sending with a fresh claim token (the status lock); every
 * later mark names that token, so only the claimant finishes the row. A row found still
 * `sending` by anyone else is marked `ambiguous` and never sent again: either a crash left it
 * there, or another attempt is in flight and will overwrite the mark with its real outcome.
 */
export type DeliveryKind = 'confirmation' | 'welcome' | 'digest' | 'alert' | 'test';
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
