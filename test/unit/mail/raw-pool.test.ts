import net from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { createRawPool, type PoolError, type RawPool } from '../../../src/mail/raw-pool.js';
import { classifySmtpError } from '../../../src/mail/smtp-errors.js';
import { type Fault, startScripted } from '../../helpers/scripted-smtp.js';

const envelope = (to: string) => ({ from: 'news@almadar.example', to: [to] });
const message = (to: string, extra = '') =>
  Buffer.from(
    `From: news@almadar.example\r\nTo: ${to}\r\nSubject: =?UTF-8?B?2KfZhNmG2LTYsdip?=\r\n\r\n` +
      `.mj-outlook-group-fix { width:100% !important; }\r\nمرحبا${extra}\r\n`,
  );

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function pool(url: string, size: number, maxMessages = 100): RawPool {
  const p = createRawPool({ url, size, maxMessages, connectionTimeout: 2000, greetingTimeout: 2000 });
  cleanups.push(() => p.close());
  return p;
}

describe('raw SMTP pool', () => {
  it('sends the exact bytes (dot-stuffed on the wire) over at most `size` reused connections', async () => {
    const received: Buffer[] = [];
    let connections = 0;
    const sink = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      disableReverseLookup: true,
      logger: false,
      onConnect(_s, cb) {
        connections++;
        cb();
      },
      onData(stream, _s, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          received.push(Buffer.concat(chunks));
          cb();
        });
      },
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => sink.close(() => r())));
    const port = (sink.server.address() as net.AddressInfo).port;
    const p = pool(`smtp://127.0.0.1:${port}`, 3);
    const sent = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        p.send(envelope(`r${i}@example.org`), message(`r${i}@example.org`)),
      ),
    );
    expect(sent.every((s) => s.response.startsWith('250') && s.accepted.length === 1)).toBe(true);
    expect(connections).toBe(3);
    expect(received).toHaveLength(30);
    const bodies = new Set(received.map((b) => b.toString('utf8')));
    expect(bodies.has(message('r7@example.org').toString('utf8'))).toBe(true);
    expect(bodies.size).toBe(30);
  });

  it('an urgent message takes the next free connection ahead of the others waiting, in its own order', async () => {
    const server = await startScripted(() => 'none');
    const p = pool(server.url, 1);
    const order = ['m0', 'a1', 'u1', 'a2', 'u2', 'a3'];
    await Promise.all(
      order.map((name) =>
        p.send(envelope(`${name}@example.org`), message(name), { urgent: name.startsWith('u') }),
      ),
    );
    expect(server.messages.map((m) => m.to.slice(0, 2))).toEqual(['m0', 'u1', 'u2', 'a1', 'a2', 'a3']);
  });

  it('opens a new connection after maxMessages, and closes idle ones', async () => {
    const server = await startScripted(() => 'none');
    cleanups.push(() => server.close());
    const p = createRawPool({ url: server.url, size: 1, maxMessages: 3, idleMs: 50 });
    cleanups.push(() => p.close());
    for (let i = 0; i < 7; i++) await p.send(envelope(`r${i}@example.org`), message('x'));
    expect(server.sessions()).toBe(3);
    expect(server.messages.map((m) => m.session)).toEqual([1, 1, 1, 2, 2, 2, 3]);
    await new Promise((r) => setTimeout(r, 200));
    expect(p.size()).toBe(0);
    expect(server.openNow()).toBe(0);
  });

  it('a connection carries at most `max` messages of a tally key; other keys neither count nor close it', async () => {
    const server = await startScripted(() => 'none');
    cleanups.push(() => server.close());
    const p = pool(server.url, 1);
    const tally = { key: 'microsoft', max: 2 };
    for (const to of ['a@outlook.com', 'b@example.org', 'c@outlook.com', 'd@outlook.com', 'e@example.org'])
      await p.send(envelope(to), message(to), to.endsWith('outlook.com') ? { tally } : {});
    // the second Microsoft message closed its connection: the third went on a fresh one
    expect(server.messages.map((m) => `${m.to[0]}${m.session}`)).toEqual(['a1', 'b1', 'c1', 'd2', 'e2']);
    expect(server.sessions()).toBe(2);
  });

  it('a refused recipient fails that message only; the connection is reset and kept', async () => {
    const server = await startScripted((_s, m) => (m === 2 ? 'refuse-rcpt' : 'none'));
    cleanups.push(() => server.close());
    const p = pool(server.url, 1);
    await p.send(envelope('a@example.org'), message('a'));
    const err = (await p.send(envelope('gone@example.org'), message('b')).catch((e) => e)) as PoolError;
    expect(err.responseCode).toBe(550);
    expect(classifySmtpError(err)).toBe('recipient');
    await p.send(envelope('c@example.org'), message('c'));
    expect(server.sessions()).toBe(1);
    expect(server.messages.map((m) => m.to)).toEqual(['a@example.org', 'c@example.org']);
  });

  it('a connection lost before the body is a retry; after the body it is ambiguous', async () => {
    const server = await startScripted((session) =>
      session === 1 ? 'drop-at-rcpt' : session === 2 ? 'drop-after-body' : 'none',
    );
    cleanups.push(() => server.close());
    const p = pool(server.url, 1);
    const before = (await p.send(envelope('a@example.org'), message('a')).catch((e) => e)) as PoolError;
    expect(before.messageUnsent).toBe(true);
    expect(classifySmtpError(before)).toBe('retry');
    expect(server.messages).toHaveLength(0);

    const after = (await p.send(envelope('b@example.org'), message('b')).catch((e) => e)) as PoolError;
    expect(after.messageUnsent).toBeUndefined();
    expect(after.code).toBe('ECONNECTION');
    expect(classifySmtpError(after)).toBe('ambiguous');
    expect(server.messages.map((m) => m.to)).toEqual(['b@example.org']);

    await p.send(envelope('c@example.org'), message('c'));
    expect(server.sessions()).toBe(3);
  });

  it('tells before-body from after-body the same way without PIPELINING', async () => {
    const server = await startScripted(
      (session) => (session === 1 ? 'drop-at-rcpt' : session === 2 ? 'drop-after-body' : 'none'),
      { pipelining: false },
    );
    cleanups.push(() => server.close());
    const p = pool(server.url, 1);
    const before = (await p.send(envelope('a@example.org'), message('a')).catch((e) => e)) as PoolError;
    expect(classifySmtpError(before)).toBe('retry');
    const after = (await p.send(envelope('b@example.org'), message('b')).catch((e) => e)) as PoolError;
    expect(classifySmtpError(after)).toBe('ambiguous');
    await p.send(envelope('c@example.org'), message('c'));
    expect(server.messages.map((m) => m.to)).toEqual(['b@example.org', 'c@example.org']);
  });

  it.each<[string, (session: number, message: number) => Fault]>([
    // the server answers the first message, then says 421 and closes the idle session
    ['dropped in between is replaced', (session) => (session === 1 ? 'close-when-idle' : 'none')],
    [
      'lost at the envelope is retried once on a fresh one',
      (session, m) => (session === 1 && m === 2 ? 'drop-at-rcpt' : 'none'),
    ],
  ])('a reused connection the server %s, without losing the message', async (_, fault) => {
    const server = await startScripted(fault);
    cleanups.push(() => server.close());
    const p = pool(server.url, 1);
    await p.send(envelope('a@example.org'), message('a'));
    await p.send(envelope('b@example.org'), message('b'));
    expect(server.messages.map((m) => [m.session, m.to])).toEqual([
      [1, 'a@example.org'],
      [2, 'b@example.org'],
    ]);
  });

  it('cannot connect: a retry, and the waiting sends are not left hanging', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const p = pool(`smtp://127.0.0.1:${port}`, 2);
    const errors = (await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        p.send(envelope(`r${i}@example.org`), message('x')).catch((e) => e),
      ),
    )) as PoolError[];
    for (const err of errors) {
      expect(err.messageUnsent).toBe(true);
      expect(classifySmtpError(err)).toBe('retry');
    }
    expect(p.size()).toBe(0);
  });

  it('logs in with the credentials of the URL', async () => {
    const logins: string[] = [];
    const sink = new SMTPServer({
      authMethods: ['PLAIN', 'LOGIN'],
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      disableReverseLookup: true,
      logger: false,
      onAuth(auth, _s, cb) {
        logins.push(`${auth.username}:${auth.password}`);
        if (auth.password !== 'p@ss') return cb(new Error('bad password'));
        cb(null, { user: auth.username });
      },
      onData(stream, _s, cb) {
        stream.resume();
        stream.on('end', () => cb());
      },
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => sink.close(() => r())));
    const port = (sink.server.address() as net.AddressInfo).port;
    const good = pool(`smtp://gazette:p%40ss@127.0.0.1:${port}`, 1);
    await good.send(envelope('a@example.org'), message('a'));
    const bad = pool(`smtp://gazette:wrong@127.0.0.1:${port}`, 1);
    const err = (await bad.send(envelope('a@example.org'), message('a')).catch((e) => e)) as PoolError;
    expect(err.code).toBe('EAUTH');
    expect(classifySmtpError(err)).toBe('pause');
    expect(logins).toEqual(['gazette:p@ss', 'gazette:wrong']);
  });

  it('close() rejects waiting sends as unsent and lets the busy connection finish', async () => {
    const server = await startScripted(() => 'none');
    cleanups.push(() => server.close());
    const p = createRawPool({ url: server.url, size: 1, maxMessages: 100 });
    await p.send(envelope('warm@example.org'), message('w'));
    const first = p.send(envelope('a@example.org'), message('a'));
    const waiting = p.send(envelope('b@example.org'), message('b')).catch((e) => e as PoolError);
    p.close();
    await first;
    const err = await waiting;
    expect(err).toBeInstanceOf(Error);
    expect((err as PoolError).messageUnsent).toBe(true);
    expect(server.messages.map((m) => m.to)).toEqual(['warm@example.org', 'a@example.org']);
    await new Promise((r) => setTimeout(r, 50));
    expect(server.openNow()).toBe(0);
  });

  it('holds the body until the hand-off hook resolves; a rejected hook abandons the message unsent', async () => {
    const server = await startScripted(() => 'none');
    cleanups.push(() => server.close());
    const p = pool(server.url, 1);

    // the hook resolves late: the envelope went ahead, the body waited for it
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const order: string[] = [];
    const first = p.send(envelope('a@example.org'), message('a@example.org'), {
      handOff: () =>
        gate.then(() => {
          order.push('handed off');
        }),
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(server.messages).toHaveLength(0);
    release();
    await first;
    order.push('sent');
    expect(order).toEqual(['handed off', 'sent']);
    expect(server.messages.map((m) => m.to)).toEqual(['a@example.org']);

    // the hook rejects: nothing of the body reaches the server, the error says unsent (a retry)
    const refused = new Error('hand-off log taken by another attempt');
    const err = (await p
      .send(envelope('b@example.org'), message('b@example.org'), { handOff: () => Promise.reject(refused) })
      .catch((e: unknown) => e)) as PoolError;
    expect(err).toBe(refused);
    expect(err.messageUnsent).toBe(true);
    expect(classifySmtpError(err)).toBe('retry');
    // the session the message was abandoned in is closed (the server had said 354), the pool goes on
    await p.send(envelope('c@example.org'), message('c@example.org'), { handOff: () => Promise.resolve() });
    expect(server.messages.map((m) => m.to)).toEqual(['a@example.org', 'c@example.org']);
    expect(server.sessions()).toBe(2);
  });
});
