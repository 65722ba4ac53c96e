import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { unsubscribeMailto } from '../../src/bounces/unsubscribe-mailto.js';
import { startWorkers } from '../../workers/index.js';
import { readerState } from '../helpers/bounce-checks.js';
import { bounceFixture } from '../helpers/bounce-fixtures.js';
import { inboundSettled, mailBounce, mailFrom } from '../helpers/bounce-mail.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { rawHeader } from '../helpers/delivery-fixtures.js';
import { addArticle, addReader, mailsTo } from '../helpers/digest-fixtures.js';

const DOMAIN = 'bounces.news.example.test';
const MAILTO = 'unsubscribe@news.example.test';

const plainMail = (from: string, to: string, extra = '') =>
  Buffer.from(
    `From: ${from}\r\nTo: ${to}\r\nSubject: unsubscribe\r\nMessage-ID: <${Math.random()}@reader.example>\r\n${extra}\r\nPlease stop.\r\n`,
  );

async function sendDigest(ctx: TestContext, title: string) {
  const before = ctx.sink.received.length;
  const a = await addArticle(ctx, { title });
  const res = await ctx.app.inject({
    method: 'POST',
    url: '/api/v1/digests/send',
    headers: ctx.adminHeaders,
    payload: { articleIds: [a], frequency: 'daily' },
  });
  const id = res.json().editions[0].id as string;
  await eventually(async () => {
    const e = await ctx.app.inject({ url: `/api/v1/editions/${id}`, headers: ctx.adminHeaders });
    return e.json().state === 'sent';
  });
  return ctx.sink.received.slice(before);
}

describe('List-Unsubscribe mailto through the inbound listener (RFC 2369)', () => {
  let ctx: TestContext;
  let port: number;
  beforeAll(async () => {
    ctx = await createTestContext({
      now: '2026-11-29T10:00:00Z',
      env: { BOUNCE_DOMAIN: DOMAIN, LIST_UNSUBSCRIBE_MAILTO: MAILTO, INBOUND_SMTP_PORT: '0' },
      bounceListener: true,
    });
    port = ctx.container.inboundListener!.port;
    for (const email of ['leaver@example.org', 'stayer@example.org', 'vacation@example.org'])
      await addReader(ctx, { email });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it("mail to the header's mailto unsubscribes that reader, and the next digest skips them", async () => {
    const mails = await sendDigest(ctx, 'Morning story');
    const [mail] = mailsTo(mails, 'leaver@example.org');
    const header = rawHeader(mail!, 'List-Unsubscribe')!;
    const mailto = /<mailto:([^?>]+)\?subject=unsubscribe>/.exec(header)?.[1];
    expect(mailto).toMatch(/^unsubscribe\+[a-z2-7]{26}-[a-z2-7]{16}@news\.example\.test$/);
    // what a mail client does with the header: a message from the reader to that address
    const res = await mailFrom(port, 'leaver@example.org', mailto!, plainMail('leaver@example.org', mailto!));
    expect(res.response).toMatch(/^250/);
    await inboundSettled(ctx);
    const { rows } = await ctx.db.query<{ status: string; event: string; source: string }>(
      `SELECT s.status, c.event, c.source FROM subscribers s JOIN consent_events c ON c.subscriber_id = s.id
        WHERE s.email_key = 'leaver@example.org' AND c.event = 'unsubscribed'`,
    );
    expect(rows).toEqual([{ status: 'unsubscribed', event: 'unsubscribed', source: 'mailto' }]);
    expect((await readerState(ctx, 'stayer@example.org')).status).toBe('confirmed');
    const next = await sendDigest(ctx, 'Evening story');
    expect(mailsTo(next, 'leaver@example.org')).toHaveLength(0);
    expect(mailsTo(next, 'stayer@example.org')).toHaveLength(1);
  });

  it('a made-up or bare unsubscribe address is refused at RCPT; an automatic reply to a real one changes nothing', async () => {
    const stayer = await readerState(ctx, 'stayer@example.org');
    const forged = unsubscribeMailto(MAILTO, stayer.id, 'another-secret-key-0123456789abcdef0123');
    await expect(
      mailFrom(port, 'x@evil.example', forged, plainMail('x@evil.example', forged)),
    ).rejects.toMatchObject({
      responseCode: 550,
    });
    await expect(
      mailFrom(port, 'x@evil.example', MAILTO, plainMail('x@evil.example', MAILTO)),
    ).rejects.toMatchObject({ responseCode: 550 });
    const vacation = await readerState(ctx, 'vacation@example.org');
    const real = unsubscribeMailto(MAILTO, vacation.id, ctx.config.SECRET_KEY);
    await mailFrom(
      port,
      'vacation@example.org',
      real,
      plainMail('vacation@example.org', real, 'Auto-Submitted: auto-replied\r\n'),
    );
    await mailBounce(port, real, plainMail('MAILER-DAEMON@example.org', real));
    await inboundSettled(ctx);
    expect((await readerState(ctx, 'stayer@example.org')).status).toBe('confirmed');
    expect((await readerState(ctx, 'vacation@example.org')).status).toBe('confirmed');
    const { rows } = await ctx.db.query<{ outcome: string }>(
      `SELECT outcome FROM inbound_mail WHERE $1 = ANY(rcpt_to) ORDER BY id`,
      [real],
    );
    expect(rows.map((r) => r.outcome)).toEqual([
      'automatic reply to the unsubscribe address: ignored',
      'automatic reply to the unsubscribe address: ignored',
    ]);
  });
});

describe('inbound mail is stored before the 250 and processed from the stored copy', () => {
  let ctx: TestContext | undefined;
  afterEach(async () => {
    await ctx?.close();
    ctx = undefined;
  });

  it('with no worker running the DSN is stored, unprocessed; a worker started later applies it; the sweep requeues a lost job', async () => {
    ctx = await createTestContext({
      now: '2026-11-29T10:00:00Z',
      env: { BOUNCE_DOMAIN: DOMAIN, INBOUND_SMTP_PORT: '0' },
      bounceListener: true,
      workers: false,
    });
    const port = ctx.container.inboundListener!.port;
    const { rows: delivery } = await ctx.db.query<{ id: string }>(
      `WITH s AS (INSERT INTO subscribers (email, email_key, status, language, frequency, timezone, confirmed_at)
                  VALUES ('gone@example.org', 'gone@example.org', 'confirmed', 'en', 'daily', 'UTC', now()) RETURNING id)
       INSERT INTO deliveries (kind, dedupe_key, subscriber_id, recipient, state, sent_at)
       SELECT 'welcome', 'welcome-gone', id, 'gone@example.org', 'sent', now() FROM s RETURNING id`,
    );
    const { verpAddress } = await import('../../src/bounces/verp.js');
    const verp = verpAddress(Number(delivery[0]!.id), ctx.config.SECRET_KEY, DOMAIN);
    const dsn = bounceFixture('office365-not-found', {
      verp,
      recipient: 'gone@example.org',
      messageId: '<unknown@news.example.test>',
    });
    const res = await mailBounce(port, verp, dsn);
    expect(res.response).toMatch(/^250 .*queued as \d+/);
    const stored = await ctx.db.query<{
      raw: Buffer;
      processed_at: Date | null;
      mail_from: string;
      rcpt_to: string[];
    }>('SELECT raw, processed_at, mail_from, rcpt_to FROM inbound_mail');
    expect(stored.rows).toHaveLength(1);
    expect(stored.rows[0]).toMatchObject({ processed_at: null, mail_from: '', rcpt_to: [verp] });
    expect(stored.rows[0]!.raw.equals(dsn)).toBe(true);
    expect((await readerState(ctx, 'gone@example.org')).status).toBe('confirmed');

    // the job is lost (Redis lost it, or the enqueue failed): the sweep hands the copy back
    await ctx.container.queues.get('bounces').obliterate({ force: true });
    ctx.clock.set(new Date(ctx.clock.now().getTime() + 5 * 60_000));
    expect(await ctx.container.inboundProcessor.sweep()).toMatchObject({ requeued: 1 });
    const workers = startWorkers(ctx.container);
    try {
      await inboundSettled(ctx);
    } finally {
      await workers.close();
    }
    const gone = await readerState(ctx, 'gone@example.org');
    expect(gone.status).toBe('suppressed');
    expect(gone.events).toEqual([
      expect.objectContaining({ source: 'inbound', class: 'hard', suppressed: true }),
    ]);
    // processing it again (a duplicate job) changes nothing
    const id = Number((await ctx.db.query<{ id: string }>('SELECT id FROM inbound_mail')).rows[0]!.id);
    expect(await ctx.container.inboundProcessor.process(id)).toBe('processed before');
    // processed mail is pruned after a week; its evidence stays in bounce_events
    ctx.clock.set(new Date(ctx.clock.now().getTime() + 8 * 24 * 3600_000));
    expect(await ctx.container.inboundProcessor.sweep()).toMatchObject({ pruned: 1 });
    expect((await readerState(ctx, 'gone@example.org')).events).toHaveLength(1);
  });

  it('INBOUND_SMTP_MAX_PER_IP: connections past it from one address get 421', async () => {
    ctx = await createTestContext({
      env: { BOUNCE_DOMAIN: DOMAIN, INBOUND_SMTP_PORT: '0', INBOUND_SMTP_MAX_PER_IP: '2' },
      bounceListener: true,
      workers: false,
    });
    const port = ctx.container.inboundListener!.port;
    const greet = () =>
      new Promise<{ line: string; end: () => void }>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        socket.once('error', reject);
        socket.once('data', (d) => resolve({ line: d.toString(), end: () => socket.destroy() }));
      });
    const first = await greet();
    const second = await greet();
    const third = await greet();
    expect(first.line).toMatch(/^220 /);
    expect(second.line).toMatch(/^220 /);
    expect(third.line).toMatch(/^421 .*too many connections from your address/);
    third.end();
    first.end();
    // a closed connection frees its place
    await eventually(async () => {
      const again = await greet();
      again.end();
      return again.line.startsWith('220 ');
    });
    second.end();
  });

  it('INBOUND_SMTP_MAX_MESSAGES: the message past it on one connection gets 421 and the connection closes', async () => {
    ctx = await createTestContext({
      env: { BOUNCE_DOMAIN: DOMAIN, INBOUND_SMTP_PORT: '0', INBOUND_SMTP_MAX_MESSAGES: '2' },
      bounceListener: true,
      workers: false,
    });
    const socket = connect(ctx.container.inboundListener!.port, '127.0.0.1');
    let buffer = '';
    let closed = false;
    const waiters: Array<() => void> = [];
    socket.on('data', (d) => {
      buffer += d.toString();
      for (const w of waiters.splice(0)) w();
    });
    socket.on('close', () => {
      closed = true;
      for (const w of waiters.splice(0)) w();
    });
    /** the next complete reply (its last line), after sending `line` */
    const say = async (line?: string): Promise<string> => {
      if (line !== undefined) socket.write(`${line}\r\n`);
      for (;;) {
        const m = /^(\d{3}) .*\r\n/m.exec(buffer);
        if (m) {
          buffer = buffer.slice(m.index + m[0].length);
          return m[0].trim();
        }
        if (closed) return 'closed';
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    };
    expect(await say()).toMatch(/^220 /);
    expect(await say('EHLO mta.example.net')).toMatch(/^250 /);
    for (const n of [1, 2]) {
      expect(await say('MAIL FROM:<>')).toMatch(/^250 /);
      expect(await say(`RCPT TO:<bounce+${n}-x@${DOMAIN}>`)).toMatch(/^250 /);
      expect(await say('DATA')).toMatch(/^354 /);
      expect(await say(`Subject: report ${n}\r\n\r\nDelivery failed.\r\n.`)).toMatch(/^250 /);
    }
    expect(await say('MAIL FROM:<>')).toMatch(/^421 .*too many messages on one connection/);
    await eventually(async () => closed);
    socket.destroy();
    const { rows } = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM inbound_mail');
    expect(rows[0]!.n).toBe(2);
  });

  it('STARTTLS with a configured certificate; without one it is not offered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gz-tls-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    ctx = await createTestContext({
      env: {
        BOUNCE_DOMAIN: DOMAIN,
        INBOUND_SMTP_PORT: '0',
        INBOUND_SMTP_TLS_CERT_FILE: cert,
        INBOUND_SMTP_TLS_KEY_FILE: key,
      },
      bounceListener: true,
      workers: false,
    });
    const to = `postmaster@${DOMAIN}`;
    const res = await mailFrom(
      ctx.container.inboundListener!.port,
      'a@example.org',
      to,
      plainMail('a@example.org', to),
      {
        require: true,
      },
    );
    expect(res.response).toMatch(/^250/);
    await ctx.close();
    ctx = await createTestContext({
      env: { BOUNCE_DOMAIN: DOMAIN, INBOUND_SMTP_PORT: '0' },
      bounceListener: true,
      workers: false,
    });
    await expect(
      mailFrom(ctx.container.inboundListener!.port, 'a@example.org', to, plainMail('a@example.org', to), {
        require: true,
      }),
    ).rejects.toThrow(/STARTTLS/);
  });
});
