import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../helpers/context.js';
import {
  copiesByRecipient,
  editionRow,
  enqueueBatches,
  ledger,
  seedEdition,
  settled,
} from '../helpers/delivery-fixtures.js';
import { type SmtpSink, startSmtpSink } from '../helpers/smtp-sink.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.js';

/**
 * Outcomes are not thrown away by a short database blip (issue 15): the worker process reaches
 * PostgreSQL through a TCP proxy the test takes away mid-batch and brings back; messages in flight
 * when it goes are delivered, and their outcomes must still be recorded.
 */
const PROCESS_TEST_TIMEOUT = 150_000;
// the outcome writes are retried for a lock duration: longer than the blip
const LOCK_MS = 10_000;
const BLIP_MS = 4_000;

describe('a database blip mid-batch', { timeout: PROCESS_TEST_TIMEOUT }, () => {
  let ctx: TestContext;
  let sink: SmtpSink;
  let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
  const children: WorkerProcess[] = [];

  beforeAll(async () => {
    ctx = await createTestContext({ workers: false });
    // a server taking 50 ms a message keeps messages in flight when the database goes
    sink = await startSmtpSink({ replyDelayMs: () => 50 });
    proxy = await startTcpProxy(Number(new URL(ctx.config.DATABASE_URL).port || 5432));
  });
  afterEach(async () => {
    for (const child of children.splice(0)) await child.kill('SIGKILL');
  });
  afterAll(async () => {
    await proxy?.close();
    await sink?.close();
    await ctx?.close();
  });

  it('keeps the outcomes of messages sent meanwhile and records them once it returns: none ambiguous', async () => {
    const viaProxy = new URL(ctx.config.DATABASE_URL);
    viaProxy.port = String(proxy.port);
    const worker = await startWorkerProcess(ctx.config, {
      DATABASE_URL: viaProxy.toString(),
      SMTP_URL: sink.url,
      SMTP_POOL_SIZE: '3',
      SEND_CONCURRENCY: '3',
      SEND_CLAIM_SIZE: '4',
      JOB_LOCK_DURATION_MS: String(LOCK_MS),
      JOB_STALLED_INTERVAL_MS: String(LOCK_MS / 2),
    });
    children.push(worker);
    const ed = await seedEdition(ctx, { readers: 120, batchSize: 120 });
    const mine = (m: { to: string[] }) => ed.readers.some((r) => r.email === m.to[0]);
    // job retries spaced out so the blip does not use them all up
    await enqueueBatches(ctx, ed.editionId, [0], { backoffMs: 1500 });

    const deadline = Date.now() + 60_000;
    while (sink.received.filter(mine).length < 20) {
      if (Date.now() > deadline) throw new Error(`no mail arrived:\n${worker.output()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await proxy.stop();
    const atStop = sink.received.filter(mine).length;
    await new Promise((r) => setTimeout(r, BLIP_MS));
    // the messages in flight when the database went were delivered during the blip
    expect(sink.received.filter(mine).length).toBeGreaterThan(atStop);
    await proxy.resume();

    const rows = await settled(ctx, ed.editionId, 90_000);
    const copies = copiesByRecipient(sink.received.filter(mine));
    expect(
      rows.filter((r) => r.state === 'ambiguous'),
      worker.output(),
    ).toHaveLength(0);
    expect(rows.filter((r) => r.state === 'sent')).toHaveLength(120);
    for (const reader of ed.readers) expect(copies.get(reader.email), reader.email).toBe(1);
    expect((await editionRow(ctx, ed.editionId)).final_counts).toMatchObject({ sent: 120, ambiguous: 0 });
    expect((await ledger(ctx, ed.editionId)).every((r) => r.state === 'sent')).toBe(true);
  });
});
