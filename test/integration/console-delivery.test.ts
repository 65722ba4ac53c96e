import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertBounceEvent } from '../../src/bounces/bounce-store.js';
import { appendConsent } from '../../src/subscriptions/subscriber-store.js';
import { type ConsoleAgent, consoleAgent } from '../helpers/console-agent.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { seedEdition } from '../helpers/delivery-fixtures.js';
import { addReader } from '../helpers/digest-fixtures.js';

const ADMIN = { email: 'chief@almadar.example', password: 'correct horse battery 42' };
const EDITOR = { email: 'desk@almadar.example', password: 'another long passphrase 7' };

describe('delivery figures and controls in the console', () => {
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
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('shows bounced, complained and auto-replied counts on the editions list and the edition page', async () => {
    const e = await seedEdition(ctx, { readers: 5, batchSize: 10, language: 'ar' });
    const quiet = await seedEdition(ctx, { readers: 2, batchSize: 10, language: 'en' });
    const rows = (
      await ctx.db.query(
        'SELECT id, subscriber_id, recipient FROM deliveries WHERE edition_id = $1 ORDER BY id',
        [e.editionId],
      )
    ).rows;
    const classes = ['hard', 'hard', 'soft', 'complaint', 'auto-reply'] as const;
    let n = 0;
    for (const [i, cls] of classes.entries()) {
      const d = rows[i === 1 ? 0 : i]; // two reports about the first row count as one bounce
      await insertBounceEvent(ctx.db, {
        source: 'inbound',
        eventId: `e-${n++}`,
        class: cls,
        rule: null,
        recipient: d.recipient,
        subscriberId: d.subscriber_id,
        deliveryId: Number(d.id),
        editionId: e.editionId,
        messageId: null,
        status: null,
        diagnostic: null,
        raw: null,
        occurredAt: new Date(),
        receivedAt: new Date(),
      });
    }
    await admin.get('/admin/editions?language=en');
    const list = await admin.get('/admin/editions');
    expect(list.statusCode).toBe(200);
    const row = (id: string) =>
      new RegExp(`/admin/editions/${id}"[\\s\\S]*?</tr>`).exec(list.body)?.[0] ?? '';
    const cells = (html: string) =>
      [...html.matchAll(/<td data-label="([^"]+)"[^>]*>([^<]*)<\/td>/g)].map((m) => [m[1], m[2]]);
    expect(cells(row(e.editionId))).toEqual(
      expect.arrayContaining([
        ['ارتدّ', '٢'],
        ['شكاوى', '١'],
        ['ردود آلية', '١'],
      ]),
    );
    expect(cells(row(quiet.editionId))).toEqual(expect.arrayContaining([['ارتدّ', '٠']]));
    const page = await admin.get(`/admin/editions/${e.editionId}`);
    expect(page.body).toMatch(/<dt>ارتدّ<\/dt><dd>٢<\/dd>/);
    expect(page.body).toMatch(/<dt>شكاوى<\/dt><dd>١<\/dd>/);
    expect(page.body).toMatch(/<dt>ردود آلية<\/dt><dd>١<\/dd>/);
  });

  it('filters readers by status with the suppression reason shown, and by source (form, API, an import)', async () => {
    const form = await addReader(ctx, { email: 'from-form@source.example' });
    const api = await addReader(ctx, { email: 'from-api@source.example' });
    for (const [id, email, source] of [
      [form, 'from-form@source.example', 'form'],
      [api, 'from-api@source.example', 'api'],
    ] as const)
      await appendConsent(ctx.db, {
        subscriberId: id,
        email,
        event: 'subscribe_requested',
        source,
        at: new Date(),
      });
    // a later event from another source does not change where the reader came from
    await appendConsent(ctx.db, {
      subscriberId: form,
      email: 'from-form@source.example',
      event: 'confirmed',
      source: 'api',
      at: new Date(),
    });
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/subscribers/import?mode=attested&attestation=signed%20up%20in%20print',
      headers: { ...ctx.adminHeaders, 'content-type': 'text/csv' },
      payload: 'email\nfrom-import@source.example\nfrom-import2@source.example\n',
    });
    const importId = res.json().id as string;
    await eventually(async () => (await ctx.container.imports.get(importId)).state === 'done');
    await ctx.container.subscriptions.suppress(api, 'complaint via postmark', {
      source: 'operator',
      ip: null,
      userAgent: null,
    });

    const emails = (body: string) =>
      [
        ...body.matchAll(
          /<a href="\/admin\/subscribers\/[0-9a-f-]+"><bdi class="ltr" dir="ltr">([^<]+)<\/bdi>/g,
        ),
      ]
        .map((m) => m[1])
        .sort();
    expect(emails((await editor.get('/admin/subscribers?q=source.example&source=form')).body)).toEqual([
      'from-form@source.example',
    ]);
    expect(emails((await editor.get('/admin/subscribers?q=source.example&source=api')).body)).toEqual([
      'from-api@source.example',
    ]);
    expect(emails((await editor.get(`/admin/subscribers?source=${importId}`)).body)).toEqual([
      'from-import2@source.example',
      'from-import@source.example',
    ]);
    expect(emails((await editor.get('/admin/subscribers?q=source.example&source=import')).body)).toHaveLength(
      2,
    );
    const suppressed = await editor.get('/admin/subscribers?q=source.example&status=suppressed');
    expect(emails(suppressed.body)).toEqual(['from-api@source.example']);
    expect(suppressed.body).toContain('complaint via postmark');
    const viaApi = await ctx.app.inject({
      url: `/api/v1/subscribers/search?source=${importId}`,
      headers: ctx.adminHeaders,
    });
    expect(viaApi.json().total).toBe(2);
  });

  it('lets an admin pause all sending with a reason shown on the dashboard, and resume; editors may not', async () => {
    await editor.get('/admin');
    expect((await editor.post('/admin/sending/pause', { reason: 'wrong list' })).statusCode).toBe(403);
    expect((await ctx.container.sendingPause.status()).paused).toBe(false);

    const before = await admin.get('/admin');
    expect(before.body).toContain('action="/admin/sending/pause"');
    expect((await admin.postWithoutToken('/admin/sending/pause', { reason: 'x y z' })).statusCode).toBe(403);
    const short = await admin.post('/admin/sending/pause', { reason: 'x' });
    expect(short.statusCode).toBe(303);
    expect((await ctx.container.sendingPause.status()).paused).toBe(false);
    await admin.get('/admin');
    const paused = await admin.post('/admin/sending/pause', { reason: 'خطأ في قائمة الليلة' });
    expect(paused.statusCode).toBe(303);
    const status = await ctx.container.sendingPause.status();
    expect(status).toMatchObject({ paused: true, queues: { send: true, alerts: true } });
    expect(status.reason).toContain('خطأ في قائمة الليلة');
    expect(status.reason).toContain(ADMIN.email);
    const dash = await admin.get('/admin');
    expect(dash.body).toContain('أُوقف كل الإرسال الجماعي.');
    expect(dash.body).toContain('الإرسال موقوف: خطأ في قائمة الليلة');
    expect(dash.body).toContain('action="/admin/sending/resume"');
    const seenByEditor = await editor.get('/admin');
    expect(seenByEditor.body).toContain('خطأ في قائمة الليلة');
    expect(seenByEditor.body).not.toContain('action="/admin/sending/resume"');
    await admin.post('/admin/sending/resume');
    expect((await ctx.container.sendingPause.status()).paused).toBe(false);

    const viaApi = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/sending/pause',
      headers: ctx.adminHeaders,
      payload: { reason: 'relay maintenance tonight' },
    });
    expect(viaApi.statusCode).toBe(200);
    expect(viaApi.json()).toMatchObject({ paused: true, reason: 'relay maintenance tonight' });
    expect(
      (
        await ctx.app.inject({
          method: 'POST',
          url: '/api/v1/sending/pause',
          headers: ctx.adminHeaders,
          payload: {},
        })
      ).statusCode,
    ).toBe(400);
    await ctx.container.sendingPause.resume();
  });

  it("downloads a reader's data for editors and admins; only an admin erases, retyping the address", async () => {
    const id = await addReader(ctx, { email: 'leaving.reader@example.org', name: 'ليلى', language: 'ar' });
    const page = await editor.get(`/admin/subscribers/${id}`);
    expect(page.body).toContain(`/admin/subscribers/${id}/data.json`);
    expect(page.body).not.toContain(`/admin/subscribers/${id}/erase`);
    const data = await editor.get(`/admin/subscribers/${id}/data.json`);
    expect(data.statusCode).toBe(200);
    expect(data.headers['content-disposition']).toContain(`reader-${id}.json`);
    expect(data.json().subscriber).toMatchObject({ id, email: 'leaving.reader@example.org', name: 'ليلى' });
    expect(
      (await editor.post(`/admin/subscribers/${id}/erase`, { confirm: 'leaving.reader@example.org' }))
        .statusCode,
    ).toBe(403);

    expect((await admin.get(`/admin/subscribers/${id}`)).body).toContain(`/admin/subscribers/${id}/erase`);
    const wrong = await admin.post(`/admin/subscribers/${id}/erase`, { confirm: 'someone.else@example.org' });
    expect(wrong.headers.location).toBe(`/admin/subscribers/${id}`);
    expect((await admin.get(`/admin/subscribers/${id}`)).body).toContain('لم يُمحَ');
    expect((await ctx.db.query('SELECT 1 FROM subscribers WHERE id = $1', [id])).rowCount).toBe(1);
    const erased = await admin.post(`/admin/subscribers/${id}/erase`, {
      confirm: ' Leaving.Reader@example.org ',
    });
    expect(erased.headers.location).toBe('/admin/subscribers');
    expect((await admin.get('/admin/subscribers')).body).toContain('مُحي القارئ');
    expect((await ctx.db.query('SELECT 1 FROM subscribers WHERE id = $1', [id])).rowCount).toBe(0);
    const record = await ctx.db.query(
      'SELECT erased_by, details::text AS d FROM erasures WHERE subscriber_id = $1',
      [id],
    );
    expect(record.rows[0].erased_by).toBe(ADMIN.email);
    expect(record.rows[0].d).not.toContain('leaving.reader');
  });
});
