import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContainer } from '../../src/container.js';
import { recordOutboxEvent } from '../../src/outbox/outbox-store.js';
import { loadPublication } from '../../src/publication.js';
import { type ConsoleAgent, consoleAgent } from '../helpers/console-agent.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { publicationFile } from '../helpers/publication-file.js';
import { fileEndpointEnv, startWebhookReceiver } from '../helpers/webhook-receiver.js';

const ADMIN = { email: 'chief@almadar.example', password: 'correct horse battery 42' };
const EDITOR = { email: 'desk@almadar.example', password: 'editor pass phrase 7' };
const SECRET = /value="(whsec_[A-Za-z0-9+/=]+)"/;

/** The Webhooks page: every operator sees endpoints and logs; admins change them, as the API does. */
describe('console: webhooks to the CMS', () => {
  let ctx: TestContext;
  let admin: ConsoleAgent;
  let editor: ConsoleAgent;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  const answers: Record<string, number> = {};
  let fileId = '';

  const api = async () =>
    (await ctx.app.inject({ url: '/api/v1/webhook-endpoints', headers: ctx.adminHeaders })).json() as Array<{
      id: string;
      url: string;
      enabled: boolean;
      source: string;
      disabledReason: string | null;
    }>;
  const byUrl = async (url: string) => (await api()).find((e) => e.url === url);
  /** one event, and every delivery row it made tried once by the real sender */
  const event = async (type: 'subscriber.confirmed' | 'subscriber.unsubscribed') => {
    await recordOutboxEvent(ctx.db, { type, payload: { subscriberId: 'x' }, at: ctx.clock.now() });
    await attemptOwed();
  };
  const attemptOwed = async () => {
    for (const id of await ctx.container.webhookSender.owed())
      await ctx.container.webhookSender.deliver(id, false);
  };
  const language = async (agent: ConsoleAgent, lang: 'ar' | 'en') => {
    await agent.get('/admin');
    await agent.post('/admin/language', { lang, back: '/admin' });
  };

  beforeAll(async () => {
    receiver = await startWebhookReceiver((_n, body) => answers[JSON.parse(body).type] ?? 200);
    ctx = await createTestContext({
      workers: false,
      now: new Date().toISOString(),
      env: {
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        ...fileEndpointEnv(receiver.url('/cms'), ['subscriber.unsubscribed']),
      },
    });
    await ctx.container.operators.create({ ...EDITOR, role: 'editor', createdBy: 'test' });
    admin = consoleAgent(ctx);
    await admin.signIn(ADMIN.email, ADMIN.password);
    editor = consoleAgent(ctx);
    await editor.signIn(EDITOR.email, EDITOR.password);
    fileId = (await byUrl(receiver.url('/cms')))!.id;
  });
  afterAll(async () => {
    await ctx?.close();
    await receiver?.close();
  });

  it('an admin adds an endpoint: the form checks like the API, the secret is shown once', async () => {
    const page = await admin.get('/admin/webhooks');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<html lang="ar" dir="rtl">');
    expect(page.body).toContain('href="/admin/webhooks" aria-current="page"');
    expect(page.body).toContain('ملف النشرة');
    expect(page.body).toContain('action="/admin/webhooks"');

    // no token: refused before the service, nothing stored
    const forged = await admin.postWithoutToken('/admin/webhooks', {
      url: receiver.url('/forged'),
      events: 'subscriber.confirmed',
    });
    expect(forged.statusCode).toBe(403);
    // no events: the API's own rule, shown; nothing stored
    const bad = await admin.post('/admin/webhooks', { url: receiver.url('/wp') });
    expect(bad.statusCode).toBe(303);
    expect((await admin.get('/admin/webhooks')).body).toContain('لم يتم: events');
    const worse = await admin.post('/admin/webhooks', { url: 'ftp://cms.example/x', events: 'edition.sent' });
    expect(worse.statusCode).toBe(303);
    expect((await admin.get('/admin/webhooks')).body).toMatch(/لم يتم: url/);
    expect((await api()).map((e) => e.url)).toEqual([receiver.url('/cms')]);

    const made = await admin.raw(
      'POST',
      '/admin/webhooks',
      Buffer.from(
        new URLSearchParams([
          ['_csrf', /name="_csrf" value="([^"]+)"/.exec((await admin.get('/admin/webhooks')).body)![1]!],
          ['url', receiver.url('/wp')],
          ['description', 'WordPress'],
          ['events', 'subscriber.confirmed'],
          ['events', 'subscriber.unsubscribed'],
        ]).toString(),
      ),
      { 'content-type': 'application/x-www-form-urlencoded' },
    );
    expect(made.statusCode).toBe(200);
    expect(made.headers['cache-control']).toBe('no-store');
    const secret = SECRET.exec(made.body)![1]!;
    expect(secret).toMatch(/^whsec_/);
    const wp = (await byUrl(receiver.url('/wp')))!;
    expect(wp).toMatchObject({ source: 'api', enabled: true });
    // the secret is in that answer only
    const detail = await admin.get(`/admin/webhooks/${wp.id}`);
    expect(detail.body).not.toContain(secret);
    expect((await admin.get('/admin/webhooks')).body).not.toContain(secret);
  });

  it('shows counts and the delivery log, paged, in the publication’s digits; a 410 disables', async () => {
    const wp = (await byUrl(receiver.url('/wp')))!;
    await event('subscriber.confirmed'); // wp only: 200
    answers['subscriber.unsubscribed'] = 503;
    await event('subscriber.unsubscribed'); // wp and the file's cms: 503, retried later
    for (let i = 0; i < 25; i++) await attemptOwed(); // 27 attempts at wp in all
    const first = await admin.get(`/admin/webhooks/${wp.id}`);
    expect(first.body).not.toContain('HTTP ٢٠٠'); // the oldest, on the next page
    expect(first.body).toContain('HTTP ٥٠٣');
    expect(first.body).toMatch(/[٠-٩]+ ملّي ثانية/);
    expect(first.body).toContain('subscriber.unsubscribed');
    expect(first.body).toContain('الصفحة ١ من ٢، والمجموع ٢٧');
    expect((first.body.match(/<tr>/g) ?? []).length).toBe(1 + 25); // the head and one page of the log
    // the admin API's log carries the same durations
    const log = await ctx.app.inject({
      url: `/api/v1/webhook-endpoints/${wp.id}/deliveries`,
      headers: ctx.adminHeaders,
    });
    expect(log.json().items).toHaveLength(27);
    for (const a of log.json().items) expect(Number.isInteger(a.durationMs)).toBe(true);
    const second = await admin.get(`/admin/webhooks/${wp.id}?offset=25`);
    expect(second.body).toContain('الصفحة ٢ من ٢');
    expect(second.body).toContain('HTTP ٢٠٠'); // the oldest attempt, on the last page
    const list = await admin.get('/admin/webhooks');
    expect(list.body).toContain('بالانتظار: ١');
    expect(list.body).toContain('سُلّمت: ١');

    answers['subscriber.unsubscribed'] = 410;
    await attemptOwed();
    expect(await byUrl(receiver.url('/wp'))).toMatchObject({
      enabled: false,
      disabledReason: 'answered 410 Gone',
    });
    const gone = await admin.get(`/admin/webhooks/${wp.id}`);
    expect(gone.body).toContain('متوقف: أجاب العنوان بـ <bdi class="ltr" dir="ltr">HTTP ٤١٠ Gone</bdi>');
    expect(gone.body).toContain(`action="/admin/webhooks/${wp.id}/enable"`);

    await language(admin, 'en');
    const en = await admin.get(`/admin/webhooks/${wp.id}`);
    expect(en.body).toContain('<html lang="en" dir="ltr">');
    expect(en.body).toContain(
      'Disabled: the endpoint answered <bdi class="ltr" dir="ltr">HTTP 410 Gone</bdi>',
    );
    expect(en.body).toContain('HTTP 410');
    await language(admin, 'ar');
  });

  it('an admin enables, disables, rotates and deletes an API endpoint through the service', async () => {
    const wp = (await byUrl(receiver.url('/wp')))!;
    expect((await admin.post(`/admin/webhooks/${wp.id}/enable`)).statusCode).toBe(303);
    expect((await byUrl(wp.url))!.enabled).toBe(true);
    expect((await admin.get(`/admin/webhooks/${wp.id}`)).body).toContain('شُغّل العنوان');

    await admin.post(`/admin/webhooks/${wp.id}/disable`, { reason: 'CMS migration' });
    expect(await byUrl(wp.url)).toMatchObject({ enabled: false, disabledReason: 'CMS migration' });
    expect((await admin.get(`/admin/webhooks/${wp.id}`)).body).toContain('CMS migration');

    const rotated = await admin.post(`/admin/webhooks/${wp.id}/rotate-secret`);
    expect(rotated.statusCode).toBe(200);
    const secret = SECRET.exec(rotated.body)![1]!;
    const { rows } = await ctx.db.query(
      'SELECT secret, previous_secret FROM webhook_endpoints WHERE id = $1',
      [wp.id],
    );
    expect(rows[0].secret).toBe(secret);
    expect(rows[0].previous_secret).toMatch(/^whsec_/);

    expect((await admin.postWithoutToken(`/admin/webhooks/${wp.id}/delete`)).statusCode).toBe(403);
    expect(await byUrl(wp.url)).toBeDefined();
    const gone = await admin.post(`/admin/webhooks/${wp.id}/delete`);
    expect(gone.headers.location).toBe('/admin/webhooks');
    expect(await byUrl(wp.url)).toBeUndefined();
    expect((await admin.get('/admin/webhooks')).body).toContain('حُذف العنوان مع سجل تسليمه');
  });

  it('a file endpoint says why it cannot be edited; rotate and delete are refused, enable and disable work', async () => {
    const page = await admin.get(`/admin/webhooks/${fileId}`);
    expect(page.body).toContain('هذا العنوان مُعرّف في ملف النشرة');
    expect(page.body).not.toContain(`/admin/webhooks/${fileId}/rotate-secret`);
    expect(page.body).not.toContain(`/admin/webhooks/${fileId}/delete`);
    // the 410 above turned it off too: turning it on and off is allowed
    expect(page.body).toContain(`/admin/webhooks/${fileId}/enable`);
    await admin.post(`/admin/webhooks/${fileId}/enable`);
    expect((await byUrl(receiver.url('/cms')))!.enabled).toBe(true);
    expect((await admin.get(`/admin/webhooks/${fileId}`)).body).toContain(
      `/admin/webhooks/${fileId}/disable`,
    );
    const rotate = await admin.post(`/admin/webhooks/${fileId}/rotate-secret`);
    expect(rotate.statusCode).toBe(303);
    expect((await admin.get(`/admin/webhooks/${fileId}`)).body).toContain('لم يتم: endpoint &quot;cms&quot;');
    await admin.post(`/admin/webhooks/${fileId}/delete`);
    expect(await byUrl(receiver.url('/cms'))).toBeDefined();
    await admin.post(`/admin/webhooks/${fileId}/disable`);
    expect((await byUrl(receiver.url('/cms')))!.enabled).toBe(false);

    // taken out of the file (a restart without it): no enable, and it can be deleted now
    const other = await createContainer({
      config: ctx.config,
      publication: loadPublication(publicationFile({ webhooks: [] })),
      clock: ctx.clock,
      log: ctx.container.log,
    });
    await other.close();
    const removed = await admin.get(`/admin/webhooks/${fileId}`);
    expect(removed.body).toContain('أُزيل مدخله من ملف النشرة');
    expect(removed.body).not.toContain(`/admin/webhooks/${fileId}/enable`);
    expect(removed.body).toContain(`/admin/webhooks/${fileId}/delete`);
  });

  it('an editor sees the page and the log but no controls, and is refused the actions', async () => {
    const list = await editor.get('/admin/webhooks');
    expect(list.statusCode).toBe(200);
    expect(list.body).toContain('href="/admin/webhooks"');
    expect(list.body).toContain('للمدير وحده');
    expect(list.body).not.toContain('action="/admin/webhooks"');
    const detail = await editor.get(`/admin/webhooks/${fileId}`);
    expect(detail.statusCode).toBe(200);
    expect(detail.body).toContain('سجل التسليم');
    expect(detail.body).not.toMatch(
      /action="\/admin\/webhooks\/[^"]+\/(enable|disable|delete|rotate-secret)"/,
    );
    for (const action of ['enable', 'rotate-secret', 'delete'])
      expect((await editor.post(`/admin/webhooks/${fileId}/${action}`)).statusCode).toBe(403);
    expect(
      (await editor.post('/admin/webhooks', { url: receiver.url('/x'), events: 'edition.sent' })).statusCode,
    ).toBe(403);
    expect(await byUrl(receiver.url('/cms'))).toMatchObject({ enabled: false });
    expect(await byUrl(receiver.url('/x'))).toBeUndefined();
  });
});
