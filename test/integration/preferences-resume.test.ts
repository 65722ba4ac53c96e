import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { addReader } from '../helpers/digest-fixtures.js';

/**
 * Saving preferences answers the re-permission mail, through the page and through the JSON API
 * alike: a paused reader is confirmed again, with the same `resumed` consent event.
 */
describe('a paused reader who saves preferences', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ workers: false });
  });
  afterAll(async () => ctx?.close());

  const statusOf = async (id: string) =>
    (await ctx.db.query('SELECT status FROM subscribers WHERE id = $1', [id])).rows[0].status as string;
  const resumedEvents = async (id: string) =>
    (
      await ctx.db.query(
        `SELECT source, consent_version, user_agent, details FROM consent_events
          WHERE subscriber_id = $1 AND event = 'resumed'`,
        [id],
      )
    ).rows;
  const answered = async (id: string) =>
    (await ctx.db.query('SELECT answered_by FROM repermissions WHERE subscriber_id = $1', [id])).rows;

  it('PATCH /api/v1/subscriptions/preferences/:token resumes them as the page does', async () => {
    const id = await addReader(ctx, {
      email: 'paused-api@example.com',
      status: 'paused',
      confirmedAt: '2025-01-01T00:00:00Z',
    });
    const token = ctx.container.tokens.preferences(id);
    const res = await ctx.app.inject({
      method: 'PATCH',
      url: `/api/v1/subscriptions/preferences/${token}`,
      headers: { 'content-type': 'application/json', 'user-agent': 'Publisher Site/2.0' },
      payload: { frequency: 'weekly' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'confirmed', frequency: 'weekly' });
    expect(await statusOf(id)).toBe('confirmed');
    expect(await resumedEvents(id)).toEqual([
      {
        source: 'preferences-api',
        consent_version: ctx.publication.consent.version,
        user_agent: 'Publisher Site/2.0',
        details: { by: 'reader', previousStatus: 'paused' },
      },
    ]);
    expect(await answered(id)).toEqual([{ answered_by: 'reader' }]);

    // saved again: nothing more to resume, no second event
    const again = await ctx.app.inject({
      method: 'PATCH',
      url: `/api/v1/subscriptions/preferences/${token}`,
      headers: { 'content-type': 'application/json' },
      payload: { frequency: 'daily' },
    });
    expect(again.json().status).toBe('confirmed');
    expect(await resumedEvents(id)).toHaveLength(1);
  });

  it('a confirmed reader saving through the API is not given a resumed event', async () => {
    const id = await addReader(ctx, { email: 'confirmed-api@example.com' });
    const res = await ctx.app.inject({
      method: 'PATCH',
      url: `/api/v1/subscriptions/preferences/${ctx.container.tokens.preferences(id)}`,
      headers: { 'content-type': 'application/json' },
      payload: { alerts: true },
    });
    expect(res.statusCode).toBe(200);
    expect(await resumedEvents(id)).toEqual([]);
    expect(await answered(id)).toEqual([]);
  });
});
