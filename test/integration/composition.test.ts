import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { enqueueBatches, seedEdition, settled } from '../helpers/delivery-fixtures.js';
import { smtpError } from '../helpers/smtp-sink.js';

/**
 * One process running the API and the workers (npm start's `all`) builds each service once, in
 * the container: the send worker pauses through the same SendingPause the admin API resumes, and
 * the planner the workers run is the Digests the digest routes use. Spies pass through to the
 * real objects; they only show which object was called.
 */
describe('one container, one of each service', () => {
  let ctx: TestContext;
  let refuse: Error | undefined;
  beforeAll(async () => {
    ctx = await createTestContext({ smtp: { onRcpt: () => refuse } });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await ctx?.close();
  });

  it('pauses from the send worker and resumes from the admin API through one SendingPause', async () => {
    const pause = vi.spyOn(ctx.container.sendingPause, 'pause');
    const resume = vi.spyOn(ctx.container.sendingPause, 'resume');
    const ed = await seedEdition(ctx, { readers: 2, batchSize: 2 });
    refuse = smtpError(550, '5.7.1 Relaying denied: sender not authorised');
    await enqueueBatches(ctx, ed.editionId, [0]);
    await eventually(async () => ctx.container.queues.get('send').isPaused());
    expect(pause).toHaveBeenCalledWith(expect.objectContaining({ editionId: ed.editionId, batch: 0 }));

    refuse = undefined;
    const resumed = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/sending/resume',
      headers: ctx.adminHeaders,
    });
    expect(resumed.statusCode).toBe(200);
    expect(resume).toHaveBeenCalledOnce();
    const rows = await settled(ctx, ed.editionId);
    expect(rows.map((r) => r.state)).toEqual(['sent', 'sent']);
  });

  it('runs the planner and the operator of one Digests from the workers and the API', async () => {
    const plan = vi.spyOn(ctx.container.digests.planner, 'plan');
    const dryRun = vi.spyOn(ctx.container.digests.operator, 'dryRun');
    await ctx.container.queues.enqueue('digests', 'plan', {}, { jobId: 'composition-plan' });
    await eventually(async () => plan.mock.calls.length > 0);

    const res = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/digests/send',
      headers: ctx.adminHeaders,
      payload: { dryRun: true },
    });
    expect(res.statusCode).toBe(200);
    expect(dryRun).toHaveBeenCalledOnce();
  });

  it('sends confirmation mail through the container transactional sender', async () => {
    const send = vi.spyOn(ctx.container.transactionalSender, 'send');
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/subscriptions',
      payload: { email: 'reader@example.com', language: 'ar' },
    });
    expect(res.statusCode).toBe(202);
    await eventually(async () => ctx.sink.received.some((m) => m.to.includes('reader@example.com')));
    expect(send).toHaveBeenCalledOnce();
  });
});
