import { performance } from 'node:perf_hooks';
import type { Logger } from '../logger.js';
import type { ProviderGate } from '../shaping/provider-gate.js';
import type { ProviderLimits } from '../shaping/shaping-schema.js';
import type { ClaimedRow } from './delivery-batch-store.js';
import { ProviderConnections } from './provider-connections.js';
import { ProviderPace } from './provider-pace.js';
import type { SendPriority } from './token-bucket.js';

/**
 * Longest a slot waits for a token, a lease or an outcome before looking at the queue again (and
 * claiming again: a lease another attempt or process gave back is seen within this).
 */
const FREED_WAIT_MS = 100;
/**
 * A bulk attempt whose queued rows all wait for their providers' tokens or leases this long, while
 * other batch jobs wait for a slot, hands them back and gives its slot up (send-attempt.ts): a
 * breaking alert takes Gmail's whole rate for seconds, and eight slots each waiting for a token
 * held every fresh batch's unthrottled readers (the bench's 5,000-reader rush stood 2 s).
 */
export const STARVED_MS = 250;

export interface SendPacingOptions {
  gate: ProviderGate;
  log: Logger;
  priority: SendPriority;
  /** the attempt's sending slots (it never uses more leases of one provider) */
  slots: number;
  nowMs: () => number;
  /** the provider's limits, as the attempt's share knows them */
  limitsOf: (provider: string) => ProviderLimits | undefined;
  /** the provider was found backing off when tokens were asked for */
  onBackoff: (provider: string) => void;
  /** batch jobs that never ran wait for a job slot (container.ts) */
  othersQueued?: () => Promise<boolean>;
}

/**
 * One attempt's send-time pacing of providers with `perSecond` or `maxConnections`: their claimed
 * rows (`paced`) wait in the attempt's queue until a slot finds a rate token (provider-pace.ts)
 * and an idle connection lease (provider-connections.ts) for one; rows of other providers go past
 * them meanwhile. A row that got its token or lease is `urgent`: it goes to the SMTP pool's next
 * free connection ahead of unpaced mail, so the provider's share is not spent waiting in a queue.
 */
export class SendPacing {
  readonly connections: ProviderConnections;
  private readonly pace: ProviderPace;
  /** claimed rows of paced providers (row id -> provider) */
  readonly paced = new Map<number, string>();
  /** those a slot has taken holding a lease */
  private readonly leased = new Set<number>();
  private waiters: Array<() => void> = [];
  private readonly unsubscribe: () => void;
  /** when a slot last found a row it could send */
  private pickedAt = performance.now();

  constructor(private readonly opts: SendPacingOptions) {
    const wake = () => this.wake();
    this.connections = new ProviderConnections(opts.gate, opts.log, opts.priority, opts.slots, wake);
    this.pace = new ProviderPace(opts.gate, opts.log, opts.priority, opts.nowMs, wake, opts.onBackoff);
    // another attempt of this process gave leases back: ours waiting for one take it at once
    this.unsubscribe = opts.gate.onRelease(wake);
  }

  /**
   * Which queued row a slot may send now (its index, or -1): the first that is not paced, or whose
   * provider has a token and an idle lease of this attempt for it (both taken).
   */
  pick(queue: readonly ClaimedRow[]): number {
    // a provider found wanting is not asked again for the rows behind its first
    let wanting: Set<string> | undefined;
    for (let i = 0; i < queue.length; i++) {
      const id = queue[i]!.id;
      const provider = this.paced.get(id);
      if (provider === undefined) return this.picked(i);
      if (wanting?.has(provider)) continue;
      const limits = this.opts.limitsOf(provider) ?? {};
      const connected = !limits.maxConnections || this.connections.idle(provider);
      if (connected && (!limits.perSecond || this.pace.use(provider, limits.perSecond))) {
        if (limits.maxConnections && this.connections.use(provider)) this.leased.add(id);
        return this.picked(i);
      }
      wanting ??= new Set();
      wanting.add(provider);
    }
    return -1;
  }

  private picked(i: number): number {
    this.pickedAt = performance.now();
    return i;
  }

  /**
   * No queued row could go for STARVED_MS, this bulk attempt holds no connection (a reply would
   * free it soon) and batches that never ran wait for a slot: its paced rows should go back.
   */
  async starved(): Promise<boolean> {
    if (this.opts.priority !== 'bulk' || !this.idleFor(STARVED_MS)) return false;
    if (this.connections.holdsAny()) return false;
    return (await this.opts.othersQueued?.()) ?? false;
  }

  /** No slot found a row it could send for this long. */
  idleFor(ms: number): boolean {
    return performance.now() - this.pickedAt >= ms;
  }

  /** A paced row's message goes ahead of unpaced mail in the SMTP pool. */
  urgent(rowId: number): boolean {
    return this.paced.has(rowId);
  }

  /** A row has its outcome (or was lost): returns its provider when it was paced. */
  settled(rowId: number): string | undefined {
    const provider = this.paced.get(rowId);
    if (provider !== undefined) {
      this.paced.delete(rowId);
      this.connections.settled(provider, this.leased.delete(rowId));
    }
    return provider;
  }

  /**
   * Resolves at the next token, idle lease or paced row's outcome (at most FREED_WAIT_MS), having
   * taken leases again for rows left without one.
   */
  async freed(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.waiters.push(resolve);
      setTimeout(resolve, FREED_WAIT_MS).unref();
    });
    await this.retake().catch((err: Error) =>
      this.opts.log.warn({ err: err.message }, 'could not take provider leases again'),
    );
  }

  /** Leases taken again for rows left waiting without one (theirs went back while none was queued). */
  private async retake(): Promise<void> {
    for (const provider of this.connections.leaseless()) {
      const max = this.opts.limitsOf(provider)?.maxConnections;
      if (max) await this.connections.ensure(provider, max, this.opts.nowMs());
    }
  }

  renew(): Promise<void> {
    return this.connections.renew();
  }

  /** The attempt ends: tokens and leases go back. */
  async close(): Promise<void> {
    this.unsubscribe();
    await Promise.all([this.pace.close(), this.connections.close()]);
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
