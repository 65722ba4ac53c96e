import type { AddressInfo } from 'node:net';
import { type Browser, chromium, type Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';

/**
 * The proof-of-work in a real browser (issue 12): subscribe.js fetches the challenge, solves it
 * with WebCrypto and posts the solution; with ALTCHA_MODE=always nothing passes without it.
 */
describe('proof-of-work in Chromium (ALTCHA_MODE=always)', () => {
  let ctx: TestContext;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    // the default difficulty, as in production
    ctx = await createTestContext({ env: { ALTCHA_MODE: 'always', RATE_LIMIT_MAX: '1000' } });
    await ctx.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await ctx?.close();
  });

  const stored = async (email: string) =>
    (await ctx.db.query('SELECT * FROM subscribers WHERE email_key = $1', [email])).rows[0];

  it('the hosted form solves the challenge in the browser and subscribes', async () => {
    const context = await browser.newContext({ locale: 'ar', timezoneId: 'Asia/Riyadh' });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const started = Date.now();
    await page.goto(`${base}/subscribe?lang=ar`);
    await page.waitForSelector('form[data-gazette-solved]', { timeout: 20_000 });
    console.info(`hosted form: challenge fetched and solved ${Date.now() - started} ms after navigation`);
    const payload = JSON.parse(
      Buffer.from(await page.inputValue('input[name="altcha"]'), 'base64').toString(),
    );
    expect(payload).toMatchObject({ algorithm: 'SHA-256' });
    expect(Number.isInteger(payload.number)).toBe(true);

    ctx.clock.advance(5_000); // a person takes a few seconds to fill the form
    await page.getByLabel('البريد الإلكتروني').fill('pow-browser@example.com');
    await page.getByRole('button', { name: 'اشترك' }).click();
    await page.waitForURL(/\/subscribe\/check-inbox\?lang=ar(&|$)/);
    expect(errors).toEqual([]);
    expect(await stored('pow-browser@example.com')).toMatchObject({
      status: 'pending',
      timezone: 'Asia/Riyadh',
    });
    await eventually(async () => ctx.sink.received.find((m) => m.to.includes('pow-browser@example.com')));

    // the solution the browser posted is used up: sent again, it is refused
    const replay = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/subscriptions',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({
        email: 'pow-replay@example.com',
        altcha: Buffer.from(JSON.stringify(payload)).toString('base64'),
      }),
    });
    expect(replay.statusCode).toBe(400);
    expect(replay.json()).toMatchObject({ field: 'altcha' });
    expect(await stored('pow-replay@example.com')).toBeUndefined();
    await context.close();
  });

  it('a form without JavaScript is sent back with the anti-spam error, in Arabic', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${base}/subscribe?lang=ar`);
    ctx.clock.advance(5_000);
    await page.getByLabel('البريد الإلكتروني').fill('pow-nojs@example.com');
    await page.getByRole('button', { name: 'اشترك' }).click();
    await page.waitForSelector('[role="alert"]');
    expect(await page.textContent('[role="alert"]')).toContain('التحقق المضاد للرسائل المزعجة');
    expect(await stored('pow-nojs@example.com')).toBeUndefined();
    await context.close();
  });

  it('a form embedded on the publisher’s site gets its timing proof and solves the challenge cross-origin', async () => {
    const context = await browser.newContext({ locale: 'ar' });
    // https origins without real servers: the publisher's page is written here, Gazette's
    // PUBLIC_URL is answered by the app itself
    await context.route('https://almadar.example/**', (route: Route) => {
      const url = new URL(route.request().url());
      if (url.pathname === '/thanks')
        return route.fulfill({ contentType: 'text/html', body: '<h1 id="thanks">شكراً</h1>' });
      return route.fulfill({
        contentType: 'text/html; charset=utf-8',
        body: `<!doctype html><html lang="ar" dir="rtl"><meta charset="utf-8"><body>
<form method="post" action="https://news.example.test/subscribe" accept-charset="utf-8">
  <input type="hidden" name="language" value="ar">
  <input type="hidden" name="redirect" value="https://almadar.example/thanks">
  <label for="gz-email">البريد الإلكتروني</label>
  <input id="gz-email" name="email" type="email" required>
  <div style="position:absolute;width:1px;height:1px;overflow:hidden" aria-hidden="true">
    <input name="website" type="text" tabindex="-1" autocomplete="off"></div>
  <button type="submit">اشترك</button>
</form>
<script src="https://news.example.test/assets/subscribe.js" defer></script></body></html>`,
      });
    });
    await context.route('https://news.example.test/**', async (route: Route) => {
      const req = route.request();
      const url = new URL(req.url());
      const res = await ctx.app.inject({
        method: req.method() as 'GET' | 'POST',
        url: url.pathname + url.search,
        headers: await req.allHeaders(),
        payload: req.postDataBuffer() ?? undefined,
      });
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = String(v);
      return route.fulfill({ status: res.statusCode, headers, body: res.rawPayload });
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto('https://almadar.example/article');
    await page.waitForSelector('form[data-gazette-solved]', { timeout: 20_000 });
    expect(await page.inputValue('input[name="embed_rendered"]')).not.toBe('');
    ctx.clock.advance(5_000);
    await page.getByLabel('البريد الإلكتروني').fill('pow-embed@example.com');
    // (playwright does not route the redirect's target, so the answer itself is checked)
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.url() === 'https://news.example.test/subscribe'),
      page.getByRole('button', { name: 'اشترك' }).click(),
    ]);
    expect(answer.status()).toBe(303);
    expect(answer.headers().location).toBe('https://almadar.example/thanks');
    expect(errors).toEqual([]);
    const sub = await stored('pow-embed@example.com');
    expect(sub).toMatchObject({ status: 'pending', language: 'ar' });
    const { rows } = await ctx.db.query('SELECT source FROM consent_events WHERE subscriber_id = $1', [
      sub.id,
    ]);
    expect(rows).toEqual([{ source: 'embed' }]);
    await context.close();
  });
});
