import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordOutboxEvent } from '../../src/outbox/outbox-store.js';
import { launchChromium, shootWidths, signInConsole } from '../helpers/console-browser.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { fileEndpointEnv, startWebhookReceiver } from '../helpers/webhook-receiver.js';

const SHOTS = 'samples/console';
const ADMIN = { email: 'chief@almadar.example', password: 'correct horse battery 42' };

const copy = {
  ar: {
    nav: 'الويب هوك',
    url: 'العنوان',
    add: 'إضافة',
    confirmed: 'قارئ أكّد اشتراكه',
    secret: 'سر العنوان',
    back: 'العودة إلى العنوان',
    log: 'سجل التسليم',
    gone: 'أجاب العنوان بـ HTTP ٤١٠ Gone',
    fileHint: 'هذا العنوان مُعرّف في ملف النشرة',
    next: 'التالي',
    page2: 'الصفحة ٢ من ٢',
    digits: /[٠-٩]/,
  },
  en: {
    nav: 'Webhooks',
    url: 'Address',
    add: 'Add',
    confirmed: 'Reader confirmed',
    secret: 'The endpoint’s secret',
    back: 'Back to the endpoint',
    log: 'Delivery log',
    gone: 'the endpoint answered HTTP 410 Gone',
    fileHint: 'This endpoint is configured in the publication file',
    next: 'Next',
    page2: 'Page 2 of 2',
    digits: /[0-9]/,
  },
};

describe('the Webhooks page in Chromium', () => {
  let ctx: TestContext;
  let browser: Browser;
  let base: string;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    // the file's endpoint answers 410 (and is disabled); the others 200, then 500 for retries
    receiver = await startWebhookReceiver((n, body) =>
      JSON.parse(body).type === 'subscriber.unsubscribed' ? 410 : n % 3 ? 200 : 500,
    );
    ctx = await createTestContext({
      workers: false,
      now: new Date().toISOString(),
      env: {
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        ...fileEndpointEnv(receiver.url('/wordpress/wp-json/gazette/v1/events'), ['subscriber.unsubscribed']),
      },
    });
    await ctx.container.webhookEndpoints.create({
      url: receiver.url('/crm/hooks'),
      events: ['subscriber.confirmed', 'edition.sent'],
      description: 'CRM',
    });
    for (let i = 0; i < 30; i++)
      await recordOutboxEvent(ctx.db, {
        type: i === 0 ? 'subscriber.unsubscribed' : i % 2 ? 'subscriber.confirmed' : 'edition.sent',
        payload: { subscriberId: `s${i}` },
        at: ctx.clock.now(),
      });
    for (const id of await ctx.container.webhookSender.owed())
      await ctx.container.webhookSender.deliver(id, false);
    await ctx.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await ctx?.close();
    await receiver?.close();
  });

  const shoot = (page: Page, name: string) => shootWidths(page, SHOTS, name);

  for (const lang of ['ar', 'en'] as const) {
    it(`an admin reads the endpoints and their logs and adds one (${lang})`, async () => {
      const t = copy[lang];
      const context = await browser.newContext({ locale: lang, viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await signInConsole(page, base, lang, ADMIN);
      await page.getByRole('navigation').getByRole('link', { name: t.nav }).click();
      await page.waitForURL(`${base}/admin/webhooks`);
      expect(await page.getAttribute('html', 'dir')).toBe(lang === 'ar' ? 'rtl' : 'ltr');
      const rows = page.locator('table tbody tr');
      expect(await rows.count()).toBeGreaterThanOrEqual(2);
      const file = rows.filter({ hasText: '/wordpress/' });
      const crm = rows.filter({ hasText: '/crm/hooks' });
      expect(await file.textContent()).toContain(t.gone);
      // the address reads left to right inside the right-to-left page
      type Styled = { getComputedStyle(e: unknown): { direction: string } };
      const address = file.locator('bdi[dir="ltr"]').first();
      expect(
        await address.evaluate((e) => (globalThis as unknown as Styled).getComputedStyle(e).direction),
      ).toBe('ltr');
      expect(await crm.textContent()).toMatch(t.digits);
      await shoot(page, `webhooks-${lang}`);

      await file.getByRole('link').click();
      await page.getByRole('heading', { name: t.log }).waitFor();
      expect(await page.textContent('main')).toContain(t.fileHint);
      await shoot(page, `webhook-file-${lang}`);

      await page.goto(`${base}/admin/webhooks`);
      await crm.getByRole('link').click();
      await page.getByRole('heading', { name: t.log }).waitFor();
      const log = page.locator('table tbody tr');
      expect(await log.count()).toBe(25);
      expect(await log.first().textContent()).toMatch(t.digits);
      await shoot(page, `webhook-log-${lang}`);
      await page.getByRole('link', { name: t.next }).click();
      await page.waitForURL(/offset=25/);
      expect(await page.locator('.pager').textContent()).toContain(t.page2);

      await page.goto(`${base}/admin/webhooks`);
      await page.getByLabel(t.url, { exact: true }).fill(receiver.url(`/new-${lang}`));
      await page.getByLabel(new RegExp(t.confirmed)).check();
      await page.getByRole('button', { name: t.add, exact: true }).click();
      await page.getByRole('heading', { name: t.secret }).waitFor();
      expect(await page.inputValue('#wh-secret')).toMatch(/^whsec_/);
      await shoot(page, `webhook-secret-${lang}`);
      await page.getByRole('link', { name: t.back }).click();
      await page.getByRole('heading', { name: t.log }).waitFor();
      expect(errors).toEqual([]);
      await context.close();
    }, 120_000);
  }
});
