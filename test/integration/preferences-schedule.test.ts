import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../helpers/context.js';

describe('preference changes and the digest schedule', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ workers: false });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  async function reader() {
    const { rows } = await ctx.db.query(
      `INSERT INTO subscribers (email, email_key, status, language, topics, frequency, timezone, send_hour, confirmed_at, next_digest_at)
       VALUES ('p@example.com', 'p@example.com', 'confirmed', 'ar', '{politics}', 'daily', 'Asia/Damascus', 7, now(),
               '2026-11-30T04:00:00Z') RETURNING id`,
    );
    return rows[0].id as string;
  }
  const slot = async (id: string) =>
    (await ctx.db.query('SELECT next_digest_at FROM subscribers WHERE id = $1', [id])).rows[0].next_digest_at;
  const meta = { source: 'preferences', ip: '127.0.0.1', userAgent: 'test' };

  it('keeps the slot when only topics change, and drops it when the hour, zone or frequency changes', async () => {
    const id = await reader();
    const token = ctx.container.tokens.preferences(id);
    const base = {
      topics: ['politics', 'economy'],
      frequency: 'daily',
      language: 'ar',
      timezone: 'Asia/Damascus',
      sendHour: '7',
    };
    await ctx.container.subscriptions.updatePreferences(token, base, meta);
    expect(await slot(id)).toEqual(new Date('2026-11-30T04:00:00Z'));

    await ctx.container.subscriptions.updatePreferences(token, { ...base, sendHour: '18' }, meta);
    expect(await slot(id)).toBeNull();

    await ctx.db.query("UPDATE subscribers SET next_digest_at = '2026-11-30T15:00:00Z' WHERE id = $1", [id]);
    await ctx.container.subscriptions.updatePreferences(
      token,
      { ...base, sendHour: '18', frequency: 'weekly' },
      meta,
    );
    expect(await slot(id)).toBeNull();
  });
});
