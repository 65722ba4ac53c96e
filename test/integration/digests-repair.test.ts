import { UnrecoverableError, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobId } from '../../src/queues/definitions.js';
import { setupSchedulers, startWorkers } from '../../workers/index.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { addArticle, digests, ledger } from '../helpers/digest-fixtures.js';

/**
 * Batches whose rows are committed but whose job is gone (a crash between the planner's commit
 * and its enqueue) or finished without sending them (failed for good, stalled too often) are
 * enqueued again by maintenance at once, against the real BullMQ queue; batches with a live job
 * are left alone, and the readers still get one message each.
 */
describe('maintenance repairs batches left without a live job', () => {
  let ctx: TestContext;

  beforeAll(async () => {
    ctx = await createTestContext({
      now: '2026-11-29T07:00:05Z',
      workers: false,
      env: { DELIVERY_BATCH_SIZE: '10' },
    });
  });

  afterAll(async () => {
    await ctx?.close();
  });

  it('re-enqueues lost and finished batches once, skips live ones, and every reader gets one digest', async () => {
    await ctx.db.query(
      `INSERT INTO subscribers (email, email_key, status, language, topics, frequency, timezone, send_hour,
                                confirmed_at, next_digest_at)
       SELECT 'r' || i || '@example.org', 'r' || i || '@example.org', 'confirmed', 'en', '{}', 'daily',
              'UTC', 7, '2026-11-25T00:00:00Z', '2026-11-29T07:00:00Z'
       FROM generate_series(1, 60) i`,
    );
    await addArticle(ctx, { title: 'Morning briefing', at: '2026-11-29T05:00:00Z' });
    const d = digests(ctx);
    const planned = await d.planner.plan();
    expect(planned.editions).toHaveLength(1);
    expect(planned.batches).toBe(6);
    const editionId = planned.editions[0]!;
    const queue = ctx.container.queues.get('send');
    const canonical = (b: number) => jobId('send', editionId, b);
    const repair = (b: number) => jobId('send', editionId, b, 'repair');

    // A manual BullMQ worker (no processor) takes jobs in FIFO order and finishes them by hand.
    const hand = new Worker('send', null, {
      connection: { url: ctx.config.REDIS_URL },
      prefix: ctx.config.QUEUE_PREFIX,
      lockDuration: 60_000,
    });
    const take = async (batch: number) => {
      const job = await hand.getNextJob('hand');
      expect(job?.id).toBe(canonical(batch));
      return job!;
    };
    await (await take(0)).moveToCompleted('done without sending', 'hand', false); // finished, rows pending
    await (await take(1)).moveToFailed(new UnrecoverableError('stalled more than allowable limit'), 'hand');
    const active = await take(2); // a live attempt (its lock held): not touched
    await queue.remove(canonical(3)); // lost between the commit and the enqueue
    // batches 4 and 5 stay waiting

    expect(await d.maintenance.run()).toMatchObject({ rekicked: 3 });
    expect(await queue.getJobState(canonical(3))).toBe('waiting');
    expect(await queue.getJobState(repair(0))).toBe('waiting');
    expect(await queue.getJobState(repair(1))).toBe('waiting');
    expect(await queue.getJobState(repair(2))).toBe('unknown');
    expect(await queue.getJobState(repair(4))).toBe('unknown');
    expect(await queue.getJobState(canonical(2))).toBe('active');

    // again at once: everything has a live job, nothing is added
    expect(await d.maintenance.run()).toMatchObject({ rekicked: 0 });
    expect(await queue.getJobCounts('waiting')).toMatchObject({ waiting: 5 }); // 4, 5, repair 0, 1, 3

    // a repair job that fails in turn is replaced under the same id, not piled up
    for (const b of [4, 5]) await take(b).then((j) => j.moveToFailed(new UnrecoverableError('x'), 'hand'));
    const repaired0 = await hand.getNextJob('hand');
    expect(repaired0?.id).toBe(repair(0));
    await repaired0!.moveToFailed(new UnrecoverableError('failed again'), 'hand');
    expect(await d.maintenance.run()).toMatchObject({ rekicked: 3 }); // 0 (repair again), 4, 5
    expect(await queue.getJobState(repair(0))).toBe('waiting');
    expect((await queue.getJob(repair(0)))?.attemptsMade).toBe(0);
    expect(await queue.getJobCounts('waiting')).toMatchObject({ waiting: 5 }); // repair 1, 3, 0, 4, 5

    // the hand's attempt at batch 2 ends without sending (its lock released): the rows are
    // still pending, and the next maintenance gives the batch a job again
    await active.moveToFailed(new UnrecoverableError('worker died'), 'hand');
    await hand.close();
    expect(await d.maintenance.run()).toMatchObject({ rekicked: 1 });

    // real workers send it all: 60 readers, one message each
    const workers = startWorkers(ctx.container);
    try {
      await eventually(async () => (await ledger(ctx)).every((r) => r.state === 'sent'), 30_000);
      await ctx.sink.waitFor(60);
    } finally {
      await workers.close();
    }
    const recipients = ctx.sink.received.flatMap((m) => m.to);
    expect(recipients).toHaveLength(60);
    expect(new Set(recipients).size).toBe(60);
    expect(await d.maintenance.run()).toMatchObject({ rekicked: 0 });
  });

  it('a worker process starting repairs at once: batches whose jobs a crash lost are sent', async () => {
    // an earlier worker process set up the schedulers and ran their first maintenance; the next
    // scheduled one is minutes away
    const digestsQueue = ctx.container.queues.get('digests');
    await setupSchedulers(ctx.container);
    const first = startWorkers(ctx.container);
    try {
      await eventually(async () => (await digestsQueue.getCompleted()).some((j) => j.name === 'maintenance'));
    } finally {
      await first.close();
    }

    ctx.clock.set('2026-11-30T07:00:05Z');
    await addArticle(ctx, { title: 'Second morning', at: '2026-11-30T05:00:00Z' });
    const before = ctx.sink.received.length;
    const d = digests(ctx);
    const planned = await d.planner.plan();
    expect(planned.batches).toBe(6);
    // the crash: rows committed, jobs never reached Redis
    const queue = ctx.container.queues.get('send');
    for (const b of [0, 1, 2, 3, 4, 5]) await queue.remove(jobId('send', planned.editions[0]!, b));
    expect(await queue.getJobCounts('waiting')).toMatchObject({ waiting: 0 });

    // the restarted process
    await setupSchedulers(ctx.container);
    const workers = startWorkers(ctx.container);
    try {
      await ctx.sink.waitFor(before + 60, 20_000);
    } finally {
      await workers.close();
    }
    const recipients = ctx.sink.received.slice(before).flatMap((m) => m.to);
    expect(new Set(recipients).size).toBe(60);
    expect(recipients).toHaveLength(60);
  });
  it('a batch left holding a dead claim and no job gets one: its rows are settled, not left sending', async () => {
    // Redis lost its data while the batch's job waited for a killed worker's claim to run out:
    // the rows are all claimed (nothing pending), the claim is old, and no job is left
    ctx.clock.set('2026-12-01T07:00:05Z');
    await addArticle(ctx, { title: 'Third morning', at: '2026-12-01T05:00:00Z' });
    const before = ctx.sink.received.length;
    const d = digests(ctx);
    const planned = await d.planner.plan();
    expect(planned.batches).toBe(6);
    const editionId = planned.editions[0]!;
    await ctx.db.query(`UPDATE editions SET state = 'sending' WHERE id = $1`, [editionId]);
    await ctx.db.query(
      `UPDATE deliveries SET state = 'sending', claim_token = 'killed-worker-claim',
              claimed_at = now() - interval '1 hour', attempts = 1
        WHERE edition_id = $1 AND batch_no = 2`,
      [editionId],
    );
    const queue = ctx.container.queues.get('send');
    await queue.remove(jobId('send', editionId, 2));

    expect(await d.maintenance.run()).toMatchObject({ rekicked: 1 });
    expect(await queue.getJobState(jobId('send', editionId, 2))).toBe('waiting');

    const workers = startWorkers(ctx.container);
    try {
      await eventually(async () => {
        const { rows } = await ctx.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM deliveries WHERE edition_id = $1 AND state IN ('pending', 'sending')`,
          [editionId],
        );
        return rows[0]!.n === 0;
      }, 30_000);
      await ctx.sink.waitFor(before + 50, 20_000);
    } finally {
      await workers.close();
    }
    const { rows } = await ctx.db.query<{ state: string; n: number }>(
      `SELECT state, count(*)::int AS n FROM deliveries WHERE edition_id = $1 GROUP BY state ORDER BY state`,
      [editionId],
    );
    // no hand-off log for the dead claim: its rows may have reached the server, never resent
    expect(rows).toEqual([
      { state: 'ambiguous', n: 10 },
      { state: 'sent', n: 50 },
    ]);
    expect(ctx.sink.received.length - before).toBe(50);
  });

  it('an edition marked sent with rows still under a dead claim is sending again and its batch gets a job', async () => {
    ctx.clock.set('2026-12-02T07:00:05Z');
    await addArticle(ctx, { title: 'Fourth morning', at: '2026-12-02T05:00:00Z' });
    const d = digests(ctx);
    const planned = await d.planner.plan();
    const editionId = planned.editions[0]!;
    const queue = ctx.container.queues.get('send');
    for (let b = 0; b < planned.batches; b++) await queue.remove(jobId('send', editionId, b));
    await ctx.db.query(`UPDATE deliveries SET state = 'sent' WHERE edition_id = $1 AND batch_no <> 4`, [
      editionId,
    ]);
    await ctx.db.query(
      `UPDATE deliveries SET state = 'sending', claim_token = 'killed-worker-claim',
              claimed_at = now() - interval '1 hour', attempts = 1
        WHERE edition_id = $1 AND batch_no = 4`,
      [editionId],
    );
    await ctx.db.query(`UPDATE editions SET state = 'sent' WHERE id = $1`, [editionId]);

    expect(await d.maintenance.run()).toMatchObject({ revived: 1, rekicked: 1 });
    const { rows } = await ctx.db.query('SELECT state FROM editions WHERE id = $1', [editionId]);
    expect(rows[0].state).toBe('sending');
    expect(await queue.getJobState(jobId('send', editionId, 4))).toBe('waiting');
    await queue.remove(jobId('send', editionId, 4));
  });
});
