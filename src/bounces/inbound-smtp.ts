import { readFileSync } from 'node:fs';
import { SMTPServer, type SMTPServerAddress, type SMTPServerOptions } from 'smtp-server';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/pool.js';
import type { Logger } from '../logger.js';
import { insertInboundMail } from './inbound-store.js';
import { readUnsubscribeMailto } from './unsubscribe-mailto.js';

/**
 * The inbound SMTP listener (INBOUND_SMTP_PORT, off unless set): the MX of BOUNCE_DOMAIN and of
 * the LIST_UNSUBSCRIBE_MAILTO domain, or a relay's forwarding, points here. It takes mail for the
 * bounce domain and for readers' unsubscribe addresses only (no relaying), stores each message
 * whole in PostgreSQL and only then answers 250; the bounces queue processes it from that copy
 * (inbound-processor.ts), so a crash after the 250 loses nothing. A database failure answers 451
 * and the sending MTA tries again later.
 *
 * Limits: INBOUND_SMTP_MAX_BYTES per message (552 past it), INBOUND_SMTP_MAX_CLIENTS connections
 * in all and INBOUND_SMTP_MAX_PER_IP from one address (421 past them), INBOUND_SMTP_MAX_MESSAGES
 * per connection (421, closing it), 100 recipients per message, 60 s of silence. STARTTLS is offered when a certificate is configured.
 */
export interface InboundListenerDeps {
  config: Pick<
    Config,
    | 'BOUNCE_DOMAIN'
    | 'LIST_UNSUBSCRIBE_MAILTO'
    | 'SECRET_KEY'
    | 'SECRET_KEY_PREVIOUS'
    | 'NODE_ENV'
    | 'INBOUND_SMTP_HOST'
    | 'INBOUND_SMTP_MAX_BYTES'
    | 'INBOUND_SMTP_MAX_CLIENTS'
    | 'INBOUND_SMTP_MAX_PER_IP'
    | 'INBOUND_SMTP_MAX_MESSAGES'
    | 'INBOUND_SMTP_TLS_CERT_FILE'
    | 'INBOUND_SMTP_TLS_KEY_FILE'
  >;
  db: Db;
  clock: Clock;
  log: Logger;
  /** hands a stored message to the bounces queue; a failure leaves it to the sweep */
  enqueue(mailId: number): Promise<void>;
}

const MAX_RECIPIENTS = 100;

const smtpError = (code: number, message: string) =>
  Object.assign(new Error(message), { responseCode: code });

function tlsOptions(config: InboundListenerDeps['config']): Partial<SMTPServerOptions> {
  const certFile = config.INBOUND_SMTP_TLS_CERT_FILE;
  const keyFile = config.INBOUND_SMTP_TLS_KEY_FILE;
  if (!certFile || !keyFile) return { disabledCommands: ['AUTH', 'STARTTLS'] };
  const read = (file: string, name: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`${name}: cannot read ${file} (${(err as Error).message})`);
    }
  };
  return {
    disabledCommands: ['AUTH'],
    cert: read(certFile, 'INBOUND_SMTP_TLS_CERT_FILE'),
    key: read(keyFile, 'INBOUND_SMTP_TLS_KEY_FILE'),
  };
}

export function createInboundListener(deps: InboundListenerDeps) {
  const { config, log, db, clock } = deps;
  const domain = config.BOUNCE_DOMAIN?.toLowerCase();
  const keys = [config.SECRET_KEY, config.SECRET_KEY_PREVIOUS];
  const perIp = new Map<string, number>();
  const counted = new Set<string>();

  const server = new SMTPServer({
    banner: 'Gazette inbound mail (bounces, unsubscribes)',
    authOptional: true,
    disableReverseLookup: true,
    size: config.INBOUND_SMTP_MAX_BYTES,
    maxClients: config.INBOUND_SMTP_MAX_CLIENTS,
    socketTimeout: 60_000,
    logger: false,
    ...tlsOptions(config),
    onConnect(session, callback) {
      const ip = session.remoteAddress;
      const n = perIp.get(ip) ?? 0;
      if (n >= config.INBOUND_SMTP_MAX_PER_IP)
        return callback(smtpError(421, '4.7.0 too many connections from your address, try again later'));
      perIp.set(ip, n + 1);
      counted.add(session.id);
      callback();
    },
    onClose(session) {
      if (!counted.delete(session.id)) return;
      const n = (perIp.get(session.remoteAddress) ?? 1) - 1;
      if (n <= 0) perIp.delete(session.remoteAddress);
      else perIp.set(session.remoteAddress, n);
    },
    onMailFrom(_address, session, callback) {
      // session.transaction counts this connection's messages, this one included
      if (session.transaction > config.INBOUND_SMTP_MAX_MESSAGES)
        return callback(smtpError(421, '4.7.0 too many messages on one connection, reconnect to send more'));
      callback();
    },
    onRcptTo(address: SMTPServerAddress, session, callback) {
      if (session.envelope.rcptTo.length >= MAX_RECIPIENTS)
        return callback(smtpError(452, '4.5.3 too many recipients'));
      const rcpt = address.address;
      const mailto = readUnsubscribeMailto(rcpt, config.LIST_UNSUBSCRIBE_MAILTO, keys);
      if (mailto.kind === 'reader') return callback();
      if (mailto.kind === 'forged')
        return callback(smtpError(550, '5.1.1 no such unsubscribe address: use the link in the newsletter'));
      if (mailto.kind === 'bare')
        return callback(
          smtpError(
            550,
            '5.1.1 this address needs the reader in it: use the unsubscribe link in the newsletter',
          ),
        );
      if (domain && rcpt.slice(rcpt.lastIndexOf('@') + 1).toLowerCase() === domain) return callback();
      callback(smtpError(550, '5.7.1 relaying denied: not an address this server takes mail for'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (stream.sizeExceeded) return callback(smtpError(552, '5.3.4 message too big'));
        const from = session.envelope.mailFrom;
        insertInboundMail(db, {
          receivedAt: clock.now(),
          remoteIp: session.remoteAddress ?? null,
          mailFrom: from ? from.address : '',
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
        }).then(
          (mailId) => {
            // stored: the 250 is owed now; a lost enqueue is the sweep's (inbound-processor.ts)
            callback(null, `queued as ${mailId}`);
            deps
              .enqueue(mailId)
              .catch((err) =>
                log.warn(
                  { mailId, err: (err as Error).message },
                  'inbound mail stored, not queued: the sweep queues it',
                ),
              );
          },
          (err) => {
            log.error({ err: (err as Error).message }, 'inbound mail not stored: asked the sender to retry');
            callback(smtpError(451, '4.3.0 cannot store the message now, try again later'));
          },
        );
      });
    },
  });
  server.on('error', (err) => log.warn({ err: err.message }, 'inbound listener connection error'));

  let port = 0;
  return {
    get port() {
      return port;
    },
    listen(listenPort: number): Promise<number> {
      const host = config.INBOUND_SMTP_HOST ?? (config.NODE_ENV === 'production' ? '0.0.0.0' : '127.0.0.1');
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

export type InboundListener = ReturnType<typeof createInboundListener>;
