import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers } from '../../workers/index.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';

/**
 * The transactional sweep: a confirmation mail whose job never reached Redis (or was lost with it)
 * is enqueued again from its pending ledger row, once, and only when the row is old enough that the
 * API is not enqueueing it right now.
 */
describe('the transactional sweep', () => {
  let ctx: TestContext;
  let workers: ReturnType<typeof startWorkers> | undefined;
  beforeAll(async () => {
    ctx = await createTestContext({ workers: false });
  });
  afterAll(async () => {
    await workers?.close();
    await ctx?.close();
  });

  const deliveryState = async (email: string) =>
    (
      await ctx.db.query<{ state: string }>(
        `SELECT d.state FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
          WHERE s.email = $1 AND d.kind = 'confirmation'`,
        [email],
      )
    ).rows.map((r) => r.state);

  it('enqueues a pending confirmation whose job was lost, and sends it once', async () => {
    const email = 'rasha.sweep@example.org';
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/subscriptions',
      payload: { email, language: 'ar', name: 'رشا' },
    });
    expect(res.statusCode).toBe(202);
    // the job is gone, as after a Redis wipe; the row is all that is left
    const queue = ctx.container.queues.get('transactional');
    await queue.obliterate({ force: true });
    expect(await deliveryState(email)).toEqual(['pending']);

    // a row this fresh may still be on its way to the queue: left alone
    expect(await ctx.container.owedWork.transactional()).toBe(0);
    ctx.clock.advance(31_000);

    workers = startWorkers(ctx.container);
    await ctx.container.queues.enqueue('transactional', 'sweep', {}, { jobId: 'sweep-1' });
    await eventually(async () => ctx.sink.received.some((m) => m.to.includes(email)));
    await eventually(async () => (await deliveryState(email))[0] === 'sent');

    // sweeping again finds nothing owed, and nothing is sent twice
    await ctx.container.queues.enqueue('transactional', 'sweep', {}, { jobId: 'sweep-2' });
    await eventually(async () => (await queue.getJobState('sweep-2')) === 'completed');
    expect((await queue.getJob('sweep-2'))?.returnvalue).toEqual({ requeued: 0 });
    expect(ctx.sink.received.filter((m) => m.to.includes(email))).toHaveLength(1);
  });
});
