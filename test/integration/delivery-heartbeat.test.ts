import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { copiesByRecipient, enqueueBatches, seedEdition, settled } from '../helpers/delivery-fixtures.js';

/**
 * Claim renewal racing new claims: a short lock makes the heartbeat run many times while small
 * chunks are claimed, so renewals and claims interleave. A row claimed while a renewal is in
 * flight is not in that renewal's answer and must not be taken for lost (it was once: the rows
 * stayed `sending` under a finished job for good).
 */
describe('claim heartbeat under pressure', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({
      env: { JOB_LOCK_DURATION_MS: '300', SEND_CLAIM_SIZE: '2', SEND_CONCURRENCY: '2' },
    });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('ends every row sent, exactly once, however renewals and claims interleave', async () => {
    const ed = await seedEdition(ctx, { readers: 200, batchSize: 100 });
    // a busy event loop (as under a CPU-starved worker) widens the window between a renewal's
    // query and the handling of its answer, so claims land inside it
    const hog = setInterval(() => {
      const until = Date.now() + 25;
      while (Date.now() < until) {}
    }, 30);
    let rows: Awaited<ReturnType<typeof settled>>;
    try {
      await enqueueBatches(ctx, ed.editionId, [0, 1]);
      rows = await settled(ctx, ed.editionId, 60_000);
    } finally {
      clearInterval(hog);
    }
    const states: Record<string, number> = {};
    for (const r of rows) states[r.state] = (states[r.state] ?? 0) + 1;
    // a stalled job run twice may leave a row in doubt, but none may be lost or stuck
    expect((states.sent ?? 0) + (states.ambiguous ?? 0)).toBe(200);
    const copies = copiesByRecipient(ctx.sink.received);
    expect(Math.max(...copies.values())).toBe(1);
    for (const r of rows) if (r.state === 'sent') expect(copies.get(r.recipient)).toBe(1);
  }, 90_000);
});
