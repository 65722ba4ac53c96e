import { performance } from 'node:perf_hooks';
import type { SendAttemptDeps } from './attempt-types.js';
import { type ChunkClaim, claimChunk, type DomainFilter } from './delivery-batch-store.js';
import type { ProviderShare, ShareClaim } from './provider-share.js';
import type { SendPriority } from './token-bucket.js';

/** Longest a bulk batch waits for pending alerts before each chunk. */
const ALERT_YIELD_MAX_MS = 60_000;

/**
 * Before a bulk chunk: while breaking alerts are waiting or being sent anywhere, take no new rows,
 * so alerts get the SMTP connections first. Bounded, so alert jobs nobody serves (no worker runs
 * the alerts queue) cannot starve digests.
 */
export async function yieldToAlerts(
  deps: Pick<SendAttemptDeps, 'alertsPending'>,
  priority: SendPriority,
  stopped: () => boolean,
): Promise<void> {
  const { alertsPending } = deps;
  if (priority !== 'bulk' || !alertsPending) return;
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
