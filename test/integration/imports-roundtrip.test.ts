import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';

/**
 * The export says it imports back as it is: readers exported from one Gazette and imported into a
 * fresh one come back field by field (hour, weekly day, alerts included), and values the importer
 * cannot take are reported per row, never stored in part.
 */
let source: TestContext;
let target: TestContext;
beforeAll(async () => {
  [source, target] = await Promise.all([createTestContext(), createTestContext()]);
});
afterAll(async () => {
  await Promise.all([source?.close(), target?.close()]);
});

async function runImport(ctx: TestContext, body: string) {
  const res = await ctx.app.inject({
    method: 'POST',
    url: '/api/v1/subscribers/import?mode=attested&attestation=signed%20up%20on%20our%20site',
    headers: { ...ctx.adminHeaders, 'content-type': 'text/csv' },
    payload: body,
  });
  expect(res.statusCode, res.body).toBe(202);
  const id = res.json().id as string;
  const view = await eventually(async () => {
    const v = (
      await ctx.app.inject({ url: `/api/v1/subscribers/imports/${id}`, headers: ctx.adminHeaders })
    ).json();
    return v.state === 'done' || v.state === 'failed' ? v : undefined;
  }, 60_000);
  const report = await ctx.app.inject({
    url: `/api/v1/subscribers/imports/${id}/report`,
    headers: ctx.adminHeaders,
  });
  return { view, rows: parse(report.body, { columns: true }) as Array<Record<string, string>> };
}

const FIELDS = `email, name, status, language, frequency, topics, alerts, timezone, send_hour, weekly_day`;
const readers = async (ctx: TestContext) =>
  (await ctx.db.query(`SELECT ${FIELDS} FROM subscribers ORDER BY email`)).rows;

// each reader differs from the defaults (hour 7, the publication's Friday, no alerts) in some way
const PREFS: Record<string, Record<string, unknown>> = {
  'amal@example.org': {
    language: 'ar',
    frequency: 'weekly',
    topics: ['culture', 'sport'],
    alerts: true,
    timezone: 'Asia/Riyadh',
    sendHour: 6,
    weeklyDay: 2,
  },
  'sami@example.org': {
    language: 'en',
    frequency: 'weekly',
    topics: [],
    alerts: false,
    timezone: 'Europe/London',
    sendHour: 21,
    weeklyDay: 6,
  },
  // a name a spreadsheet would run as a formula: the export escapes it, the import takes it back
  'huda@example.org': {
    language: 'ar',
    frequency: 'daily',
    topics: ['economy'],
    alerts: true,
    timezone: 'America/New_York',
    sendHour: 0,
  },
  'omar@example.org': {
    language: 'en',
    frequency: 'immediate',
    alerts: false,
    timezone: 'Asia/Damascus',
    sendHour: 23,
    weeklyDay: 0,
  },
};

describe('export → import round trip', () => {
  it('brings every reader back field by field: hour, weekly day and alerts included', async () => {
    const seeded = await runImport(
      source,
      'email,name\n' +
        'amal@example.org,أمل الكبيسي\n' +
        'sami@example.org,"Sami ""the editor"", Haddad"\n' +
        'huda@example.org,-Huda\n' +
        'omar@example.org,\n' +
        'left@example.org,Left Reader\n',
    );
    expect(seeded.view.counts.imported).toBe(5);
    const ids = Object.fromEntries(
      (await source.db.query('SELECT id, email FROM subscribers')).rows.map((r) => [r.email, r.id]),
    );
    for (const [email, prefs] of Object.entries(PREFS)) {
      const res = await source.app.inject({
        method: 'PATCH',
        url: `/api/v1/subscriptions/preferences/${source.container.tokens.preferences(ids[email])}`,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify(prefs),
      });
      expect(res.statusCode, res.body).toBe(200);
    }
    const left = await source.app.inject({
      method: 'POST',
      url: `/unsubscribe/${source.container.tokens.unsubscribe(ids['left@example.org'])}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(left.statusCode).toBe(200);
    // a reader who asked but never confirmed: an attested import must not make them confirmed
    const asked = await source.app.inject({
      method: 'POST',
      url: '/api/v1/subscriptions',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ email: 'asked@example.org', language: 'ar' }),
    });
    expect(asked.statusCode, asked.body).toBe(202);

    const exported = await source.app.inject({
      url: '/api/v1/subscribers/export',
      headers: source.adminHeaders,
    });
    expect(exported.statusCode).toBe(200);
    const lines = parse(exported.body, { columns: true }) as Array<Record<string, string>>;
    const day = Object.fromEntries(lines.map((l) => [l.email, l.weekly_day]));
    expect(day).toEqual({
      'amal@example.org': 'tuesday',
      'sami@example.org': 'saturday',
      'huda@example.org': '',
      'omar@example.org': 'sunday',
      'left@example.org': '',
      'asked@example.org': '',
    });
    expect(lines.find((l) => l.email === 'huda@example.org')?.name).toBe("'-Huda");

    const back = await runImport(target, exported.body);
    expect(back.view).toMatchObject({
      state: 'done',
      totalRows: 6,
      counts: { imported: 4, invalid: 0, skipped: 2 },
    });
    expect(back.rows.find((r) => r.email === 'asked@example.org')).toMatchObject({
      outcome: 'skipped',
      reason: 'status "pending" in the file: never confirmed; import it in confirm mode to ask',
    });
    expect(back.rows.find((r) => r.email === 'left@example.org')).toMatchObject({
      outcome: 'skipped',
      reason: 'status "unsubscribed" in the file',
    });

    const want = (await readers(source)).filter((r) => r.status === 'confirmed');
    expect(want.map((r) => r.email)).toEqual([
      'amal@example.org',
      'huda@example.org',
      'omar@example.org',
      'sami@example.org',
    ]);
    expect(want.find((r) => r.email === 'huda@example.org')).toMatchObject({
      name: '-Huda',
      send_hour: 0,
      weekly_day: null,
      alerts: true,
    });
    expect(await readers(target)).toEqual(want);
  }, 120_000);

  it('reads hours, day names in English and Arabic, and alerts; refuses bad values per row, storing nothing of them', async () => {
    const { view, rows } = await runImport(
      target,
      'email,ساعة الإرسال,يوم الأسبوع,alerts\n' +
        'friday.ar@example.org,9,الجمعة,نعم\n' +
        'monday.en@example.org,09,Monday,false\n' +
        'digit.day@example.org,,4,TRUE\n' +
        'late@example.org,25,friday,true\n' +
        'someday@example.org,8,someday,true\n' +
        'maybe@example.org,8,3,maybe\n',
    );
    expect(view.counts).toMatchObject({ imported: 3, invalid: 3 });
    expect(rows.filter((r) => r.outcome === 'invalid').map((r) => [r.email, r.reason])).toEqual([
      ['late@example.org', 'send_hour must be 0-23, got 25'],
      [
        'someday@example.org',
        'weekly_day must be a day name (sunday … saturday, الأحد … السبت) or 0-6, got someday',
      ],
      ['maybe@example.org', 'alerts must be true or false, got maybe'],
    ]);
    const got = (
      await target.db.query(
        `SELECT email, send_hour, weekly_day, alerts FROM subscribers
          WHERE email = ANY($1) ORDER BY email`,
        [rows.map((r) => r.email)],
      )
    ).rows;
    expect(got).toEqual([
      { email: 'digit.day@example.org', send_hour: 7, weekly_day: 4, alerts: true },
      { email: 'friday.ar@example.org', send_hour: 9, weekly_day: 5, alerts: true },
      { email: 'monday.en@example.org', send_hour: 9, weekly_day: 1, alerts: false },
    ]);
  }, 120_000);
});
