import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCompileCount } from '../../src/render/index.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { addArticle, addReader, digests, ledger } from '../helpers/digest-fixtures.js';

/**
 * Each weekly reader on their own day, at their hour, in their zone, through the October DST
 * changes (Berlin 25 October, New York 1 November 2026); a reader who never chose a day follows
 * the publication's (Friday in the sample file). Readers due at the same instant with the same
 * stories share one edition, rendered once.
 */
describe('weekly digests on each reader day', () => {
  let ctx: TestContext;

  beforeAll(async () => {
    // Saturday 17 October 2026
    ctx = await createTestContext({ now: '2026-10-17T12:00:00Z', workers: false });
  });

  afterAll(async () => {
    await ctx?.close();
  });

  async function dueTimes(email: string): Promise<string[]> {
    const { rows } = await ctx.db.query<{ due_at: Date }>(
      `SELECT e.due_at FROM deliveries d JOIN editions e ON e.id = d.edition_id
       WHERE d.recipient = $1 ORDER BY e.due_at`,
      [email],
    );
    return rows.map((r) => r.due_at.toISOString());
  }

  it('sends on Tuesday, Sunday or the publication day, at the local hour across DST', async () => {
    const weekly = { frequency: 'weekly' as const, language: 'ar' as const, topics: ['politics'] };
    await addReader(ctx, {
      ...weekly,
      email: 'tue1@example.org',
      timezone: 'Europe/Berlin',
      sendHour: 8,
      weeklyDay: 2,
    });
    await addReader(ctx, {
      ...weekly,
      email: 'tue2@example.org',
      timezone: 'Europe/Berlin',
      sendHour: 8,
      weeklyDay: 2,
    });
    // 02:00 on 25 October happens twice in Berlin: the earlier one, once
    await addReader(ctx, {
      ...weekly,
      email: 'sun2@example.org',
      timezone: 'Europe/Berlin',
      sendHour: 2,
      weeklyDay: 0,
    });
    await addReader(ctx, {
      ...weekly,
      email: 'nysun@example.org',
      timezone: 'America/New_York',
      sendHour: 7,
      weeklyDay: 0,
    });
    await addReader(ctx, { ...weekly, email: 'default@example.org', timezone: 'Asia/Damascus', sendHour: 7 });
    const compiles = getCompileCount();

    let n = 0;
    const from = new Date('2026-10-17T12:00:00Z').getTime();
    const to = new Date('2026-11-04T00:00:00Z').getTime();
    for (let t = from; t <= to; t += 3600_000) {
      ctx.clock.set(new Date(t + 30_000));
      if (new Date(t).getUTCHours() % 12 === 0)
        await addArticle(ctx, { title: `خبر ${++n}`, language: 'ar', topics: ['politics'] });
      await digests(ctx).planner.plan();
    }

    const tuesdays = ['2026-10-20T06:00:00.000Z', '2026-10-27T07:00:00.000Z', '2026-11-03T07:00:00.000Z'];
    expect(await dueTimes('tue1@example.org')).toEqual(tuesdays);
    expect(await dueTimes('tue2@example.org')).toEqual(tuesdays);
    expect(await dueTimes('sun2@example.org')).toEqual([
      '2026-10-18T00:00:00.000Z',
      '2026-10-25T00:00:00.000Z', // 02:00 CEST, the first of the two
      '2026-11-01T01:00:00.000Z',
    ]);
    expect(await dueTimes('nysun@example.org')).toEqual([
      '2026-10-18T11:00:00.000Z',
      '2026-10-25T11:00:00.000Z',
      '2026-11-01T12:00:00.000Z', // New York fell back that night: 07:00 EST
    ]);
    // no day chosen: the publication's Friday (Damascus is UTC+3 all year)
    expect(await dueTimes('default@example.org')).toEqual([
      '2026-10-23T04:00:00.000Z',
      '2026-10-30T04:00:00.000Z',
    ]);

    const rows = await ledger(ctx);
    // the two Tuesday readers share each week's edition; nobody shares with another day
    const byEdition = new Map<string, string[]>();
    for (const r of rows) byEdition.set(r.edition_id, [...(byEdition.get(r.edition_id) ?? []), r.recipient]);
    const tuesdayEditions = [...byEdition.values()].filter((who) => who.includes('tue1@example.org'));
    expect(tuesdayEditions).toHaveLength(3);
    for (const who of tuesdayEditions) expect(who.sort()).toEqual(['tue1@example.org', 'tue2@example.org']);
    expect(byEdition.size).toBe(3 + 3 + 3 + 2);
    // one MJML compile per edition
    expect(getCompileCount() - compiles).toBe(byEdition.size);
    // a week's stories, no article twice to anyone
    for (const email of ['tue1@example.org', 'nysun@example.org', 'default@example.org']) {
      const ids = rows.filter((r) => r.recipient === email).flatMap((r) => r.article_ids);
      expect(new Set(ids).size).toBe(ids.length);
    }
  }, 120_000);

  it('refuses a day outside 0-6 in the database itself', async () => {
    await expect(
      ctx.db.query(
        `INSERT INTO subscribers (email, email_key, status, language, frequency, timezone, weekly_day)
         VALUES ('bad@example.org', 'bad@example.org', 'pending', 'ar', 'weekly', 'UTC', 7)`,
      ),
    ).rejects.toThrow(/weekly_day/);
  });
});
