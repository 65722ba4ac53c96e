import { parseConnectionUrl } from 'nodemailer/lib/shared/index.js';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import { MessageBody } from './raw-message-body.js';

/**
 * Gazette's pool of SMTP connections for the messages it assembles itself (digests, alerts).
 *
 * Each connection is nodemailer's `SMTPConnection` (the protocol: EHLO, STARTTLS, AUTH,
 * PIPELINING, dot-stuffing, reply parsing); the pool only hands a ready connection a finished
 * message and its envelope. nodemailer's own pool takes a message through `sendMail` —
 * MailMessage, MimeNode, a compile step and a chain of streams per message — even when the message
 * is already raw; on a loopback sink that costs 0.28 CPU-ms per 33 KB message against 0.12 through
 * the connection directly (bench/README.md).
 *
 * It also knows what nodemailer's pool cannot tell its caller: whether any byte of the message
 * left. `SMTPConnection#send` streams the body only after the server answered DATA with 354, so a
 * failure before that point is marked `messageUnsent` and is safe to send again (smtp-errors.ts).
 */
export interface RawPoolOptions {
  /** smtp:// or smtps:// URL, parsed the way nodemailer parses `url` */
  url: string;
  /** connections at most */
  size: number;
  /** messages per connection before it is closed and a new one opened */
  maxMessages: number;
  connectionTimeout?: number;
  greetingTimeout?: number;
  socketTimeout?: number;
  /** a connection idle this long is closed (QUIT); default 30 s */
  idleMs?: number;
}

export interface RawEnvelope {
  from: string;
  to: string[];
}

export interface RawSendResult {
  response: string;
  accepted: string[];
  rejected: string[];
}

export interface PoolError extends SMTPConnection.SMTPError {
  /** true when no byte of the message reached the server: sending it again cannot duplicate it */
  messageUnsent?: boolean;
}

export interface RawSendOptions {
  /**
   * Runs once a connection is ready for the message; the body waits for it (the envelope does
   * not), and when it rejects the message is abandoned before any byte of it left, with that error
   * (`messageUnsent`).
   */
  handOff?: () => Promise<void>;
  /** waits ahead of the messages that are not */
  urgent?: boolean;
  /**
   * A connection carries at most `max` messages of `key` (a receiving provider that limits
   * messages per connection): the one that carried the `max`-th is closed (QUIT) after it, and
   * the next goes on a fresh connection. Messages of other keys do not count.
   */
  tally?: { key: string; max: number };
}

export interface RawPool {
  send(envelope: RawEnvelope, raw: Buffer, opts?: RawSendOptions): Promise<RawSendResult>;
  /**
   * Opens one connection of its own (greeting, EHLO, AUTH when configured) and quits: resolves when
   * the relay answers, rejects with the error when it does not. Not counted in the pool.
   */
  probe(): Promise<void>;
  /** connections open or being opened (for tests) */
  size(): number;
  /** closes idle connections at once and busy ones when their message is done; rejects waiters */
  close(): void;
}

interface Slot {
  conn: SMTPConnection;
  messages: number;
  /** messages carried per `tally` key, and whether one of them reached its max */
  tallies?: Map<string, number>;
  full?: boolean;
  dead: boolean;
  retired: boolean;
  /** a send is in progress: its callback, not the listeners, settles the connection */
  sending: boolean;
  idleTimer?: NodeJS.Timeout;
}

interface Waiter {
  resolve(slot: Slot): void;
  reject(err: PoolError): void;
  urgent: boolean;
}

type Credentials = Parameters<SMTPConnection['login']>[0];

function credentialsOf(options: SMTPConnection.Options): Credentials | undefined {
  const auth = (options as { auth?: { user?: string; pass?: string } }).auth;
  if (!auth || (!auth.user && !auth.pass)) return undefined;
  return { user: auth.user ?? '', pass: auth.pass ?? '' };
}

/** nodemailer's transient failures: the connection went away or the server is closing (421) */
function isTransient(err: PoolError): boolean {
  return (
    err.responseCode === 421 ||
    err.code === 'ECONNECTION' ||
    err.code === 'ESOCKET' ||
    err.code === 'ETIMEDOUT'
  );
}

function unsent(err: unknown): PoolError {
  const e = (err instanceof Error ? err : new Error(String(err))) as PoolError;
  e.messageUnsent = true;
  return e;
}

export function createRawPool(opts: RawPoolOptions): RawPool {
  const connectionOptions: SMTPConnection.Options = {
    ...parseConnectionUrl(opts.url),
    connectionTimeout: opts.connectionTimeout,
    greetingTimeout: opts.greetingTimeout,
    socketTimeout: opts.socketTimeout,
  };
  const credentials = credentialsOf(connectionOptions);
  const forceAuth = Boolean((connectionOptions as { forceAuth?: boolean }).forceAuth);
  const idleMs = opts.idleMs ?? 30_000;
  let open = 0;
  let closed = false;
  const idle: Slot[] = [];
  const waiters: Waiter[] = [];

  function retire(slot: Slot, how: 'quit' | 'close'): void {
    if (slot.retired) return;
    slot.retired = true;
    clearTimeout(slot.idleTimer);
    const at = idle.indexOf(slot);
    if (at >= 0) idle.splice(at, 1);
    open--;
    if (how === 'quit' && !slot.dead) slot.conn.quit();
    else slot.conn.close();
    pump();
  }

  function connect(): Promise<Slot> {
    const conn = new SMTPConnection(connectionOptions);
    const slot: Slot = { conn, messages: 0, dead: false, retired: false, sending: false };
    return new Promise<Slot>((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown) => {
        slot.dead = true;
        if (settled) return;
        // never handed out: pump() gives its place back, retire() must not
        slot.retired = true;
        settled = true;
        conn.close();
        reject(unsent(err));
      };
      // always listened to: an 'error' without a listener would crash the process. During a send
      // the same error also reaches the send callback, which decides what it means
      conn.on('error', (err) => {
        slot.dead = true;
        if (!settled) fail(err);
        else if (!slot.sending) retire(slot, 'close');
      });
      conn.once('end', () => {
        slot.dead = true;
        if (!settled)
          fail(Object.assign(new Error('connection closed before it was ready'), { code: 'ECONNECTION' }));
        else if (!slot.sending) retire(slot, 'close');
      });
      conn.connect((err) => {
        if (err) return fail(err);
        const ready = () => {
          if (settled) return;
          settled = true;
          resolve(slot);
        };
        const allowsAuth = (conn as unknown as { allowsAuth?: boolean }).allowsAuth;
        if (credentials && (allowsAuth || forceAuth)) {
          conn.login(credentials, (loginErr) => (loginErr ? fail(loginErr) : ready()));
        } else ready();
      });
    });
  }

  /** opens connections for waiters while there is room */
  function pump(): void {
    while (!closed && waiters.length > 0 && open < opts.size) {
      const waiter = waiters.shift()!;
      open++;
      connect().then(
        (slot) => {
          if (!closed) return waiter.resolve(slot);
          retire(slot, 'quit');
          waiter.reject(poolClosed());
        },
        (err: PoolError) => {
          open--;
          waiter.reject(err);
          pump();
        },
      );
    }
  }

  function acquire(urgent = false): Promise<Slot> {
    if (closed) return Promise.reject(poolClosed());
    for (let slot = idle.pop(); slot; slot = idle.pop()) {
      clearTimeout(slot.idleTimer);
      if (!slot.dead) return Promise.resolve(slot);
      retire(slot, 'close');
    }
    return new Promise<Slot>((resolve, reject) => {
      // an urgent waiter goes after the urgent ones already waiting, before the others
      const at = urgent ? waiters.findIndex((w) => !w.urgent) : -1;
      waiters.splice(at < 0 ? waiters.length : at, 0, { resolve, reject, urgent });
      pump();
    });
  }

  function release(slot: Slot): void {
    if (slot.retired) return;
    if (slot.dead || closed || slot.full || slot.messages >= opts.maxMessages) {
      retire(slot, slot.dead ? 'close' : 'quit');
      return;
    }
    const waiter = waiters.shift();
    if (waiter) {
      waiter.resolve(slot);
      return;
    }
    idle.push(slot);
    slot.idleTimer = setTimeout(() => retire(slot, 'quit'), idleMs);
    slot.idleTimer.unref();
  }

  function sendOn(slot: Slot, envelope: RawEnvelope, body: MessageBody) {
    slot.sending = true;
    return new Promise<SMTPConnection.SentMessageInfo>((resolve, reject) => {
      slot.conn.send(
        { from: envelope.from, to: envelope.to },
        // a stream to send(): see MessageBody
        body as unknown as NodeJS.ReadableStream as never,
        (err, info) => {
          slot.sending = false;
          if (err) reject(err);
          else resolve(info);
        },
      );
    });
  }

  function count(slot: Slot, tally: RawSendOptions['tally']): void {
    slot.messages++;
    if (!tally) return;
    slot.tallies ??= new Map();
    const carried = (slot.tallies.get(tally.key) ?? 0) + 1;
    slot.tallies.set(tally.key, carried);
    if (carried >= tally.max) slot.full = true;
  }

  /** after a refusal on a healthy connection: RSET and keep it, as nodemailer's pool does */
  function resetOrRetire(slot: Slot): void {
    slot.conn.reset((err) => (err ? retire(slot, 'close') : release(slot)));
  }

  return {
    async send(envelope, raw, { handOff, urgent, tally } = {}) {
      // a reused connection the server dropped in between gets one more try on a fresh one
      for (let attempt = 0; ; attempt++) {
        const slot = await acquire(urgent);
        const reused = slot.messages > 0;
        const handedOff = handOff?.();
        // consumed by the body, or never (the envelope failed first): not an unhandled rejection
        handedOff?.catch(() => {});
        const body = new MessageBody(raw, handedOff);
        try {
          const info = await sendOn(slot, envelope, body);
          count(slot, tally);
          release(slot);
          return {
            response: info.response,
            accepted: (info.accepted ?? []).map(String),
            rejected: (info.rejected ?? []).map(String),
          };
        } catch (caught) {
          const err = caught as PoolError;
          count(slot, tally);
          if (!body.started) err.messageUnsent = true;
          const refused =
            (err.code === 'EENVELOPE' || err.code === 'EMESSAGE') &&
            err.responseCode !== 421 &&
            !slot.dead &&
            !slot.conn.destroyed;
          if (refused) resetOrRetire(slot);
          else retire(slot, 'close');
          if (reused && !body.started && isTransient(err) && attempt === 0 && !closed) continue;
          throw err;
        }
      }
    },
    async probe() {
      const slot = await connect();
      slot.retired = true;
      slot.conn.quit();
    },
    size: () => open,
    close() {
      closed = true;
      for (const waiter of waiters.splice(0)) waiter.reject(poolClosed());
      for (const slot of [...idle]) retire(slot, 'quit');
    },
  };
}

function poolClosed(): PoolError {
  return unsent(Object.assign(new Error('the SMTP pool is closed'), { code: 'ECONNECTION' }));
}
