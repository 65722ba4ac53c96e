import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import {
  copiesByRecipient,
  editionRow,
  enqueueBatches,
  type LedgerRow,
  ledger,
  type SeededEdition,
  seedEdition,
  settled,
} from '../helpers/delivery-fixtures.js';
import { startDropProxy } from '../helpers/smtp-drop-proxy.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.js';

/**
 * Several worker PROCESSES on one database and queue prefix (children running the production
 * worker entry), and the crashes BullMQ's at-least-once delivery turns into duplicates unless
 * the ledger stops them: a killed worker, a frozen one whose job is taken over.
 */
const CLAIM = 4;
const CONCURRENCY = 3;
// a worker process starts in seconds warm, but a cold tsx cache on a busy 2-core machine takes
// much longer: the budget is for that, not for the sends
const PROCESS_TEST_TIMEOUT = 150_000;

describe('bulk delivery across worker processes', { timeout: PROCESS_TEST_TIMEOUT }, () => {
  let ctx: TestContext;
  // killed workers talk to the sink through a proxy, so their resets do not reach it
  let proxy: Awaited<ReturnType<typeof startDropProxy>>;
  const children: WorkerProcess[] = [];
  const start = async (env: Record<string, string> = {}) => {
    const child = await startWorkerProcess(ctx.config, {
      SMTP_URL: proxy.url,
      SEND_CLAIM_SIZE: String(CLAIM),
      SEND_CONCURRENCY: String(CONCURRENCY),
      ...env,
    });
    children.push(child);
    return child;
  };

  beforeAll(async () => {
    // lock 2 s, stall checks every second (the context's defaults): crashes are noticed quickly
    ctx = await createTestContext({ workers: false });
    proxy = await startDropProxy();
    proxy.setTarget(ctx.sink.port);
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGCONT');
      await child.kill('SIGKILL');
    }
  });
  afterAll(async () => {
    await proxy?.close();
    await ctx?.close();
  });

  /** Exactly once, or ambiguous: the invariant every test here ends with. */
  function expectNoDuplicates(ed: SeededEdition, rows: LedgerRow[]) {
    const copies = copiesByRecipient(
      ctx.sink.received.filter((m) => ed.readers.some((r) => r.email === m.to[0])),
    );
    for (const row of rows) {
      const n = copies.get(row.recipient) ?? 0;
      if (row.state === 'sent') expect(n, `${row.recipient} sent`).toBe(1);
      else {
        expect(row.state, `${row.recipient} has ${n} copies`).toBe('ambiguous');
        expect(n).toBeLessThanOrEqual(1);
      }
    }
    expect(Math.max(0, ...copies.values())).toBe(1);
  }

  it('two worker processes on duplicated jobs mail every reader exactly once', async () => {
    await Promise.all([start(), start()]);
    const ed = await seedEdition(ctx, { readers: 90, batchSize: 15 });
    const batches = [...Array(ed.batches).keys()];
    await enqueueBatches(ctx, ed.editionId, batches);
    await enqueueBatches(ctx, ed.editionId, batches, { suffix: 'dup' });

    const rows = await settled(ctx, ed.editionId, 30_000);
    expect(rows.filter((r) => r.state === 'sent')).toHaveLength(90);
    await eventually(async () => {
      const c = await ctx.container.queues.get('send').getJobCounts('waiting', 'active', 'delayed');
      return (c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) === 0;
    }, 20_000);
    expectNoDuplicates(ed, rows);
    expect((await editionRow(ctx, ed.editionId)).final_counts).toMatchObject({
      total: 90,
      sent: 90,
      ambiguous: 0,
    });
  });

  it('a worker killed mid-batch is replaced: its job stalls, is run again, and nothing is sent twice', async () => {
    // 20 messages/s keeps the 60-message batch in flight long enough to kill it in the middle
    const rate = { SEND_RATE_PER_SECOND: '20' };
    const first = await start(rate);
    const ed = await seedEdition(ctx, { readers: 60, batchSize: 60 });
    const mine = (m: { to: string[] }) => ed.readers.some((r) => r.email === m.to[0]);
    await enqueueBatches(ctx, ed.editionId, [0]);

    await eventually(async () => ctx.sink.received.filter(mine).length >= 25, 20_000);
    await first.kill('SIGKILL');
    const atKill = ctx.sink.received.filter(mine).length;
    expect(atKill).toBeLessThan(60);
    // a statement the dead process had already sent still commits
    await new Promise((r) => setTimeout(r, 200));
    const stranded = (await ledger(ctx, ed.editionId)).filter((r) => r.state === 'sending').length;

    await start(rate);
    const rows = await settled(ctx, ed.editionId, 30_000);
    expectNoDuplicates(ed, rows);
    const ambiguous = rows.filter((r) => r.state === 'ambiguous');
    // Only rows stranded by the kill can be in doubt, never the batch; and of those, the killed
    // worker's hand-off log let the new one send every row it had never handed to SMTP. In doubt
    // stay the ones it may have handed off: of them, the ones that never reached the server were
    // held by its sending slots, at most one each.
    expect(ambiguous.length).toBeLessThanOrEqual(stranded);
    expect(ambiguous.length).toBeLessThanOrEqual(CONCURRENCY + 2 * CLAIM);
    const delivered = new Set(ctx.sink.received.filter(mine).map((m) => m.to[0]));
    expect(ambiguous.filter((r) => !delivered.has(r.recipient)).length).toBeLessThanOrEqual(CONCURRENCY);
    expect(rows.filter((r) => r.state === 'sent').length).toBeGreaterThanOrEqual(60 - ambiguous.length);
    expect(ctx.sink.received.filter(mine).length).toBeGreaterThan(atKill);
    expect((await editionRow(ctx, ed.editionId)).final_counts).toMatchObject({
      total: 60,
      ambiguous: ambiguous.length,
      sent: 60 - ambiguous.length,
    });
  });

  it('a frozen worker loses its stalled job to another and, thawed, sends nothing twice', async () => {
    const rate = { SEND_RATE_PER_SECOND: '20' };
    const frozen = await start(rate);
    const ed = await seedEdition(ctx, { readers: 60, batchSize: 60 });
    const mine = (m: { to: string[] }) => ed.readers.some((r) => r.email === m.to[0]);
    await enqueueBatches(ctx, ed.editionId, [0]);

    await eventually(async () => ctx.sink.received.filter(mine).length >= 25, 20_000);
    frozen.child.kill('SIGSTOP');
    // its lock lapses; the other process's stall check takes the job over
    const other = await start(rate);
    const rows = await settled(ctx, ed.editionId, 30_000);
    expectNoDuplicates(ed, rows);

    // thawed, the first worker finds its claim taken (its heartbeat says so) and stops
    frozen.child.kill('SIGCONT');
    await new Promise((r) => setTimeout(r, 1500));
    const after = await ledger(ctx, ed.editionId);
    expectNoDuplicates(ed, after);
    expect(after.filter((r) => r.state === 'pending' || r.state === 'sending')).toHaveLength(0);
    expect(after.filter((r) => r.state === 'ambiguous').length).toBeLessThanOrEqual(CONCURRENCY + 2 * CLAIM);
    // the thawed attempt recorded what its messages in flight became after the edition was
    // finalized: the edition's counts say what the ledger says
    const count = (rows: LedgerRow[], state: string) => rows.filter((r) => r.state === state).length;
    await eventually(async () => {
      const fc = (await editionRow(ctx, ed.editionId)).final_counts;
      const now = await ledger(ctx, ed.editionId);
      return fc?.sent === count(now, 'sent') && fc?.ambiguous === count(now, 'ambiguous');
    }, 10_000).catch(async () => {
      const now = await ledger(ctx, ed.editionId);
      expect((await editionRow(ctx, ed.editionId)).final_counts).toMatchObject({
        sent: count(now, 'sent'),
        ambiguous: count(now, 'ambiguous'),
      });
    });
    await other.kill('SIGTERM');
  });
});
