import type { SendMailOptions } from 'nodemailer';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/pool.js';
import type { Logger } from '../logger.js';
import { buildListHeaders } from '../mail/list-headers.js';
import { messageIdFor, sendingDomain } from '../mail/message-id.js';
import { classifySmtpError, describeSmtpError, type SmtpLikeError } from '../mail/smtp-errors.js';
import type { Mailer } from '../mail/transport.js';
import type { Metrics } from '../metrics.js';
import type { Publication } from '../publication.js';
import { renderTransactional } from '../render/index.js';
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
} from './ledger.js';
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
    'PUBLIC_URL' | 'SECRET_KEY' | 'MAIL_FROM' | 'LIST_UNSUBSCRIBE_MAILTO' | 'CONFIRM_TOKEN_TTL_SECONDS'
  >;
  publication: Publication;
  tokens: Tokens;
  mailer: Mailer;
  metrics: Metrics;
  log: Logger;
  sendBucket: TokenBucket;
}

export function createTransactionalSender(deps: TransactionalSenderDeps) {
  const { db, clock, config, publication, tokens, mailer, metrics, log, sendBucket } = deps;
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
    const from = config.MAIL_FROM ?? {
      name: publication.sender.name[language],
      address: publication.sender.email,
    };
    const base: SendMailOptions = {
      from,
      to: sub.email,
      replyTo: publication.sender.replyTo,
      messageId: messageIdFor(d.id, config.SECRET_KEY, domain),
      date: clock.now(),
      headers: { 'Auto-Submitted': 'auto-generated' },
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
      const confirmUrl = `${config.PUBLIC_URL}/confirm/${tokens.confirm({ subscriberId: sub.id, nonce, expiresAt })}`;
      const rendered = await renderTransactional('confirmation', {
        language,
        publication,
        name: sub.name ?? undefined,
        confirmUrl,
        expiresAt,
      });
      return { message: { ...base, ...rendered } };
    }

    if (d.kind === 'welcome') {
      if (sub.status !== 'confirmed') return { cancel: `subscriber is ${sub.status}` };
      const unsubscribeUrl = `${config.PUBLIC_URL}/unsubscribe/${tokens.unsubscribe(sub.id)}`;
      const preferencesUrl = `${config.PUBLIC_URL}/preferences/${tokens.preferences(sub.id)}`;
      const rendered = await renderTransactional('welcome', {
        language,
        publication,
        name: sub.name ?? undefined,
        preferencesUrl,
        unsubscribeUrl,
      });
      return {
        message: {
          ...base,
          ...rendered,
          headers: {
            ...(base.headers as Record<string, string>),
            ...buildListHeaders({ unsubscribeUrl, mailto: config.LIST_UNSUBSCRIBE_MAILTO }),
          },
        },
      };
    }
    return { cancel: `${d.kind} is not a transactional kind` };
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
