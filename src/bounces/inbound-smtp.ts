import { createHash } from 'node:crypto';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { type ParsedReport, parseReport } from './parse.js';
import type { BouncePolicy, BounceReport } from './policy.js';
import { readVerp } from './verp.js';

/**
 * The inbound SMTP listener for bounce mail (BOUNCE_SMTP_PORT, off unless set): the MX of
 * BOUNCE_DOMAIN, or a relay's forwarding, points here. It takes mail for BOUNCE_DOMAIN only (no
 * relaying), parses each message as a DSN, an ARF complaint or an auto-reply (parse.ts), and
 * answers 250 only once every report in it is stored (policy.ts): a database failure answers 451
 * and the sending MTA tries again later.
 *
 * Mail is not authenticated, so it is trusted only as far as it proves itself: a report counts for
 * a reader only when it names one of our messages, by a VERP address that verifies (verp.ts) or
 * by the Message-ID we gave the message (keyed with SECRET_KEY, so not guessable). A report that
 * names only an address is stored and counted but suppresses nobody.
 */
export interface BounceListenerDeps {
  config: Pick<
    Config,
    | 'BOUNCE_DOMAIN'
    | 'BOUNCE_SMTP_MAX_BYTES'
    | 'SECRET_KEY'
    | 'SECRET_KEY_PREVIOUS'
    | 'NODE_ENV'
    | 'BOUNCE_SMTP_HOST'
  >;
  log: Logger;
  bounces: Pick<BouncePolicy, 'record'>;
}

const smtpError = (code: number, message: string) =>
  Object.assign(new Error(message), { responseCode: code });

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

export function createBounceListener(deps: BounceListenerDeps) {
  const { config, log, bounces } = deps;
  const domain = config.BOUNCE_DOMAIN?.toLowerCase();
  const keys = [config.SECRET_KEY, config.SECRET_KEY_PREVIOUS];
  const server = new SMTPServer({
    banner: 'Gazette bounce processor',
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    disableReverseLookup: true,
    size: config.BOUNCE_SMTP_MAX_BYTES,
    maxClients: 50,
    socketTimeout: 60_000,
    logger: false,
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      const at = address.address.lastIndexOf('@');
      const rcptDomain = address.address.slice(at + 1).toLowerCase();
      if (!domain || rcptDomain !== domain)
        return callback(smtpError(550, '5.7.1 relaying denied: not a bounce address'));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (stream.sizeExceeded) return callback(smtpError(552, '5.3.4 message too big for a bounce'));
        const raw = Buffer.concat(chunks);
        handle(
          raw,
          session.envelope.rcptTo.map((r) => r.address),
        ).then(
          () => callback(),
          (err) => {
            log.error({ err: (err as Error).message }, 'bounce mail not stored: asked the sender to retry');
            callback(smtpError(451, '4.3.0 cannot store the report now, try again later'));
          },
        );
      });
    },
  });
  server.on('error', (err) => log.warn({ err: err.message }, 'bounce listener connection error'));

  async function handle(raw: Buffer, rcptTo: string[]): Promise<void> {
    let deliveryId: number | undefined;
    for (const rcpt of rcptTo) {
      const verp = readVerp(rcpt, keys);
      if (verp.kind === 'forged') {
        log.warn({ rcpt }, 'bounce to a VERP address that does not verify: ignored');
        return;
      }
      if (verp.kind === 'verp') deliveryId = verp.deliveryId;
    }
    const parsed = await parseReport(raw);
    const reports = reportsFromMail(parsed, raw, deliveryId);
    if (reports.length === 0)
      log.info({ kind: parsed.kind, subject: parsed.subject }, 'bounce mailbox: not a report');
    for (const r of reports) await bounces.record(r);
  }

  let port = 0;
  return {
    get port() {
      return port;
    },
    listen(listenPort: number): Promise<number> {
      const host = config.BOUNCE_SMTP_HOST ?? (config.NODE_ENV === 'production' ? '0.0.0.0' : '127.0.0.1');
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(listenPort, host, () => {
          server.off('error', reject);
          const a = server.server.address();
          port = typeof a === 'object' && a ? a.port : listenPort;
          resolve(port);
        });
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type BounceListener = ReturnType<typeof createBounceListener>;
