/**
 * A bare SMTP client: EHLO once per connection, then MAIL / RCPT / DATA per message, one command
 * at a time (no PIPELINING), writing a pre-built raw message. It measures what the wire and the
 * sink allow, with no MIME building, no pool bookkeeping and no per-message allocation.
 */
import { connect, type Socket } from 'node:net';

/** SMTP dot-stuffing and the terminating line, done once for a message that is sent many times. */
export function toDataPayload(raw: Buffer): Buffer {
  let text = raw.toString('latin1').replace(/\r?\n/g, '\r\n');
  text = text.replace(/^\./gm, '..');
  if (!text.endsWith('\r\n')) text += '\r\n';
  return Buffer.from(`${text}.\r\n`, 'latin1');
}

class Conn {
  private buf = '';
  private waiter: ((line: string) => void) | null = null;
  private failed: Error | null = null;
  constructor(private socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      this.buf += d.toString('latin1');
      this.pump();
    });
    socket.on('error', (err) => {
      this.failed = err;
      this.waiter?.('');
    });
  }
  private pump() {
    for (;;) {
      const nl = this.buf.indexOf('\r\n');
      if (nl < 0 || !this.waiter) return;
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 2);
      // continuation lines of a multi-line reply ("250-...") are skipped
      if (line[3] === '-') continue;
      const w = this.waiter;
      this.waiter = null;
      w(line);
    }
  }
  /** the final line of the next reply; throws unless it starts with `code` */
  async reply(code: string): Promise<void> {
    const line = await new Promise<string>((resolve) => {
      this.waiter = resolve;
      this.pump();
    });
    if (this.failed) throw this.failed;
    if (!line.startsWith(code)) throw new Error(`SMTP: expected ${code}, got "${line}"`);
  }
  async command(text: string | Buffer, code: string): Promise<void> {
    this.socket.write(text);
    await this.reply(code);
  }
  close() {
    this.socket.end('QUIT\r\n');
  }
}

export interface WireRunOptions {
  port: number;
  host?: string;
  connections: number;
  messages: number;
  /** the DATA payload from toDataPayload() */
  payload: Buffer;
  from: string;
  /** recipient of message i */
  to: (i: number) => string;
  onMessage?: () => void;
}

/** Sends `messages` copies over `connections` connections; resolves with the count sent. */
export async function runWire(opts: WireRunOptions): Promise<number> {
  let next = 0;
  let sent = 0;
  const worker = async () => {
    const socket = connect(opts.port, opts.host ?? '127.0.0.1');
    const conn = new Conn(socket);
    await conn.reply('220');
    await conn.command('EHLO bench.localhost\r\n', '250');
    while (next < opts.messages) {
      const i = next++;
      await conn.command(`MAIL FROM:<${opts.from}>\r\n`, '250');
      await conn.command(`RCPT TO:<${opts.to(i)}>\r\n`, '250');
      await conn.command('DATA\r\n', '354');
      await conn.command(opts.payload, '250');
      sent++;
      opts.onMessage?.();
    }
    conn.close();
  };
  await Promise.all(Array.from({ length: opts.connections }, worker));
  return sent;
}
