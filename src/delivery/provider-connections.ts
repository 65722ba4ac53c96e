import type { Logger } from '../logger.js';
import type { ProviderGate } from '../shaping/provider-gate.js';
import type { SendPriority } from './token-bucket.js';

interface Held {
  leases: string[];
  /** messages of the provider in flight, one per lease at most */
  busy: number;
  /** rows of the provider claimed by the attempt and without an outcome yet */
  outstanding: number;
  /** the attempt claims no more of the provider: leases beyond its rows left go back */
  retired: boolean;
}

/**
 * One send attempt's connection leases for providers with `maxConnections` (provider-gate.ts).
 * The attempt takes leases before it claims such a provider's rows and keeps them while it has
 * rows of that provider to send; each lease carries one message at a time, so across every worker
 * at most `maxConnections` of the provider's messages are in flight, and the rows claimed beyond
 * the leases wait in the attempt's queue while other providers' rows go past them.
 *
 * A message to the provider thus costs no claim, gate call or lease round trip of its own. Before,
 * a lease was granted per claimed row and given back with its outcome, so every message paid a
 * whole claim cycle and the bench's two Microsoft connections were busy 3-7% of the time.
 *
 * The leases go back to Redis once the attempt will claim no more of the provider (`retire`) and
 * its last row has its outcome, or when the attempt ends; its heartbeat renews them meanwhile, and
 * a crashed process's expire (leaseMs).
 */
export class ProviderConnections {
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly gate: ProviderGate,
    private readonly log: Logger,
    private readonly priority: SendPriority,
    /** the attempt never uses more leases of one provider than it has sending slots */
    private readonly slots: number,
    /** a lease is idle again: slots waiting for one look again */
    private readonly wake: () => void,
  ) {}

  private of(provider: string): Held {
    let h = this.held.get(provider);
    if (!h) {
      h = { leases: [], busy: 0, outstanding: 0, retired: false };
      this.held.set(provider, h);
    }
    return h;
  }

  /** The attempt holds leases of some provider. */
  holdsAny(): boolean {
    for (const h of this.held.values()) if (h.leases.length > 0) return true;
    return false;
  }

  /** Providers with rows waiting in the attempt and no lease (theirs went back meanwhile). */
  leaseless(): string[] {
    return [...this.held].filter(([, h]) => h.outstanding > h.busy && h.leases.length === 0).map(([p]) => p);
  }

  /** Rows of the provider (connection- or rate-limited) this attempt holds without an outcome. */
  outstanding(provider: string): number {
    return this.held.get(provider)?.outstanding ?? 0;
  }

  /**
   * Takes the provider's leases the attempt lacks (up to maxConnections, at most its slots);
   * returns how many it holds and, when none, how long until asking again is worth it.
   */
  async ensure(
    provider: string,
    maxConnections: number,
    nowMs: number,
  ): Promise<{ held: number; waitMs: number }> {
    const h = this.of(provider);
    h.retired = false;
    const want = Math.min(maxConnections, this.slots) - h.leases.length;
    if (want <= 0) return { held: h.leases.length, waitMs: 0 };
    const grant = await this.gate.take(provider, { maxConnections }, want, this.priority, nowMs);
    h.leases.push(...grant.leases);
    return { held: h.leases.length, waitMs: grant.waitMs };
  }

  /** Rows of the provider were claimed. */
  claimed(provider: string, n: number): void {
    if (n > 0) this.of(provider).outstanding += n;
  }

  /** One of the attempt's leases of the provider is idle. */
  idle(provider: string): boolean {
    const h = this.held.get(provider);
    return h !== undefined && h.busy < h.leases.length;
  }

  /** A slot sends a row of the provider now: takes an idle lease, or says there is none. */
  use(provider: string): boolean {
    if (!this.idle(provider)) return false;
    this.held.get(provider)!.busy++;
    return true;
  }

  /** A row of the provider has its outcome (`inFlight`: it had taken a lease). */
  settled(provider: string, inFlight: boolean): void {
    const h = this.held.get(provider);
    if (h) {
      h.outstanding = Math.max(0, h.outstanding - 1);
      if (inFlight) h.busy = Math.max(0, h.busy - 1);
      // its last row is done: the leases go back at once, even if the attempt may claim more of
      // the provider (it takes them again then); held idle while the attempt waited for alerts,
      // they kept an alert batch waiting for them until that wait ran out
      this.giveBackIdle(provider);
    }
    this.wake();
  }

  /**
   * The attempt claims no more of the provider: a lease beyond its rows left goes back at once
   * (another attempt's rows may use it while this one's last are in flight), the rest as they end.
   */
  retire(provider: string): void {
    const h = this.held.get(provider);
    if (h) h.retired = true;
    this.giveBackIdle(provider);
  }

  /** The heartbeat: every lease held is kept leaseMs longer (one gone from Redis is taken again). */
  async renew(): Promise<void> {
    for (const [provider, h] of this.held) {
      if (h.leases.length === 0) continue;
      const gone = await this.gate.renew(provider, h.leases);
      if (gone.length > 0)
        this.log.warn(
          { provider, leases: gone.length },
          'connection leases were gone from Redis (wiped, or expired while this attempt stalled): taken again',
        );
    }
  }

  /** The attempt ends: every lease goes back. */
  async close(): Promise<void> {
    const all = [...this.held];
    this.held.clear();
    await Promise.all(all.map(([provider, h]) => this.release(provider, h.leases)));
  }

  /** Every lease once the rows are done; retired, those beyond the rows left (idle: busy <= rows). */
  private giveBackIdle(provider: string): void {
    const h = this.held.get(provider);
    if (!h || h.leases.length === 0) return;
    const done = h.outstanding === 0 && h.busy === 0;
    const surplus = done ? h.leases.length : h.retired ? h.leases.length - h.outstanding : 0;
    if (surplus <= 0) return;
    void this.release(provider, h.leases.splice(h.leases.length - surplus));
  }

  private release(provider: string, leases: string[]): Promise<void> {
    if (leases.length === 0) return Promise.resolve();
    return this.gate
      .release(provider, leases)
      .catch((err) =>
        this.log.warn({ provider, err: (err as Error).message }, 'could not free provider leases'),
      );
  }
}
