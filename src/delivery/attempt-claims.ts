import { performance } from 'node:perf_hooks';
import type { BatchCounts, SendAttemptDeps } from './attempt-types.js';
import {
  type ChunkClaim,
  type ClaimedRow,
  claimChunk,
  type DomainFilter,
  releaseClaim,
  renewClaim,
} from './delivery-batch-store.js';
import type { ProviderShare, ShareClaim } from './provider-share.js';
import type { SendPriority } from './token-bucket.js';

/** Longest a bulk batch waits for pending alerts before each chunk. */
const ALERT_YIELD_MAX_MS = 60_000;

/**
 * Before a bulk chunk: while breaking alerts are waiting or being sent anywhere, take no new rows,
 * so alerts get the SMTP connections first. Bounded, so alert jobs nobody serves (no worker runs
 * the alerts queue) cannot starve digests.
 *
 * Not with shaping: there alerts go first inside each provider's share (its bucket's
 * reserve) and in the SMTP pool (urgent), and an alert batch paced by a throttled provider runs
 * for seconds, with more alert batches waiting for the alert worker meanwhile; stopping every
 * digest for that long held the unthrottled providers' readers for as long as Gmail's share of
 * the alert took (2.4 s of the bench's 5,000-reader rush).
 */
export async function yieldToAlerts(
  deps: Pick<SendAttemptDeps, 'alertsPending' | 'shaping'>,
  priority: SendPriority,
  stopped: () => boolean,
): Promise<void> {
  const { alertsPending } = deps;
  if (priority !== 'bulk' || !alertsPending || deps.shaping) return;
  const until = performance.now() + ALERT_YIELD_MAX_MS;
  while (!stopped() && performance.now() < until && (await alertsPending())) {
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The next chunk of the batch under the claim token: with shaping, as the receiving providers'
 * shares allow (provider-share.ts); without, rate tokens of the global bucket and that many rows.
 */
export async function claimNext(
  deps: Pick<SendAttemptDeps, 'db' | 'clock' | 'bucket' | 'config'>,
  share: ProviderShare | undefined,
  editionId: string,
  batch: number,
  token: string,
  priority: SendPriority,
): Promise<ShareClaim> {
  const { db, clock, bucket, config } = deps;
  const take = (limit: number, filter?: DomainFilter): Promise<ChunkClaim> =>
    claimChunk(db, editionId, batch, token, limit, clock.now(), filter);
  if (share) return share.claim(config.SEND_CLAIM_SIZE, bucket, take);
  const want = bucket.unlimited
    ? config.SEND_CLAIM_SIZE
    : await bucket.take(config.SEND_CLAIM_SIZE, priority);
  const result = await take(want);
  if (result.claimed.length < want) await bucket.refund(want - result.claimed.length);
  return { ...result, done: result.taken < want };
}

/**
 * The attempt's heartbeat: renews its claim and its provider connection leases. Rows missing from
 * the renewal's answer were taken by another attempt (this one stalled past its claim): they are
 * dropped unsent. Only rows claimed before the renewal started can be missing for that reason; a
 * chunk claimed meanwhile is fresh and ours.
 */
export async function renewAttempt(
  a: {
    deps: Pick<SendAttemptDeps, 'db' | 'log'>;
    edition: { id: string };
    batch: number;
    token: string;
    share: ProviderShare | undefined;
    ctx: Record<string, unknown>;
  },
  held: Map<number, ClaimedRow>,
): Promise<void> {
  const { db, log } = a.deps;
  const before = [...held.keys()];
  const still = await renewClaim(db, a.edition.id, a.batch, a.token);
  await a.share
    ?.renew()
    .catch((err) => log.warn({ ...a.ctx, err: (err as Error).message }, 'could not renew provider leases'));
  for (const id of before) {
    if (held.has(id) && !still.has(id)) {
      held.delete(id);
      a.share?.settled(id, false);
      log.warn({ ...a.ctx, deliveryId: id }, 'claim lost to another attempt: row not sent by this one');
    }
  }
}

/**
 * Every row the attempt took has its outcome: the claim ends and its hand-off log goes. Belt and
 * braces: a row still `sending` under this claim was never attempted; it must not outlive the job.
 */
export async function endAttemptClaim(a: {
  deps: Pick<SendAttemptDeps, 'db' | 'clock' | 'log' | 'handoffs'>;
  edition: { id: string };
  batch: number;
  token: string;
  ctx: Record<string, unknown>;
  counts: BatchCounts;
  lastRetryError: string;
}): Promise<void> {
  const { db, clock, log, handoffs } = a.deps;
  const leftover = await releaseClaim(db, a.edition.id, a.batch, a.token, clock.now());
  if (leftover > 0) {
    log.warn({ ...a.ctx, rows: leftover }, 'claimed rows left unattempted: released to pending');
    a.lastRetryError ||= 'claimed rows left unattempted';
    a.counts.retry += leftover;
  }
  // the log is not needed any more (its TTL would remove it)
  await handoffs
    .discard(a.token)
    .catch((err) => log.warn({ ...a.ctx, err: (err as Error).message }, 'could not drop the hand-off log'));
}
