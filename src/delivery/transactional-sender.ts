import type { SendMailOptions } from 'nodemailer';
import { classifySmtpRefusal, enhancedStatus } from '../bounces/classify.js';
import type { BouncePolicy } from '../bounces/policy.js';
import { unsubscribeMailto } from '../bounces/unsubscribe-mailto.js';
import { verpAddress } from '../bounces/verp.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/pool.js';
import type { Logger } from '../logger.js';
import { buildListHeaders } from '../mail/list-headers.js';
import { messageIdFor, senderFor, sendingDomain } from '../mail/message-id.js';
import { classifySmtpError, describeSmtpError, type SmtpLikeError } from '../mail/smtp-errors.js';
import type { Mailer } from '../mail/transport.js';
import type { Metrics } from '../metrics.js';
import type { Publication } from '../publication.js';
import { renderTransactional } from '../render/index.js';
import { nextDigestText } from '../render/next-digest.js';
import {
  confirmUrl as confirmLink,
  keepUrl as keepLink,
  preferencesUrl as preferencesLink,
  unsubscribeUrl as unsubscribeLink,
} from '../render/reader-links.js';
import type { Tokens } from '../security/tokens.js';
import { findById } from '../subscriptions/subscriber-store.js';
import {
  type ClaimedDelivery,
  claimDelivery,
  markAmbiguous,
  markCancelled,
  markFailed,
  markRetry,
  markSent,
  markSuppressed,
} from './delivery-store.js';
import type { TokenBucket } from './token-bucket.js';

/**
 * What happened to one transactional delivery; the worker maps it to BullMQ terms.
 * - done: sent, or nothing to send (suppressed, cancelled, already handled by another attempt)
 * - retry: nothing left our side; the row is pending again, try later
 * - failed: the recipient was refused for good
 * - paused: the relay refuses on policy or authentication grounds; every send would fail alike
 */
export type SendOutcome =
  | { outcome: 'done'; state: string }
  | { outcome: 'retry'; error: string }
  | { outcome: 'failed'; error: string }
  | { outcome: 'paused'; error: string };

export interface TransactionalSenderDeps {
  db: Db;
  clock: Clock;
  config: Pick<
    Config,
    | 'PUBLIC_URL'
    | 'SECRET_KEY'
    | 'MAIL_FROM'
    | 'LIST_UNSUBSCRIBE_MAILTO'
    | 'CONFIRM_TOKEN_TTL_SECONDS'
    | 'BOUNCE_DOMAIN'
  >;
  publication: Publication;
  tokens: Tokens;
  mailer: Mailer;
  metrics: Metrics;
  log: Logger;
  sendBucket: TokenBucket;
  /** a refusal of the reader is a bounce like any other (bounces/policy.ts) */
  bounces: Pick<BouncePolicy, 'record'>;
}

export function createTransactionalSender(deps: TransactionalSenderDeps) {
  const { db, clock, config, publication, tokens, mailer, metrics, log, sendBucket, bounces } = deps;
  const domain = sendingDomain(config.MAIL_FROM, publication.sender.email);

  /** Builds the message, or says why this delivery must not be sent. */
  async function compose(
    d: ClaimedDelivery,
  ): Promise<{ message: SendMailOptions } | { suppress: string } | { cancel: string }> {
    if (!d.subscriberId) return { cancel: 'transactional mail without a subscriber' };
    const sub = await findById(db, d.subscriberId);
    if (!sub) return { cancel: 'subscriber no longer exists' };
    if (sub.status === 'suppressed' || sub.status === 'unsubscribed')
      return { suppress: `subscriber ${sub.status}` };
    const language = sub.language;
    const from = senderFor(config.MAIL_FROM, publication.sender, language);
    const base: SendMailOptions = {
      from,
      to: sub.email,
      replyTo: publication.sender.replyTo,
      messageId: messageIdFor(d.id, config.SECRET_KEY, domain),
      date: clock.now(),
      headers: { 'Auto-Submitted': 'auto-generated' },
      // with a bounce domain, the envelope sender names this row (VERP): its bounce finds it
      ...(config.BOUNCE_DOMAIN
        ? { envelope: { from: verpAddress(d.id, config.SECRET_KEY, config.BOUNCE_DOMAIN), to: sub.email } }
        : {}),
    };

    if (d.kind === 'confirmation') {
      const prefix = `confirmation-${sub.id}-`;
      const nonce = d.dedupeKey.startsWith(prefix) ? d.dedupeKey.slice(prefix.length) : '';
      if (sub.status !== 'pending' || !nonce || sub.confirm_nonce !== nonce || !sub.confirmation_sent_at)
        return { cancel: 'confirmation superseded (confirmed, or a newer link was sent)' };
      const expiresAt = new Date(
        sub.confirmation_sent_at.getTime() + config.CONFIRM_TOKEN_TTL_SECONDS * 1000,
      );
      if (expiresAt.getTime() <= clock.now().getTime())
        return { cancel: 'confirmation link expired before sending' };
      const confirmUrl = confirmLink(
        config.PUBLIC_URL,
        tokens.confirm({ subscriberId: sub.id, nonce, expiresAt }),
      );
      const rendered = await renderTransactional('confirmation', {
        language,
        publication,
        confirmUrl,
        expiresAt,
      });
      return { message: { ...base, ...rendered } };
    }

    if (d.kind === 'welcome' || d.kind === 'already_subscribed' || d.kind === 'repermission') {
      // a paused reader who subscribed again is told so, with the keep link that resumes them
      const pausedAgain = d.kind === 'already_subscribed' && sub.status === 'paused';
      if (sub.status !== 'confirmed' && !pausedAgain) return { cancel: `subscriber is ${sub.status}` };
      const unsubscribeUrl = unsubscribeLink(config.PUBLIC_URL, tokens.unsubscribe(sub.id));
      const preferencesUrl = preferencesLink(config.PUBLIC_URL, tokens.preferences(sub.id));
      const template =
        d.kind === 'welcome' ? 'welcome' : d.kind === 'repermission' ? 'repermission' : 'already-subscribed';
      const rendered = await renderTransactional(template, {
        language,
        publication,
        name: sub.name ?? undefined,
        preferencesUrl,
        unsubscribeUrl,
        ...(d.kind === 'repermission'
          ? {
              keepUrl: keepLink(config.PUBLIC_URL, tokens.keep(sub.id)),
              graceDays: publication.engagement.repermissionGraceDays,
            }
          : {}),
        ...(pausedAgain ? { keepUrl: keepLink(config.PUBLIC_URL, tokens.keep(sub.id)) } : {}),
        ...(d.kind === 'welcome'
          ? {
              choices: {
                topics: sub.topics,
                alerts: sub.alerts,
                nextDigest: nextDigestText(
                  publication,
                  language,
                  {
                    frequency: sub.frequency,
                    timezone: sub.timezone,
                    sendHour: sub.send_hour,
                    weeklyDay: sub.weekly_day,
                  },
                  clock.now(),
                ),
              },
            }
          : {}),
      });
      return {
        message: {
          ...base,
          ...rendered,
          headers: {
            ...(base.headers as Record<string, string>),
            ...buildListHeaders({
              unsubscribeUrl,
              mailto: config.LIST_UNSUBSCRIBE_MAILTO
                ? unsubscribeMailto(config.LIST_UNSUBSCRIBE_MAILTO, sub.id, config.SECRET_KEY)
                : undefined,
            }),
          },
        },
      };
    }
    return { cancel: `${d.kind} is not a transactional kind` };
  }

  /**
   * The row's outcome is decided already; a policy failure is logged and changes nothing of it. A
   * refusal that pauses sending is recorded only when it is about the sender (block).
   */
  async function bounced(d: ClaimedDelivery, err: SmtpLikeError, pausing: boolean): Promise<void> {
    const verdict = classifySmtpRefusal(err);
    if (!verdict || (pausing && verdict.class !== 'block')) return;
    const text = err.response ?? err.message ?? null;
    await bounces
      .record({
        source: 'smtp',
        eventId: `delivery-${d.id}-attempt-${d.attempts}`,
        class: verdict.class,
        rule: verdict.rule,
        deliveryId: d.id,
        recipient: d.recipient,
        status: enhancedStatus(text) ?? null,
        diagnostic: text,
      })
      .catch((e) =>
        log.warn({ deliveryId: d.id, err: (e as Error).message }, 'could not record the refusal as a bounce'),
      );
  }

  return {
    async send(deliveryId: number): Promise<SendOutcome> {
      const claim = await claimDelivery(db, deliveryId, clock.now());
      if (!claim.claimed) {
        if (claim.state === 'ambiguous')
          log.warn({ deliveryId }, 'delivery found still sending: marked ambiguous, not resent');
        return { outcome: 'done', state: claim.state };
      }
      const d = claim.claimed;
      let composed: Awaited<ReturnType<typeof compose>>;
      try {
        composed = await compose(d);
      } catch (err) {
        // a render failure is ours, not the recipient's: keep the row sendable
        await markRetry(db, d, `render: ${(err as Error).message}`, clock.now());
        return { outcome: 'retry', error: (err as Error).message };
      }
      if ('suppress' in composed) {
        await markSuppressed(db, d, composed.suppress, clock.now());
        return { outcome: 'done', state: 'suppressed' };
      }
      if ('cancel' in composed) {
        await markCancelled(db, d, composed.cancel, clock.now());
        return { outcome: 'done', state: 'cancelled' };
      }
      const messageId = composed.message.messageId as string;
      try {
        // counted against the global rate, ahead of alerts and bulk when tokens are short
        if (!sendBucket.unlimited) await sendBucket.take(1, 'transactional');
        const info = await mailer.send(composed.message);
        await markSent(db, d, { smtpResponse: info.response, messageId, at: clock.now() });
        metrics.mailsSent.inc({ kind: d.kind });
        metrics.sendingPaused.set(0);
        log.info({ deliveryId: d.id, kind: d.kind, messageId }, 'transactional mail sent');
        return { outcome: 'done', state: 'sent' };
      } catch (err) {
        const e = err as SmtpLikeError;
        const kind = classifySmtpError(e);
        const description = describeSmtpError(e);
        const at = clock.now();
        metrics.mailsFailed.inc({ kind: d.kind, outcome: kind });
        switch (kind) {
          case 'recipient':
            await markFailed(db, d, description, at);
            log.warn({ deliveryId: d.id, kind: d.kind, error: description }, 'recipient refused');
            await bounced(d, e, false);
            return { outcome: 'failed', error: description };
          case 'ambiguous':
            await markAmbiguous(db, d, description, at);
            log.warn(
              { deliveryId: d.id, error: description },
              'connection lost during DATA: marked ambiguous',
            );
            return { outcome: 'done', state: 'ambiguous' };
          case 'pause':
            await markRetry(db, d, description, at);
            await bounced(d, e, true);
            metrics.sendingPaused.set(1);
            log.error(
              { alert: true, deliveryId: d.id, error: description },
              'SMTP relay refuses on policy or authentication grounds: transactional sending paused',
            );
            return { outcome: 'paused', error: description };
          default:
            await markRetry(db, d, description, at);
            return { outcome: 'retry', error: description };
        }
      }
    },
  };
}

export type TransactionalSender = ReturnType<typeof createTransactionalSender>;
