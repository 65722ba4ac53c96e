import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';

const fixture = (name: string) => readFileSync(`test/fixtures/imports/${name}`);

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

async function upload(body: string | Buffer, query: Record<string, string> = {}) {
  const qs = new URLSearchParams(query).toString();
  return ctx.app.inject({
    method: 'POST',
    url: `/api/v1/subscribers/import${qs ? `?${qs}` : ''}`,
    headers: { ...ctx.adminHeaders, 'content-type': 'text/csv' },
    payload: body,
  });
}

async function importDone(id: string) {
  return eventually(async () => {
    const res = await ctx.app.inject({ url: `/api/v1/subscribers/imports/${id}`, headers: ctx.adminHeaders });
    const view = res.json();
    return view.state === 'done' || view.state === 'failed' ? view : undefined;
  }, 180_000);
}

async function report(id: string): Promise<Array<Record<string, string>>> {
  const res = await ctx.app.inject({
    url: `/api/v1/subscribers/imports/${id}/report`,
    headers: ctx.adminHeaders,
  });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/csv/);
  return parse(res.body, { columns: true });
}

async function runImport(body: string | Buffer, query: Record<string, string> = {}) {
  const res = await upload(body, query);
  expect(res.statusCode, res.body).toBe(202);
  const view = await importDone(res.json().id);
  return { view, rows: await report(view.id) };
}

const reader = async (email: string) =>
  (await ctx.db.query('SELECT * FROM subscribers WHERE email_key = lower($1)', [email])).rows[0];

describe('import preview', () => {
  it('reads a BOM, `;` separators, CRLF, quoted fields with separators and line breaks, Arabic names', async () => {
    const csv =
      '\uFEFFالبريد الإلكتروني;الاسم;اللغة\r\n' +
      'amal@example.org;"أمل; الكبيسي";ar\r\n' +
      'nadia@example.org;"Nadia ""Nana""\r\nYounes";en\r\n';
    const res = await upload(csv, { preview: 'true' });
    expect(res.statusCode, res.body).toBe(200);
    const p = res.json();
    expect(p.delimiter).toBe(';');
    expect(p.columns).toEqual(['البريد الإلكتروني', 'الاسم', 'اللغة']);
    expect(p.suggestedMapping).toEqual({ email: 'البريد الإلكتروني', name: 'الاسم', language: 'اللغة' });
    expect(p.rows.map((r: { cells: Record<string, string> }) => r.cells.الاسم)).toEqual([
      'أمل; الكبيسي',
      'Nadia "Nana"\r\nYounes',
    ]);
    // a line break is a control character in a name: the preview says the row would be refused
    expect(p.rows[1].outcome).toBe('invalid');
    expect(await counts()).toEqual({ imports: 0, rows: 0 });
  });

  it.each([
    [
      'mailchimp-members.csv',
      'mailchimp',
      { email: 'Email Address', firstName: 'First Name', lastName: 'Last Name' },
    ],
    ['listmonk-subscribers.csv', 'listmonk', { email: 'email', name: 'name', status: 'status' }],
    ['substack-email-list.csv', 'substack', { email: 'email', emailDisabled: 'email_disabled' }],
  ])('maps a %s export without editing', async (file, format, mapping) => {
    const p = (await upload(fixture(file), { preview: 'true' })).json();
    expect(p.format).toBe(format);
    expect(p.suggestedMapping).toMatchObject(mapping);
  });
});

async function counts() {
  const { rows } = await ctx.db.query(
    `SELECT (SELECT count(*) FROM imports)::int AS imports, (SELECT count(*) FROM import_rows)::int AS rows`,
  );
  return rows[0];
}

describe('the API document', () => {
  it('documents every import, export and data-rights endpoint, behind the admin token', async () => {
    const doc = (await ctx.app.inject('/docs/json')).json();
    const ops: Array<[string, string]> = [
      ['post', '/api/v1/subscribers/import'],
      ['get', '/api/v1/subscribers/imports/{id}'],
      ['get', '/api/v1/subscribers/imports/{id}/report'],
      ['get', '/api/v1/subscribers/export'],
      ['get', '/api/v1/subscribers/{id}/data'],
      ['delete', '/api/v1/subscribers/{id}'],
    ];
    for (const [method, path] of ops) {
      expect(doc.paths[path]?.[method]?.security, `${method} ${path}`).toEqual([{ adminToken: [] }]);
      const url = path.replace('{id}', '00000000-0000-4000-8000-000000000000');
      expect((await ctx.app.inject({ method: method.toUpperCase() as 'GET', url })).statusCode).toBe(401);
    }
    expect(doc.paths['/preferences/{token}/data']?.get).toBeDefined();
  });
});

describe('import from a browser form', () => {
  it('takes the file part of multipart/form-data', async () => {
    const boundary = 'gazette-test-boundary';
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="members.csv"\r\nContent-Type: text/csv\r\n\r\n`,
      ),
      fixture('mailchimp-members.csv'),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/subscribers/import?preview=true',
      headers: { ...ctx.adminHeaders, 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: body,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ format: 'mailchimp', rows: [{ row: 1 }, { row: 2 }, { row: 3 }] });
  });
});

describe('import', () => {
  it('refuses a file without an email column with a 400 and stores nothing', async () => {
    const before = await counts();
    const res = await upload('name,language\nLayla,ar\n');
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/no email column/);
    const bad = await upload('email\nx@example.org\n', { mapping: JSON.stringify({ email: 'E-mail' }) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/no column "E-mail"/);
    const unclosed = await upload('email,name\na@example.org,"open\nb@example.org,x\n');
    expect(unclosed.statusCode).toBe(400);
    expect(await counts()).toEqual(before);
    const attested = await upload('email\na@example.org\n', { mode: 'attested' });
    expect(attested.statusCode).toBe(400);
    expect(await counts()).toEqual(before);
  });

  it('attested Mailchimp import: confirmed readers, the attestation is their consent evidence', async () => {
    const attestation = 'Signed up on our website form 2025; double opt-in in Mailchimp';
    const { view, rows } = await runImport(fixture('mailchimp-members.csv'), {
      mode: 'attested',
      attestation,
      operator: 'editor@news.example',
    });
    expect(view.counts).toMatchObject({ imported: 3, invalid: 0, duplicate: 0 });
    expect(rows.map((r) => r.outcome)).toEqual(['imported', 'imported', 'imported']);
    const layla = await reader('layla.haddad@example.org');
    expect(layla).toMatchObject({ status: 'confirmed', name: 'ليلى حداد', timezone: 'Asia/Riyadh' });
    const { rows: events } = await ctx.db.query('SELECT * FROM consent_events WHERE subscriber_id = $1', [
      layla.id,
    ]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ event: 'confirmed', source: 'import', consent_text: attestation });
    expect(events[0].details).toMatchObject({
      mode: 'attested',
      operator: 'editor@news.example',
      originalConsentAt: '2025-03-02T08:20:11+00:00',
    });
    expect(ctx.sink.received.filter((m) => m.to.includes('layla.haddad@example.org'))).toHaveLength(0);
  });

  it('confirm-mode listmonk import: each new reader gets the double opt-in mail; blocklisted rows are skipped', async () => {
    const { view, rows } = await runImport(fixture('listmonk-subscribers.csv'));
    expect(view.counts).toMatchObject({ imported: 2, skipped: 1 });
    expect(view.mailed).toBe(2);
    expect(rows[2]).toMatchObject({ outcome: 'skipped', reason: 'status "blocklisted" in the file' });
    expect(await reader('blocked.reader@example.com')).toBeUndefined();
    const karim = await reader('karim.nasser@example.org');
    expect(karim).toMatchObject({ status: 'pending', name: 'كريم ناصر' });
    const { rows: events } = await ctx.db.query('SELECT * FROM consent_events WHERE subscriber_id = $1', [
      karim.id,
    ]);
    expect(events[0]).toMatchObject({ event: 'subscribe_requested', source: 'import' });
    expect(events[0].details.originalConsentAt).toBe('2024-11-03T10:12:44.519+00:00');
    const mails = await eventually(async () => {
      const m = ctx.sink.received.filter((x) => x.to.includes('karim.nasser@example.org'));
      return m.length ? m : undefined;
    });
    expect(mails).toHaveLength(1);
    const link = /https:\/\/news\.example\.test\/confirm\/[A-Za-z0-9_.-]+/.exec(
      mails[0]!.parsed.text ?? '',
    )?.[0];
    expect(link).toBeTruthy();
    const confirmed = await ctx.app.inject({ method: 'POST', url: new URL(link!).pathname });
    expect(confirmed.statusCode).toBe(200);
    expect((await reader('karim.nasser@example.org')).status).toBe('confirmed');
  });

  it('Substack import: readers whose email is disabled are skipped', async () => {
    const { view, rows } = await runImport(fixture('substack-email-list.csv'), {
      mode: 'attested',
      attestation: 'Free subscribers of our Substack',
    });
    expect(view.counts).toMatchObject({ imported: 2, skipped: 1 });
    expect(rows.map((r) => r.outcome)).toEqual(['imported', 'imported', 'skipped']);
    expect(await reader('quiet.reader@example.com')).toBeUndefined();
  });

  it('reports duplicates in the file and in the list, invalid addresses and bad fields per row', async () => {
    const csv = [
      'email,name,frequency,topics',
      'fresh.one@example.org,Fresh One,weekly,"culture, sport"',
      'FRESH.ONE@example.org,Fresh Again,,',
      'not-an-address,Someone,,',
      'layla.haddad@example.org,Layla,,',
      'odd.freq@example.org,Odd,hourly,',
      'odd.topic@example.org,Odd,,gardening',
      ',,,',
    ].join('\n');
    const { view, rows } = await runImport(csv, {
      mode: 'attested',
      attestation: 'Event sign-up sheet, May 2025',
    });
    expect(view.counts).toMatchObject({ imported: 1, duplicate: 2, invalid: 4 });
    expect(rows.map((r) => [r.row, r.outcome])).toEqual([
      ['1', 'imported'],
      ['2', 'duplicate'],
      ['3', 'invalid'],
      ['4', 'duplicate'],
      ['5', 'invalid'],
      ['6', 'invalid'],
      ['7', 'invalid'],
    ]);
    expect(rows[1]!.reason).toBe('same address as row 1');
    expect(rows[3]!.reason).toBe('already a reader (confirmed)');
    expect(rows[2]!.reason).toMatch(/not an email address/);
    expect(rows[5]!.reason).toBe('topics: unknown topic "gardening"');
    const fresh = await reader('fresh.one@example.org');
    expect(fresh).toMatchObject({ name: 'Fresh One', frequency: 'weekly', topics: ['culture', 'sport'] });
    // the existing reader was not touched
    expect((await reader('layla.haddad@example.org')).name).toBe('ليلى حداد');
  });

  it('imports 50,000 rows', async () => {
    const lines = ['email,name,language'];
    for (let i = 0; i < 50_000; i++) lines.push(`bulk${i}@example.net,قارئ ${i},${i % 2 ? 'ar' : 'en'}`);
    const started = Date.now();
    const { view, rows } = await runImport(`${lines.join('\r\n')}\r\n`, {
      mode: 'attested',
      attestation: 'Print subscribers who ticked the newsletter box',
    });
    expect(view).toMatchObject({ totalRows: 50_000, processedRows: 50_000 });
    expect(view.counts.imported).toBe(50_000);
    expect(rows).toHaveLength(50_000);
    const { rows: n } = await ctx.db.query(
      `SELECT count(*)::int AS n FROM subscribers WHERE email LIKE 'bulk%'`,
    );
    expect(n[0].n).toBe(50_000);
    console.log(`50k-row import: ${Date.now() - started} ms`);
  }, 240_000);
});

describe('export', () => {
  it('streams subscribers as CSV with filters, and the file imports back', async () => {
    const get = async (qs: string) => {
      const res = await ctx.app.inject({
        url: `/api/v1/subscribers/export?${qs}`,
        headers: ctx.adminHeaders,
      });
      expect(res.statusCode).toBe(200);
      return parse(res.body, { columns: true }) as Array<Record<string, string>>;
    };
    const pending = await get('status=pending');
    expect(pending.map((r) => r.email).sort()).toEqual(['noor.saleh@example.com']);
    const weekly = await get('frequency=weekly');
    expect(weekly.map((r) => r.email)).toEqual(['fresh.one@example.org']);
    const sport = await get('topic=sport&language=ar&frequency=weekly');
    expect(sport.map((r) => r.email)).toEqual(['fresh.one@example.org']);
    const ar = await get('language=ar&status=confirmed');
    expect(ar.every((r) => r.language === 'ar' && r.status === 'confirmed')).toBe(true);
    expect(ar.length).toBeGreaterThan(25_000);
    const back = await upload(
      'email,name,status,language,frequency,topics\nfresh.one@example.org,Fresh,confirmed,en,weekly,culture\n',
      { preview: 'true' },
    );
    expect(back.json().suggestedMapping).toMatchObject({
      email: 'email',
      status: 'status',
      topics: 'topics',
    });
  });

  it('escapes cells a spreadsheet would run as formulas', async () => {
    await runImport('email,name\nformula@example.org,=HYPERLINK("x")\n', {
      mode: 'attested',
      attestation: 'x',
    });
    const res = await ctx.app.inject({
      url: '/api/v1/subscribers/export?frequency=daily',
      headers: ctx.adminHeaders,
    });
    const row = (parse(res.body, { columns: true }) as Array<Record<string, string>>).find(
      (r) => r.email === 'formula@example.org',
    );
    expect(row?.name).toBe(`'=HYPERLINK("x")`);
  });
});
