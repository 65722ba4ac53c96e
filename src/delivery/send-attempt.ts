import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DkimError } from '../mail/dkim.js';
import type { SmtpLikeError } from '../mail/smtp-errors.js';
import { claimNext, endAttemptClaim, renewAttempt, yieldToAlerts } from './attempt-claims.js';
import { handBackWaiting, type RefusalHost, refused } from './attempt-refusals.js';
import type { AttemptEnd, AttemptStop, BatchCounts, SendAttemptDeps } from './attempt-types.js';
import type { ClaimedRow, RowOutcome } from './delivery-batch-store.js';
import type { EditionInfo } from './edition-messages.js';
import { HandoffWatermark } from './handoff-log.js';
import { OutcomeWriter } from './outcome-writer.js';
import { ProviderShare } from './provider-share.js';
import type { SendPriority } from './token-bucket.js';

export type { AttemptEnd, AttemptStop, BatchCounts, SendAttemptDeps } from './attempt-types.js';
export { emptyCounts } from './attempt-types.js';

/** Why a row went back to `pending` unsent when the worker began shutting down. */
const HANDED_BACK = 'handed back unsent: the worker was shutting down';

/**
 * One attempt at a batch under one claim token: SEND_CONCURRENCY slots take claimed rows, hand
 * each to SMTP once the hand-off log covers it, and buffer the outcomes for one UPDATE.
 *
 * The exactly-once rules live here:
 * - a row is sent only while this claim still holds it (the heartbeat drops rows lost to another);
 * - its body leaves only once the hand-off watermark covers it (`handOff`), so after a crash the
 *   next attempt knows the rows above the watermark never left;
 * - at the end every row this claim took has an outcome: sent, failed, ambiguous, or pending
 *   again when nothing of it left the process.
 */
export class SendAttempt implements RefusalHost {
  readonly token = randomUUID();
  private readonly lockMs: number;
  /** claimed rows without an outcome yet */
  private readonly held = new Map<number, ClaimedRow>();
  /** claimed rows no slot has taken yet */
  private readonly queue: ClaimedRow[] = [];
  /** outcomes on their way to the ledger (kept through a database blip) */
  private readonly outcomes: OutcomeWriter;
  private exhausted = false;
  /** the last claim found only rows waiting for this attempt's own connections */
  private blocked = false;
  stop: AttemptStop | undefined;
  lastRetryError = '';
  /** the receiving providers of this batch (provider-share.ts); undefined without shaping */
  share: ProviderShare | undefined;
  private waiting: AttemptEnd['waiting'];
  private refilling: Promise<void> | undefined;
  private lastBeat = performance.now();
  /** how far the hand-off log lets rows go (handoff-log.ts) */
  private readonly watermark: HandoffWatermark;
  // Shutdown (drain): no row is claimed or handed off any more; a row whose body may have left
  // (`handedOff`) is waited for until the deadline, then recorded ambiguous.
  private draining = false;
  private readonly handedOff = new Set<number>();
  private handedBack = 0;
  relayCheck: Promise<boolean> | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private reachDeadline: () => void = () => {};
  private readonly deadline = new Promise<void>((resolve) => {
    this.reachDeadline = resolve;
  });

  constructor(
    readonly deps: SendAttemptDeps,
    readonly edition: EditionInfo,
    readonly batch: number,
    private readonly priority: SendPriority,
    readonly counts: BatchCounts,
    readonly ctx: Record<string, unknown>,
  ) {
    this.lockMs = deps.config.JOB_LOCK_DURATION_MS;
    // rows claimed and not yet taken by a slot: after a crash they are known never to have left
    const parked = (upTo: number) => this.queue.filter((r) => r.id <= upTo).map((r) => r.id);
    this.watermark = new HandoffWatermark(deps.handoffs, this.token, parked);
    this.outcomes = new OutcomeWriter({ ...deps, token: this.token, retryForMs: this.lockMs, ctx });
  }

  /**
   * The worker is shutting down and this attempt must be done within `budgetMs`: take no more
   * rows, hand back the ones not yet given to SMTP, wait half the budget for the replies to the
   * ones that were, and stop retrying outcome writes at 80% of it (the rest is for closing).
   */
  drain(budgetMs: number): void {
    if (this.draining) return;
    this.draining = true;
    const budget = Math.max(0, budgetMs);
    this.outcomes.giveUpBy(performance.now() + 0.8 * budget);
    this.deadlineTimer = setTimeout(() => this.reachDeadline(), budget / 2);
    this.deadlineTimer.unref();
  }

  /** Sends what it can claim; every claimed row has its outcome recorded when it resolves. */
  async run(): Promise<AttemptEnd> {
    const { log, handoffs, config, shaping } = this.deps;
    const opened =
      shaping &&
      ProviderShare.open(
        { ...this.deps, ...shaping },
        this.edition,
        this.batch,
        this.priority,
        Math.max(1, config.SEND_CONCURRENCY),
      );
    this.share = await opened;
    await handoffs.open(this.token);
    const heartbeat = setInterval(
      () => {
        this.beat().catch((err) =>
          log.warn({ ...this.ctx, err: (err as Error).message }, 'claim heartbeat failed'),
        );
      },
      Math.max(50, Math.floor(this.lockMs / 3)),
    );
    heartbeat.unref();

    let failure: unknown;
    let recorded = false;
    try {
      const slots = Promise.allSettled(
        Array.from({ length: Math.max(1, config.SEND_CONCURRENCY) }, () => this.slot()),
      );
      // on shutdown, slots still waiting for the server's reply past the deadline are left behind
      const results = await Promise.race([slots, this.deadline.then((): PromiseSettledResult<void>[] => [])]);
      failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;
    } finally {
      clearInterval(heartbeat);
      clearTimeout(this.deadlineTimer);
      this.outcomes.stop();
      this.settleUnfinished();
      // its lane and connection leases go back whatever happened
      await this.share?.close();
      try {
        await this.outcomes.flush();
        recorded = true;
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure && !recorded) {
      // outcomes are missing: the log stays in Redis for whichever attempt finds these rows
      handoffs.forget(this.token);
      throw failure;
    }
    // Every row this claim took has its outcome recorded by now (even when the attempt failed,
    // say a claim lost to a database blip), so the claim can end and its log go.
    await endAttemptClaim(this).catch((err) => {
      failure ??= err;
    });
    if (failure) throw failure;
    return {
      stop: this.stop,
      lastRetryError: this.lastRetryError,
      interrupted: this.draining && (this.handedBack > 0 || !this.exhausted),
      waiting: this.waiting ?? this.share?.leftWaiting(),
    };
  }

  /**
   * A row still held was claimed but never given to SMTP (every slot has finished, or the worker
   * is shutting down and no hand-off succeeds any more): pending again. Only a row whose body may
   * have left and whose reply never came before the shutdown deadline is in doubt.
   */
  private settleUnfinished(): void {
    this.queue.length = 0;
    for (const row of [...this.held.values()]) {
      if (this.handedOff.has(row.id)) {
        this.counts.ambiguous++;
        this.deps.metrics.mailsFailed.inc({ kind: this.edition.kind, outcome: 'ambiguous' });
        this.deps.log.warn(
          { ...this.ctx, deliveryId: row.id, alert: 'delivery_ambiguous' },
          'the worker shut down before the SMTP server answered',
        );
        this.settle(row, {
          id: row.id,
          state: 'ambiguous',
          error: 'the worker shut down before the SMTP server answered',
        });
      } else {
        if (this.draining) this.handedBack++;
        this.settle(row, {
          id: row.id,
          state: 'pending',
          error: this.draining ? HANDED_BACK : 'released unsent',
        });
      }
    }
  }

  private async slot(): Promise<void> {
    for (;;) {
      const row = await this.next();
      if (!row) return;
      if (performance.now() - this.lastBeat > this.lockMs / 2) await this.beat();
      if (!this.held.has(row.id)) continue;
      await this.sendOne(row);
      if (this.outcomes.size >= this.deps.flushEvery) await this.outcomes.flush();
    }
  }

  /** The next claimed row for a slot, claiming another chunk when none is waiting. */
  private async next(): Promise<ClaimedRow | undefined> {
    for (;;) {
      if (this.stop || this.draining) return undefined;
      // a connection-limited provider's row waits for an idle lease; the rows behind it go
      const i = this.share ? this.share.pick(this.queue) : this.queue.length > 0 ? 0 : -1;
      if (i >= 0) {
        const row = this.queue.splice(i, 1)[0]!;
        this.watermark.taken(row.id);
        return row;
      }
      if (this.blocked || (this.exhausted && this.queue.length > 0)) {
        // what is left waits for this attempt's own connections: one is free within a reply
        await this.share?.freed();
        this.blocked = false;
        // paced providers backing off, or starving while batches wait for a slot: rows go back
        await handBackWaiting(this, this.queue);
        continue;
      }
      if (this.exhausted) return undefined;
      this.refilling ??= this.refill().finally(() => {
        this.refilling = undefined;
      });
      await this.refilling;
    }
  }

  private async refill(): Promise<void> {
    if (this.outcomes.size > 0) await this.outcomes.flush();
    await yieldToAlerts(this.deps, this.priority, () => this.stop !== undefined);
    if (this.draining) return;
    const result = await claimNext(
      this.deps,
      this.share,
      this.edition.id,
      this.batch,
      this.token,
      this.priority,
    );
    if (result.done) this.exhausted = true;
    if (result.blocked) this.blocked = true;
    if (result.waiting && result.claimed.length === 0) {
      // only rows of providers that wait are left: the job comes back, other batches go on
      this.waiting = result.waiting;
      this.exhausted = true;
    }
    if (result.suppressed > 0) this.counts.suppressed += result.suppressed;
    for (const row of result.claimed) {
      this.held.set(row.id, row);
      this.queue.push(row);
    }
    // rows claimed below the hand-off watermark are named in the log as never handed off
    await this.watermark.claimed(result.claimed.map((r) => r.id)).catch((err: Error) => {
      if (this.watermark.fenced)
        this.stop ??= { why: 'retry', error: 'the claim was taken over by another attempt' };
      else this.deps.log.warn({ ...this.ctx, err: err.message }, 'could not update the hand-off log');
    });
  }

  /** A provider backs off: its rows claimed and not yet given to a slot wait pending, unspent. */
  handBackProvider(provider: string, why = 'is backing off'): void {
    for (const row of this.share?.extract(provider, this.queue) ?? []) {
      this.counts.throttled++;
      this.settle(row, { id: row.id, state: 'pending', error: `waiting: ${provider} ${why}` });
    }
  }

  /** Resolves once the hand-off log covers the row: only then may its body leave. */
  private handOff(id: number): Promise<void> {
    if (this.draining) return Promise.reject(new Error(HANDED_BACK));
    this.handedOff.add(id);
    return this.watermark.cover(id);
  }

  private async sendOne(row: ClaimedRow): Promise<void> {
    const { mailer, metrics, messages } = this.deps;
    const { kind } = this.edition;
    let message: { raw: Buffer; messageId: string };
    try {
      message = messages.compose(this.edition, row);
    } catch (err) {
      this.counts.failed++;
      metrics.mailsFailed.inc({ kind, outcome: 'recipient' });
      this.settle(row, {
        id: row.id,
        state: 'failed',
        error: `cannot build message: ${(err as Error).message}`,
      });
      return;
    }
    try {
      const info = await mailer.sendRaw({
        envelope: { from: this.deps.returnPath(row.id) ?? this.edition.envelopeFrom, to: [row.recipient] },
        raw: message.raw,
        messageId: message.messageId,
        // the body leaves only once the hand-off log covers the row
        handOff: () => this.handOff(row.id),
        urgent: this.priority === 'alert' || this.share?.pacing.urgent(row.id),
        tally: this.share?.tallyOf(row.recipient),
      });
      this.counts.sent++;
      metrics.mailsSent.inc({ kind });
      this.settle(row, {
        id: row.id,
        state: 'sent',
        smtpResponse: info.response,
        messageId: message.messageId,
      });
    } catch (raw) {
      if (raw instanceof DkimError) {
        // nothing reached the server; a message that cannot be signed will not sign next time
        this.counts.failed++;
        metrics.mailsFailed.inc({ kind, outcome: 'recipient' });
        this.settle(row, { id: row.id, state: 'failed', error: `cannot sign message: ${raw.message}` });
        return;
      }
      const err = raw as SmtpLikeError;
      if (this.watermark.fenced && err.messageUnsent) {
        // this attempt stalled and another took its claim over: the row is that attempt's now
        this.settle(row, { id: row.id, state: 'pending', error: 'claim taken over by another attempt' });
        this.stop ??= { why: 'retry', error: 'the claim was taken over by another attempt' };
        return;
      }
      if (this.draining && err.messageUnsent) {
        // refused its hand-off (or lost its connection before DATA) while shutting down
        this.handedBack++;
        this.settle(row, { id: row.id, state: 'pending', error: HANDED_BACK });
        return;
      }
      // asked for its hand-off: a connection had been ready for it
      await refused(this, row, err, message.messageId, this.handedOff.has(row.id));
    }
  }

  settle(row: ClaimedRow, outcome: RowOutcome): void {
    this.share?.settled(row.id, outcome.state === 'sent', row.recipient);
    this.held.delete(row.id);
    this.handedOff.delete(row.id);
    this.outcomes.add(outcome);
  }

  /** Renews the claim and the provider leases; rows another attempt took meanwhile are dropped unsent. */
  private async beat(): Promise<void> {
    const startedAt = performance.now();
    await renewAttempt(this, this.held);
    this.lastBeat = startedAt;
  }
}
