import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.js';

/**
 * A worker process killed in the middle of an import: the chunks it committed stay, the chunk it
 * was in is rolled back with its transaction, and the job, stalled, is taken over by another
 * process that resumes from the cursor. Every row ends with one outcome, every address with one
 * reader and one consent event.
 */
const ROWS = 12_000; // three chunks of 5,000 (PROCESS_CHUNK): the kill lands in the second
const address = (i: number) => `reader${i}@requeue.example`;

describe('an import whose worker is killed', () => {
  let ctx: TestContext;
  const children: WorkerProcess[] = [];
  let blocker: pg.Client | undefined;

  beforeAll(async () => {
    ctx = await createTestContext({ workers: false });
  });
  afterAll(async () => {
    for (const c of children)
      if (c.child.exitCode === null && c.child.signalCode === null) await c.kill('SIGKILL');
    await blocker?.end().catch(() => {});
    await ctx?.close();
  });

  it('resumes from its cursor in another process, without duplicate or lost rows', async () => {
    const first = await startWorkerProcess(ctx.config, { WORKER_QUEUES: 'imports' });
    children.push(first);
    // an uncommitted signup of the address of row 7,000 holds the second chunk's INSERT (its
    // ON CONFLICT waits for this transaction): the worker is stopped there, first chunk committed
    blocker = new pg.Client({ connectionString: ctx.config.DATABASE_URL });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query(
      `INSERT INTO subscribers (email, email_key, status, language, topics, frequency, alerts, timezone, send_hour,
                                created_at, updated_at)
       VALUES ($1, $1, 'pending', 'ar', '{}', 'daily', false, 'Asia/Amman', 7, now(), now())`,
      [address(7000)],
    );

    const csv = `email,name\n${Array.from({ length: ROWS }, (_, i) => `${address(i + 1)},قارئ ${i + 1}`).join('\n')}\n`;
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/subscribers/import?mode=attested&attestation=print%20subscribers%202024',
      headers: { ...ctx.adminHeaders, 'content-type': 'text/csv' },
      payload: csv,
    });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json().id as string;

    await eventually(async () => {
      const waiting = await ctx.db.query(
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
            AND query LIKE 'INSERT INTO subscribers%'`,
      );
      return waiting.rowCount === 1 && (await ctx.container.imports.get(id)).cursor === 5000;
    }, 60_000);
    await first.kill('SIGKILL');
    await blocker.query('ROLLBACK');
    const mid = await ctx.container.imports.get(id);
    expect(mid).toMatchObject({ state: 'running', cursor: 5000, imported: 5000 });

    const second = await startWorkerProcess(ctx.config, { WORKER_QUEUES: 'imports' });
    children.push(second);
    const done = await eventually(async () => {
      const imp = await ctx.container.imports.get(id);
      return imp.state === 'done' || imp.state === 'failed' ? imp : undefined;
    }, 120_000);
    expect(done).toMatchObject({
      state: 'done',
      cursor: ROWS,
      total_rows: ROWS,
      imported: ROWS,
      duplicate: 0,
    });

    const counts = await ctx.db.query(
      `SELECT (SELECT count(*)::int FROM subscribers WHERE email_key LIKE '%@requeue.example') AS readers,
              (SELECT count(DISTINCT email_key)::int FROM subscribers WHERE email_key LIKE '%@requeue.example') AS addresses,
              (SELECT count(*)::int FROM consent_events WHERE email LIKE '%@requeue.example') AS consent,
              (SELECT count(*)::int FROM import_rows WHERE import_id = $1 AND outcome = 'imported'
                  AND subscriber_id IS NOT NULL) AS settled,
              (SELECT count(*)::int FROM import_rows WHERE import_id = $1 AND outcome IS NULL) AS open`,
      [id],
    );
    expect(counts.rows[0]).toEqual({ readers: ROWS, addresses: ROWS, consent: ROWS, settled: ROWS, open: 0 });
  }, 240_000);
});
