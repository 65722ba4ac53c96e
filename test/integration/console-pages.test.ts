import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertBounceEvent } from '../../src/bounces/bounce-store.js';
import { type ConsoleAgent, consoleAgent } from '../helpers/console-agent.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { seedEdition } from '../helpers/delivery-fixtures.js';
import { addReader } from '../helpers/digest-fixtures.js';

const ADMIN = { email: 'chief@almadar.example', password: 'correct horse battery 42' };

describe('console pages and the admin API behind them', () => {
  let ctx: TestContext;
  let admin: ConsoleAgent;
  const api = (url: string, method: 'GET' | 'POST' = 'GET', payload?: object) =>
    ctx.app.inject({ method, url, headers: ctx.adminHeaders, ...(payload ? { payload } : {}) });

  beforeAll(async () => {
    ctx = await createTestContext({
      workers: false,
      env: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password },
    });
    admin = consoleAgent(ctx);
    await admin.signIn(ADMIN.email, ADMIN.password);
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('GET /api/v1/editions lists editions newest first with counts, filters and a total', async () => {
    const ar = await seedEdition(ctx, { readers: 3, batchSize: 10, language: 'ar' });
    ctx.clock.advance(1000);
    const en = await seedEdition(ctx, { readers: 2, batchSize: 10, language: 'en' });
    await ctx.db.query(`UPDATE editions SET created_at = now() + interval '1 minute' WHERE id = $1`, [
      en.editionId,
    ]);
    await ctx.db.query(
      `UPDATE deliveries SET state = 'failed' WHERE id = (SELECT min(id) FROM deliveries WHERE edition_id = $1)`,
      [ar.editionId],
    );
    const all = (await api('/api/v1/editions')).json();
    expect(all.total).toBe(2);
    expect(all.items.map((e: { id: string }) => e.id)).toEqual([en.editionId, ar.editionId]);
    expect(all.items[1].counts).toMatchObject({ planned: 3, pending: 2, failed: 1, sent: 0, ambiguous: 0 });
    const onlyAr = (await api('/api/v1/editions?language=ar&limit=1')).json();
    expect(onlyAr).toMatchObject({ total: 1, offset: 0, limit: 1 });
    expect(onlyAr.items[0].id).toBe(ar.editionId);
    const second = (await api('/api/v1/editions?limit=1&offset=1')).json();
    expect(second.items[0].id).toBe(ar.editionId);
    expect((await api('/api/v1/editions?state=nope')).statusCode).toBe(400);
    expect((await ctx.app.inject('/api/v1/editions')).statusCode).toBe(401);
    const doc = (await ctx.app.inject('/docs/json')).json();
    expect(doc.paths['/api/v1/editions'].get.security).toEqual([{ adminToken: [] }]);
    expect(doc.paths['/api/v1/editions'].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['state', 'kind', 'language', 'frequency', 'offset', 'limit']),
    );
  });

  it('finds readers by part of the address with filters and a total, in the API and the console', async () => {
    for (let i = 0; i < 30; i++)
      await addReader(ctx, {
        email: `reader${i}@search.example`,
        language: i % 2 ? 'ar' : 'en',
        frequency: i < 10 ? 'weekly' : 'daily',
      });
    await addReader(ctx, { email: 'sport-fan@other.example', topics: ['sport'] });
    const page = (await api('/api/v1/subscribers/search?q=SEARCH.ex&limit=25')).json();
    expect(page.total).toBe(30);
    expect(page.items).toHaveLength(25);
    const weeklyAr = (await api('/api/v1/subscribers/search?q=search&language=ar&frequency=weekly')).json();
    expect(weeklyAr.total).toBe(5);
    const sport = (await api('/api/v1/subscribers/search?topic=sport&q=other')).json();
    expect(sport.items.map((r: { email: string }) => r.email)).toEqual(['sport-fan@other.example']);
    const html = await admin.get('/admin/subscribers?q=search.example&language=ar');
    expect(html.statusCode).toBe(200);
    expect(html.body).toContain('والمجموع ١٥');
    const next = await admin.get('/admin/subscribers?q=search.example&offset=25');
    expect(next.body).toContain('الصفحة ٢ من ٢');
  });

  it('suppresses and lifts, resends a confirmation and confirms by hand through the console, as evidence', async () => {
    const id = await addReader(ctx, { email: 'actions@example.org', status: 'pending' });
    await admin.get(`/admin/subscribers/${id}`);
    expect(
      (await admin.post(`/admin/subscribers/${id}/suppress`, { reason: 'hard bounce' })).statusCode,
    ).toBe(303);
    const shown = await admin.get(`/admin/subscribers/${id}`);
    expect(shown.body).toContain('تم حظر العنوان');
    expect(shown.body).toContain('hard bounce');
    await admin.post(`/admin/subscribers/${id}/lift`);
    expect((await ctx.db.query('SELECT status FROM subscribers WHERE id = $1', [id])).rows[0].status).toBe(
      'pending',
    );
    await admin.get(`/admin/subscribers/${id}`);
    await admin.post(`/admin/subscribers/${id}/resend`);
    const { rows: mails } = await ctx.db.query(
      `SELECT kind, state FROM deliveries WHERE subscriber_id = $1`,
      [id],
    );
    expect(mails).toEqual([{ kind: 'confirmation', state: 'pending' }]);
    await admin.get(`/admin/subscribers/${id}`);
    // too short a reason is refused and said so, nothing changes
    await admin.post(`/admin/subscribers/${id}/confirm`, { reason: 'x' });
    expect((await admin.get(`/admin/subscribers/${id}`)).body).toContain('لم يتم');
    await admin.post(`/admin/subscribers/${id}/confirm`, { reason: 'signed the paper form at the fair' });
    expect((await ctx.db.query('SELECT status FROM subscribers WHERE id = $1', [id])).rows[0].status).toBe(
      'confirmed',
    );
    const { rows } = await ctx.db.query(
      `SELECT event, source, details FROM consent_events WHERE subscriber_id = $1 ORDER BY id`,
      [id],
    );
    expect(rows.map((r) => r.event)).toEqual([
      'suppressed',
      'suppression_lifted',
      'confirmation_resent',
      'confirmed',
    ]);
    expect(rows[3].details).toMatchObject({
      manual: true,
      operator: ADMIN.email,
      reason: 'signed the paper form at the fair',
    });
    expect(rows[0].source).toBe(`operator:${ADMIN.email}`);
    // the same actions through the API
    const lift = await api(`/api/v1/subscribers/${id}/lift-suppression`, 'POST');
    expect(lift.statusCode).toBe(409);
  });

  it('shows the dashboard, editions, an edition with its preview, articles, sources and operators in both languages', async () => {
    const { editionId } = await seedEdition(ctx, { readers: 1, batchSize: 10, language: 'ar' });
    for (const lang of ['ar', 'en'] as const) {
      await admin.get('/admin');
      await admin.post('/admin/language', { lang, back: '/admin' });
      for (const url of [
        '/admin',
        '/admin/editions',
        `/admin/editions/${editionId}`,
        '/admin/articles',
        '/admin/sources',
        '/admin/operators',
        '/admin/subscribers',
      ]) {
        const res = await admin.get(url);
        expect(res.statusCode, url).toBe(200);
        expect(res.body, url).toContain(`<html lang="${lang}" dir="${lang === 'ar' ? 'rtl' : 'ltr'}">`);
      }
    }
    // today's reports: a hard bounce, a soft one, a complaint and an out-of-office (not counted)
    const today = ctx.clock.now();
    for (const [n, cls] of (['hard', 'soft', 'complaint', 'auto-reply'] as const).entries()) {
      await insertBounceEvent(ctx.db, {
        source: 'standard',
        eventId: `dash-${n}`,
        class: cls,
        rule: null,
        recipient: `r${n}@example.org`,
        subscriberId: null,
        deliveryId: null,
        editionId: null,
        messageId: null,
        status: null,
        diagnostic: null,
        raw: null,
        occurredAt: today,
        receivedAt: today,
      });
    }
    const dash = await admin.get('/admin');
    expect(dash.body).toContain('No DKIM signature is configured');
    expect(dash.body).toContain('No BOUNCE_DOMAIN: bounces that arrive by mail are never read');
    expect(dash.body).toMatch(/<dt>Bounces<\/dt><dd>2<\/dd><dt>Complaints<\/dt><dd>1<\/dd>/);
    const preview = await admin.get(`/admin/editions/${editionId}/preview`);
    expect(preview.statusCode).toBe(200);
    expect(preview.headers['content-security-policy']).toContain('sandbox');
    expect(preview.body).toContain('dir="rtl"');
    const overview = (await api('/api/v1/overview')).json();
    expect(overview.readers.total).toBeGreaterThan(30);
    expect(overview.growth).toHaveLength(30);
    expect(overview.growth.at(-1)).toMatchObject({ bounced: 2, complained: 1 });
    expect(overview.warnings).toContain('no-bounce-domain');
    expect(overview.queues.map((q: { name: string }) => q.name)).toContain('send');
  });
});
