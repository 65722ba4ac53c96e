import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleAgent, consoleAgent, multipartBody } from '../helpers/console-agent.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { addReader } from '../helpers/digest-fixtures.js';

const ADMIN = { email: 'chief@almadar.example', password: 'correct horse battery 42' };
const EDITOR = { email: 'desk@almadar.example', password: 'another long passphrase 7' };

const CSV =
  '\uFEFFEmail Address;الاسم;اللغة\r\n' +
  'amal@example.org;"أمل; الكبيسي";ar\r\n' +
  'not-an-address;خالد;ar\r\n' +
  'AMAL@example.org;أمل مكررة;ar\r\n' +
  'known@example.org;قارئ قديم;ar\r\n' +
  'sami@example.org;سامي;en\r\n';

describe('import and export in the console', () => {
  let ctx: TestContext;
  let admin: ConsoleAgent;
  let editor: ConsoleAgent;

  beforeAll(async () => {
    ctx = await createTestContext({ env: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password } });
    await ctx.container.operators.create({ ...EDITOR, role: 'editor', createdBy: 'test' });
    admin = consoleAgent(ctx);
    await admin.signIn(ADMIN.email, ADMIN.password);
    editor = consoleAgent(ctx);
    await editor.signIn(EDITOR.email, EDITOR.password);
    await addReader(ctx, { email: 'known@example.org', language: 'ar' });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('previews an upload as an htmx fragment with the suggested mapping, and refuses one without the CSRF token', async () => {
    await editor.get('/admin/imports');
    const res = await editor.upload(
      '/admin/imports/preview',
      {},
      { name: 'list.csv', content: CSV },
      {
        'hx-request': 'true',
      },
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body.startsWith('<div id="import-preview">')).toBe(true);
    expect(res.body).not.toContain('<html');
    // the suggested mapping is selected, Arabic column names included
    expect(res.body).toMatch(
      /name="map_email"><option value="">[\s\S]*?<option value="Email Address" selected>/,
    );
    expect(res.body).toMatch(/name="map_name">[\s\S]*?<option value="الاسم" selected>/);
    expect(res.body).toContain('أمل; الكبيسي');
    expect(res.body).toContain('not-an-address');

    const m = multipartBody({ _csrf: 'forged' }, { name: 'list.csv', content: CSV });
    const forged = await editor.raw('POST', '/admin/imports/preview', m.body, {
      'content-type': m.contentType,
    });
    expect(forged.statusCode).toBe(403);
    // a body that is not the multipart it says it is: refused, not a crash
    const broken = await editor.raw('POST', '/admin/imports/preview', m.body, {
      'content-type': 'multipart/form-data; boundary=not-the-one',
    });
    expect(broken.statusCode).toBeGreaterThanOrEqual(400);
    expect(broken.statusCode).toBeLessThan(500);
  });

  it('a form without a token or with a forged one is refused before anything is stored', async () => {
    for (const fields of [{}, { _csrf: 'forged' }] as Array<Record<string, string>>) {
      const m = multipartBody(fields, { name: 'list.csv', content: CSV });
      const res = await admin.raw('POST', '/admin/imports', m.body, { 'content-type': m.contentType });
      expect(res.statusCode).toBe(403);
    }
    expect((await ctx.db.query('SELECT count(*)::int AS n FROM imports')).rows[0].n).toBe(0);
  });

  it('attested mode without the statement is shown as a problem, nothing stored', async () => {
    await admin.get('/admin/imports');
    const res = await admin.upload(
      '/admin/imports',
      { mode: 'attested', attestation: ' ' },
      { name: 'l.csv', content: CSV },
    );
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('class="error"');
    expect(res.body).toContain('attestation');
    expect((await ctx.db.query('SELECT count(*)::int AS n FROM imports')).rows[0].n).toBe(0);
  });

  it('imports with the chosen mapping and attestation, shows progress, the rejected rows and the report', async () => {
    await editor.get('/admin/imports');
    const res = await editor.upload(
      '/admin/imports',
      {
        map_email: 'Email Address',
        map_name: 'الاسم',
        map_language: 'اللغة',
        mode: 'attested',
        attestation: 'اشتركوا عبر نموذج الموقع بين ٢٠٢٠ و٢٠٢٤',
      },
      { name: 'قائمة.csv', content: CSV },
    );
    expect(res.statusCode, res.body).toBe(303);
    const id = /\/admin\/imports\/([0-9a-f-]{36})$/.exec(String(res.headers.location))?.[1];
    expect(id).toBeDefined();
    const page = await editor.get(`/admin/imports/${id}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('حُفظ الملف');
    await eventually(async () => (await ctx.container.imports.get(id!)).state === 'done', 60_000);
    const done = await editor.get(`/admin/imports/${id}/progress`);
    expect(done.body).not.toContain('hx-trigger');
    expect(done.body).toContain('اكتمل');
    expect(done.body).toContain('not-an-address');
    // the reasons in the operator's language (the API keeps its English sentence)
    const text = done.body.replace(/<\/?bdi>/g, '');
    expect(text).toContain('العنوان نفسه في الصف ١');
    expect(text).toContain('قارئ من قبل (مؤكَّد)');
    expect(done.body).not.toContain('same address as row');
    const imp = await ctx.container.imports.get(id!);
    expect(imp).toMatchObject({
      imported: 2,
      invalid: 1,
      duplicate: 2,
      operator: EDITOR.email,
      source: 'قائمة.csv',
    });
    const amal = (
      await ctx.db.query(`SELECT name, status FROM subscribers WHERE email_key = 'amal@example.org'`)
    ).rows[0];
    expect(amal).toEqual({ name: 'أمل; الكبيسي', status: 'confirmed' });
    const consent = await ctx.db.query(
      `SELECT c.consent_text FROM consent_events c JOIN subscribers s ON s.id = c.subscriber_id WHERE s.email_key = 'sami@example.org'`,
    );
    expect(consent.rows[0].consent_text).toBe('اشتركوا عبر نموذج الموقع بين ٢٠٢٠ و٢٠٢٤');

    const report = await editor.get(`/admin/imports/${id}/report.csv`);
    expect(report.headers['content-type']).toMatch(/^text\/csv/);
    const rows = parse(report.body, { columns: true }) as Array<Record<string, string>>;
    expect(rows.map((r) => r.outcome)).toEqual(['imported', 'invalid', 'duplicate', 'duplicate', 'imported']);
    const list = await editor.get('/admin/imports');
    expect(list.body).toContain(`/admin/imports/${id}`);
  });

  it('a running import is polled by htmx until it ends', async () => {
    const id = '00000000-0000-4000-8000-000000000017';
    await ctx.db.query(
      `INSERT INTO imports (id, state, mode, mapping, delimiter, operator, source, total_rows, cursor, created_at)
       VALUES ($1, 'running', 'confirm', '{"email":"email"}', ',', 'x', 'big.csv', 1000, 400, now())`,
      [id],
    );
    const res = await admin.get(`/admin/imports/${id}/progress`);
    expect(res.body).toContain(`hx-get="/admin/imports/${id}/progress" hx-trigger="every 2s"`);
    expect(res.body).toContain('<progress max="1000" value="400"');
    await ctx.db.query('DELETE FROM imports WHERE id = $1', [id]);
  });

  it('exports the filtered readers as CSV from the console', async () => {
    const res = await editor.get('/admin/imports/export.csv?status=confirmed&language=ar');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-disposition']).toContain('subscribers.csv');
    const rows = parse(res.body, { columns: true }) as Array<Record<string, string>>;
    expect(rows.map((r) => r.email).sort()).toEqual(['amal@example.org', 'known@example.org']);
    expect(rows.every((r) => r.status === 'confirmed' && r.language === 'ar')).toBe(true);
  });

  it('refuses an upload over IMPORT_MAX_BYTES with a clear problem, storing nothing', async () => {
    const big = `email\n${'x@example.org\n'.repeat(200)}`;
    const small = await createTestContext({
      workers: false,
      env: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, IMPORT_MAX_BYTES: '1024' },
    });
    try {
      const agent = consoleAgent(small);
      await agent.signIn(ADMIN.email, ADMIN.password);
      await agent.get('/admin/imports');
      const res = await agent.upload('/admin/imports', {}, { name: 'big.csv', content: big });
      expect(res.statusCode).toBe(400);
      expect(res.body).toMatch(/larger than|file size/i);
      const api = await small.app.inject({
        method: 'POST',
        url: '/api/v1/subscribers/import',
        headers: { ...small.adminHeaders, 'content-type': 'text/csv' },
        payload: big,
      });
      expect(api.statusCode).toBe(413);
      expect(api.json()).toMatchObject({
        error: expect.any(String),
        message: expect.stringContaining('IMPORT_MAX_BYTES'),
      });
      expect((await small.db.query('SELECT count(*)::int AS n FROM import_rows')).rows[0].n).toBe(0);
      expect((await small.db.query('SELECT count(*)::int AS n FROM imports')).rows[0].n).toBe(0);
    } finally {
      await small.close();
    }
  });
});
