import type { Db, Queryable } from '../db/pool.js';
import { markEditionSent } from '../digests/edition-state-store.js';
import type { EditionCounts } from './delivery-store.js';

/**
 * The SQL behind bulk sends: the status lock over one batch of an edition's ledger rows.
 *
 * A row is `pending` until a sender claims it (`sending`, with its claim token); only the holder
 * of the token finishes it. Rows are claimed a few at a time, just before they are sent, so:
 * - suppression is decided when the row is taken (an unsubscribe stops every later message);
 * - a crash leaves at most the claimed chunks `sending`; the attempt's hand-off log
 *   (handoff-log.ts) tells the rows it never handed to SMTP, which are pending again, from the
 *   ones that may have reached the server, which become `ambiguous` (RFC 1047) and are never
 *   resent blindly.
 *
 * Claim freshness (claimed_at, renewed by the holder's heartbeat) uses the database clock, the
 * one clock every worker process shares.
 */
export type RowState = 'pending' | 'sent' | 'failed' | 'ambiguous';

export interface ClaimedRow {
  id: number;
  subscriberId: string | null;
  recipient: string;
  name: string | null;
  attempts: number;
  /** false when the reader turned click tracking off (plain article links) */
  trackClicks: boolean;
}

export interface ChunkClaim {
  claimed: ClaimedRow[];
  /** rows taken but not to be mailed: the reader is no longer confirmed */
  suppressed: number;
  /** rows taken in all (claimed + suppressed): fewer than asked means nothing pending is left */
  taken: number;
}

export interface RowOutcome {
  id: number;
  state: RowState;
  smtpResponse?: string;
  messageId?: string;
  error?: string;
}

// re-exported for batch-sender.ts until its split lands; the one definition is delivery-store's
export type { EditionCounts } from './delivery-store.js';

const STALE = `edition_id = $1 AND batch_no = $2 AND state = 'sending'
        AND claimed_at < now() - $3 * interval '1 millisecond'`;

/** Claim tokens holding rows `sending` that nobody has renewed for `staleMs` (crashed or stalled attempts). */
export async function staleClaimTokens(
  q: Queryable,
  editionId: string,
  batch: number,
  staleMs: number,
): Promise<string[]> {
  const { rows } = await q.query<{ claim_token: string }>(
    `SELECT DISTINCT claim_token FROM deliveries WHERE ${STALE} AND claim_token IS NOT NULL`,
    [editionId, batch, staleMs],
  );
  return rows.map((r) => r.claim_token);
}

export interface StaleClaimOutcome {
  /** the attempt may have handed these to the server: never resent (RFC 1047) */
  ambiguous: number[];
  /** above the attempt's hand-off watermark or parked below it, so never handed to the server: pending again */
  released: number[];
}

/**
 * Settles one expired claim. With a trusted hand-off log (handoff-log.ts), rows above its
 * watermark `handedOffUpTo` and the `parked` ones below it never left the crashed attempt and are
 * pending again; every other row is `ambiguous`. Without one (null) all are ambiguous. Rows of a
 * claim renewed meanwhile (the attempt was alive after all) are not touched.
 */
export async function settleStaleClaim(
  q: Queryable,
  editionId: string,
  batch: number,
  staleMs: number,
  token: string,
  handedOffUpTo: number | null,
  at: Date,
  parked: readonly number[] = [],
): Promise<StaleClaimOutcome> {
  // id > NULL (no trusted log) is NULL, and so is its OR with the empty list's false: every CASE
  // takes its ELSE, ambiguous
  const never = `(id > $5::bigint OR id = ANY($7::bigint[]))`;
  const { rows } = await q.query<{ id: string; state: 'pending' | 'ambiguous' }>(
    `UPDATE deliveries
        SET state = CASE WHEN ${never} THEN 'pending' ELSE 'ambiguous' END,
            claim_token = CASE WHEN ${never} THEN NULL ELSE claim_token END,
            claimed_at = CASE WHEN ${never} THEN NULL ELSE claimed_at END,
            updated_at = $6,
            error = CASE WHEN ${never}
              THEN 'released: its attempt crashed or stalled before handing it to the SMTP server'
              ELSE 'still sending after its claim expired: the attempt crashed or stalled and the server may or may not have accepted the message' END
      WHERE ${STALE} AND claim_token = $4
      RETURNING id, state`,
    [editionId, batch, staleMs, token, handedOffUpTo, at, handedOffUpTo === null ? [] : parked],
  );
  const out: StaleClaimOutcome = { ambiguous: [], released: [] };
  for (const r of rows) (r.state === 'pending' ? out.released : out.ambiguous).push(Number(r.id));
  out.ambiguous.sort((a, b) => a - b);
  out.released.sort((a, b) => a - b);
  return out;
}

/**
 * The claim: a batch's next pending rows in id order, through `deliveries_batch_order_idx`
 * (migration 012; test/integration/claim-plan.test.ts checks the plan reads only what it takes).
 * $1 edition, $2 batch, $3 claim token, $4 limit, $5 time.
 */
export const CLAIM_SQL = `WITH picked AS (
   SELECT id FROM deliveries
    WHERE edition_id = $1 AND batch_no = $2 AND state = 'pending'
    ORDER BY id LIMIT $4
    FOR UPDATE SKIP LOCKED
 ), decided AS (
   SELECT d.id, s.name, s.status,
          coalesce(s.status = 'confirmed', d.subscriber_id IS NULL AND d.kind = 'test') AS allowed,
          NOT EXISTS (SELECT 1 FROM click_optouts o WHERE o.subscriber_id = d.subscriber_id) AS track
     FROM picked p
     JOIN deliveries d ON d.id = p.id
     LEFT JOIN subscribers s ON s.id = d.subscriber_id
 )
 UPDATE deliveries d
    SET state = CASE WHEN c.allowed THEN 'sending' ELSE 'suppressed' END,
        claim_token = $3, claimed_at = now(), updated_at = $5,
        attempts = d.attempts + CASE WHEN c.allowed THEN 1 ELSE 0 END,
        error = CASE WHEN c.allowed THEN d.error
                     ELSE 'reader ' || coalesce(c.status, 'deleted') || ' when the row was claimed' END
   FROM decided c
  WHERE d.id = c.id
  RETURNING d.id, d.subscriber_id, d.recipient, d.attempts, c.name, c.allowed, c.track`;

/** A recipient's domain in SQL, the same as `recipientDomain` (after the last `@`, lower case). */
const DOMAIN_SQL = `lower(reverse(split_part(reverse(recipient), '@', 1)))`;

/** A recipient's domain: after the last `@`, lower case. */
export function recipientDomain(recipient: string): string {
  return recipient.slice(recipient.lastIndexOf('@') + 1).toLowerCase();
}

/** Which rows of the batch a claim may take (traffic shaping): only these domains, or all but these. */
export type DomainFilter = { only: string[] } | { except: string[] };

const FILTERED_CLAIM = {
  only: CLAIM_SQL.replace(`state = 'pending'\n`, `state = 'pending' AND ${DOMAIN_SQL} = ANY($6::text[])\n`),
  except: CLAIM_SQL.replace(
    `state = 'pending'\n`,
    `state = 'pending' AND ${DOMAIN_SQL} <> ALL($6::text[])\n`,
  ),
};

/** The domains of the batch's pending rows, with how many rows each (before a shaped send). */
export async function pendingDomains(
  q: Queryable,
  editionId: string,
  batch: number,
): Promise<Map<string, number>> {
  const { rows } = await q.query<{ domain: string; n: number }>(
    `SELECT ${DOMAIN_SQL} AS domain, count(*)::int AS n FROM deliveries
      WHERE edition_id = $1 AND batch_no = $2 AND state = 'pending' GROUP BY 1`,
    [editionId, batch],
  );
  return new Map(rows.map((r) => [r.domain, r.n]));
}

/**
 * Takes up to `limit` pending rows of the batch: those of confirmed readers become `sending`
 * under `token`, the others `suppressed`. Rows locked by a concurrent claimer are skipped.
 * Test sends may have no subscriber (a staff address) and are always mailed.
 */
export async function claimChunk(
  q: Queryable,
  editionId: string,
  batch: number,
  token: string,
  limit: number,
  at: Date,
  filter?: DomainFilter,
): Promise<ChunkClaim> {
  const { rows } = await q.query<{
    id: number;
    subscriber_id: string | null;
    recipient: string;
    attempts: number;
    name: string | null;
    allowed: boolean;
    track: boolean;
  }>(
    filter ? ('only' in filter ? FILTERED_CLAIM.only : FILTERED_CLAIM.except) : CLAIM_SQL,
    filter
      ? [editionId, batch, token, limit, at, 'only' in filter ? filter.only : filter.except]
      : [editionId, batch, token, limit, at],
  );
  const claimed: ClaimedRow[] = [];
  let suppressed = 0;
  for (const r of rows.sort((a, b) => Number(a.id) - Number(b.id))) {
    if (!r.allowed) {
      suppressed++;
      continue;
    }
    claimed.push({
      id: Number(r.id),
      subscriberId: r.subscriber_id,
      recipient: r.recipient,
      name: r.name,
      attempts: Number(r.attempts),
      trackClicks: r.track,
    });
  }
  return { claimed, suppressed, taken: rows.length };
}

/** Renews the claim; returns the ids still held (a row marked ambiguous by another is gone). */
export async function renewClaim(
  q: Queryable,
  editionId: string,
  batch: number,
  token: string,
): Promise<Set<number>> {
  const { rows } = await q.query<{ id: number }>(
    `UPDATE deliveries SET claimed_at = now()
      WHERE edition_id = $1 AND batch_no = $2 AND claim_token = $3 AND state = 'sending'
      RETURNING id`,
    [editionId, batch, token],
  );
  return new Set(rows.map((r) => Number(r.id)));
}

/**
 * Writes outcomes in one statement. The claimant may finish a row even after another attempt
 * marked it ambiguous: it knows what happened. `pending` releases the claim, but never turns an
 * ambiguous row sendable again: whoever marked it has already taken it as final.
 */
export async function recordOutcomes(
  q: Queryable,
  token: string,
  outcomes: RowOutcome[],
  at: Date,
): Promise<number> {
  if (outcomes.length === 0) return 0;
  const res = await q.query(
    `UPDATE deliveries d
        SET state = u.state,
            smtp_response = coalesce(u.response, d.smtp_response),
            message_id = coalesce(u.message_id, d.message_id),
            error = u.error,
            sent_at = CASE WHEN u.state = 'sent' THEN $7 ELSE d.sent_at END,
            updated_at = $7,
            claim_token = CASE WHEN u.state = 'pending' THEN NULL ELSE d.claim_token END,
            claimed_at = CASE WHEN u.state = 'pending' THEN NULL ELSE d.claimed_at END
       FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[])
            AS u(id, state, response, message_id, error)
      WHERE d.id = u.id AND d.claim_token = $1
        AND (d.state = 'sending' OR (d.state = 'ambiguous' AND u.state <> 'pending'))`,
    [
      token,
      outcomes.map((o) => o.id),
      outcomes.map((o) => o.state),
      outcomes.map((o) => o.smtpResponse?.slice(0, 1000) ?? null),
      outcomes.map((o) => o.messageId ?? null),
      outcomes.map((o) => o.error?.slice(0, 1000) ?? null),
      at,
    ],
  );
  return res.rowCount ?? 0;
}

/** Rows still `sending` under this claim go back to `pending` (the claimant never sent them). */
export async function releaseClaim(
  q: Queryable,
  editionId: string,
  batch: number,
  token: string,
  at: Date,
): Promise<number> {
  const res = await q.query(
    `UPDATE deliveries SET state = 'pending', claim_token = NULL, claimed_at = NULL, updated_at = $4,
            error = 'released unsent'
      WHERE edition_id = $1 AND batch_no = $2 AND claim_token = $3 AND state = 'sending'`,
    [editionId, batch, token, at],
  );
  return res.rowCount ?? 0;
}

/** Rows of the batch held `sending` by another claim that is still being renewed. */
export async function countHeldByOthers(
  q: Queryable,
  editionId: string,
  batch: number,
  token: string,
): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM deliveries
      WHERE edition_id = $1 AND batch_no = $2 AND state = 'sending' AND claim_token IS DISTINCT FROM $3`,
    [editionId, batch, token],
  );
  return rows[0]?.n ?? 0;
}

/** After the last attempt: what is still pending in the batch failed for good. */
export async function failPendingRows(
  q: Queryable,
  editionId: string,
  batch: number,
  error: string,
  at: Date,
): Promise<number> {
  const res = await q.query(
    `UPDATE deliveries SET state = 'failed', error = $3, updated_at = $4
      WHERE edition_id = $1 AND batch_no = $2 AND state = 'pending'`,
    [editionId, batch, error.slice(0, 1000), at],
  );
  return res.rowCount ?? 0;
}

/**
 * When nothing of the edition is pending or sending any more: state `sent` and final_counts
 * (markEditionSent in edition-state-store.ts). Runs again after any later batch (a batch persisted
 * after an early finish re-opens nothing but refreshes the counts), never once retention has
 * pruned part of the ledger.
 */
export async function finalizeEdition(db: Db, editionId: string, at: Date): Promise<EditionCounts | null> {
  // One probe of deliveries_open_idx, so counting the whole edition happens once it is done, not
  // after every batch. markEditionSent checks again: a row re-opened meanwhile keeps it open.
  const open = await db.query(
    `SELECT 1 FROM deliveries WHERE edition_id = $1 AND state IN ('pending', 'sending') LIMIT 1`,
    [editionId],
  );
  if ((open.rowCount ?? 0) > 0) return null;
  return markEditionSent(db, editionId, at);
}
