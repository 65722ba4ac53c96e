import type { AddressInfo } from 'node:net';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../helpers/context.js';

const ADMIN = { email: 'chief@almadar.example', password: 'correct horse battery 42' };

describe('Bull Board behind the console sign-in', () => {
  let ctx: TestContext;
  let browser: Browser;
  let base: string;
  beforeAll(async () => {
    ctx = await createTestContext({
      workers: false,
      env: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password },
    });
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

  it('sends a visitor to the sign-in page, then shows every queue', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const requests: string[] = [];
    context.on('request', (r) => requests.push(r.url()));
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/admin/queues`);
    expect(page.url()).toContain('/admin/sign-in?next=%2Fadmin%2Fqueues');
    await page.getByLabel('البريد الإلكتروني').fill(ADMIN.email);
    await page.getByLabel('كلمة المرور').fill(ADMIN.password);
    await page.getByRole('button', { name: 'دخول', exact: true }).click();
    await page.waitForURL(`${base}/admin/queues`);
    await page.getByText('article-events').first().waitFor();
    await page.screenshot({ path: 'samples/console/queues-1280.png', fullPage: true });
    expect(errors).toEqual([]);
    // the board's own font stylesheet is refused by the CSP: nothing but this server is reached
    // beyond that one attempt, which the browser blocks before it leaves
    expect(
      requests.filter((u) => !u.startsWith(base) && !u.startsWith('https://fonts.googleapis.com')),
    ).toEqual([]);
    await context.close();
  }, 60_000);
});
