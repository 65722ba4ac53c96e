import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../helpers/context.js';
import {
  copiesByRecipient,
  editionRow,
  enqueueBatches,
  ledger,
  type SeededEdition,
  seedEdition,
  settled,
} from '../helpers/delivery-fixtures.js';
import { type SmtpSink, startSmtpSink } from '../helpers/smtp-sink.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.js';

/**
 * A deploy is not a crash (issue 15): SIGTERM to the production worker entry (src/main.ts, whose
 * close-with-grace kills the process after SHUTDOWN_TIMEOUT_MS) in the middle of a batch that
 * would outlast that timeout, against a slow SMTP server.
 */
const CONCURRENCY = 3;
const SHUTDOWN_TIMEOUT_MS = 1500;
const PROCESS_TEST_TIMEOUT = 150_000;

describe('a worker stopped by SIGTERM mid-batch', { timeout: PROCESS_TEST_TIMEOUT }, () => {
  let ctx: TestContext;
  let sink: SmtpSink;
  // how long the server takes to accept each message; a test sets it
  let replyDelay = 0;
  const children: WorkerProcess[] = [];
  const start = (env: Record<string, string> = {}, production = false) =>
    startWorkerProcess(
      ctx.config,
      {
        SMTP_URL: sink.url,
        SMTP_POOL_SIZE: String(CONCURRENCY),
        SEND_CONCURRENCY: String(CONCURRENCY),
        SEND_CLAIM_SIZE: '4',
        SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
        ...env,
      },
      undefined,
      production,
    ).then((child) => {
      children.push(child);
      return child;
    });

  beforeAll(async () => {
    ctx = await createTestContext({ workers: false });
    sink = await startSmtpSink({ replyDelayMs: () => replyDelay });
  });
  afterEach(async () => {
    for (const child of children.splice(0)) await child.kill('SIGKILL');
  });
  afterAll(async () => {
    await sink?.close();
    await ctx?.close();
  });

  const mine = (ed: SeededEdition) => (m: { to: string[] }) => ed.readers.some((r) => r.email === m.to[0]);

  async function sigtermAfter(ed: SeededEdition, received: number) {
    const worker = await start({}, true);
    await enqueueBatches(ctx, ed.editionId, [0]);
    const deadline = Date.now() + 60_000;
    while (sink.received.filter(mine(ed)).length < received) {
      if (Date.now() > deadline) throw new Error(`no mail arrived:\n${worker.output()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    worker.child.kill('SIGTERM');
    const code = await worker.exited;
    return { code, output: worker.output() };
  }

  it('hands back the rows it had not sent, records the rest, exits in time; the next worker sends them once', async () => {
    // 100 ms a message over 3 connections: the 150-row batch needs about 5 s, the timeout is 1.5 s
    replyDelay = 100;
    const ed = await seedEdition(ctx, { readers: 150, batchSize: 150 });
    const { code, output } = await sigtermAfter(ed, 15);
    // 0: the shutdown finished before close-with-grace's timer ("killed by timeout" exits 1)
    expect(code, output).toBe(0);
    expect(output).not.toContain('killed by timeout');

    const after = await ledger(ctx, ed.editionId);
    const states = new Set(after.map((r) => r.state));
    expect([...states].sort()).toEqual(['pending', 'sent']);
    const atStop = copiesByRecipient(sink.received.filter(mine(ed)));
    for (const row of after)
      expect(atStop.get(row.recipient) ?? 0, row.recipient).toBe(row.state === 'sent' ? 1 : 0);
    // handed back without spending the reader's attempt or an error of theirs
    const pending = after.filter((r) => r.state === 'pending');
    expect(pending.length).toBeGreaterThan(0);

    replyDelay = 0;
    await start();
    const rows = await settled(ctx, ed.editionId, 60_000);
    expect(rows.filter((r) => r.state === 'sent')).toHaveLength(150);
    const copies = copiesByRecipient(sink.received.filter(mine(ed)));
    for (const reader of ed.readers) expect(copies.get(reader.email), reader.email).toBe(1);
    expect((await editionRow(ctx, ed.editionId)).final_counts).toMatchObject({
      total: 150,
      sent: 150,
      ambiguous: 0,
    });
  });

  it('exits before the timeout even when the server is slower than the timeout', async () => {
    // each reply takes longer than the whole shutdown may: the messages in flight at the deadline
    // are in doubt (never resent), everything else is pending again
    replyDelay = 2 * SHUTDOWN_TIMEOUT_MS;
    const ed = await seedEdition(ctx, { readers: 60, batchSize: 60 });
    const { code, output } = await sigtermAfter(ed, CONCURRENCY);
    expect(code, output).toBe(0);

    const after = await ledger(ctx, ed.editionId);
    expect(after.filter((r) => r.state === 'sending')).toHaveLength(0);
    expect(after.filter((r) => r.state === 'ambiguous').length).toBeLessThanOrEqual(CONCURRENCY);
    expect(after.filter((r) => r.state === 'pending').length).toBeGreaterThan(0);

    replyDelay = 0;
    await start();
    const rows = await settled(ctx, ed.editionId, 60_000);
    const copies = copiesByRecipient(sink.received.filter(mine(ed)));
    for (const row of rows) {
      if (row.state === 'sent') expect(copies.get(row.recipient), row.recipient).toBe(1);
      else expect(row.state).toBe('ambiguous');
    }
    expect(Math.max(...copies.values())).toBe(1);
  });
});
