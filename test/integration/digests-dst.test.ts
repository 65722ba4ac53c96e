import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { addArticle, addReader, digests, ledger } from '../helpers/digest-fixtures.js';

/**
 * The planner through DST changes (one digest per local day: the spring-forward day is not
 * skipped, the fall-back day not doubled, a send hour inside the skipped hour still sends), and
 * expiry of slots and editions too old to send.
 */
describe('digests across DST changes and expiry', () => {
  let ctx: TestContext;

  beforeAll(async () => {
    ctx = await createTestContext({ now: '2026-03-27T12:00:00Z', workers: false });
  });

  afterAll(async () => {
    await ctx?.close();
  });

  /** Moves the clock in steps, publishing an article every 6 hours and planning at every step. */
  async function run(from: string, to: string, stepMinutes: number, tag: string): Promise<void> {
    let n = 0;
    for (let t = new Date(from).getTime(); t <= new Date(to).getTime(); t += stepMinutes * 60_000) {
      ctx.clock.set(new Date(t + 30_000));
      if (new Date(t).getUTCMinutes() === 0 && new Date(t).getUTCHours() % 6 === 0) {
        await addArticle(ctx, { title: `${tag} story ${++n}`, topics: ['politics'] });
      }
      await digests(ctx).planner.plan();
    }
  }

  async function dueTimes(email: string): Promise<string[]> {
    const { rows } = await ctx.db.query<{ due_at: Date }>(
      `SELECT e.due_at FROM deliveries d JOIN editions e ON e.id = d.edition_id
       WHERE d.recipient = $1 ORDER BY e.due_at`,
      [email],
    );
    return rows.map((r) => r.due_at.toISOString());
  }

  it('spring forward: Berlin 07:00 and 02:00 (inside the skipped hour), New York 07:00', async () => {
    await addReader(ctx, {
      email: 'berlin7@example.org',
      timezone: 'Europe/Berlin',
      sendHour: 7,
      topics: ['politics'],
    });
    await addReader(ctx, {
      email: 'berlin2@example.org',
      timezone: 'Europe/Berlin',
      sendHour: 2,
      topics: ['politics'],
    });
    await addReader(ctx, {
      email: 'ny7@example.org',
      timezone: 'America/New_York',
      sendHour: 7,
      topics: ['politics'],
    });
    await run('2026-03-27T12:00:00Z', '2026-03-31T00:00:00Z', 30, 'spring');
    expect(await dueTimes('berlin7@example.org')).toEqual([
      '2026-03-28T06:00:00.000Z',
      '2026-03-29T05:00:00.000Z',
      '2026-03-30T05:00:00.000Z',
    ]);
    expect(await dueTimes('berlin2@example.org')).toEqual([
      '2026-03-28T01:00:00.000Z',
      '2026-03-29T01:00:00.000Z', // 02:00 never happened: sent at 03:00 CEST
      '2026-03-30T00:00:00.000Z',
      '2026-03-31T00:00:00.000Z',
    ]);
    expect(await dueTimes('ny7@example.org')).toEqual([
      '2026-03-28T11:00:00.000Z', // New York is already on EDT since 8 March
      '2026-03-29T11:00:00.000Z',
      '2026-03-30T11:00:00.000Z',
    ]);
    // each day's digest carried only that day's new stories: no article reached a reader twice
    const rows = (await ledger(ctx)).filter((r) => r.recipient === 'berlin2@example.org');
    const all = rows.flatMap((r) => r.article_ids);
    expect(new Set(all).size).toBe(all.length);
  });

  it('fall back: Berlin 02:00 happens twice on 25 October, the digest goes once', async () => {
    ctx.clock.set('2026-10-23T12:00:00Z');
    await addReader(ctx, {
      email: 'berlin2-autumn@example.org',
      timezone: 'Europe/Berlin',
      sendHour: 2,
      topics: ['politics'],
      confirmedAt: '2026-10-20T00:00:00Z',
    });
    await addReader(ctx, {
      email: 'ny1-autumn@example.org',
      timezone: 'America/New_York',
      sendHour: 1,
      topics: ['politics'],
      confirmedAt: '2026-10-20T00:00:00Z',
    });
    await run('2026-10-23T12:00:00Z', '2026-11-02T12:00:00Z', 60, 'autumn');
    const berlin = await dueTimes('berlin2-autumn@example.org');
    expect(berlin.slice(0, 3)).toEqual([
      '2026-10-24T00:00:00.000Z',
      '2026-10-25T00:00:00.000Z', // the first 02:00; nothing at 01:00Z, the second one
      '2026-10-26T01:00:00.000Z',
    ]);
    expect(berlin).toHaveLength(10); // 24 Oct .. 2 Nov, one a day
    const ny = await dueTimes('ny1-autumn@example.org');
    expect(ny).toContain('2026-11-01T05:00:00.000Z');
    expect(ny).not.toContain('2026-11-01T06:00:00.000Z');
    expect(ny.filter((t) => t.startsWith('2026-11-01'))).toHaveLength(1);
  });

  it('a slot too old to start is skipped and counted, not sent late; a later one inside the limit is sent', async () => {
    ctx.clock.set('2026-12-01T00:00:00Z');
    await addReader(ctx, { email: 'seven@example.org', sendHour: 7, confirmedAt: '2026-11-25T00:00:00Z' });
    await addReader(ctx, { email: 'eight@example.org', sendHour: 8, confirmedAt: '2026-11-25T00:00:00Z' });
    await digests(ctx).planner.plan();
    await addArticle(ctx, { title: 'Overnight news', at: '2026-12-01T03:00:00Z' });
    // the planner was down from 06:00 to 13:30: 07:00 is 6.5 h old (limit 6 h), 08:00 is 5.5 h old
    ctx.clock.set('2026-12-01T13:30:00Z');
    const r = await digests(ctx).planner.plan();
    expect(r.expired).toBeGreaterThanOrEqual(1);
    const rows = (await ledger(ctx)).filter((x) =>
      ['seven@example.org', 'eight@example.org'].includes(x.recipient),
    );
    expect(rows.map((x) => x.recipient)).toEqual(['eight@example.org']);
    const { rows: seven } = await ctx.db.query<{ next_digest_at: Date }>(
      `SELECT next_digest_at FROM subscribers WHERE email = 'seven@example.org'`,
    );
    expect(seven[0]!.next_digest_at.toISOString()).toBe('2026-12-02T07:00:00.000Z');
    const metrics = await ctx.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/gazette_digest_slots_expired_total \d+/);
    expect(Number(/gazette_digest_slots_expired_total (\d+)/.exec(metrics.body)![1])).toBeGreaterThanOrEqual(
      1,
    );
  });

  it('an edition paused past the age limit expires on resume instead of going out late', async () => {
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/digests/send',
      headers: ctx.adminHeaders,
      payload: { lookbackHours: 48 },
    });
    expect(res.statusCode).toBe(202);
    const id = res.json().editions[0].id as string;
    await digests(ctx).operator.buildRun(id); // no workers in this file: fan out here
    const paused = await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/editions/${id}/pause`,
      headers: ctx.adminHeaders,
    });
    expect(paused.json().state).toBe('paused');
    ctx.clock.advance(7 * 3600_000);
    const resumed = await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/editions/${id}/resume`,
      headers: ctx.adminHeaders,
    });
    expect(resumed.statusCode).toBe(200);
    expect(resumed.json().state).toBe('expired');
    expect(resumed.json().counts.pending).toBe(0);
    expect(resumed.json().counts.cancelled).toBe(resumed.json().counts.planned);
    expect(resumed.json().counts.planned).toBeGreaterThan(0);
  });
});
