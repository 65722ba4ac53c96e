import { classifySmtpRefusal, enhancedStatus } from '../bounces/classify.js';
import type { BouncePolicy } from '../bounces/policy.js';
import type { Logger } from '../logger.js';
import {
  classifySmtpError,
  describeSmtpError,
  isDropInTransaction,
  isThrottleReply,
  type SmtpLikeError,
} from '../mail/smtp-errors.js';
import type { Mailer } from '../mail/transport.js';
import type { Metrics } from '../metrics.js';
import type { AttemptStop, BatchCounts } from './attempt-types.js';
import type { ClaimedRow, RowOutcome } from './delivery-batch-store.js';
import type { EditionInfo } from './edition-messages.js';
import type { ProviderShare } from './provider-share.js';
import type { PauseReason } from './sending-pause.js';

/**
 * What a send attempt's SMTP refusals need of it (send-attempt.ts): the one place an SMTP failure
 * of a row becomes its outcome (smtp-errors.ts classifies) and, when it says so, stops the batch.
 */
export interface RefusalHost {
  readonly deps: {
    log: Logger;
    metrics: Metrics;
    mailer: Pick<Mailer, 'probe'>;
    pause: { pause(reason: PauseReason): Promise<boolean> };
    bounces: Pick<BouncePolicy, 'record'>;
  };
  readonly edition: EditionInfo;
  readonly batch: number;
  readonly counts: BatchCounts;
  readonly ctx: Record<string, unknown>;
  share: ProviderShare | undefined;
  stop: AttemptStop | undefined;
  lastRetryError: string;
  /** whether the relay answered a probe after a connection was lost (one probe per attempt) */
  relayCheck: Promise<boolean> | undefined;
  settle(row: ClaimedRow, outcome: RowOutcome): void;
  /** a provider backs off (or starves): its rows claimed and not yet handed off go back to pending */
  handBackProvider(provider: string, why?: string): void;
}

/**
 * After a wait for tokens or leases: the rows of paced providers found backing off go back to
 * pending, unspent; so do all paced rows when none could go for a while and batches that never
 * ran wait for a slot (send-pacing.ts `starved`): the attempt then claims no more of them and
 * ends, and its slot goes to those batches' unthrottled readers.
 */
export async function handBackWaiting(host: RefusalHost, queue: readonly ClaimedRow[]): Promise<void> {
  const share = host.share;
  if (!share) return;
  for (const provider of share.takeBackingOff()) host.handBackProvider(provider);
  if (queue.length === 0 || !(await share.pacing.starved())) return;
  const starving = new Set<string>();
  for (const row of queue) {
    const provider = share.pacing.paced.get(row.id);
    if (provider !== undefined) starving.add(provider);
  }
  for (const provider of starving) host.handBackProvider(provider, 'waits for its rate');
}

/** A 421 (the server is closing the connection) means the next sends would fail too. */
function stopsTheBatch(err: SmtpLikeError): boolean {
  return err.responseCode === 421;
}

/**
 * `connected`: a connection had been ready for this message (its hand-off was asked for), so a
 * connection lost without a reply came during its transaction, not while connecting.
 */
export async function refused(
  host: RefusalHost,
  row: ClaimedRow,
  err: SmtpLikeError,
  messageId: string,
  connected = false,
): Promise<void> {
  const { deps, counts } = host;
  const outcome = classifySmtpError(err);
  const error = describeSmtpError(err);
  deps.metrics.mailsFailed.inc({ kind: host.edition.kind, outcome });
  switch (outcome) {
    case 'recipient':
      counts.failed++;
      host.settle(row, { id: row.id, state: 'failed', error, smtpResponse: err.response });
      await bounced(host, row, err, false);
      break;
    case 'ambiguous':
      counts.ambiguous++;
      deps.log.warn(
        { ...host.ctx, deliveryId: row.id, error, alert: 'delivery_ambiguous' },
        'connection lost after DATA',
      );
      host.settle(row, { id: row.id, state: 'ambiguous', error, messageId });
      break;
    case 'retry':
      if (host.share && isThrottleReply(err)) {
        // the reader's provider wants Gazette slower: the row waits, the batch goes on elsewhere
        counts.throttled++;
        host.settle(row, { id: row.id, state: 'pending', error: `provider throttled: ${error}` });
        await host.share.throttled(row.recipient, error, host.ctx);
        host.handBackProvider(host.share.providerOf(row.recipient));
        break;
      }
      if (host.share && connected && isDropInTransaction(err) && !host.stop) {
        // lost mid-transaction: the recipient's provider's storm, unless the relay is down
        const verdict = await host.share.dropped(row.recipient, error, host.ctx, () => relayAnswers(host));
        if (verdict !== 'relay') {
          counts.throttled++;
          host.settle(row, { id: row.id, state: 'pending', error: `connection lost: ${error}` });
          if (verdict === 'storm') host.handBackProvider(host.share.providerOf(row.recipient));
          break;
        }
      }
      counts.retry++;
      host.lastRetryError = error;
      host.settle(row, { id: row.id, state: 'pending', error });
      if (err.responseCode === undefined) await connectionLost(host, error);
      else if (stopsTheBatch(err)) host.stop ??= { why: 'retry', error };
      break;
    case 'pause':
      counts.retry++;
      host.settle(row, { id: row.id, state: 'pending', error });
      if (host.stop?.why !== 'pause') {
        host.stop = { why: 'pause', error };
        await deps.pause.pause({
          reason: 'the SMTP server refused on policy or authentication grounds',
          editionId: host.edition.id,
          batch: host.batch,
          error,
        });
      }
      // after the stop: other slots take no more rows while the report is stored
      await bounced(host, row, err, true);
      break;
  }
}

/**
 * Feeds a refusal to the bounce policy: a dead mailbox suppresses its reader at once, a full one
 * counts towards the soft limit. A refusal that pauses sending is only recorded when it is about
 * the sender (block): the row is tried again, so it says nothing about the reader. The row's
 * outcome is already decided; a policy failure is logged and never changes it.
 */
async function bounced(
  host: RefusalHost,
  row: ClaimedRow,
  err: SmtpLikeError,
  pausing: boolean,
): Promise<void> {
  const verdict = classifySmtpRefusal(err);
  if (!verdict || (pausing && verdict.class !== 'block')) return;
  const text = err.response ?? err.message ?? null;
  await host.deps.bounces
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
      host.deps.log.warn(
        { ...host.ctx, deliveryId: row.id, err: (e as Error).message },
        'could not record the refusal as a bounce',
      ),
    );
}

/** Whether a fresh connection of its own reaches the relay (one probe per attempt). */
function relayAnswers(host: RefusalHost): Promise<boolean> {
  host.relayCheck ??= host.deps.mailer.probe().then(
    () => true,
    () => false,
  );
  return host.relayCheck;
}

/**
 * The connection failed before DATA (refused, timed out, reset): not the reader's failure. A
 * fresh connection of its own tells a hiccup (the relay answers: the batch is retried later, as
 * for a 421) from an outage, where every other row would fail the same way: sending pauses (the
 * job spends no attempt) until the relay probe (relay-watch.ts) reaches the relay again.
 */
async function connectionLost(host: RefusalHost, error: string): Promise<void> {
  if (host.stop) return;
  const reachable = await relayAnswers(host);
  if (host.stop) return;
  if (reachable) {
    host.stop = { why: 'retry', error };
    return;
  }
  host.stop = { why: 'pause', error };
  await host.deps.pause.pause({
    reason: 'the SMTP relay cannot be reached; sending resumes by itself once it answers',
    relay: true,
    editionId: host.edition.id,
    batch: host.batch,
    error,
  });
}
