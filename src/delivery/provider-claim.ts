import type { ProviderGate } from '../shaping/provider-gate.js';
import type { ProviderLimits } from '../shaping/shaping-schema.js';
import type { ChunkClaim, DomainFilter } from './delivery-batch-store.js';
import type { ProviderConnections } from './provider-connections.js';
import type { SendPriority, TokenBucket } from './token-bucket.js';

/** A shaped provider as one batch attempt sees it (provider-share.ts). */
export interface Shaped {
  domains: string[];
  limits: ProviderLimits;
  /** no pending row of it is left in the batch */
  done: boolean;
  /** its share for this visit is used up, or it is backing off: the rest waits for the next job run */
  spent: boolean;
  /** backing off (level > 0) as last read: successes are reported so it recovers */
  recovering: boolean;
}

export interface ProviderClaimDeps {
  gate: ProviderGate;
  connections: ProviderConnections;
  /** claimed rows of connection-limited providers (row id -> provider) */
  connRows: Map<number, string>;
  bucket: TokenBucket;
  take: (limit: number, filter?: DomainFilter) => Promise<ChunkClaim>;
  priority: SendPriority;
  nowMs: () => number;
}

export type ProviderClaim =
  /** `short`: the gate granted less than asked (its share for now is used up) */
  | { kind: 'claimed'; result: ChunkClaim; short: boolean }
  /** the attempt already holds a chunk's worth of its rows waiting for its own connections */
  | { kind: 'blocked' }
  /** nothing granted now (rate, hour, day, backoff, or every connection another attempt's) */
  | { kind: 'refused'; waitMs: number };

/**
 * One shaped provider's part of a claim: at most `want` rows, as its gate grants (rate, hour, day,
 * backoff), and for a provider with `maxConnections` only while the attempt holds at least one of
 * its leases and has fewer than `want` of its rows waiting (provider-connections.ts).
 */
export async function claimProvider(
  deps: ProviderClaimDeps,
  provider: string,
  s: Shaped,
  want: number,
): Promise<ProviderClaim> {
  const { gate, connections, bucket, priority } = deps;
  const { maxConnections, ...rated } = s.limits;
  // a rate-limited provider is claimed from a tenth of a second's worth at a time: rows wait in
  // the attempt's queue between their claim (where the rate is counted) and their send, and a
  // full chunk sent late on top of the next one reached the bench's sink as a 421-drawing clump
  let chunk = s.limits.perSecond ? Math.min(want, Math.max(1, Math.ceil(s.limits.perSecond / 10))) : want;
  if (maxConnections) {
    const room = want - connections.outstanding(provider);
    if (room <= 0) return { kind: 'blocked' };
    const { held, waitMs } = await connections.ensure(provider, maxConnections, deps.nowMs());
    // every connection is another attempt's, which goes on using them: this one comes back
    if (held === 0) return { kind: 'refused', waitMs };
    chunk = Math.min(chunk, room);
  }
  // asked even without a rate: it says whether the provider backs off now (another process may
  // have met its throttle since this attempt last looked)
  const grant = await gate.take(provider, rated, chunk, priority, deps.nowMs());
  if (grant.granted === 0) return { kind: 'refused', waitMs: grant.waitMs };
  const granted = grant.granted;
  const n = bucket.unlimited ? granted : await bucket.take(granted, priority);
  const r = await deps.take(n, { only: s.domains });
  if (maxConnections) {
    for (const row of r.claimed) deps.connRows.set(row.id, provider);
    connections.claimed(provider, r.claimed.length);
  }
  if (r.taken < n) {
    s.done = true;
    connections.retire(provider);
  }
  const unused = granted - r.claimed.length;
  if (unused > 0) await gate.refund(provider, rated, unused, [], deps.nowMs());
  if (!bucket.unlimited && n > r.claimed.length) await bucket.refund(n - r.claimed.length);
  return { kind: 'claimed', result: r, short: granted < chunk };
}
