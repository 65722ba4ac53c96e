import type { AddressInfo } from 'node:net';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../helpers/context.js';

const SAMPLES = 'samples';

/**
 * The weekly day control in Chromium, Arabic first: labelled, in the local week order (Saturday
 * first for ar-SY), the publication's day chosen by default; picked on the form and changed in
 * the preference centre. Screenshots at 375 and 1280 px go to samples/.
 */
describe('the weekly day on the Arabic form and preference centre', () => {
  let ctx: TestContext;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    ctx = await createTestContext({
      workers: false,
      env: { FORM_MIN_SUBMIT_SECONDS: '0', RATE_LIMIT_MAX: '1000' },
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

  const stored = async (email: string) =>
    (await ctx.db.query('SELECT * FROM subscribers WHERE email_key = $1', [email])).rows[0];

  it.each([375, 1280])(
    'picks Tuesday on the form and Saturday in the preferences at %i px',
    async (width) => {
      const context = await browser.newContext({
        timezoneId: 'Asia/Damascus',
        locale: 'ar',
        viewport: { width, height: 900 },
      });
      const page = await context.newPage();
      await page.goto(`${base}/subscribe?lang=ar`);
      const day = page.getByLabel('يوم النشرة الأسبوعية');
      expect(await day.inputValue()).toBe('5'); // the publication's Friday
      expect(await day.locator('option').first().textContent()).toBe('السبت');
      expect(await page.getByText('يبدأ الأسبوع يوم السبت').count()).toBe(1);
      // shown only while "once a week" is chosen (the form starts on daily)
      expect(await day.isVisible()).toBe(false);
      await page.getByLabel('مرة في الأسبوع').check();
      expect(await day.isVisible()).toBe(true);
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(width);
      await page.screenshot({ path: `${SAMPLES}/subscribe-weekday-ar-${width}.png`, fullPage: true });

      const email = `weekday-${width}@example.com`;
      await page.getByLabel('البريد الإلكتروني').fill(email);
      await day.selectOption({ label: 'الثلاثاء' });
      await page.getByRole('button', { name: 'اشترك' }).click();
      await page.waitForURL(/\/subscribe\/check-inbox/);
      const sub = await stored(email);
      expect(sub).toMatchObject({ frequency: 'weekly', weekly_day: 2, timezone: 'Asia/Damascus' });

      await page.goto(`${base}/preferences/${ctx.container.tokens.preferences(sub.id)}`);
      const prefDay = page.getByLabel('يوم النشرة الأسبوعية');
      expect(await prefDay.inputValue()).toBe('2');
      await page.screenshot({ path: `${SAMPLES}/preferences-weekday-ar-${width}.png`, fullPage: true });
      await prefDay.selectOption({ label: 'السبت' });
      await page.getByRole('button', { name: 'حفظ التفضيلات' }).click();
      await page.waitForURL(/saved=1$/);
      expect((await stored(email)).weekly_day).toBe(6);
      expect(await page.getByLabel('يوم النشرة الأسبوعية').inputValue()).toBe('6');
      await context.close();
    },
  );

  it('shows the weekly day without JavaScript, with its hint', async () => {
    const context = await browser.newContext({
      javaScriptEnabled: false,
      viewport: { width: 375, height: 900 },
    });
    const page = await context.newPage();
    await page.goto(`${base}/subscribe?lang=ar`);
    expect(await page.getByLabel('يوم النشرة الأسبوعية').isVisible()).toBe(true);
    expect(await page.getByText('يُعتمد فقط مع «مرة في الأسبوع»').isVisible()).toBe(true);
    await context.close();
  });
});
