import nodemailer, { type SendMailOptions, type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { Config } from '../config.js';
import { createDkimSigner, DKIM_SIGNED_HEADERS, type DkimKey, dkimKeyFrom } from './dkim.js';
import { createRawPool, type RawPool, type RawSendOptions } from './raw-pool.js';
import { createRelayBoard, type RelayBoard } from './relay-board.js';
import { isRelayFailure, redactRelayUrl, relayUrlsFor } from './relays.js';
import { describeSmtpError, type SmtpLikeError } from './smtp-errors.js';

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
  /**
   * takes the pool's next free connection ahead of other waiting messages (an alert, or a paced
   * provider's message whose token or lease is spent on it)
   */
  urgent?: boolean;
  /** its provider's messages per connection (raw-pool.ts `tally`) */
  tally?: RawSendOptions['tally'];
}

/** The small interface delivery code needs (listmonk's Messenger): send one message. */
export interface Mailer {
  /** A message nodemailer composes (transactional mail); DKIM-signed by nodemailer when configured. */
  send(message: SendMailOptions): Promise<SentInfo>;
  /** A message Gazette assembled; DKIM-signed by `dkim.ts` when configured. */
  sendRaw(message: RawMessage): Promise<SentInfo>;
  /**
   * Resolves when a relay accepts a connection for the messages Gazette assembles (a probe of every
   * relay; one answering is enough, and is brought back if it was taken out).
   */
  probe(): Promise<void>;
  /**
   * The health check (with fallbacks): probes every relay, takes out one that fails (before any
   * message needs it) and brings back one that answers.
   */
  checkRelays(): Promise<void>;
  close(): void;
}

export interface MailerOptions {
  /** shared relay state (relay-board.ts); a board of its own when absent */
  board?: RelayBoard;
  /** a message moved off a relay that failed before it left */
  onFailover?: (relay: string) => void;
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

interface Relay {
  position: number;
  name: string;
  transport: Transporter<SMTPPool.SentMessageInfo>;
  pool: RawPool;
}

/**
 * SMTP_URL (or the embedded development mailbox) and each of SMTP_FALLBACK_URLS: a relay each, with
 * its pools. Messages Gazette assembles (digests, alerts) go through raw-pool.ts, SMTP_POOL_SIZE
 * connections; transactional mail nodemailer composes goes through nodemailer's pooled transport,
 * at most TRANSACTIONAL_CONNECTIONS more. Pools open connections on demand and close idle ones, so
 * a fallback costs nothing until it is used.
 *
 * Every message goes to the first relay not taken out. A failure about that relay from before any
 * byte of the message left (relays.ts `isRelayFailure`) takes it out for every process
 * (relay-board.ts) and the same message goes to the next relay at once; any other failure is the
 * caller's, as with one relay. With every relay out, each is tried in order all the same: one may be
 * back before its health check says so.
 */
export function createMailer(config: Config, opts: MailerOptions = {}): Mailer {
  const urls = relayUrlsFor(config);
  const names = urls.map(redactRelayUrl);
  const board = opts.board ?? createRelayBoard({ names });
  const relays: Relay[] = urls.map((raw, position) => {
    const url = new URL(raw).toString();
    return {
      position,
      name: names[position]!,
      transport: nodemailer.createTransport({
        url,
        pool: true,
        maxConnections: Math.min(TRANSACTIONAL_CONNECTIONS, config.SMTP_POOL_SIZE),
        maxMessages: config.SMTP_MAX_MESSAGES_PER_CONNECTION,
        ...TIMEOUTS,
      } as SMTPPool.Options),
      pool: createRawPool({
        url,
        size: config.SMTP_POOL_SIZE,
        maxMessages: config.SMTP_MAX_MESSAGES_PER_CONNECTION,
        ...TIMEOUTS,
      }),
    };
  });
  // the key is read once: nodemailer signs what it composes, dkim.ts what Gazette assembled
  const key = dkimKeyFrom(config);
  const dkim = key ? nodemailerDkim(key) : undefined;
  const signer = key ? createDkimSigner(key) : undefined;
  let closed = false;
  const sent = (info: SMTPPool.SentMessageInfo): SentInfo => ({
    messageId: info.messageId,
    response: info.response,
    accepted: (info.accepted ?? []).map(String),
    rejected: (info.rejected ?? []).map(String),
  });

  /** the relays in, in order; then those out, so a message is never refused for want of a relay */
  function preferred(): Relay[] {
    if (relays.length === 1) return relays;
    const ins = relays.filter((r) => !board.isOut(r.position));
    return ins.length === relays.length ? relays : [...ins, ...relays.filter((r) => board.isOut(r.position))];
  }

  async function viaRelays<T>(fn: (relay: Relay) => Promise<T>): Promise<T> {
    let last: unknown;
    const order = preferred();
    for (const [i, relay] of order.entries()) {
      try {
        const result = await fn(relay);
        if (board.isOut(relay.position)) board.bringBack(relay.position);
        return result;
      } catch (err) {
        // a pool closing at shutdown says nothing about the relay; with one relay there is nowhere
        // to move, and the failure is the caller's exactly as it was before fallbacks existed
        if (closed || relays.length === 1 || !isRelayFailure(err as SmtpLikeError)) throw err;
        board.takeOut(relay.position, describeSmtpError(err as SmtpLikeError));
        if (i < order.length - 1) opts.onFailover?.(relay.name);
        last = err;
      }
    }
    throw last;
  }

  async function probeOne(relay: Relay): Promise<void> {
    await relay.pool.probe();
    board.bringBack(relay.position);
  }

  return {
    send(message) {
      const signed = dkim ? { ...message, dkim } : message;
      return viaRelays(async (relay) => sent(await relay.transport.sendMail(signed)));
    },
    async sendRaw({ envelope, raw, messageId, handOff, urgent, tally }) {
      const signedRaw = signer ? await signer.sign(raw) : raw;
      const info = await viaRelays((relay) =>
        relay.pool.send(envelope, signedRaw, { handOff, urgent, tally }),
      );
      return { messageId, ...info };
    },
    async probe() {
      if (relays.length === 1) return probeOne(relays[0]!);
      try {
        await Promise.any(relays.map(probeOne));
      } catch (err) {
        // every relay failed: the primary's reason is the one reported
        throw (err as AggregateError).errors[0];
      }
    },
    async checkRelays() {
      if (relays.length === 1) return;
      await board.sync();
      await Promise.all(
        relays.map((relay) =>
          relay.pool.probe().then(
            () => board.bringBack(relay.position),
            (err: SmtpLikeError) => {
              // a relay in that fails its check is left before a message needs it
              if (!closed && isRelayFailure({ ...err, messageUnsent: true }))
                board.takeOut(relay.position, `health check: ${describeSmtpError(err)}`);
            },
          ),
        ),
      );
    },
    close: () => {
      closed = true;
      board.close();
      for (const relay of relays) {
        relay.pool.close();
        relay.transport.close();
      }
    },
  };
}
