import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { addArticle, addReader } from '../helpers/digest-fixtures.js';
import { RELAY_ENV, standardRequest } from '../helpers/relay-webhooks.js';

/**
 * The complaint-rate guard with real services: a digest to 20 readers through the SMTP sink, spam
 * complaints through a signed Standard Webhooks endpoint, the pause in BullMQ and Redis. The
 * thresholds are lowered so that 1 complaint in 20 (5%) alerts and 2 (10%) pause.
 */
describe('complaint-rate guard', () => {
  let ctx: TestContext;
  const readers = Array.from({ length: 20 }, (_, i) => `reader${i}@example.org`);
  const admin = (url: string, method: 'GET' | 'POST' = 'GET') =>
    ctx.app.inject({ method, url, headers: ctx.adminHeaders }).then((r) => r.json());
  let seq = 0;
  async function complain(email: string) {
    const id = `msg_complaint_${++seq}`;
    const req = standardRequest(
      { type: 'email.complained', timestamp: ctx.clock.now().toISOString(), data: { recipient: email } },
      ctx.clock.now(),
      id,
    );
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/bounces/standard',
      headers: req.headers,
      payload: req.payload,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().events[0]).toMatchObject({ class: 'complaint', suppressed: true });
  }
  const metric = async (name: string) => ctx.container.metrics.registry.getSingleMetricAsString(name);

  beforeAll(async () => {
    ctx = await createTestContext({
      now: '2026-11-29T10:00:00Z',
      env: {
        ...RELAY_ENV,
        COMPLAINT_ALERT_PERCENT: '4',
        COMPLAINT_PAUSE_PERCENT: '9',
        COMPLAINT_MIN_SENT: '10',
      },
    });
    for (const email of readers) await addReader(ctx, { email });
    const article = await addArticle(ctx, { title: 'Morning story' });
    const sent = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/digests/send',
      headers: ctx.adminHeaders,
      payload: { articleIds: [article], frequency: 'daily' },
    });
    const editionId = sent.json().editions[0].id as string;
    await eventually(async () => (await admin(`/api/v1/editions/${editionId}`)).state === 'sent');
    await ctx.sink.waitFor(20);
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('no complaint: the rate is 0 over the 20 messages sent', async () => {
    expect(await admin('/api/v1/complaint-rate')).toMatchObject({
      windowHours: 24,
      complaints: 0,
      sent: 20,
      ratePercent: 0,
      level: 'ok',
      alertedAt: null,
      pausedAt: null,
    });
  });

  it('over COMPLAINT_ALERT_PERCENT: an alert, counted, and sending goes on', async () => {
    await complain(readers[0]!);
    const rate = await admin('/api/v1/complaint-rate');
    expect(rate).toMatchObject({ complaints: 1, sent: 20, ratePercent: 5, level: 'alert', pausedAt: null });
    expect(rate.alertedAt).toBe(ctx.clock.now().toISOString());
    expect(await metric('gazette_complaint_guard_actions_total')).toContain('{action="alert"} 1');
    expect(await metric('gazette_complaint_rate')).toContain('gazette_complaint_rate 0.05');
    expect((await admin('/api/v1/sending')).paused).toBe(false);
    // measured again (the periodic job): the alert is not raised twice
    await ctx.container.complaintGuard.check();
    expect(await metric('gazette_complaint_guard_actions_total')).toContain('{action="alert"} 1');
  });

  it('over COMPLAINT_PAUSE_PERCENT: bulk sending is paused, with the figures as the reason', async () => {
    await complain(readers[1]!);
    const sending = await admin('/api/v1/sending');
    expect(sending).toMatchObject({ paused: true, queues: { send: true, alerts: true } });
    expect(sending.reason).toContain('spam-complaint rate 10% (2 complaints for 20 messages sent');
    expect(sending.reason).toContain('COMPLAINT_PAUSE_PERCENT=9%');
    expect(sending.reason).toContain('POST /api/v1/sending/resume');
    const rate = await admin('/api/v1/complaint-rate');
    expect(rate).toMatchObject({ complaints: 2, level: 'pause', pausedAt: ctx.clock.now().toISOString() });
    expect(await metric('gazette_complaint_guard_actions_total')).toContain('{action="pause"} 1');
    expect(await metric('gazette_sending_paused')).toContain('gazette_sending_paused 1');
  });

  it('a pause lifted other than by an operator (as the relay probe lifts its own) is put back', async () => {
    const { PAUSED_QUEUES, sendingPauseKey } = await import('../../src/delivery/sending-pause.js');
    for (const q of PAUSED_QUEUES) await ctx.container.queues.get(q).resume();
    await ctx.container.redis.del(sendingPauseKey(ctx.config.QUEUE_PREFIX));
    expect((await admin('/api/v1/sending')).paused).toBe(false);
    await ctx.container.complaintGuard.check();
    const sending = await admin('/api/v1/sending');
    expect(sending.paused).toBe(true);
    expect(sending.reason).toContain('spam-complaint rate 10%');
    expect(await metric('gazette_complaint_guard_actions_total')).toContain('{action="pause"} 1');
  });

  it('an operator resume acknowledges the complaints: the next measurement does not pause again', async () => {
    ctx.clock.set(new Date(ctx.clock.now().getTime() + 60_000));
    const resumed = await admin('/api/v1/sending/resume', 'POST');
    expect(resumed.paused).toBe(false);
    const rate = await admin('/api/v1/complaint-rate');
    expect(rate).toMatchObject({
      from: ctx.clock.now().toISOString(),
      complaints: 0,
      sent: 0,
      pausedAt: null,
      resumedAt: ctx.clock.now().toISOString(),
      resumedBy: 'operator',
    });
    await ctx.container.complaintGuard.check();
    expect((await admin('/api/v1/sending')).paused).toBe(false);
    // a late complaint about the earlier digest: too few messages since the resume to judge by
    ctx.clock.set(new Date(ctx.clock.now().getTime() + 60_000));
    await complain(readers[2]!);
    expect(await admin('/api/v1/complaint-rate')).toMatchObject({ complaints: 1, sent: 0, level: 'too-few' });
    expect((await admin('/api/v1/sending')).paused).toBe(false);
  });

  it('an operator sees why a reader is suppressed; lifting a complaint needs override and a reason', async () => {
    const id = (
      await ctx.db.query<{ id: string }>('SELECT id FROM subscribers WHERE email_key = $1', [readers[0]])
    ).rows[0]!.id;
    const why = await admin(`/api/v1/subscribers/${id}/bounces`);
    expect(why).toMatchObject({ status: 'suppressed', suppressedReason: 'spam complaint' });
    expect(why.events).toEqual([
      expect.objectContaining({ source: 'standard', class: 'complaint', suppressed: true }),
    ]);
    const lift = (payload?: object) =>
      ctx.app.inject({
        method: 'POST',
        url: `/api/v1/subscribers/${id}/lift-suppression`,
        headers: ctx.adminHeaders,
        ...(payload ? { payload } : {}),
      });
    for (const body of [undefined, { reason: 'asked by phone' }, { override: true }]) {
      const refused = await lift(body);
      expect(refused.statusCode, JSON.stringify(body)).toBe(409);
      expect(refused.json()).toMatchObject({ error: 'GZ_CONFLICT' });
      expect(refused.json().message).toContain('"override": true and a "reason"');
    }
    expect((await admin(`/api/v1/subscribers/${id}/bounces`)).status).toBe('suppressed');
    const lifted = await lift({ override: true, reason: 'the reader wrote to the editor: it was a mistake' });
    expect(lifted.statusCode, lifted.body).toBe(200);
    expect(lifted.json().status).toBe('confirmed');
    const { rows } = await ctx.db.query<{ details: Record<string, unknown> }>(
      `SELECT details FROM consent_events WHERE subscriber_id = $1 AND event = 'suppression_lifted'`,
      [id],
    );
    expect(rows).toEqual([
      {
        details: expect.objectContaining({
          operator: 'api',
          override: 'complaint',
          reason: 'the reader wrote to the editor: it was a mistake',
        }),
      },
    ]);
    // a hard bounce is lifted as before, with no override
    await ctx.container.bounces.record({
      source: 'standard',
      eventId: 'hard-1',
      class: 'hard',
      recipient: readers[5],
    });
    const hard = (
      await ctx.db.query<{ id: string }>('SELECT id FROM subscribers WHERE email_key = $1', [readers[5]])
    ).rows[0]!.id;
    const res = await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/subscribers/${hard}/lift-suppression`,
      headers: ctx.adminHeaders,
    });
    expect(res.statusCode, res.body).toBe(200);
  });

  it('the thresholds are configuration, checked at boot', async () => {
    const { loadConfig } = await import('../../src/config.js');
    expect(() => loadConfig({ COMPLAINT_ALERT_PERCENT: '0.5', COMPLAINT_PAUSE_PERCENT: '0.2' })).toThrow(
      /COMPLAINT_PAUSE_PERCENT: must not be below COMPLAINT_ALERT_PERCENT/,
    );
    expect(() => loadConfig({ COMPLAINT_PAUSE_PERCENT: '0' })).toThrow(/COMPLAINT_PAUSE_PERCENT/);
  });
});
