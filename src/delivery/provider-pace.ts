import type { Logger } from '../logger.js';
import type { ProviderGate } from '../shaping/provider-gate.js';
import type { SendPriority } from './token-bucket.js';

/** Tokens taken from the gate at a time: this share of a second's worth (at least 1). */
const FETCH_SHARE = 1 / 50;
/** After a Redis error, the next fetch waits this long. */
const ERROR_PAUSE_MS = 200;

interface Stash {
  perSecond: number;
  tokens: number;
  fetching: boolean;
  /** a fetch is scheduled for when the gate said a token would be there */
  timer: NodeJS.Timeout | undefined;
}

/**
 * One send attempt's per-second rate tokens (`perSecond`) for its providers, taken from the
 * provider gate (Redis, shared by every worker) at send time, a fiftieth of a second's worth at a
 * time, as the attempt's slots reach rows of the provider.
 *
 * Counting the rate when rows were claimed let claimed rows wait in the attempt's queue and then
 * reach the provider in clumps: with several batches at once the bench's Gmail saw 486 messages in
 * one second against 285/s claimed, and answered 421. Metered as they go, a provider sees the rate
 * it was given; the rows wait claimed (still the attempt's) and other providers' rows go past them.
 *
 * A provider found backing off when tokens are asked for (another process met its throttle) is
 * reported (`onBackoff`) so the attempt hands its rows back pending; tokens left at the end of the
 * attempt go back to the gate.
 */
export class ProviderPace {
  private readonly stash = new Map<string, Stash>();
  private closed = false;

  constructor(
    private readonly gate: ProviderGate,
    private readonly log: Logger,
    private readonly priority: SendPriority,
    private readonly nowMs: () => number,
    /** a token arrived (or a fetch failed): slots waiting for one look again */
    private readonly wake: () => void,
    private readonly onBackoff: (provider: string) => void,
  ) {}

  /** Takes a token for one message to the provider, or starts fetching and says there is none yet. */
  use(provider: string, perSecond: number): boolean {
    let st = this.stash.get(provider);
    if (!st) {
      st = { perSecond, tokens: 0, fetching: false, timer: undefined };
      this.stash.set(provider, st);
    }
    if (st.tokens > 0) {
      st.tokens--;
      return true;
    }
    this.fetch(provider, st);
    return false;
  }

  private fetch(provider: string, st: Stash): void {
    if (st.fetching || st.timer || this.closed) return;
    st.fetching = true;
    const want = Math.max(1, Math.ceil(st.perSecond * FETCH_SHARE));
    this.gate.take(provider, { perSecond: st.perSecond }, want, this.priority, this.nowMs()).then(
      (grant) => {
        st.fetching = false;
        if (this.closed) {
          // the attempt ended meanwhile: what came goes straight back
          if (grant.granted > 0)
            void this.gate
              .refund(provider, { perSecond: st.perSecond }, grant.granted, [], this.nowMs())
              .catch(() => {});
          return;
        }
        st.tokens += grant.granted;
        if (grant.granted === 0 && grant.why === 'backoff') this.onBackoff(provider);
        else if (grant.granted === 0) this.later(provider, st, grant.waitMs);
        this.wake();
      },
      (err: Error) => {
        st.fetching = false;
        this.log.warn({ provider, err: err.message }, 'could not take provider rate tokens');
        this.later(provider, st, ERROR_PAUSE_MS);
        this.wake();
      },
    );
  }

  /** Fetches again once the gate says a token is there (the bucket refills at the rate). */
  private later(provider: string, st: Stash, ms: number): void {
    if (this.closed) return;
    st.timer = setTimeout(
      () => {
        st.timer = undefined;
        this.fetch(provider, st);
      },
      Math.max(1, Math.min(ms, 1000)),
    );
    st.timer.unref();
  }

  /** The attempt ends: tokens not used go back to the gate. */
  async close(): Promise<void> {
    this.closed = true;
    const left = [...this.stash].filter(([, st]) => {
      clearTimeout(st.timer);
      return st.tokens > 0;
    });
    this.stash.clear();
    await Promise.all(
      left.map(([provider, st]) =>
        this.gate
          .refund(provider, { perSecond: st.perSecond }, st.tokens, [], this.nowMs())
          .catch((err: Error) =>
            this.log.warn({ provider, err: err.message }, 'could not give back provider rate tokens'),
          ),
      ),
    );
  }
}
