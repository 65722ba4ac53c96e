import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRelayBoard, relayBoardKey } from '../../src/mail/relay-board.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import {
  copiesByRecipient,
  enqueueBatches,
  ledger,
  seedEdition,
  settled,
} from '../helpers/delivery-fixtures.js';
import { type SmtpSink, startSmtpSink } from '../helpers/smtp-sink.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

/**
 * Two relays (issue 19): SMTP_URL reaches the context's sink through a proxy the test cuts, and
 * SMTP_FALLBACK_URLS a second real SMTP server. Without failover a cut primary pauses sending until
 * it is back, and a primary answering 421 at its greeting keeps every row pending.
 */
type Relays = { relays: Array<{ relay: string; position: number; state: string; error: string | null }> };

const relaysOf = async (ctx: TestContext) =>
  (
    await ctx.app.inject({ method: 'GET', url: '/api/v1/sending/relays', headers: ctx.adminHeaders })
  ).json() as Relays;

/** copies per reader of one edition, across both relays' sinks */
function copies(sinks: SmtpSink[], emails: string[]): Map<string, number> {
  const wanted = new Set(emails);
  return copiesByRecipient(sinks.flatMap((s) => s.received).filter((m) => wanted.has(m.to[0] ?? '')));
}

describe('two relays: the primary cut mid-send, back after its health check, and both down', {
  timeout: 120_000,
}, () => {
  let ctx: TestContext;
  let fallback: SmtpSink;
  let primaryRelay: Awaited<ReturnType<typeof startTcpProxy>>;
  let fallbackRelay: Awaited<ReturnType<typeof startTcpProxy>>;

  beforeAll(async () => {
    fallback = await startSmtpSink();
    primaryRelay = await startTcpProxy(0);
    fallbackRelay = await startTcpProxy(fallback.port);
    ctx = await createTestContext({
      // the primary takes a little time per message, so the cut lands mid-send
      smtp: { replyDelayMs: () => 10 },
      env: {
        SMTP_URL: primaryRelay.url,
        SMTP_FALLBACK_URLS: fallbackRelay.url,
        RELAY_PROBE_INTERVAL_MS: '200',
        SMTP_POOL_SIZE: '3',
      },
    });
    primaryRelay.setTarget(ctx.sink.port);
  });
  afterAll(async () => {
    await ctx?.close();
    await primaryRelay?.close();
    await fallbackRelay?.close();
    await fallback?.close();
  });

  const sendingPaused = async () =>
    (
      (await ctx.app.inject({ method: 'GET', url: '/api/v1/sending', headers: ctx.adminHeaders })).json() as {
        paused: boolean;
      }
    ).paused;

  it('moves to the fallback when the primary is cut mid-send: every reader once, nothing resent', async () => {
    const ed = await seedEdition(ctx, { readers: 120, batchSize: 10 });
    const emails = ed.readers.map((r) => r.email);
    await enqueueBatches(
      ctx,
      ed.editionId,
      Array.from({ length: ed.batches }, (_, i) => i),
    );
    await eventually(async () => copies([ctx.sink], emails).size >= 20);
    await primaryRelay.stop();

    const rows = await settled(ctx, ed.editionId, 60_000);
    const got = copies([ctx.sink, fallback], emails);
    // no reader twice, across both relays
    expect([...got.values()].filter((n) => n > 1)).toEqual([]);
    expect(rows.filter((r) => r.state === 'failed')).toEqual([]);
    // a message whose body was on the wire when the cut came is ambiguous: counted, never resent
    // (one per connection at most: SMTP_POOL_SIZE)
    const ambiguous = rows.filter((r) => r.state === 'ambiguous');
    expect(ambiguous.length).toBeLessThanOrEqual(3);
    expect(rows.filter((r) => r.state === 'sent').length).toBeGreaterThanOrEqual(120 - 3);
    for (const row of rows.filter((r) => r.state === 'sent'))
      expect(got.get(row.recipient), row.recipient).toBe(1);
    expect(copies([fallback], emails).size).toBeGreaterThan(0);
    expect(await sendingPaused()).toBe(false);
    const { relays } = await relaysOf(ctx);
    expect(relays.map((r) => [r.position, r.state])).toEqual([
      [0, 'out'],
      [1, 'in'],
    ]);
    expect(relays[0]?.relay).toBe(`smtp://127.0.0.1:${primaryRelay.port}`);
    // another worker process reads the same board: it leaves the primary too
    const other = createRelayBoard({
      names: relays.map((r) => r.relay),
      redis: ctx.container.redis,
      key: relayBoardKey(ctx.config.QUEUE_PREFIX),
    });
    await other.sync();
    expect([other.isOut(0), other.isOut(1)]).toEqual([true, false]);
    other.close();
  });

  it('brings the primary back once it answers its health check, and sends through it again', async () => {
    await primaryRelay.resume();
    await eventually(async () => (await relaysOf(ctx)).relays[0]?.state === 'in');
    const before = fallback.received.length;
    const ed = await seedEdition(ctx, { readers: 20, batchSize: 10 });
    await enqueueBatches(ctx, ed.editionId, [0, 1]);
    const rows = await settled(ctx, ed.editionId, 30_000);
    expect(rows.map((r) => r.state)).toEqual(Array(20).fill('sent'));
    const got = copies(
      [ctx.sink],
      ed.readers.map((r) => r.email),
    );
    expect(got.size).toBe(20);
    expect([...got.values()].every((n) => n === 1)).toBe(true);
    expect(fallback.received.length).toBe(before);
  });

  it('pauses sending only when every relay is down, and resumes when one answers', async () => {
    await primaryRelay.stop();
    await fallbackRelay.stop();
    const ed = await seedEdition(ctx, { readers: 20, batchSize: 10 });
    await enqueueBatches(ctx, ed.editionId, [0, 1]);
    await eventually(sendingPaused, 20_000);
    expect((await ledger(ctx, ed.editionId)).filter((r) => r.state === 'failed')).toEqual([]);

    await fallbackRelay.resume();
    const rows = await settled(ctx, ed.editionId, 30_000);
    expect(rows.map((r) => r.state)).toEqual(Array(20).fill('sent'));
    const got = copies(
      [fallback],
      ed.readers.map((r) => r.email),
    );
    expect(got.size).toBe(20);
    expect([...got.values()].every((n) => n === 1)).toBe(true);
    expect(await sendingPaused()).toBe(false);
  });

  it('takes out a relay that fails its health check before any mail needs it', async () => {
    await primaryRelay.resume();
    await eventually(async () => (await relaysOf(ctx)).relays.every((r) => r.state === 'in'));
    await fallbackRelay.stop();
    const out = await eventually(async () => (await relaysOf(ctx)).relays.find((r) => r.state === 'out'));
    expect(out).toMatchObject({ position: 1 });
    expect(out.error).toMatch(/health check/);
    await fallbackRelay.resume();
    await eventually(async () => (await relaysOf(ctx)).relays.every((r) => r.state === 'in'));
  });
});

/** A relay that answers every connection with "421 ... not available" and hangs up. */
async function startRefusingRelay() {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.end('421 4.3.2 relay.example Service not available, closing transmission channel\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('a relay answering errors about itself', { timeout: 60_000 }, () => {
  let ctx: TestContext;
  let refusing: Awaited<ReturnType<typeof startRefusingRelay>>;
  let fallback: SmtpSink;

  beforeAll(async () => {
    refusing = await startRefusingRelay();
    fallback = await startSmtpSink();
    ctx = await createTestContext({
      env: {
        // credentials in the URL: never shown by the API or /metrics
        SMTP_URL: `smtp://gazette:s3cret-relay-pass@127.0.0.1:${refusing.port}`,
        SMTP_FALLBACK_URLS: fallback.url,
        // no health check within the test: the messages themselves meet the refusal
        RELAY_PROBE_INTERVAL_MS: '600000',
      },
    });
  });
  afterAll(async () => {
    await ctx?.close();
    await refusing?.close();
    await fallback?.close();
  });

  it('is taken out and the fallback takes digests and transactional mail, its password never shown', async () => {
    const ed = await seedEdition(ctx, { readers: 20, batchSize: 10 });
    await enqueueBatches(ctx, ed.editionId, [0, 1]);
    const rows = await settled(ctx, ed.editionId, 30_000);
    expect(rows.map((r) => r.state)).toEqual(Array(20).fill('sent'));
    const got = copies(
      [fallback],
      ed.readers.map((r) => r.email),
    );
    expect(got.size).toBe(20);
    expect([...got.values()].every((n) => n === 1)).toBe(true);

    // transactional mail (nodemailer's pool) fails over the same way
    await ctx.container.mailer.send({
      from: 'news@almadar.example',
      to: 'welcome@readers.example',
      subject: 'أهلاً',
      text: 'مرحباً',
    });
    expect(fallback.received.filter((m) => m.to[0] === 'welcome@readers.example')).toHaveLength(1);

    const { relays } = await relaysOf(ctx);
    expect(relays[0]).toMatchObject({
      position: 0,
      state: 'out',
      relay: `smtp://127.0.0.1:${refusing.port}`,
    });
    expect(relays[0]?.error).toMatch(/421/);
    expect(relays[1]).toMatchObject({ position: 1, state: 'in' });
    const metrics = await ctx.app.inject({ url: '/metrics', headers: ctx.adminHeaders });
    expect(metrics.body).toMatch(/gazette_relay_up\{relay="smtp:\/\/127\.0\.0\.1:\d+",position="0"\} 0/);
    expect(metrics.body).toMatch(/gazette_relay_failovers_total\{relay="smtp:\/\/127\.0\.0\.1:\d+"\} [1-9]/);
    for (const body of [JSON.stringify(relays), metrics.body]) {
      expect(body).not.toContain('s3cret-relay-pass');
      expect(body).not.toContain('gazette:');
    }
  });
});
