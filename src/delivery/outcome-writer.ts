import { performance } from 'node:perf_hooks';
import type { Clock } from '../clock.js';
import type { Db } from '../db/pool.js';
import type { Logger } from '../logger.js';
import { type RowOutcome, recordOutcomes } from './delivery-batch-store.js';

/** An outcome is written at most this long after it is known, however few follow it. */
const FLUSH_AFTER_MS = 100;

export interface OutcomeWriterDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  /** the claim the outcomes belong to */
  token: string;
  /** while the database is away, writes are retried for this long (the claim's lock duration) */
  retryForMs: number;
  ctx: Record<string, unknown>;
}

/**
 * The outcomes of one attempt's rows on their way to the ledger: buffered, written one UPDATE at a
 * time (after `flushEvery` outcomes, before each claim, and at most FLUSH_AFTER_MS after one is
 * known, so a killed process loses little), and kept through a database blip.
 *
 * While the database is away the write is retried with backoff until it answers again or the
 * claim has gone unrenewed for a lock duration (past that, other attempts take the claim for
 * stale; at shutdown, until `giveUpAt`). The buffer stays small: a sending slot waits for its
 * flush, and no claim succeeds meanwhile. A write that gives up puts its outcomes back, for the
 * attempt's last flush to try once more.
 */
export class OutcomeWriter {
  private readonly buffered: RowOutcome[] = [];
  private writing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private dbDownSince: number | undefined;
  private giveUpAt: number | undefined;

  constructor(private readonly deps: OutcomeWriterDeps) {}

  get size(): number {
    return this.buffered.length;
  }

  add(outcome: RowOutcome): void {
    this.buffered.push(outcome);
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        // a write that gave up leaves its outcomes buffered for the final flush
        this.flush().catch(() => {});
      }, FLUSH_AFTER_MS);
      this.timer.unref();
    }
  }

  /** Shutdown: stop retrying at this time (performance.now()). */
  giveUpBy(at: number): void {
    this.giveUpAt = at;
  }

  /** Writes the buffered outcomes, after any write already under way; rejects if it gave up. */
  flush(): Promise<void> {
    const next = this.writing.catch(() => {}).then(() => this.write());
    this.writing = next;
    return next;
  }

  /** No more timed flushes (the attempt flushes one last time itself). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async write(): Promise<void> {
    const { db, clock, log, token, ctx } = this.deps;
    this.stop();
    if (this.buffered.length === 0) return;
    const outcomes = this.buffered.splice(0, this.buffered.length);
    // a send is a fact: keep trying to record it while the database is away (a row whose outcome
    // is never recorded turns ambiguous)
    for (let wait = 200; ; wait = Math.min(2 * wait, 2000)) {
      try {
        await recordOutcomes(db, token, outcomes, clock.now());
        if (this.dbDownSince !== undefined) {
          log.info(
            { ...ctx, awayMs: Math.round(performance.now() - this.dbDownSince) },
            'the database answers again: outcomes recorded',
          );
          this.dbDownSince = undefined;
        }
        return;
      } catch (err) {
        const now = performance.now();
        if (this.dbDownSince === undefined) {
          this.dbDownSince = now;
          log.warn(
            { ...ctx, rows: outcomes.length, err: (err as Error).message },
            'cannot record outcomes: kept in memory and retried',
          );
        }
        if (
          now - this.dbDownSince >= this.deps.retryForMs ||
          (this.giveUpAt !== undefined && now >= this.giveUpAt)
        ) {
          this.buffered.unshift(...outcomes);
          throw err;
        }
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }
}
