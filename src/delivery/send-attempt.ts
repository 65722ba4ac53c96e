import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { classifySmtpRefusal, enhancedStatus } from '../bounces/classify.js';
import type { BouncePolicy } from '../bounces/policy.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/pool.js';
import type { Logger } from '../logger.js';
import { DkimError } from '../mail/dkim.js';
import { classifySmtpError, describeSmtpError, type SmtpLikeError } from '../mail/smtp-errors.js';
import type { Mailer } from '../mail/transport.js';
import type { Metrics } from '../metrics.js';
import {
  type ClaimedRow,
  claimChunk,
  type RowOutcome,
  releaseClaim,
  renewClaim,
} from './delivery-batch-store.js';
import type { EditionInfo, EditionMessages } from './edition-messages.js';
import { type HandoffLog, HandoffWatermark } from './handoff-log.js';
import { OutcomeWriter } from './outcome-writer.js';
import type { PauseReason } from './sending-pause.js';
import type { SendPriority, TokenBucket } from './token-bucket.js';

/** What one attempt did, row by row (the batch sender adds the stale-claim counts). */
export interface BatchCounts {
  sent: number;
  failed: number;
  retry: number;
  ambiguous: number;
  suppressed: number;
  /** rows of an older, expired claim found still `sending` and marked ambiguous */
  staleAmbiguous: number;
  /** rows of an older, expired claim its hand-off log shows were never handed to SMTP: pending again */
  staleReleased: number;
}

export function emptyCounts(): BatchCounts {
  return { sent: 0, failed: 0, retry: 0, ambiguous: 0, suppressed: 0, staleAmbiguous: 0, staleReleased: 0 };
}

export interface SendAttemptDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  mailer: Pick<Mailer, 'sendRaw' | 'probe'>;
  bucket: TokenBucket;
  handoffs: HandoffLog;
  messages: EditionMessages;
  pause: { pause(reason: PauseReason): Promise<boolean> };
  /** a refusal of a reader at SMTP time is a bounce like any other (bounces/policy.ts) */
  bounces: Pick<BouncePolicy, 'record'>;
  /** the VERP envelope sender of a row (bounces/verp.ts), or undefined: the edition's From address */
  returnPath: (deliveryId: number) => string | undefined;
  config: Pick<Config, 'SEND_CONCURRENCY' | 'SEND_CLAIM_SIZE' | 'JOB_LOCK_DURATION_MS'>;
  /** outcomes buffered before one UPDATE writes them */
  flushEvery: number;
  alertsPending?: () => Promise<boolean>;
}

/** Why an attempt stopped taking rows before the batch ran out. */
export interface AttemptStop {
  why: 'pause' | 'retry';
  error: string;
}

export interface AttemptEnd {
  stop: AttemptStop | undefined;
  /** the last retryable error seen, for the job's retry message */
  lastRetryError: string;
  /** the worker is shutting down and rows of the batch are left for another attempt */
  interrupted: boolean;
}

/** Why a row went back to `pending` unsent when the worker began shutting down. */
const HANDED_BACK = 'handed back unsent: the worker was shutting down';

/** Longest a bulk batch waits for pending alerts before each chunk. */
const ALERT_YIELD_MAX_MS = 60_000;

/** A 421 (the server is closing the connection) means the next sends would fail too. */
function stopsTheBatch(err: SmtpLikeError): boolean {
  return err.responseCode === 421;
}

/**
 * (Over 350 lines on purpose: the claim, the hand-off, the SMTP outcome of each row and the
 * shutdown hand-back share the rows this class holds; split apart, the exactly-once rules would
 * live in several files. The hand-off watermark and the outcome writes are their own classes.)
 *
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
export class SendAttempt {
  readonly token = randomUUID();
  private readonly lockMs: number;
  /** claimed rows without an outcome yet */
  private readonly held = new Map<number, ClaimedRow>();
  /** claimed rows no slot has taken yet */
  private readonly queue: ClaimedRow[] = [];
  /** outcomes on their way to the ledger (kept through a database blip) */
  private readonly outcomes: OutcomeWriter;
  private exhausted = false;
  private stop: AttemptStop | undefined;
  private lastRetryError = '';
  private refilling: Promise<void> | undefined;
  private lastBeat = performance.now();
  /** how far the hand-off log lets rows go (handoff-log.ts) */
  private readonly watermark: HandoffWatermark;
  // Shutdown (drain): no row is claimed or handed off any more; a row whose body may have left
  // (`handedOff`) is waited for until the deadline, then recorded ambiguous.
  private draining = false;
  private readonly handedOff = new Set<number>();
  private handedBack = 0;
  /** whether the relay answered a probe after a connection was lost (one probe per attempt) */
  private relayCheck: Promise<boolean> | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private reachDeadline: () => void = () => {};
  private readonly deadline = new Promise<void>((resolve) => {
    this.reachDeadline = resolve;
  });

  constructor(
    private readonly deps: SendAttemptDeps,
    private readonly edition: EditionInfo,
    private readonly batch: number,
    private readonly priority: SendPriority,
    private readonly counts: BatchCounts,
    private readonly ctx: Record<string, unknown>,
  ) {
    this.lockMs = deps.config.JOB_LOCK_DURATION_MS;
    this.watermark = new HandoffWatermark(deps.handoffs, this.token);
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
    const { log, handoffs, config } = this.deps;
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
    await this.endClaim().catch((err) => {
      failure ??= err;
    });
    if (failure) throw failure;
    return {
      stop: this.stop,
      lastRetryError: this.lastRetryError,
      interrupted: this.draining && (this.handedBack > 0 || !this.exhausted),
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

  private async endClaim(): Promise<void> {
    const { db, clock, log, handoffs } = this.deps;
    // Belt and braces: a row still `sending` under this claim was never attempted; it must not
    // outlive the job.
    const leftover = await releaseClaim(db, this.edition.id, this.batch, this.token, clock.now());
    if (leftover > 0) {
      log.warn({ ...this.ctx, rows: leftover }, 'claimed rows left unattempted: released to pending');
      this.lastRetryError ||= 'claimed rows left unattempted';
      this.counts.retry += leftover;
    }
    // the log is not needed any more (its TTL would remove it)
    await handoffs
      .discard(this.token)
      .catch((err) =>
        log.warn({ ...this.ctx, err: (err as Error).message }, 'could not drop the hand-off log'),
      );
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
      const row = this.queue.shift();
      if (row) {
        this.watermark.taken(row.id);
        return row;
      }
      if (this.exhausted) return undefined;
      this.refilling ??= this.refill().finally(() => {
        this.refilling = undefined;
      });
      await this.refilling;
    }
  }

  private async refill(): Promise<void> {
    const { db, clock, bucket, config, alertsPending } = this.deps;
    if (this.outcomes.size > 0) await this.outcomes.flush();
    if (this.priority === 'bulk' && alertsPending) {
      // bounded, so alert jobs nobody serves (no worker runs the alerts queue) cannot starve digests
      const until = performance.now() + ALERT_YIELD_MAX_MS;
      while (!this.stop && performance.now() < until && (await alertsPending())) {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const want = bucket.unlimited
      ? config.SEND_CLAIM_SIZE
      : await bucket.take(config.SEND_CLAIM_SIZE, this.priority);
    if (this.draining) {
      await bucket.refund(want);
      return;
    }
    const result = await claimChunk(db, this.edition.id, this.batch, this.token, want, clock.now());
    if (result.taken < want) this.exhausted = true;
    if (result.claimed.length < want) await bucket.refund(want - result.claimed.length);
    if (result.suppressed > 0) this.counts.suppressed += result.suppressed;
    for (const row of result.claimed) {
      this.held.set(row.id, row);
      this.queue.push(row);
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
      await this.refused(row, err, message.messageId);
    }
  }

  /** The one place an SMTP failure of a row becomes its outcome (smtp-errors.ts classifies). */
  private async refused(row: ClaimedRow, err: SmtpLikeError, messageId: string): Promise<void> {
    const outcome = classifySmtpError(err);
    const error = describeSmtpError(err);
    this.deps.metrics.mailsFailed.inc({ kind: this.edition.kind, outcome });
    switch (outcome) {
      case 'recipient':
        this.counts.failed++;
        this.settle(row, { id: row.id, state: 'failed', error, smtpResponse: err.response });
        await this.bounced(row, err, false);
        break;
      case 'ambiguous':
        this.counts.ambiguous++;
        this.deps.log.warn(
          { ...this.ctx, deliveryId: row.id, error, alert: 'delivery_ambiguous' },
          'connection lost after DATA',
        );
        this.settle(row, { id: row.id, state: 'ambiguous', error, messageId });
        break;
      case 'retry':
        this.counts.retry++;
        this.lastRetryError = error;
        this.settle(row, { id: row.id, state: 'pending', error });
        if (err.responseCode === undefined) await this.connectionLost(error);
        else if (stopsTheBatch(err)) this.stop ??= { why: 'retry', error };
        break;
      case 'pause':
        this.counts.retry++;
        this.settle(row, { id: row.id, state: 'pending', error });
        if (this.stop?.why !== 'pause') {
          this.stop = { why: 'pause', error };
          await this.deps.pause.pause({
            reason: 'the SMTP server refused on policy or authentication grounds',
            editionId: this.edition.id,
            batch: this.batch,
            error,
          });
        }
        // after the stop: other slots take no more rows while the report is stored
        await this.bounced(row, err, true);
        break;
    }
  }

  /**
   * Feeds a refusal to the bounce policy: a dead mailbox suppresses its reader at once, a full one
   * counts towards the soft limit. A refusal that pauses sending is only recorded when it is about
   * the sender (block): the row is tried again, so it says nothing about the reader. The row's
   * outcome is already decided; a policy failure is logged and never changes it.
   */
  private async bounced(row: ClaimedRow, err: SmtpLikeError, pausing: boolean): Promise<void> {
    const verdict = classifySmtpRefusal(err);
    if (!verdict || (pausing && verdict.class !== 'block')) return;
    const text = err.response ?? err.message ?? null;
    await this.deps.bounces
      .record({
        source: 'smtp',
        eventId: `delivery-${row.id}-attempt-${row.attempts}`,
        class: verdict.class,
        rule: verdict.rule,
        deliveryId: row.id,
        recipient: row.recipient,
        status: enhancedStatus(text) ?? null,
        diagnostic: text,
      })
      .catch((e) =>
        this.deps.log.warn(
          { ...this.ctx, deliveryId: row.id, err: (e as Error).message },
          'could not record the refusal as a bounce',
        ),
      );
  }

  /**
   * The connection failed before DATA (refused, timed out, reset): not the reader's failure. A
   * fresh connection of its own tells a hiccup (the relay answers: the batch is retried later, as
   * for a 421) from an outage, where every other row would fail the same way: sending pauses (the
   * job spends no attempt) until the relay probe (relay-watch.ts) reaches the relay again.
   */
  private async connectionLost(error: string): Promise<void> {
    if (this.stop) return;
    this.relayCheck ??= this.deps.mailer.probe().then(
      () => true,
      () => false,
    );
    const reachable = await this.relayCheck;
    if (this.stop) return;
    if (reachable) {
      this.stop = { why: 'retry', error };
      return;
    }
    this.stop = { why: 'pause', error };
    await this.deps.pause.pause({
      reason: 'the SMTP relay cannot be reached; sending resumes by itself once it answers',
      relay: true,
      editionId: this.edition.id,
      batch: this.batch,
      error,
    });
  }

  private settle(row: ClaimedRow, outcome: RowOutcome): void {
    this.held.delete(row.id);
    this.handedOff.delete(row.id);
    this.outcomes.add(outcome);
  }

  /** Renews the claim; rows another attempt took meanwhile are dropped unsent. */
  private async beat(): Promise<void> {
    const startedAt = performance.now();
    // only rows claimed before the renewal started can be missing from its answer for the
    // right reason; a chunk claimed meanwhile is fresh and ours
    const before = [...this.held.keys()];
    const still = await renewClaim(this.deps.db, this.edition.id, this.batch, this.token);
    this.lastBeat = startedAt;
    for (const id of before) {
      if (this.held.has(id) && !still.has(id)) {
        this.held.delete(id);
        this.deps.log.warn(
          { ...this.ctx, deliveryId: id },
          'claim lost to another attempt: row not sent by this one',
        );
      }
    }
  }
}
