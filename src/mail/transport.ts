import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { Config } from '../config.js';
import { createDkimSigner, DKIM_SIGNED_HEADERS, type DkimKey, dkimKeyFrom } from './dkim.js';
import { createRawPool } from './raw-pool.js';

export interface SentInfo {
  messageId: string;
  response: string;
  accepted: string[];
  rejected: string[];
}

export interface RawMessage {
  envelope: { from: string; to: string[] };
  /** a complete message with CRLF line endings, as `buildMessage` makes it */
  raw: Buffer;
  /** The Message-ID inside `raw`, reported back as the sent message's id */
  messageId: string;
  /**
   * Runs when a connection is ready for the message (the delivery ledger's hand-off log); the body
   * is held until it resolves, and the message is abandoned unsent if it rejects.
   */
  handOff?: () => Promise<void>;
}

/** The small interface delivery code needs (listmonk's Messenger): send one message. */
export interface Mailer {
  /** A message nodemailer composes (transactional mail); DKIM-signed by nodemailer when configured. */
  send(message: SendMailOptions): Promise<SentInfo>;
  /** A message Gazette assembled; DKIM-signed by `dkim.ts` when configured. */
  sendRaw(message: RawMessage): Promise<SentInfo>;
  /** Resolves when the relay accepts a connection for the messages Gazette assembles (a probe). */
  probe(): Promise<void>;
  close(): void;
}

export function smtpUrlFor(config: Config): string {
  return config.SMTP_URL ?? `smtp://127.0.0.1:${config.DEV_SMTP_PORT}`;
}

/** nodemailer's DKIM options for the messages it composes: the same key and header list as dkim.ts. */
export function dkimOptions(config: Config): SMTPPool.Options['dkim'] | undefined {
  const key = dkimKeyFrom(config);
  return key ? nodemailerDkim(key) : undefined;
}

function nodemailerDkim(key: DkimKey): NonNullable<SMTPPool.Options['dkim']> {
  return {
    domainName: key.domain,
    keySelector: key.selector,
    privateKey: key.privateKey,
    // the option replaces nodemailer's list, so it is spelled out in full
    headerFieldNames: DKIM_SIGNED_HEADERS.join(':'),
  };
}

// nodemailer waits 10 minutes for a silent server by default; a send held that long blocks its
// batch, and the row ends ambiguous anyway
const TIMEOUTS = { connectionTimeout: 30_000, greetingTimeout: 30_000, socketTimeout: 60_000 };

/** Transactional mail (confirmations, welcome) is light: its own pool opens at most this many. */
const TRANSACTIONAL_CONNECTIONS = 2;

/**
 * SMTP_URL, or the embedded development mailbox. Messages Gazette assembles (digests, alerts) go
 * through raw-pool.ts, SMTP_POOL_SIZE connections; transactional mail nodemailer composes goes
 * through nodemailer's pooled transport, at most TRANSACTIONAL_CONNECTIONS more. Both pools open
 * connections on demand and close idle ones.
 */
export function createMailer(config: Config): Mailer {
  const url = new URL(smtpUrlFor(config)).toString();
  const transport: Transporter<SMTPPool.SentMessageInfo> = nodemailer.createTransport({
    url,
    pool: true,
    maxConnections: Math.min(TRANSACTIONAL_CONNECTIONS, config.SMTP_POOL_SIZE),
    maxMessages: config.SMTP_MAX_MESSAGES_PER_CONNECTION,
    ...TIMEOUTS,
  } as SMTPPool.Options);
  const pool = createRawPool({
    url,
    size: config.SMTP_POOL_SIZE,
    maxMessages: config.SMTP_MAX_MESSAGES_PER_CONNECTION,
    ...TIMEOUTS,
  });
  // the key is read once: nodemailer signs what it composes, dkim.ts what Gazette assembled
  const key = dkimKeyFrom(config);
  const dkim = key ? nodemailerDkim(key) : undefined;
  const signer = key ? createDkimSigner(key) : undefined;
  const sent = (info: SMTPPool.SentMessageInfo): SentInfo => ({
    messageId: info.messageId,
    response: info.response,
    accepted: (info.accepted ?? []).map(String),
    rejected: (info.rejected ?? []).map(String),
  });
  return {
    async send(message) {
      return sent(await transport.sendMail(dkim ? { ...message, dkim } : message));
    },
    async sendRaw({ envelope, raw, messageId, handOff }) {
      const signedRaw = signer ? await signer.sign(raw) : raw;
      const info = await pool.send(envelope, signedRaw, handOff);
      return { messageId, ...info };
    },
    probe: () => pool.probe(),
    close: () => {
      pool.close();
      transport.close();
    },
  };
}
