import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/pool.js';
import type { Logger } from '../logger.js';
import { DkimError } from '../mail/dkim.js';
import {
  buildMessage,
  type MailAddress,
  type PreparedMessage,
  prepareEditionMessage,
} from '../mail/mime/index.js';
import {
  archiveUrl,
  editionHeaders,
  feedbackList,
  type NewsletterKind,
  newsletterMessageId,
  preferencesUrl,
  recipientHeaders,
  sendingDomain,
  unsubscribeUrl,
} from '../mail/newsletter-headers.js';
import { classifySmtpError, describeSmtpError, type SmtpLikeError } from '../mail/smtp-errors.js';
import type { Mailer } from '../mail/transport.js';
import type { Metrics } from '../metrics.js';
import type { Language, Publication } from '../publication.js';
import { localeStrings } from '../render/locale-strings.js';
import type { Tokens } from '../security/tokens.js';
import {
  type ClaimedRow,
  claimChunk,
  countHeldByOthers,
  type EditionCounts,
  failPendingRows,
  finalizeEdition,
  type RowOutcome,
  recordOutcomes,
  releaseClaim,
  renewClaim,
  settleStaleClaim,
  staleClaimTokens,
} from './batch-ledger.js';
import type { HandoffLog } from './handoff-log.js';
import type { PauseReason } from './sending-pause.js';
import type { SendPriority, TokenBucket } from './token-bucket.js';

/**
 * Sends one persisted batch of an edition, exactly once per reader as far as SMTP allows.
 *
 * The job only carries (edition, batch); the rows are the real guard. Every duplicate, retry
 * or stalled re-run of the job claims only rows still `pending`, so it is harmless. A batch is
 * worked in chunks claimed just before sending (after taking rate tokens), so suppression is
 * checked when a row is taken. A crash leaves its claimed rows `sending`; the next attempt makes
 * those its hand-off log never named pending again, and the ones that may have left `ambiguous`.
 */
export interface BatchSenderDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  mailer: Pick<Mailer, 'sendRaw'>;
  tokens: Pick<Tokens, 'unsubscribe' | 'preferences'>;
  publication: Publication;
  bucket: TokenBucket;
  /** which claimed rows each attempt handed to SMTP, for the attempt after a crash */
  handoffs: HandoffLog;
  pause: { pause(reason: PauseReason): Promise<boolean> };
  config: Pick<
    Config,
    | 'PUBLIC_URL'
    | 'SECRET_KEY'
    | 'MAIL_FROM'
    | 'LIST_UNSUBSCRIBE_MAILTO'
    | 'SEND_CONCURRENCY'
    | 'SEND_CLAIM_SIZE'
    | 'JOB_LOCK_DURATION_MS'
  >;
  /** PreparedMessage cache size (editions); default 32 */
  cacheSize?: number;
  /** outcomes buffered before one UPDATE writes them; default 50 */
  flushEvery?: number;
  /**
   * True while breaking alerts are waiting or being sent anywhere: bulk digests then take no new
   * rows, so alerts get the SMTP connections ahead of digest traffic (the rate bucket's priorities
   * only matter when a rate is set).
   */
  alertsPending?: () => Promise<boolean>;
}

export interface JobAttempt {
  /** 1 for the first run of the job */
  attempt: number;
  maxAttempts: number;
  /** the queue the job came from: the alerts lane (alerts, test copies) never waits behind itself */
  lane?: 'bulk' | 'alerts';
}

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
  | { status: 'busy'; counts: BatchCounts; heldByOthers: number; retryInMs: number };

interface EditionInfo {
  id: string;
  kind: NewsletterKind;
  state: string;
  language: Language;
  prepared: PreparedMessage;
  envelopeFrom: string;
}

const SENDABLE_STATES = new Set(['planned', 'sending', 'sent']);

/** "Name <a@b>" or "a@b" → address object; the publication's sender name fills a missing name. */
export function parseMailFrom(mailFrom: string | undefined, fallback: MailAddress): MailAddress {
  if (!mailFrom) return fallback;
  const m = /^\s*"?([^"<]*?)"?\s*<([^>\s]+)>\s*$/.exec(mailFrom);
  if (m) return { name: m[1] || fallback.name, address: m[2]! };
  return { name: fallback.name, address: mailFrom.trim() };
}

function emptyCounts(): BatchCounts {
  return { sent: 0, failed: 0, retry: 0, ambiguous: 0, suppressed: 0, staleAmbiguous: 0, staleReleased: 0 };
}

const HANDED_OFF: Promise<void> = Promise.resolve();

/** Longest a bulk batch waits for pending alerts before each chunk. */
const ALERT_YIELD_MAX_MS = 60_000;

/** A connection-level retry (no reply, or 421 closing) means the next sends would fail too. */
function stopsTheBatch(err: SmtpLikeError): boolean {
  return err.responseCode === undefined || err.responseCode === 421;
}

export function createBatchSender(deps: BatchSenderDeps) {
  const { db, clock, log, metrics, mailer, tokens, publication, bucket, handoffs, config } = deps;
  const domain = sendingDomain(config.MAIL_FROM, publication.sender.email);
  const lockMs = config.JOB_LOCK_DURATION_MS;
  const cacheSize = deps.cacheSize ?? 32;
  const flushEvery = deps.flushEvery ?? 50;
  // small LRU: a Map keeps insertion order; a hit is moved to the end
  const cache = new Map<string, EditionInfo>();

  async function loadEdition(
    editionId: string,
  ): Promise<EditionInfo | { missing: string } | { state: string }> {
    const { rows } = await db.query<{
      kind: NewsletterKind;
      state: string;
      language: Language;
      frequency: string | null;
      rendered_at: Date | null;
      rendered: boolean;
    }>(
      `SELECT kind, state, language, frequency, rendered_at,
              (subject IS NOT NULL AND html IS NOT NULL AND text_body IS NOT NULL) AS rendered
         FROM editions WHERE id = $1`,
      [editionId],
    );
    const row = rows[0];
    if (!row) return { missing: 'edition not found' };
    if (!SENDABLE_STATES.has(row.state)) return { state: row.state };
    if (!row.rendered) throw new Error(`edition ${editionId} is not rendered yet`);
    const cacheKey = `${editionId}:${row.rendered_at?.getTime() ?? 0}`;
    const hit = cache.get(cacheKey);
    if (hit) {
      cache.delete(cacheKey);
      cache.set(cacheKey, hit);
      return { ...hit, state: row.state };
    }
    const body = await db.query<{ subject: string; html: string; text_body: string }>(
      'SELECT subject, html, text_body FROM editions WHERE id = $1',
      [editionId],
    );
    const { subject, html, text_body: text } = body.rows[0]!;
    const language = row.language;
    const from = parseMailFrom(config.MAIL_FROM, {
      name: publication.sender.name[language],
      address: publication.sender.email,
    });
    const strings = localeStrings(language);
    const prepared = prepareEditionMessage({
      from,
      subject,
      html,
      text,
      language,
      greeting: { named: strings.greeting.named, generic: strings.greeting.generic },
      headers: editionHeaders({
        editionId,
        kind: row.kind,
        list: feedbackList(row.kind, row.frequency, language),
        listName: publication.name[language],
        domain,
        replyTo: publication.sender.replyTo,
      }),
    });
    const info: EditionInfo = {
      id: editionId,
      kind: row.kind,
      state: row.state,
      language,
      prepared,
      envelopeFrom: from.address,
    };
    cache.set(cacheKey, info);
    while (cache.size > cacheSize) cache.delete(cache.keys().next().value as string);
    return info;
  }

  function compose(edition: EditionInfo, row: ClaimedRow): { raw: Buffer; messageId: string } {
    const messageId = newsletterMessageId(row.id, config.SECRET_KEY, domain);
    const unsubscribeToken = row.subscriberId ? tokens.unsubscribe(row.subscriberId) : 'preview';
    const prefs = row.subscriberId
      ? preferencesUrl(config.PUBLIC_URL, tokens.preferences(row.subscriberId))
      : `${config.PUBLIC_URL}/preferences`;
    const listHeaders = recipientHeaders({
      publicUrl: config.PUBLIC_URL,
      unsubscribeToken,
      mailto: config.LIST_UNSUBSCRIBE_MAILTO,
    });
    const raw = buildMessage(edition.prepared, {
      to: row.recipient,
      messageId,
      date: clock.now(),
      values: {
        greeting_name: row.name ?? '',
        preferences_url: prefs,
        unsubscribe_url: unsubscribeUrl(config.PUBLIC_URL, unsubscribeToken),
        archive_url: archiveUrl(config.PUBLIC_URL, edition.id),
      },
      extraHeaders: listHeaders,
    });
    return { raw, messageId };
  }

  async function sendBatch(
    editionId: string,
    batch: number,
    jobAttempt: JobAttempt = { attempt: 1, maxAttempts: 1 },
  ): Promise<BatchResult> {
    const loaded = await loadEdition(editionId);
    if ('missing' in loaded) return { status: 'skipped', reason: loaded.missing };
    if (!('prepared' in loaded)) return { status: 'skipped', reason: `edition ${loaded.state}` };
    const edition = loaded;
    const kind = edition.kind;
    const priority: SendPriority = kind === 'alert' || jobAttempt.lane === 'alerts' ? 'alert' : 'bulk';
    const counts = emptyCounts();
    const ctx = { editionId, batch, attempt: jobAttempt.attempt };

    // Rows an earlier attempt left `sending` (it crashed or stalled past its claim): its hand-off
    // log says which it never gave to SMTP; those are pending again, the rest ambiguous.
    for (const staleToken of await staleClaimTokens(db, editionId, batch, lockMs)) {
      const record = await handoffs.take(staleToken);
      const upTo = record.trusted ? record.upTo : null;
      const stale = await settleStaleClaim(db, editionId, batch, lockMs, staleToken, upTo, clock.now());
      counts.staleReleased += stale.released.length;
      if (stale.released.length > 0)
        log.info(
          { ...ctx, claim: staleToken, rows: stale.released },
          `${stale.released.length} row(s) of an expired claim were never handed to SMTP: pending again`,
        );
      if (stale.ambiguous.length > 0) {
        counts.staleAmbiguous += stale.ambiguous.length;
        metrics.mailsFailed.inc({ kind, outcome: 'ambiguous' }, stale.ambiguous.length);
        log.warn(
          {
            ...ctx,
            claim: staleToken,
            rows: stale.ambiguous,
            handoffLog: record.trusted ? 'trusted' : record.why,
            alert: 'delivery_ambiguous',
          },
          `${stale.ambiguous.length} row(s) found still sending after their claim expired${record.trusted ? ', handed to SMTP before the attempt stopped' : ''}: marked ambiguous, not resent`,
        );
      }
    }
    if (edition.state === 'planned') {
      await db.query(
        `UPDATE editions SET state = 'sending', updated_at = $2 WHERE id = $1 AND state = 'planned'`,
        [editionId, clock.now()],
      );
    }

    const token = randomUUID();
    await handoffs.open(token);
    const held = new Map<number, ClaimedRow>();
    const queue: ClaimedRow[] = [];
    const buffered: RowOutcome[] = [];
    let exhausted = false;
    let stop: { why: 'pause' | 'retry'; error: string } | undefined;
    let lastRetryError = '';
    let refilling: Promise<void> | undefined;
    let lastBeat = performance.now();
    // The hand-off watermark (handoff-log.ts): rows up to `markedUpTo` may be handed to SMTP.
    // A row above it raises it to the highest row a slot has taken (`takenUpTo`), so the rows
    // the other slots hold go without a round trip of their own.
    let takenUpTo = 0;
    let markedUpTo = 0;
    let marking: { upTo: number; done: Promise<void> } | undefined;
    function handOff(id: number): Promise<void> {
      if (id <= markedUpTo) return HANDED_OFF;
      if (marking && id <= marking.upTo) return marking.done;
      const upTo = Math.max(id, takenUpTo);
      const done = handoffs.markUpTo(token, upTo).then(() => {
        if (upTo > markedUpTo) markedUpTo = upTo;
      });
      marking = { upTo, done };
      return done;
    }

    async function flush(): Promise<void> {
      if (buffered.length === 0) return;
      const batchOut = buffered.splice(0, buffered.length);
      // a send is a fact: try hard to record it before giving up (then the row turns ambiguous)
      for (let i = 0; ; i++) {
        try {
          await recordOutcomes(db, token, batchOut, clock.now());
          return;
        } catch (err) {
          if (i >= 2) throw err;
          await new Promise((r) => setTimeout(r, 200 * (i + 1)));
        }
      }
    }

    async function beat(): Promise<void> {
      const startedAt = performance.now();
      // only rows claimed before the renewal started can be missing from its answer for the
      // right reason; a chunk claimed meanwhile is fresh and ours
      const before = [...held.keys()];
      const still = await renewClaim(db, editionId, batch, token);
      lastBeat = startedAt;
      for (const id of before) {
        if (held.has(id) && !still.has(id)) {
          held.delete(id);
          log.warn({ ...ctx, deliveryId: id }, 'claim lost to another attempt: row not sent by this one');
        }
      }
    }
    const heartbeat = setInterval(
      () => {
        beat().catch((err) => log.warn({ ...ctx, err: (err as Error).message }, 'claim heartbeat failed'));
      },
      Math.max(50, Math.floor(lockMs / 3)),
    );
    heartbeat.unref();

    async function refill(): Promise<void> {
      if (buffered.length > 0) await flush();
      if (priority === 'bulk' && deps.alertsPending) {
        // bounded, so alert jobs nobody serves (no worker runs the alerts queue) cannot starve digests
        const until = performance.now() + ALERT_YIELD_MAX_MS;
        while (!stop && performance.now() < until && (await deps.alertsPending())) {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const want = bucket.unlimited
        ? config.SEND_CLAIM_SIZE
        : await bucket.take(config.SEND_CLAIM_SIZE, priority);
      const result = await claimChunk(db, editionId, batch, token, want, clock.now());
      if (result.taken < want) exhausted = true;
      if (result.claimed.length < want) await bucket.refund(want - result.claimed.length);
      if (result.suppressed > 0) counts.suppressed += result.suppressed;
      for (const row of result.claimed) {
        held.set(row.id, row);
        queue.push(row);
      }
    }

    async function next(): Promise<ClaimedRow | undefined> {
      for (;;) {
        if (stop) return undefined;
        const row = queue.shift();
        if (row) {
          if (row.id > takenUpTo) takenUpTo = row.id;
          return row;
        }
        if (exhausted) return undefined;
        refilling ??= refill().finally(() => {
          refilling = undefined;
        });
        await refilling;
      }
    }

    function settle(row: ClaimedRow, outcome: RowOutcome): void {
      held.delete(row.id);
      buffered.push(outcome);
    }

    async function sendOne(row: ClaimedRow): Promise<void> {
      let message: { raw: Buffer; messageId: string };
      try {
        message = compose(edition, row);
      } catch (err) {
        counts.failed++;
        metrics.mailsFailed.inc({ kind, outcome: 'recipient' });
        settle(row, {
          id: row.id,
          state: 'failed',
          error: `cannot build message: ${(err as Error).message}`,
        });
        return;
      }
      try {
        const info = await mailer.sendRaw({
          envelope: { from: edition.envelopeFrom, to: [row.recipient] },
          raw: message.raw,
          messageId: message.messageId,
          // the body leaves only once the hand-off log covers the row
          handOff: () => handOff(row.id),
        });
        counts.sent++;
        metrics.mailsSent.inc({ kind });
        settle(row, { id: row.id, state: 'sent', smtpResponse: info.response, messageId: message.messageId });
      } catch (raw) {
        if (raw instanceof DkimError) {
          // nothing reached the server; a message that cannot be signed will not sign next time
          counts.failed++;
          metrics.mailsFailed.inc({ kind, outcome: 'recipient' });
          settle(row, { id: row.id, state: 'failed', error: `cannot sign message: ${raw.message}` });
          return;
        }
        const err = raw as SmtpLikeError;
        const outcome = classifySmtpError(err);
        const error = describeSmtpError(err);
        metrics.mailsFailed.inc({ kind, outcome });
        switch (outcome) {
          case 'recipient':
            counts.failed++;
            settle(row, { id: row.id, state: 'failed', error, smtpResponse: err.response });
            break;
          case 'ambiguous':
            counts.ambiguous++;
            log.warn(
              { ...ctx, deliveryId: row.id, error, alert: 'delivery_ambiguous' },
              'connection lost after DATA',
            );
            settle(row, { id: row.id, state: 'ambiguous', error, messageId: message.messageId });
            break;
          case 'retry':
            counts.retry++;
            lastRetryError = error;
            settle(row, { id: row.id, state: 'pending', error });
            if (stopsTheBatch(err)) stop ??= { why: 'retry', error };
            break;
          case 'pause':
            counts.retry++;
            settle(row, { id: row.id, state: 'pending', error });
            if (stop?.why !== 'pause') {
              stop = { why: 'pause', error };
              await deps.pause.pause({
                reason: 'the SMTP server refused on policy or authentication grounds',
                editionId,
                batch,
                error,
              });
            }
            break;
        }
      }
    }

    async function slot(): Promise<void> {
      for (;;) {
        const row = await next();
        if (!row) return;
        if (performance.now() - lastBeat > lockMs / 2) await beat();
        if (!held.has(row.id)) continue;
        await sendOne(row);
        if (buffered.length >= flushEvery) await flush();
      }
    }

    let failure: unknown;
    try {
      const results = await Promise.allSettled(
        Array.from({ length: Math.max(1, config.SEND_CONCURRENCY) }, () => slot()),
      );
      failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;
    } finally {
      clearInterval(heartbeat);
      // every slot has finished, so a row still held was claimed but never attempted: nothing
      // left our side, it is plainly pending again
      queue.length = 0;
      for (const row of [...held.values()])
        settle(row, { id: row.id, state: 'pending', error: 'released unsent' });
      try {
        await flush();
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure) {
      // outcomes may be missing: the log stays in Redis for whichever attempt finds these rows
      handoffs.forget(token);
      throw failure;
    }
    // Belt and braces: every attempted row has its outcome recorded by now, so a row still
    // `sending` under this claim was never attempted; it must not outlive the job.
    const leftover = await releaseClaim(db, editionId, batch, token, clock.now());
    if (leftover > 0) {
      log.warn({ ...ctx, rows: leftover }, 'claimed rows left unattempted: released to pending');
      lastRetryError ||= 'claimed rows left unattempted';
      counts.retry += leftover;
    }
    // every row of this claim has its outcome: the log is not needed (its TTL would remove it)
    await handoffs
      .discard(token)
      .catch((err) => log.warn({ ...ctx, err: (err as Error).message }, 'could not drop the hand-off log'));

    const summary = { ...ctx, kind, ...counts };
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
    const heldByOthers = await countHeldByOthers(db, editionId, batch, token);
    if (heldByOthers > 0) {
      log.info({ ...summary, heldByOthers }, 'another attempt still holds rows of this batch');
      return { status: 'busy', counts, heldByOthers, retryInMs: lockMs };
    }
    const editionTotals = await finalizeEdition(db, editionId, clock.now());
    if (editionTotals) log.info({ editionId, ...editionTotals }, 'edition sent');
    log.info(summary, 'batch done');
    return { status: 'done', counts, edition: editionTotals };
  }

  return { sendBatch, cacheSize: () => cache.size };
}

export type BatchSender = ReturnType<typeof createBatchSender>;
