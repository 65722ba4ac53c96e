import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../helpers/context.js';

const JSON_HEADERS = { 'content-type': 'application/json' };
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/**
 * The weekly day as a reader chooses it: the JSON API, the hosted form and the preference centre
 * store it (or refuse it, naming the field, storing nothing), the operators' API shows it, and a
 * new day takes effect from the planner's next tick.
 */
describe("a weekly reader's own day", () => {
  let ctx: TestContext;
  beforeAll(async () => {
    // Sunday 29 November 2026
    ctx = await createTestContext({
      now: '2026-11-29T13:00:00Z',
      workers: false,
      env: { FORM_MIN_SUBMIT_SECONDS: '0', RATE_LIMIT_MAX: '100000' },
    });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  const row = async (email: string) =>
    (await ctx.db.query('SELECT * FROM subscribers WHERE email_key = $1', [email])).rows[0];
  const api = (body: Record<string, unknown>) =>
    ctx.app.inject({
      method: 'POST',
      url: '/api/v1/subscriptions',
      headers: JSON_HEADERS,
      payload: JSON.stringify(body),
    });

  it('the JSON API stores the day, and omitted it follows the publication', async () => {
    expect((await api({ email: 'tue@example.org', frequency: 'weekly', weeklyDay: 2 })).statusCode).toBe(202);
    expect((await api({ email: 'nodays@example.org', frequency: 'weekly' })).statusCode).toBe(202);
    const tue = await row('tue@example.org');
    expect(tue.weekly_day).toBe(2);
    expect((await row('nodays@example.org')).weekly_day).toBeNull();
    const consent = await ctx.db.query(`SELECT details FROM consent_events WHERE subscriber_id = $1`, [
      tue.id,
    ]);
    expect(consent.rows[0].details.weeklyDay).toBe(2);

    const view = await ctx.app.inject({ url: `/api/v1/subscribers/${tue.id}`, headers: ctx.adminHeaders });
    expect(view.statusCode).toBe(200);
    expect(view.json().weeklyDay).toBe(2);
  });

  it.each([7, -1, 2.5, 'Tuesday'])(
    'the JSON API refuses weeklyDay %j, naming it, storing nothing',
    async (day) => {
      const email = `bad-${String(day).replace(/\W/g, '')}@example.org`;
      const res = await api({ email, frequency: 'weekly', weeklyDay: day });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: 'GZ_VALIDATION', field: 'weeklyDay' });
      expect(await row(email)).toBeUndefined();
    },
  );

  async function rendered(lang: string): Promise<string> {
    const page = await ctx.app.inject(`/subscribe?lang=${lang}`);
    return /name="rendered" value="([^"]+)"/.exec(page.body)![1]!;
  }

  it('the hosted form offers the days in the local order, the publication day chosen, and stores the pick', async () => {
    const ar = (await ctx.app.inject('/subscribe?lang=ar')).body;
    const select = /<select id="weeklyDay"[\s\S]*?<\/select>/.exec(ar)![0];
    const options = [...select.matchAll(/<option value="(\d)"( selected)?>([^<]+)</g)];
    // ar-SY: the week starts on Saturday; the sample publication's weekly day is Friday
    expect(options.map((o) => o[1])).toEqual(['6', '0', '1', '2', '3', '4', '5']);
    expect(options.map((o) => o[3])).toEqual([
      'السبت',
      'الأحد',
      'الاثنين',
      'الثلاثاء',
      'الأربعاء',
      'الخميس',
      'الجمعة',
    ]);
    expect(options.filter((o) => o[2]).map((o) => o[1])).toEqual(['5']);
    const en = (await ctx.app.inject('/subscribe?lang=en')).body;
    const enDays = [
      .../<select id="weeklyDay"[\s\S]*?<\/select>/
        .exec(en)![0]
        .matchAll(/<option value="(\d)"[^>]*>([^<]+)</g),
    ];
    // en-GB: from Monday
    expect(enDays.map((o) => o[2])).toEqual([
      'Monday',
      'Tuesday',
      'Wednesday',
      'Thursday',
      'Friday',
      'Saturday',
      'Sunday',
    ]);

    const post = (fields: Record<string, string>) =>
      ctx.app.inject({
        method: 'POST',
        url: '/subscribe?lang=ar',
        headers: FORM,
        payload: new URLSearchParams(fields).toString(),
      });
    const ok = await post({
      language: 'ar',
      email: 'form-wed@example.org',
      topicsMode: 'all',
      frequency: 'weekly',
      weeklyDay: '3',
      rendered: await rendered('ar'),
    });
    expect(ok.statusCode).toBe(303);
    expect((await row('form-wed@example.org')).weekly_day).toBe(3);

    const bad = await post({
      language: 'ar',
      email: 'form-bad@example.org',
      topicsMode: 'all',
      frequency: 'weekly',
      weeklyDay: '8',
      rendered: await rendered('ar'),
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('اختر يوماً من أيام الأسبوع للنشرة الأسبوعية.');
    expect(bad.body).toMatch(/<select id="weeklyDay"[^>]*aria-invalid="true"/);
    expect(await row('form-bad@example.org')).toBeUndefined();
  });

  it('the preference centre changes the day, and the planner moves the reader to it', async () => {
    const { id } = await row('tue@example.org');
    await ctx.db.query(`UPDATE subscribers SET status = 'confirmed', confirmed_at = $2 WHERE id = $1`, [
      id,
      '2026-11-28T00:00:00Z',
    ]);
    await ctx.container.digests.planner.plan();
    // Tuesday 1 December, 07:00 in Damascus (UTC+3)
    expect((await row('tue@example.org')).next_digest_at).toEqual(new Date('2026-12-01T04:00:00Z'));

    const url = `/preferences/${ctx.container.tokens.preferences(id)}`;
    const page = (await ctx.app.inject(url)).body;
    expect(page).toMatch(/<option value="2" selected>الثلاثاء</);
    const save = (weeklyDay: string) =>
      ctx.app.inject({
        method: 'POST',
        url,
        headers: FORM,
        payload: new URLSearchParams({
          topicsMode: 'all',
          frequency: 'weekly',
          language: 'ar',
          timezone: 'Asia/Damascus',
          sendHour: '7',
          weeklyDay,
        }).toString(),
      });
    const refused = await save('9');
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('اختر يوماً من أيام الأسبوع');
    expect((await row('tue@example.org')).weekly_day).toBe(2);

    expect((await save('6')).statusCode).toBe(303);
    const saved = await row('tue@example.org');
    expect(saved.weekly_day).toBe(6);
    expect(saved.next_digest_at).toBeNull(); // the old Tuesday slot is dropped
    await ctx.container.digests.planner.plan();
    // Saturday 5 December, 07:00 in Damascus
    expect((await row('tue@example.org')).next_digest_at).toEqual(new Date('2026-12-05T04:00:00Z'));
  });
});
