import Fastify, { type FastifyInstance } from 'fastify';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devMailboxRoutes } from '../../src/http/dev-mailbox-routes.js';
import { DevMailbox } from '../../src/mail/dev-mailbox.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

/** The development mailbox: what a newcomer reads their mail in, kept across restarts. */
describe('development mailbox', () => {
  let ctx: TestContext;
  let mailbox: DevMailbox;
  let app: FastifyInstance;
  let port: number;

  const send = (subject: string) =>
    nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true }).sendMail({
      from: { name: 'نشرة المدار', address: 'newsletter@almadar.example' },
      to: 'salma@example.org',
      subject,
      text: 'مرحباً سلمى،\nإليك أبرز ما نشرناه اليوم.',
      html: '<html lang="ar" dir="rtl"><body><h1>صحيفة المدار</h1></body></html>',
      headers: { 'List-Unsubscribe': '<https://news.example.test/unsubscribe/abc>' },
    });

  async function open(instance: DevMailbox) {
    app = Fastify();
    await app.register(devMailboxRoutes, { mailbox: instance });
  }

  beforeAll(async () => {
    ctx = await createTestContext({ workers: false });
    mailbox = new DevMailbox(ctx.db);
    port = await mailbox.listen(0);
    await open(mailbox);
  });
  afterAll(async () => {
    await app?.close();
    await mailbox?.close();
    await ctx?.close();
  });

  it('shows headers, the text part and the HTML side by side, and keeps mail across a restart', async () => {
    await send('نشرة الأحد: الحكومة تقرّ خطة الكهرباء');
    // a restart: a new mailbox on the same database sees what the old one caught
    await app.close();
    await mailbox.close();
    mailbox = new DevMailbox(ctx.db);
    port = await mailbox.listen(0);
    await open(mailbox);

    const list = (await app.inject({ url: '/dev/mailbox.json' })).json() as { id: string; subject: string }[];
    expect(list.map((m) => m.subject)).toEqual(['نشرة الأحد: الحكومة تقرّ خطة الكهرباء']);
    const page = (await app.inject({ url: `/dev/mailbox/${list[0]!.id}` })).body;
    expect(page).toContain('نشرة الأحد: الحكومة تقرّ خطة الكهرباء'); // decoded, not =?UTF-8?
    expect(page).toContain('&lt;newsletter@almadar.example&gt;');
    expect(page).toContain('https://news.example.test/unsubscribe/abc');
    expect(page).toContain('مرحباً سلمى،');
    expect(page).toContain(`<iframe title="HTML part" sandbox src="/dev/mailbox/${list[0]!.id}/html">`);
    const html = await app.inject({ url: `/dev/mailbox/${list[0]!.id}/html` });
    expect(html.body).toContain('<h1>صحيفة المدار</h1>');
    expect(html.headers['content-security-policy']).toContain('sandbox');
  });

  it('clears on request from its own page, and refuses a cross-site clear', async () => {
    await send('second');
    const foreign = await app.inject({
      method: 'POST',
      url: '/dev/mailbox/clear',
      headers: { origin: 'https://evil.example', host: 'localhost:3000' },
    });
    expect(foreign.statusCode).toBe(403);
    expect((await mailbox.list()).length).toBeGreaterThan(0);
    const own = await app.inject({
      method: 'POST',
      url: '/dev/mailbox/clear',
      headers: { origin: 'http://localhost:3000', host: 'localhost:3000' },
    });
    expect(own.statusCode).toBe(303);
    expect(await mailbox.list()).toEqual([]);
  });
});
