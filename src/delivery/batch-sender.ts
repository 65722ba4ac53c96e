import type { BouncePolicy } from '../bounces/policy.js';
import { verpAddress } from '../bounces/verp.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/pool.js';
import { markEditionSending } from '../digests/edition-state-store.js';
import type { Logger } from '../logger.js';
import type { Mailer } from '../mail/transport.js';
import type { Metrics } from '../metrics.js';
import type { Publication } from '../publication.js';
import type { Tokens } from '../security/tokens.js';
import {
  countHeldByOthers,
  type EditionCounts,
  failPendingRows,
  finalizeEdition,
} from './delivery-batch-store.js';
import { createEditionMessages } from './edition-messages.js';
import type { HandoffLog } from './handoff-log.js';
import type { ShapingDeps } from './provider-share.js';
import { type BatchCounts, emptyCounts, SendAttempt } from './send-attempt.js';
import type { PauseReason } from './sending-pause.js';
import { recoverStaleClaims } from './stale-claims.js';
import type { SendPriority, TokenBucket } from './token-bucket.js';

export type { BatchCounts } from './send-attempt.js';

/**
 * Sends one persisted batch of an edition, exactly once per reader as far as SMTP allows.
 *
 * The job only carries (edition, batch); the rows are the real guard. Every duplicate, retry
 * or stalled re-run of the job claims only rows still `pending`, so it is harmless. A batch is
 * worked in chunks claimed just before sending (after taking rate tokens), so suppression is
 * checked when a row is taken. A crash leaves its claimed rows `sending`; the next attempt makes
 * those its hand-off log never named pending again, and the ones that may have left `ambiguous`
 * (stale-claims.ts). One attempt's sending is send-attempt.ts; this file decides what the job
 * does next.
 */
export interface BatchSenderDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  mailer: Pick<Mailer, 'sendRaw' | 'probe'>;
  tokens: Pick<Tokens, 'unsubscribe' | 'preferences'>;
  publication: Publication;
  bucket: TokenBucket;
  /** which claimed rows each attempt handed to SMTP, for the attempt after a crash */
  handoffs: HandoffLog;
  pause: { pause(reason: PauseReason): Promise<boolean> };
  bounces: Pick<BouncePolicy, 'record'>;
  config: Pick<
    Config,
    | 'PUBLIC_URL'
    | 'SECRET_KEY'
    | 'MAIL_FROM'
    | 'LIST_UNSUBSCRIBE_MAILTO'
    | 'SEND_CONCURRENCY'
    | 'SEND_CLAIM_SIZE'
    | 'JOB_LOCK_DURATION_MS'
    | 'DIGEST_MAX_AGE_SECONDS'
    | 'BOUNCE_DOMAIN'
  >;
  /** PreparedMessage cache size (editions); default 32 */
  cacheSize?: number;
  /** outcomes buffered before one UPDATE writes them; default 50 */
  flushEvery?: number;
  /**
   * True while breaking alerts are waiting or being sent anywhere: bulk digests then take no new
   * rows, so alerts get the SMTP connections ahead of digest traffic (the rate bucket's priorities
   * only matter when a rate is set). Not asked with shaping (attempt-claims.ts yieldToAlerts).
   */
  alertsPending?: () => Promise<boolean>;
  /** traffic shaping per receiving provider (provider-share.ts) */
  shaping?: ShapingDeps;
}

export interface JobAttempt {
  /** 1 for the first run of the job */
  attempt: number;
  maxAttempts: number;
  /** the queue the job came from: the alerts lane (alerts, test copies) never waits behind itself */
  lane?: 'bulk' | 'alerts';
}

export type BatchResult =
  /** nothing of this batch is left to do by this job */
  | { status: 'done'; counts: BatchCounts; edition: EditionCounts | null }
  /** the edition is paused, cancelled, expired or missing: rows left as they are */
  | { status: 'skipped'; reason: string }
  /** some rows failed before DATA (4xx, connection): they are pending again; retry the job later */
  | { status: 'retry'; counts: BatchCounts; error: string }
  /** the last attempt ran out: the still-pending rows were marked failed */
  | { status: 'gave-up'; counts: BatchCounts; error: string; failedRows: number }
  /** policy or authentication refusal: sending is paused, unsent rows are pending again */
  | { status: 'paused'; counts: BatchCounts; error: string }
  /** another live attempt still holds rows of this batch: look again after its claim could expire */
  | { status: 'busy'; counts: BatchCounts; heldByOthers: number; retryInMs: number }
  /** a digest still owed DIGEST_MAX_AGE_SECONDS after it was due (a long relay outage): its pending rows failed */
  | { status: 'expired'; counts: BatchCounts; failedRows: number }
  /** rows left wait on throttled or limited providers (still pending, no attempt spent): run again later */
  | { status: 'throttled'; counts: BatchCounts; providers: string[]; retryInMs: number }
  /** the worker is shutting down: unsent rows are pending again, for the next worker to take */
  | { status: 'interrupted'; counts: BatchCounts };

export function createBatchSender(deps: BatchSenderDeps) {
  const { db, clock, log, config } = deps;
  const lockMs = config.JOB_LOCK_DURATION_MS;
  const messages = createEditionMessages({ ...deps, cacheSize: deps.cacheSize ?? 32 });
  const bounceDomain = deps.config.BOUNCE_DOMAIN;
  const returnPath = (id: number) =>
    bounceDomain ? verpAddress(id, deps.config.SECRET_KEY, bounceDomain) : undefined;
  const attemptDeps = { ...deps, messages, returnPath, flushEvery: deps.flushEvery ?? 50 };
  const running = new Set<SendAttempt>();
  // set by drain(): when the batches in progress must be done; cleared once none is left, so a
  // container whose workers are started again sends again
  let drainUntil: number | undefined;
  let inProgress = 0;

  async function sendBatch(
    editionId: string,
    batch: number,
    jobAttempt: JobAttempt = { attempt: 1, maxAttempts: 1 },
  ): Promise<BatchResult> {
    inProgress++;
    try {
      return await sendOneBatch(editionId, batch, jobAttempt);
    } finally {
      inProgress--;
      if (inProgress === 0) drainUntil = undefined;
    }
  }

  async function sendOneBatch(
    editionId: string,
    batch: number,
    jobAttempt: JobAttempt,
  ): Promise<BatchResult> {
    const loaded = await messages.load(editionId);
    if ('missing' in loaded) return { status: 'skipped', reason: loaded.missing };
    if (!('prepared' in loaded)) return { status: 'skipped', reason: `edition ${loaded.state}` };
    const edition = loaded;
    const kind = edition.kind;
    const priority: SendPriority = kind === 'alert' || jobAttempt.lane === 'alerts' ? 'alert' : 'bulk';
    const counts = emptyCounts();
    const ctx = { editionId, batch, attempt: jobAttempt.attempt };
    if (drainUntil !== undefined) return { status: 'interrupted', counts };

    const stale = await recoverStaleClaims({ ...deps, lockMs }, edition, batch, ctx);
    counts.staleReleased += stale.released;
    counts.staleAmbiguous += stale.ambiguous;
    if (
      kind === 'digest' &&
      clock.now().getTime() - edition.dueAt.getTime() > config.DIGEST_MAX_AGE_SECONDS * 1000
    ) {
      // sent this late it is not news any more: the readers get the next one (planner.ts skips
      // slots that could not start in time the same way)
      const failedRows = await failPendingRows(
        db,
        editionId,
        batch,
        `digest expired: not sent within DIGEST_MAX_AGE_SECONDS (${config.DIGEST_MAX_AGE_SECONDS} s) of its due time`,
        clock.now(),
      );
      const editionTotals = await finalizeEdition(db, editionId, clock.now());
      if (editionTotals) log.info({ editionId, ...editionTotals }, 'edition sent');
      log.warn({ ...ctx, failedRows }, 'digest expired before this batch could be sent: pending rows failed');
      return { status: 'expired', counts, failedRows };
    }
    if (edition.state === 'planned') await markEditionSending(db, editionId, clock.now());

    const attempt = new SendAttempt(attemptDeps, edition, batch, priority, counts, ctx);
    running.add(attempt);
    if (drainUntil !== undefined) attempt.drain(drainUntil - Date.now());
    const { stop, lastRetryError, interrupted, waiting } = await attempt
      .run()
      .finally(() => running.delete(attempt));

    const summary = { ...ctx, kind, ...counts };
    if (interrupted || stop || waiting || counts.retry > 0) await refreshCounts(editionId, counts);
    if (interrupted) {
      log.info(summary, 'batch interrupted by shutdown: unsent rows are pending again');
      return { status: 'interrupted', counts };
    }
    if (stop?.why === 'pause') {
      log.warn(summary, 'batch stopped: sending paused');
      return { status: 'paused', counts, error: stop.error };
    }
    if (counts.retry > 0 || stop) {
      const error = stop?.error ?? lastRetryError;
      if (jobAttempt.attempt >= jobAttempt.maxAttempts) {
        const failedRows = await failPendingRows(
          db,
          editionId,
          batch,
          `gave up after ${jobAttempt.attempt} attempt(s): ${error}`,
          clock.now(),
        );
        await finalizeEdition(db, editionId, clock.now());
        log.error({ ...summary, failedRows, error }, 'batch gave up: pending rows marked failed');
        return { status: 'gave-up', counts, error, failedRows };
      }
      log.info({ ...summary, error }, 'batch will be retried for rows that failed before DATA');
      return { status: 'retry', counts, error };
    }
    if (waiting) {
      log.info({ ...summary, providers: waiting.providers }, 'batch waits for throttled providers');
      return { status: 'throttled', counts, providers: waiting.providers, retryInMs: waiting.waitMs };
    }
    const heldByOthers = await countHeldByOthers(db, editionId, batch, attempt.token);
    if (heldByOthers > 0) {
      log.info({ ...summary, heldByOthers }, 'another attempt still holds rows of this batch');
      return { status: 'busy', counts, heldByOthers, retryInMs: lockMs };
    }
    const editionTotals = await finalizeEdition(db, editionId, clock.now());
    if (editionTotals) log.info({ editionId, ...editionTotals }, 'edition sent');
    log.info(summary, 'batch done');
    return { status: 'done', counts, edition: editionTotals };
  }

  /**
   * An attempt that stalled and went on may record outcomes after another attempt finalized the
   * edition (rows it had in flight, marked ambiguous meanwhile, turn out sent): the final counts
   * are computed again. finalizeEdition does nothing while rows of the edition are still open.
   */
  async function refreshCounts(editionId: string, counts: BatchCounts): Promise<void> {
    if (counts.sent + counts.failed + counts.ambiguous === 0) return;
    const totals = await finalizeEdition(db, editionId, clock.now());
    if (totals) log.info({ editionId, ...totals }, 'edition counts refreshed after a late outcome');
  }

  /**
   * Shutdown: no attempt takes another row; rows not yet given to SMTP go back to `pending`; every
   * attempt running is done within `budgetMs` (send-attempt.ts `drain`).
   */
  function drain(budgetMs: number): void {
    if (inProgress === 0) return;
    drainUntil ??= Date.now() + budgetMs;
    for (const attempt of running) attempt.drain(drainUntil - Date.now());
  }

  return { sendBatch, drain, cacheSize: () => messages.size() };
}

export type BatchSender = ReturnType<typeof createBatchSender>;
