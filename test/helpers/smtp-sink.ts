import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: Buffer;
  parsed: ParsedMail;
}

/** Hooks let a test script SMTP faults: return an Error with responseCode to refuse. */
export interface SinkHooks {
  onRcpt?: (address: string, session: SMTPServerSession) => Error | undefined;
  /** called after the whole message arrived; may refuse it (a reply lost after DATA: smtp-drop-proxy.ts) */
  onData?: (raw: Buffer, session: SMTPServerSession) => Error | undefined;
  /** a slow server: how long to wait after the whole message arrived before accepting it */
  replyDelayMs?: () => number;
}

export function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

/** A real SMTP server in the test process (smtp-server), keeping every accepted message. */
export async function startSmtpSink(hooks: SinkHooks = {}) {
  const received: ReceivedMail[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    onRcptTo(address: SMTPServerAddress, session, callback) {
      const err = hooks.onRcpt?.(address.address, session);
      callback(err ?? undefined);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        const delay = hooks.replyDelayMs?.() ?? 0;
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
        const raw = Buffer.concat(chunks);
        const verdict = hooks.onData?.(raw, session);
        if (verdict) return callback(verdict);
        simpleParser(raw).then((parsed) => {
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            parsed,
          });
          for (const w of [...waiters]) {
            if (received.length >= w.n) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve();
            }
          }
          callback();
        }, callback);
      });
    },
  });
  // a client killed mid-session (the process tests do that) resets its socket: not a test failure
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    received,
    /** resolves once n messages have been accepted, or rejects after timeoutMs */
    waitFor(n: number, timeoutMs = 15_000): Promise<ReceivedMail[]> {
      if (received.length >= n) return Promise.resolve(received);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`expected ${n} message(s), got ${received.length}`)),
          timeoutMs,
        );
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve(received);
          },
        });
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type SmtpSink = Awaited<ReturnType<typeof startSmtpSink>>;
