import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/pool.js';
import type { Logger } from '../logger.js';
import {
  type InboundMail,
  markInboundProcessed,
  pruneInboundMail,
  takeInboundMail,
  unprocessedInboundMail,
} from './inbound-store.js';
import { header, splitHeadersBody } from './mime-parts.js';
import { type ParsedReport, parseReport } from './parse.js';
import type { BouncePolicy, BounceReport } from './policy.js';
import { readUnsubscribeMailto } from './unsubscribe-mailto.js';
import { readVerp } from './verp.js';

/**
 * What the inbound listener's mail does, read from the copy stored before its 250 (inbound-store.ts)
 * by the bounces queue. Mail to a reader's List-Unsubscribe mailto unsubscribes them; mail to the
 * bounce domain is read as a DSN, an ARF complaint or an auto-reply (parse.ts) and goes through
 * the bounce policy. Both effects are idempotent (a report is stored once per event id, derived
 * from the bytes; unsubscribing twice is unsubscribing), so processing a message again after a
 * crash or a duplicate job changes nothing.
 *
 * Mail is not authenticated, so it is trusted only as far as it proves itself: a report counts for
 * a reader only when it names one of our messages, by a VERP address that verifies (verp.ts) or by
 * the Message-ID we gave the message (keyed with SECRET_KEY, so not guessable); an unsubscribe
 * address only when its HMAC tag verifies (unsubscribe-mailto.ts). A report that names only an
 * address is stored and counted but suppresses nobody.
 */
export interface InboundProcessorDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  config: Pick<Config, 'SECRET_KEY' | 'SECRET_KEY_PREVIOUS' | 'BOUNCE_DOMAIN' | 'LIST_UNSUBSCRIBE_MAILTO'>;
  bounces: Pick<BouncePolicy, 'record'>;
  /** the subscriptions domain's own unsubscribe, by reader id; false when there is no such reader */
  unsubscribe(subscriberId: string, meta: { source: string; ip: string | null }): Promise<boolean>;
  /** hands a stored message to the queue again (the sweep) */
  enqueue(mailId: number): Promise<void>;
}

/** Stored mail not processed this long after it arrived is handed to the queue again. */
const SWEEP_AFTER_MS = 60_000;
const KEEP_PROCESSED_MS = 7 * 24 * 3600_000;

/** The reports one received mail makes, one per recipient it is about. */
export function reportsFromMail(
  parsed: ParsedReport,
  raw: Buffer,
  deliveryId: number | undefined,
): BounceReport[] {
  const digest = createHash('sha256').update(raw).digest('hex').slice(0, 32);
  const base = {
    source: 'inbound' as const,
    deliveryId: deliveryId ?? null,
    messageId: parsed.originalMessageId,
    trustRecipient: false,
    raw,
  };
  if (parsed.kind === 'auto-reply')
    return [
      {
        ...base,
        eventId: digest,
        class: 'auto-reply',
        rule: parsed.classification.rule,
        recipient: parsed.from,
      },
    ];
  if (parsed.kind === 'other') return [];
  const recipients = parsed.recipients.length ? parsed.recipients : [null];
  return recipients.map((r, i) => ({
    ...base,
    eventId: `${digest}-${i}`,
    class: r?.classification.class ?? parsed.classification.class,
    rule: r?.classification.rule ?? parsed.classification.rule,
    recipient: r?.recipient ?? parsed.originalTo,
    status: r?.status ?? null,
    diagnostic: r?.diagnostic ?? (parsed.kind === 'arf' ? `ARF ${parsed.feedbackType}` : null),
  }));
}

/** RFC 3834: a null reverse path or Auto-Submitted other than "no" is an automatic message. */
function isAutomatic(mail: InboundMail): boolean {
  if (mail.mailFrom === '') return true;
  const submitted = header(splitHeadersBody(mail.raw).headers, 'auto-submitted');
  return submitted !== undefined && submitted.trim().toLowerCase() !== 'no';
}

export function createInboundProcessor(deps: InboundProcessorDeps) {
  const { db, clock, log, config, bounces } = deps;
  const keys = [config.SECRET_KEY, config.SECRET_KEY_PREVIOUS];
  const bounceDomain = config.BOUNCE_DOMAIN?.toLowerCase();

  async function unsubscribes(mail: InboundMail): Promise<string[]> {
    const outcomes: string[] = [];
    for (const rcpt of mail.rcptTo) {
      const m = readUnsubscribeMailto(rcpt, config.LIST_UNSUBSCRIBE_MAILTO, keys);
      if (m.kind !== 'reader') continue;
      // a vacation answer or a bounce to the address is not the reader asking
      if (isAutomatic(mail)) {
        outcomes.push('automatic reply to the unsubscribe address: ignored');
        continue;
      }
      const done = await deps.unsubscribe(m.subscriberId, { source: 'mailto', ip: mail.remoteIp });
      outcomes.push(done ? `unsubscribed ${m.subscriberId}` : `no reader ${m.subscriberId}`);
      log.info({ mailId: mail.id, subscriberId: m.subscriberId, done }, 'unsubscribe by mail');
    }
    return outcomes;
  }

  async function reports(mail: InboundMail): Promise<string | undefined> {
    const toBounceDomain = mail.rcptTo.filter(
      (r) => bounceDomain && r.slice(r.lastIndexOf('@') + 1).toLowerCase() === bounceDomain,
    );
    if (toBounceDomain.length === 0) return undefined;
    let deliveryId: number | undefined;
    for (const rcpt of toBounceDomain) {
      const verp = readVerp(rcpt, keys);
      if (verp.kind === 'forged') {
        log.warn({ mailId: mail.id, rcpt }, 'bounce to a VERP address that does not verify: ignored');
        return 'forged VERP address: ignored';
      }
      if (verp.kind === 'verp') deliveryId = verp.deliveryId;
    }
    const parsed = await parseReport(mail.raw);
    const found = reportsFromMail(parsed, mail.raw, deliveryId);
    if (found.length === 0) {
      log.info(
        { mailId: mail.id, kind: parsed.kind, subject: parsed.subject },
        'bounce mailbox: not a report',
      );
      return `not a report (${parsed.kind})`;
    }
    let suppressed = 0;
    for (const r of found)
      if ((await bounces.record({ ...r, occurredAt: mail.receivedAt })).suppressed) suppressed++;
    return `${found.length} ${parsed.kind} report(s), ${suppressed} reader(s) suppressed`;
  }

  return {
    /** Applies one stored message; throws (the job retries) when the database fails midway. */
    async process(mailId: number): Promise<string> {
      const mail = await takeInboundMail(db, mailId);
      if (!mail) return 'gone';
      if (mail.processedAt) return 'processed before';
      const outcomes = await unsubscribes(mail);
      const report = await reports(mail);
      if (report) outcomes.push(report);
      const outcome = outcomes.join('; ') || 'nothing to do';
      await markInboundProcessed(db, mail.id, clock.now(), outcome);
      return outcome;
    },
    /** Hands stored mail whose job was lost back to the queue, and prunes mail processed long ago. */
    async sweep(): Promise<{ requeued: number; pruned: number }> {
      const now = clock.now().getTime();
      const ids = await unprocessedInboundMail(db, new Date(now - SWEEP_AFTER_MS), 1000);
      for (const id of ids) await deps.enqueue(id);
      const pruned = await pruneInboundMail(db, new Date(now - KEEP_PROCESSED_MS));
      return { requeued: ids.length, pruned };
    },
  };
}

export type InboundProcessor = ReturnType<typeof createInboundProcessor>;
