import type { AddressInfo } from 'node:net';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';

const SAMPLES = 'samples';

describe('hosted subscribe form in Chromium', () => {
  let ctx: TestContext;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    ctx = await createTestContext({ env: { FORM_MIN_SUBMIT_SECONDS: '0', RATE_LIMIT_MAX: '1000' } });
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

  it('works in Arabic with JavaScript: the browser time zone is kept', async () => {
    const context = await browser.newContext({
      timezoneId: 'Asia/Riyadh',
      locale: 'ar',
      viewport: { width: 375, height: 812 },
      deviceScaleFactor: 1,
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${base}/subscribe?lang=ar`);
    expect(await page.getAttribute('html', 'dir')).toBe('rtl');
    expect(await page.getAttribute('html', 'lang')).toBe('ar');
    await expect.poll(() => page.inputValue('input[name="timezone"]')).toBe('Asia/Riyadh');
    // nothing scrolls sideways on a phone
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    // the honeypot is out of sight and out of the tab order
    const hp = await page.locator('.hp').boundingBox();
    expect(hp && hp.width <= 1 && hp.height <= 1).toBe(true);
    expect(await page.getAttribute('input[name="website"]', 'tabindex')).toBe('-1');
    await page.screenshot({ path: `${SAMPLES}/subscribe-ar-375.png`, fullPage: true });

    await page.getByLabel('البريد الإلكتروني').fill('browser-js@example.com');
    await page.getByLabel('الاسم (اختياري)').fill('نور');
    await page.getByLabel('رياضة').uncheck();
    // unticking a topic is choosing "only these" (the script moves the choice)
    expect(await page.getByLabel('المواضيع المحدّدة أدناه فقط').isChecked()).toBe(true);
    await page.getByLabel('مرة في الأسبوع').check();
    await page.getByLabel('تنبيهات الأخبار العاجلة').check();
    await page.getByRole('button', { name: 'اشترك' }).click();
    await page.waitForURL(/\/subscribe\/check-inbox\?lang=ar&topics=/);
    expect(await page.textContent('h1')).toBe('تفقّد بريدك الإلكتروني');
    await page.screenshot({ path: `${SAMPLES}/check-inbox-ar-375.png`, fullPage: true });
    expect(errors).toEqual([]);

    const sub = await stored('browser-js@example.com');
    expect(sub).toMatchObject({
      timezone: 'Asia/Riyadh',
      name: 'نور',
      language: 'ar',
      frequency: 'weekly',
      alerts: true,
      topics: ['politics', 'economy', 'society', 'reports', 'culture'],
      status: 'pending',
    });
    const mail = await eventually(async () =>
      ctx.sink.received.find((m) => m.to.includes('browser-js@example.com')),
    );
    const link = /https:\/\/news\.example\.test(\/confirm\/\S+)/.exec(mail.parsed.text ?? '')![1]!;

    // the confirmation page at phone width, then the button
    await page.goto(`${base}${link}`);
    await page.screenshot({ path: `${SAMPLES}/confirm-ar-375.png`, fullPage: true });
    expect((await stored('browser-js@example.com')).status).toBe('pending');
    await page.getByRole('button', { name: 'تأكيد الاشتراك' }).click();
    await expect.poll(() => page.textContent('h1')).toBe('تم اشتراكك');
    expect((await stored('browser-js@example.com')).status).toBe('confirmed');

    const prefs = `/preferences/${ctx.container.tokens.preferences(sub.id)}`;
    await page.goto(`${base}${prefs}`);
    expect(await page.getByLabel('صحة ومجتمع').isChecked()).toBe(true);
    expect(await page.getByLabel('رياضة').isChecked()).toBe(false);
    await page.screenshot({ path: `${SAMPLES}/preferences-ar-375.png`, fullPage: true });
    await page.getByLabel('مرة في اليوم').check();
    await page.selectOption('select[name="sendHour"]', '6');
    await page.getByRole('button', { name: 'حفظ التفضيلات' }).click();
    await page.waitForURL(/saved=1$/);
    expect(await page.textContent('[role="status"]')).toContain('تم حفظ تفضيلاتك');
    expect(await stored('browser-js@example.com')).toMatchObject({ frequency: 'daily', send_hour: 6 });
    await context.close();
  });

  it('lays out at 800 px, and shows a field error in Arabic', async () => {
    const context = await browser.newContext({
      timezoneId: 'Asia/Riyadh',
      viewport: { width: 800, height: 900 },
    });
    const page = await context.newPage();
    await page.goto(`${base}/subscribe?lang=ar`);
    await page.screenshot({ path: `${SAMPLES}/subscribe-ar-800.png`, fullPage: true });
    await page.getByLabel('البريد الإلكتروني').fill('two@example.com, addresses@example.com');
    await page.getByRole('button', { name: 'اشترك' }).click();
    await page.waitForSelector('[role="alert"]');
    expect(await page.getAttribute('#email', 'aria-invalid')).toBe('true');
    await page.screenshot({ path: `${SAMPLES}/subscribe-ar-error-800.png`, fullPage: true });
    await page.goto(`${base}/subscribe?lang=en`);
    await page.screenshot({ path: `${SAMPLES}/subscribe-en-800.png`, fullPage: true });
    await context.close();
  });

  it('works without JavaScript: the time zone falls back to the publication zone', async () => {
    const context = await browser.newContext({
      javaScriptEnabled: false,
      timezoneId: 'America/New_York',
      viewport: { width: 375, height: 812 },
    });
    const page = await context.newPage();
    await page.goto(`${base}/subscribe?lang=ar`);
    expect(await page.inputValue('input[name="timezone"]')).toBe('');
    await page.getByLabel('البريد الإلكتروني').fill('browser-nojs@example.com');
    await page.getByRole('button', { name: 'اشترك' }).click();
    await page.waitForURL(/\/subscribe\/check-inbox\?lang=ar&topics=/);
    const sub = await stored('browser-nojs@example.com');
    expect(sub).toMatchObject({
      timezone: ctx.publication.timezone,
      frequency: 'daily',
      alerts: false,
      language: 'ar',
    });
    expect(sub.topics).toEqual(ctx.publication.topics.map((t) => t.id));
    await context.close();
  });
});
