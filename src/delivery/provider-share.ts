import { performance } from 'node:perf_hooks';
import type { Clock } from '../clock.js';
import type { Db } from '../db/pool.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { ProviderDirectory } from '../shaping/provider-directory.js';
import type { ProviderGate, ProviderState } from '../shaping/provider-gate.js';
import { isLimited, type ProviderRules } from '../shaping/provider-rules.js';
import type { ProviderLimits } from '../shaping/shaping-schema.js';
import {
  type ChunkClaim,
  type ClaimedRow,
  type DomainFilter,
  pendingDomains,
  recipientDomain,
} from './delivery-batch-store.js';
import type { SendPriority, TokenBucket } from './token-bucket.js';

export interface ShapingDeps {
  directory: ProviderDirectory;
  gate: ProviderGate;
  rules: ProviderRules;
  /** a batch whose only rows left wait on providers comes back after at most this long */
  recheckMs: number;
  /** this many connections lost mid-transaction to one provider within windowMs: it backs off */
  drops: { storm: number; windowMs: number };
}

interface Shaped {
  domains: string[];
  limits: ProviderLimits;
  /** no pending row of it is left in the batch */
  done: boolean;
  /** its share for this visit is used up, or it is backing off: the rest waits for the next job run */
  spent: boolean;
  /** backing off (level > 0) as last read: successes are reported so it recovers */
  recovering: boolean;
}

export type ShareClaim = ChunkClaim & {
  /** nothing left in the batch at all */
  done: boolean;
  /** nothing could be claimed: the rows left wait on these providers; look again after waitMs */
  waiting?: { providers: string[]; waitMs: number };
};

/** How often a batch re-reads which providers back off (another process may have met a throttle). */
const STATE_REFRESH_MS = 1000;
/** Longest a claim waits for one of its own connection leases before asking again. */
const LEASE_WAIT_MS = 1000;
/**
 * A batch that yields to throttled providers is not looked at again sooner than this: dozens of
 * batches waiting on one provider's rate, each back every few ms, spent the machine on job runs
 * (the bench's shaping lane: PostgreSQL CPU six times the plain lane's) rather than on sending.
 */
const MIN_RECHECK_MS = 200;

/**
 * One batch attempt's view of the receiving providers (docs/delivery.md, "Providers"). Rows of
 * providers with limits or in backoff are claimed only as far as the provider gate grants
 * (shaping/provider-gate.ts), the others as before under the global bucket. A provider whose share
 * is used up or that backs off is not claimed from: its rows stay `pending` and spend no attempt,
 * and once nothing else is left the job yields (`waiting`) so other batches go on meanwhile.
 */
export class ProviderShare {
  private readonly shaped = new Map<string, Shaped>();
  private othersDone = false;
  private refreshedAt = performance.now();
  private readonly leases = new Map<number, { provider: string; lease: string }>();
  private readonly sentSince = new Map<string, number>();
  /** providers that throttled during this attempt: their rows went back to pending */
  private readonly heldBack = new Set<string>();
  /** this attempt's leases per provider given back and not yet gone from Redis */
  private readonly releasing = new Map<string, number>();
  /** claims waiting for one of this attempt's connection leases to be given back */
  private readonly freed: Array<() => void> = [];
  /** when each provider last had a message accepted in this attempt (performance.now) */
  private readonly lastSentAt = new Map<string, number>();

  private constructor(
    private readonly deps: ShapingDeps & { clock: Clock; log: Logger; metrics: Metrics },
    private readonly providerOfDomain: Map<string, string>,
    private readonly priority: SendPriority,
  ) {}

  static async open(
    deps: ShapingDeps & { db: Db; clock: Clock; log: Logger; metrics: Metrics },
    edition: { id: string },
    batch: number,
    priority: SendPriority,
  ): Promise<ProviderShare> {
    const domains = await pendingDomains(deps.db, edition.id, batch);
    const providers = await deps.directory.resolve(domains.keys());
    const share = new ProviderShare(deps, providers, priority);
    for (const provider of new Set(providers.values())) {
      const limits = deps.rules.limits(provider);
      if (isLimited(limits)) share.shape(provider, false);
    }
    share.follow(await deps.gate.states());
    return share;
  }

  providerOf(recipient: string): string {
    const domain = recipientDomain(recipient);
    return this.providerOfDomain.get(domain) ?? domain;
  }

  /** Claims up to `want` rows: unshaped providers under the global bucket, shaped ones as granted. */
  async claim(
    want: number,
    bucket: TokenBucket,
    take: (limit: number, filter?: DomainFilter) => Promise<ChunkClaim>,
    again = false,
  ): Promise<ShareClaim> {
    await this.refresh();
    const { gate } = this.deps;
    const now = () => this.deps.clock.now().getTime();
    const out: ShareClaim = { claimed: [], suppressed: 0, taken: 0, done: false };
    const add = (r: ChunkClaim) => {
      out.claimed.push(...r.claimed);
      out.suppressed += r.suppressed;
      out.taken += r.taken;
    };
    if (!this.othersDone) {
      const except = [...this.shaped.values()].flatMap((s) => s.domains);
      const n = bucket.unlimited ? want : await bucket.take(want, this.priority);
      const r = await take(n, except.length > 0 ? { except } : undefined);
      if (r.taken < n) this.othersDone = true;
      if (r.claimed.length < n) await bucket.refund(n - r.claimed.length);
      add(r);
    }
    const waits: number[] = [];
    let ownLeases = false;
    for (const [provider, s] of this.shaped) {
      if (s.done || s.spent) continue;
      // a rate-limited provider is claimed from a tenth of a second's worth at a time: rows wait in
      // the attempt's queue between their claim (where the rate is counted) and their send, and a
      // full chunk sent late on top of the next one reached the bench's sink as a 421-drawing clump
      const chunk = s.limits.perSecond
        ? Math.min(want, Math.max(1, Math.ceil(s.limits.perSecond / 10)))
        : want;
      const grant = await gate.take(provider, s.limits, chunk, this.priority, now());
      if (grant.granted === 0) {
        waits.push(grant.waitMs);
        // its connections are this attempt's own messages in flight: one is free within a reply,
        // so the attempt waits for it rather than giving its place up (the job would come back
        // for one message per connection)
        if (grant.why === 'connections' && this.holdsLease(provider)) ownLeases = true;
        // while other rows are left the provider is asked again at the next chunk
        else if (this.othersDone) s.spent = true;
        continue;
      }
      const n = bucket.unlimited ? grant.granted : await bucket.take(grant.granted, this.priority);
      const r = await take(n, { only: s.domains });
      if (r.taken < n) s.done = true;
      r.claimed.forEach((row, i) => {
        const lease = grant.leases[i];
        if (lease) this.leases.set(row.id, { provider, lease });
      });
      const unused = grant.granted - r.claimed.length;
      if (unused > 0)
        await gate.refund(provider, s.limits, unused, grant.leases.slice(r.claimed.length), now());
      if (!bucket.unlimited && n > r.claimed.length) await bucket.refund(n - r.claimed.length);
      if (this.othersDone && grant.granted < chunk) s.spent = true;
      add(r);
    }
    const open = [...this.shaped].filter(([, s]) => !s.done);
    out.done = this.othersDone && open.length === 0;
    if (out.claimed.length === 0 && out.suppressed === 0 && !out.done && open.every(([, s]) => s.spent)) {
      const waitMs = Math.min(this.deps.recheckMs, Math.max(MIN_RECHECK_MS, ...waits));
      out.waiting = { providers: open.map(([p]) => p), waitMs };
    } else if (out.claimed.length === 0 && out.suppressed === 0 && !out.done && ownLeases) {
      await this.leaseFreed();
      // claimed again at once (once: the attempt may be stopping), saving the slot's trip back
      // through an outcome write per message of a connection-limited provider
      if (!again) return this.claim(want, bucket, take, true);
    }
    return out;
  }

  /** A row has its outcome: its connection lease (maxConnections) is free for the next message. */
  settled(rowId: number, sent: boolean, recipient?: string): void {
    const held = this.leases.get(rowId);
    if (held) {
      this.leases.delete(rowId);
      const releasing = this.releasing;
      releasing.set(held.provider, (releasing.get(held.provider) ?? 0) + 1);
      this.deps.gate
        .release(held.provider, [held.lease])
        .catch((err) =>
          this.deps.log.warn({ err: (err as Error).message }, 'could not free a provider lease'),
        )
        .finally(() => {
          releasing.set(held.provider, (releasing.get(held.provider) ?? 1) - 1);
          for (const wake of this.freed.splice(0)) wake();
        });
    }
    if (sent && recipient) {
      const provider = held?.provider ?? this.providerOf(recipient);
      this.lastSentAt.set(provider, performance.now());
      if (this.shaped.get(provider)?.recovering)
        this.sentSince.set(provider, (this.sentSince.get(provider) ?? 0) + 1);
    }
  }

  /** The provider of this recipient answered that Gazette goes too fast: only that provider waits. */
  async throttled(recipient: string, error: string, ctx: Record<string, unknown>): Promise<void> {
    const provider = this.providerOf(recipient);
    const s = this.shape(provider, true);
    s.spent = true;
    this.heldBack.add(provider);
    s.recovering = true;
    this.deps.metrics.providerThrottles.inc({ provider });
    const { level, untilMs } = await this.deps.gate.throttled(
      provider,
      error,
      this.deps.clock.now().getTime(),
    );
    this.deps.log.warn(
      { ...ctx, provider, level, until: new Date(untilMs).toISOString(), error, alert: 'provider_throttled' },
      `${provider} asked Gazette to slow down: its rows wait pending while other providers go on`,
    );
  }

  /**
   * The connection was lost during a message's transaction to this recipient's provider, before
   * its body left (smtp-errors.ts `isDropInTransaction`). It is the provider's doing only when the
   * relay is known to be up: another provider's message was accepted within the drop window in
   * this attempt, or (none yet) `relayAnswers` says a fresh connection to the relay works;
   * otherwise it is the relay's (`relay`). The provider's drops are counted in Redis; the
   * `drops.storm`-th within the window is a storm: the provider backs off as after a throttling
   * reply. Either way the row waits `pending` and the job comes back for it, spending nothing.
   */
  async dropped(
    recipient: string,
    error: string,
    ctx: Record<string, unknown>,
    relayAnswers: () => Promise<boolean>,
  ): Promise<'relay' | 'counted' | 'storm'> {
    const provider = this.providerOf(recipient);
    const { windowMs, storm } = this.deps.drops;
    const since = performance.now() - windowMs;
    const othersGoThrough = [...this.lastSentAt].some(([p, at]) => p !== provider && at >= since);
    if (!othersGoThrough && !(await relayAnswers())) return 'relay';
    this.heldBack.add(provider);
    const n = await this.deps.gate.dropped(provider, storm, windowMs, this.deps.clock.now().getTime());
    if (!n.storm) return 'counted';
    await this.throttled(
      recipient,
      `connection storm: ${n.drops} connections lost mid-transaction: ${error}`,
      ctx,
    );
    return 'storm';
  }

  /**
   * At the end of an attempt whose every claim succeeded, rows of providers that throttled meanwhile
   * are pending again: the job must come back for them (it spent nothing).
   */
  leftWaiting(): { providers: string[]; waitMs: number } | undefined {
    if (this.heldBack.size === 0) return undefined;
    return { providers: [...this.heldBack], waitMs: this.deps.recheckMs };
  }

  /** Takes this provider's rows out of `queue` (claimed, not handed to a slot yet) and returns them. */
  extract(provider: string, queue: ClaimedRow[]): ClaimedRow[] {
    const out: ClaimedRow[] = [];
    for (let i = queue.length - 1; i >= 0; i--) {
      if (this.providerOf(queue[i]!.recipient) === provider) out.push(...queue.splice(i, 1));
    }
    return out;
  }

  /** At the end of the attempt: the successes not yet reported (a Redis failure only delays recovery). */
  async close(): Promise<void> {
    await this.flushSuccesses().catch((err) =>
      this.deps.log.warn({ err: (err as Error).message }, 'could not report provider successes'),
    );
  }

  /** Reports successes of providers that were backing off (they recover), at most once a chunk. */
  async flushSuccesses(): Promise<void> {
    for (const [provider, n] of this.sentSince) {
      this.sentSince.delete(provider);
      const level = await this.deps.gate.succeeded(provider, n, this.deps.clock.now().getTime());
      const s = this.shaped.get(provider);
      if (s && level === 0) s.recovering = false;
    }
  }

  /** a lease of this attempt is taken, or on its way back */
  private holdsLease(provider: string): boolean {
    if ((this.releasing.get(provider) ?? 0) > 0) return true;
    for (const held of this.leases.values()) if (held.provider === provider) return true;
    return false;
  }

  /** Resolves once a lease of this attempt is back in Redis (at most LEASE_WAIT_MS: a lost reply). */
  private leaseFreed(): Promise<void> {
    return new Promise((resolve) => {
      this.freed.push(resolve);
      setTimeout(resolve, LEASE_WAIT_MS).unref();
    });
  }

  private shape(provider: string, force: boolean): Shaped {
    let s = this.shaped.get(provider);
    if (!s) {
      const domains = [...this.providerOfDomain].filter(([, p]) => p === provider).map(([d]) => d);
      s = { domains, limits: this.deps.rules.limits(provider), done: false, spent: false, recovering: force };
      this.shaped.set(provider, s);
    }
    return s;
  }

  private follow(states: ProviderState[]): void {
    const now = this.deps.clock.now().getTime();
    const present = new Set(this.providerOfDomain.values());
    for (const st of states) {
      if (!present.has(st.provider)) continue;
      const pausing = st.until !== null && Date.parse(st.until) > now;
      if (st.level > 0 || pausing) this.shape(st.provider, true).recovering = st.level > 0;
    }
  }

  private async refresh(): Promise<void> {
    await this.flushSuccesses();
    if (performance.now() - this.refreshedAt < STATE_REFRESH_MS) return;
    this.refreshedAt = performance.now();
    this.follow(await this.deps.gate.states());
  }
}
