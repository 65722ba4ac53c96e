import { performance } from 'node:perf_hooks';
import type { Clock } from '../clock.js';
import type { Db } from '../db/pool.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { ProviderDirectory } from '../shaping/provider-directory.js';
import type { ProviderGate, ProviderState } from '../shaping/provider-gate.js';
import { isLimited, type ProviderRules } from '../shaping/provider-rules.js';
import { type BatchLanes, LaneHold } from './batch-lanes.js';
import {
  type ChunkClaim,
  type ClaimedRow,
  type DomainFilter,
  pendingDomains,
  recipientDomain,
} from './delivery-batch-store.js';
import { claimShaped, type Shaped } from './provider-claim.js';
import { SendPacing, STARVED_MS } from './send-pacing.js';
import type { SendPriority, TokenBucket } from './token-bucket.js';

export interface ShapingDeps {
  directory: ProviderDirectory;
  gate: ProviderGate;
  rules: ProviderRules;
  /** a batch whose only rows left wait on providers comes back after at most this long */
  recheckMs: number;
  /** this many connections lost mid-transaction to one provider within windowMs: it backs off */
  drops: { storm: number; windowMs: number };
  /** the worker's full-speed lanes (batch-lanes.ts); absent: every bulk batch claims at full speed */
  lanes?: BatchLanes;
  /** batch jobs that never ran yet wait for a job slot (read from the send queue, cached) */
  othersQueued?: () => Promise<boolean>;
  /** any batch job waits for a slot (cached): a batch blocked on another's connections yields */
  batchesWaiting?: () => Promise<boolean>;
}

export type ShareClaim = ChunkClaim & {
  /** nothing left in the batch at all */
  done: boolean;
  /** nothing could be claimed: the rows left wait on these providers; look again after waitMs */
  waiting?: { providers: string[]; waitMs: number };
  /** nothing claimed: the attempt's queued rows wait for their tokens or leases (`freed`) */
  blocked?: boolean;
};

/** How often a batch re-reads which providers back off (another process may have met a throttle). */
const STATE_REFRESH_MS = 1000;
/** A batch yielding to throttled providers comes back no sooner (sooner: PostgreSQL CPU 6x plain). */
const MIN_RECHECK_MS = 200;
/** Paced rows held ahead while batches wait for a slot: short visits (with 32 they took a second). */
const PACED_AHEAD_WHILE_QUEUED = 4;

/**
 * One batch attempt's view of the receiving providers (docs/delivery.md, "Providers"). Rows of
 * providers with limits or in backoff are claimed as far as the provider gate grants for the hour,
 * the day and the backoff (shaping/provider-gate.ts), and a chunk ahead at most when paced at send
 * time by rate or connections (send-pacing.ts); the others under the global bucket, in one of the
 * worker's full-speed lanes (batch-lanes.ts). A provider whose share is used up or that backs off
 * is not claimed from: its rows stay `pending` and spend no attempt, and once nothing else is left
 * the job yields (`waiting`) so other batches go on meanwhile.
 */
export class ProviderShare {
  private readonly shaped = new Map<string, Shaped>();
  private othersDone = false;
  /** this attempt's hold on one of the worker's full-speed lanes */
  private readonly lane: LaneHold;
  private refreshedAt = performance.now();
  /** rate tokens and connection leases taken at send time (send-pacing.ts) */
  readonly pacing: SendPacing;
  /** paced providers found backing off since the attempt last asked (their rows go back) */
  private readonly backingOff = new Set<string>();
  /** chunks of shaped providers' rows claimed in this attempt */
  private shapedClaims = 0;
  private readonly sentSince = new Map<string, number>();
  /** providers that throttled during this attempt: their rows went back to pending */
  private readonly heldBack = new Set<string>();
  /** when each provider last had a message accepted in this attempt (performance.now) */
  private readonly lastSentAt = new Map<string, number>();

  private constructor(
    private readonly deps: ShapingDeps & { clock: Clock; log: Logger; metrics: Metrics },
    private readonly providerOfDomain: Map<string, string>,
    private readonly priority: SendPriority,
    slots: number,
  ) {
    this.lane = new LaneHold(priority === 'bulk' ? deps.lanes : undefined);
    this.pacing = new SendPacing({
      gate: deps.gate,
      log: deps.log,
      priority,
      slots,
      nowMs: () => deps.clock.now().getTime(),
      limitsOf: (provider) => this.shaped.get(provider)?.limits,
      othersQueued: deps.othersQueued,
      onBackoff: (provider) => {
        const s = this.shaped.get(provider);
        if (s) this.spend(provider, s);
        this.heldBack.add(provider);
        this.backingOff.add(provider);
      },
    });
  }

  static async open(
    deps: ShapingDeps & { db: Db; clock: Clock; log: Logger; metrics: Metrics },
    edition: { id: string },
    batch: number,
    priority: SendPriority,
    slots: number,
  ): Promise<ProviderShare> {
    const domains = await pendingDomains(deps.db, edition.id, batch);
    const providers = await deps.directory.resolve(domains.keys());
    const share = new ProviderShare(deps, providers, priority, slots);
    for (const provider of new Set(providers.values())) {
      const limits = deps.rules.limits(provider);
      if (isLimited(limits)) share.shape(provider, false);
    }
    share.follow(await deps.gate.states());
    // only shaped providers' rows are pending: no full-speed lane is needed
    share.othersDone = [...domains.keys()].every((d) => share.shaped.has(providers.get(d) ?? d));
    return share;
  }

  providerOf(recipient: string): string {
    const domain = recipientDomain(recipient);
    return this.providerOfDomain.get(domain) ?? domain;
  }

  /** The recipient's provider's `messagesPerConnection`, as the SMTP pool counts it (raw-pool.ts). */
  tallyOf(recipient: string): { key: string; max: number } | undefined {
    const provider = this.providerOf(recipient);
    const max = this.deps.rules.limits(provider).messagesPerConnection;
    return max ? { key: provider, max } : undefined;
  }

  /** Claims up to `want` rows: unshaped providers' in a full-speed lane, shaped ones' as granted. */
  async claim(
    want: number,
    bucket: TokenBucket,
    take: (limit: number, filter?: DomainFilter) => Promise<ChunkClaim>,
  ): Promise<ShareClaim> {
    await this.refresh();
    const out: ShareClaim = { claimed: [], suppressed: 0, taken: 0, done: false };
    // batches that never ran wait for a slot: this visit takes a few paced rows, sends them and
    // gives its slot up, so their readers do not wait for Gmail's pace (not while it holds a
    // provider's connections: they would stand idle until another batch came)
    const queued = this.priority === 'bulk' && ((await this.deps.othersQueued?.()) ?? false);
    if (queued && this.othersDone && this.shapedClaims > 0 && !this.pacing.connections.holdsAny()) {
      const open = [...this.shaped].filter(([, s]) => !s.done).map(([p]) => p);
      return { ...out, waiting: { providers: open, waitMs: MIN_RECHECK_MS } };
    }
    const add = (r: ChunkClaim) => {
      out.claimed.push(...r.claimed);
      out.suppressed += r.suppressed;
      out.taken += r.taken;
    };
    let laneWanted = false;
    if (!this.othersDone && !this.lane.hold()) laneWanted = true;
    else if (!this.othersDone) {
      const except = [...this.shaped.values()].flatMap((s) => s.domains);
      const n = bucket.unlimited ? want : await bucket.take(want, this.priority);
      const r = await take(n, except.length > 0 ? { except } : undefined);
      if (r.taken < n) this.othersDone = true;
      if (r.claimed.length < n) await bucket.refund(n - r.claimed.length);
      add(r);
      // its unlimited rows are claimed: the lane goes to the next batch while this one sends the rest
      if (this.othersDone) this.lane.give();
    }
    const deps = {
      gate: this.deps.gate,
      connections: this.pacing.connections,
      paced: this.pacing.paced,
      bucket,
      take,
      priority: this.priority,
      nowMs: () => this.deps.clock.now().getTime(),
    };
    const ahead = queued ? PACED_AHEAD_WHILE_QUEUED : want;
    const spend = (provider: string, s: Shaped) => this.spend(provider, s);
    const pass = await claimShaped(deps, this.shaped, { want, ahead, othersDone: this.othersDone, spend });
    for (const r of pass.results) add(r);
    this.shapedClaims += pass.results.length;
    const { waits, queueWaits, connectionWaits } = pass;
    const open = [...this.shaped].filter(([, s]) => !s.done);
    out.done = this.othersDone && open.length === 0;
    const none = out.claimed.length === 0 && out.suppressed === 0 && !out.done;
    if (none && laneWanted) {
      // unlimited rows are left and the lanes are taken: wait a while for one, then claim again
      await this.lane.wait();
    } else if (none && open.every(([, s]) => s.spent)) {
      const waitMs = Math.min(this.deps.recheckMs, Math.max(MIN_RECHECK_MS, ...waits));
      out.waiting = { providers: open.map(([p]) => p), waitMs };
    } else if (none && connectionWaits && !queueWaits && (queued || (await this.yieldsConnections()))) {
      out.waiting = { providers: open.map(([p]) => p), waitMs: MIN_RECHECK_MS };
    } else if (none && (queueWaits || connectionWaits)) out.blocked = true;
    return out;
  }

  /**
   * Left with only rows of a provider whose every connection is another attempt's, a bulk batch
   * gives its slot to any batch waiting (it may have rows of providers with room while every batch
   * running waits on Microsoft's two): at once after sending its other rows, else after STARVED_MS.
   */
  private async yieldsConnections(): Promise<boolean> {
    if (this.priority !== 'bulk' || !this.othersDone) return false;
    if (this.shapedClaims === 0 && !this.pacing.idleFor(STARVED_MS)) return false;
    return (await this.deps.batchesWaiting?.()) ?? false;
  }

  // which queued row a slot may send now, or -1; resolves once a token, a lease or a paced row's
  // outcome may let one go; the heartbeat keeps the attempt's leases (send-pacing.ts)
  pick = (queue: readonly ClaimedRow[]): number => this.pacing.pick(queue);
  freed = (): Promise<void> => this.pacing.freed();
  renew = (): Promise<void> => this.pacing.renew();

  /** Paced providers found backing off since the last call: the attempt hands their rows back. */
  takeBackingOff(): string[] {
    const out = [...this.backingOff];
    this.backingOff.clear();
    return out;
  }

  /** A row has its outcome (or was lost to another attempt): its connection lease is free. */
  settled(rowId: number, sent: boolean, recipient?: string): void {
    const conn = this.pacing.settled(rowId);
    if (sent && recipient) {
      const provider = conn ?? this.providerOf(recipient);
      this.lastSentAt.set(provider, performance.now());
      if (this.shaped.get(provider)?.recovering)
        this.sentSince.set(provider, (this.sentSince.get(provider) ?? 0) + 1);
    }
  }

  /** The provider of this recipient answered that Gazette goes too fast: only that provider waits. */
  async throttled(recipient: string, error: string, ctx: Record<string, unknown>): Promise<void> {
    const provider = this.providerOf(recipient);
    const s = this.shape(provider, true);
    this.spend(provider, s);
    this.heldBack.add(provider);
    s.recovering = true;
    this.deps.metrics.providerThrottles.inc({ provider });
    const now = this.deps.clock.now().getTime();
    const { level, untilMs } = await this.deps.gate.throttled(provider, error, now);
    this.deps.log.warn(
      { ...ctx, provider, level, until: new Date(untilMs).toISOString(), error, alert: 'provider_throttled' },
      `${provider} asked Gazette to slow down: its rows wait pending while other providers go on`,
    );
  }

  /**
   * A connection lost in a transaction to this recipient's provider before the body left
   * (smtp-errors.ts `isDropInTransaction`): the provider's doing only when the relay is known up
   * (another provider's message accepted within the drop window here, or `relayAnswers`), else the
   * relay's. Counted in Redis; the `drops.storm`-th within the window backs the provider off as a
   * throttling reply does. Either way the row waits `pending` and the job comes back for it.
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
    const why = `connection storm: ${n.drops} connections lost mid-transaction: ${error}`;
    await this.throttled(recipient, why, ctx);
    return 'storm';
  }

  /** Rows of providers that throttled or were handed back are pending: the job comes back for them. */
  leftWaiting(): { providers: string[]; waitMs: number } | undefined {
    if (this.heldBack.size === 0) return undefined;
    return { providers: [...this.heldBack], waitMs: this.deps.recheckMs };
  }

  /** This provider's queued rows (claimed, not given to a slot) out, pending again: the job comes back. */
  extract(provider: string, queue: ClaimedRow[]): ClaimedRow[] {
    const out: ClaimedRow[] = [];
    for (let i = queue.length - 1; i >= 0; i--) {
      if (this.providerOf(queue[i]!.recipient) === provider) out.push(...queue.splice(i, 1));
    }
    if (out.length > 0) this.heldBack.add(provider);
    return out;
  }

  /** At the end of the attempt: its lane and leases go back, successes not yet reported are. */
  async close(): Promise<void> {
    this.lane.give();
    await this.pacing.close();
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

  /** The attempt claims no more of this provider (used up, waiting, or backing off). */
  private spend(provider: string, s: Shaped): void {
    s.spent = true;
    this.pacing.connections.retire(provider);
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
