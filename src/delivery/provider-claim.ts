import type { GateTake, ProviderGate } from '../shaping/provider-gate.js';
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
  /** claimed rows of providers paced at send time (row id -> provider) */
  paced: Map<number, string>;
  bucket: TokenBucket;
  take: (limit: number, filter?: DomainFilter) => Promise<ChunkClaim>;
  priority: SendPriority;
  nowMs: () => number;
}

export type ProviderClaim =
  /** `short`: the gate granted less than asked (its share for now is used up) */
  | { kind: 'claimed'; result: ChunkClaim; short: boolean }
  /** the attempt already holds a chunk's worth of its rows waiting for their tokens or leases */
  | { kind: 'blocked' }
  /** nothing granted now (hour, day, backoff, or every connection another attempt's) */
  | { kind: 'refused'; waitMs: number; why: GateTake['why'] };

/**
 * One shaped provider's part of a claim: at most `want` rows, as its gate grants for the hour, the
 * day and its backoff. A provider with `perSecond` or `maxConnections` is paced at send time
 * (provider-pace.ts, provider-connections.ts): its rows are claimed only while fewer than `want` of
 * them wait in the attempt, and with `maxConnections` only while the attempt holds one of its
 * leases; they wait claimed for their token or lease while other rows go past them.
 */
export async function claimProvider(
  deps: ProviderClaimDeps,
  provider: string,
  s: Shaped,
  want: number,
  /** a paced provider's rows held ahead in the attempt at most */
  ahead: number,
): Promise<ProviderClaim> {
  const { gate, connections, bucket, priority } = deps;
  const { maxConnections, perSecond, ...counted } = s.limits;
  const paced = Boolean(maxConnections || perSecond);
  let chunk = want;
  if (maxConnections) {
    // before the room check: rows claimed while its leases went back need them again
    const { held, waitMs } = await connections.ensure(provider, maxConnections, deps.nowMs());
    // every connection is another attempt's, which goes on using them
    if (held === 0) return { kind: 'refused', waitMs, why: 'connections' };
  }
  if (paced) {
    // holding the provider's connections, a whole chunk: the visit lasts while it holds them
    // anyway, and each hand-over of the leases to another attempt leaves them idle for a while
    chunk = (maxConnections ? want : Math.min(want, ahead)) - connections.outstanding(provider);
    if (chunk <= 0) return { kind: 'blocked' };
  }
  // asked even without an hourly or daily limit: it says whether the provider backs off now
  // (another process may have met its throttle since this attempt last looked)
  const grant = await gate.take(provider, counted, chunk, priority, deps.nowMs());
  if (grant.granted === 0) return { kind: 'refused', waitMs: grant.waitMs, why: grant.why };
  const granted = grant.granted;
  const n = bucket.unlimited ? granted : await bucket.take(granted, priority);
  const r = await deps.take(n, { only: s.domains });
  if (paced) {
    for (const row of r.claimed) deps.paced.set(row.id, provider);
    connections.claimed(provider, r.claimed.length);
  }
  if (r.taken < n) {
    s.done = true;
    connections.retire(provider);
  }
  const unused = granted - r.claimed.length;
  if (unused > 0) await gate.refund(provider, counted, unused, [], deps.nowMs());
  if (!bucket.unlimited && n > r.claimed.length) await bucket.refund(n - r.claimed.length);
  return { kind: 'claimed', result: r, short: granted < chunk };
}

export interface ShapedPass {
  results: ChunkClaim[];
  /** how long until the providers that refused could grant again */
  waits: number[];
  /** rows held in the attempt wait for their tokens or leases */
  queueWaits: boolean;
  /** another attempt holds every lease of a provider: it is asked again at the next claim */
  connectionWaits: boolean;
}

/**
 * One claim's pass over an attempt's shaped providers. Once the unshaped rows are claimed
 * (`othersDone`), a provider that refused or granted less than asked is `spend`-ed: claimed from no
 * more in this attempt; one whose connections are all another attempt's is asked again.
 */
export async function claimShaped(
  deps: ProviderClaimDeps,
  shaped: ReadonlyMap<string, Shaped>,
  o: { want: number; ahead: number; othersDone: boolean; spend: (provider: string, s: Shaped) => void },
): Promise<ShapedPass> {
  const pass: ShapedPass = { results: [], waits: [], queueWaits: false, connectionWaits: false };
  for (const [provider, s] of shaped) {
    if (s.done || s.spent) continue;
    const c = await claimProvider(deps, provider, s, o.want, o.ahead);
    const byConnections = c.kind === 'refused' && c.why === 'connections';
    if (c.kind === 'blocked') pass.queueWaits = true;
    else if (byConnections) pass.connectionWaits = true;
    else if (c.kind === 'refused') pass.waits.push(c.waitMs);
    else pass.results.push(c.result);
    if (o.othersDone && !byConnections && (c.kind === 'refused' || (c.kind === 'claimed' && c.short)))
      o.spend(provider, s);
  }
  return pass;
}
