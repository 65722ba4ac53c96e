import type { AddressInfo } from 'node:net';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { seedEdition } from '../helpers/delivery-fixtures.js';
import { addArticle, addReader } from '../helpers/digest-fixtures.js';

const SHOTS = 'samples/console';
const ADMIN = { email: 'chief@almadar.example', password: 'correct horse battery 42' };

const copy = {
  ar: {
    signIn: 'دخول',
    email: 'البريد الإلكتروني',
    password: 'كلمة المرور',
    readers: 'القرّاء',
    search: 'العنوان يحتوي على',
    filter: 'تصفية',
    suppress: 'حظر هذا العنوان',
    reason: 'السبب',
    suppressed: 'تم حظر العنوان',
    lift: 'رفع الحظر',
    lifted: 'تم رفع الحظر',
    editions: 'الإصدارات',
    resendFailed: 'إعادة الإرسال لمن فشل',
    resent: 'أُعيد الإرسال إلى',
  },
  en: {
    signIn: 'Sign in',
    email: 'Email address',
    password: 'Password',
    readers: 'Readers',
    search: 'Address contains',
    filter: 'Filter',
    suppress: 'Suppress this address',
    reason: 'Reason',
    suppressed: 'The address is suppressed',
    lift: 'Lift the suppression',
    lifted: 'The suppression is lifted',
    editions: 'Editions',
    resendFailed: 'Send again to failed readers',
    resent: 'Sent again to',
  },
};

describe('operator console in Chromium', () => {
  let ctx: TestContext;
  let browser: Browser;
  let base: string;
  const editions: Record<'ar' | 'en', string> = { ar: '', en: '' };

  beforeAll(async () => {
    ctx = await createTestContext({
      workers: false,
      env: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password },
    });
    await addReader(ctx, {
      email: 'noor.haddad@example.org',
      name: 'نور حداد',
      language: 'ar',
      topics: ['politics', 'culture'],
    });
    await addReader(ctx, {
      email: 'sam.jones@example.com',
      name: 'Sam Jones',
      language: 'en',
      frequency: 'weekly',
    });
    for (let i = 0; i < 12; i++)
      await addReader(ctx, { email: `reader${i}@example.net`, language: i % 3 ? 'ar' : 'en' });
    await addArticle(ctx, {
      title: 'وزير الاقتصاد يعلن خطة لدعم الصناعات الصغيرة',
      language: 'ar',
      topics: ['economy'],
    });
    await addArticle(ctx, { title: 'Museum reopens after restoration', language: 'en', topics: ['culture'] });
    for (const language of ['ar', 'en'] as const) {
      const e = await seedEdition(ctx, { readers: 4, batchSize: 10, language });
      await ctx.db.query(
        `UPDATE deliveries SET state = CASE WHEN id % 2 = 0 THEN 'sent' ELSE 'failed' END, attempts = 1,
                error = CASE WHEN id % 2 = 0 THEN NULL ELSE '550 5.1.1 mailbox unavailable' END
          WHERE edition_id = $1`,
        [e.editionId],
      );
      await ctx.db.query(`UPDATE editions SET state = 'sent' WHERE id = $1`, [e.editionId]);
      editions[language] = e.editionId;
    }
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

  /** Both widths of the page as it is now, and nothing scrolls sideways on the phone. */
  async function shoot(page: Page, name: string) {
    for (const width of [1280, 375]) {
      await page.setViewportSize({ width, height: 900 });
      // a framed preview (its own process) lays out again after the resize
      await page.waitForTimeout(250);
      await page.screenshot({ path: `${SHOTS}/${name}-${width}.png`, fullPage: true });
      if (width === 375)
        expect(
          await page.evaluate('document.documentElement.scrollWidth'),
          `${name} at 375 px`,
        ).toBeLessThanOrEqual(375);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  }

  for (const lang of ['ar', 'en'] as const) {
    it(`signs in, finds a reader, suppresses and lifts, opens an edition and resends failed (${lang})`, async () => {
      const t = copy[lang];
      const context = await browser.newContext({ locale: lang, viewport: { width: 1280, height: 900 } });
      // the edition's images are on the publication's site, which does not exist here: answered
      // empty, so the page makes no request beyond this server and logs no load error
      await context.route(
        (url) => !url.href.startsWith(base),
        (route) => route.fulfill({ status: 204 }),
      );
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));

      await page.goto(`${base}/admin`);
      expect(page.url()).toContain('/admin/sign-in?next=%2Fadmin');
      if (lang === 'en') await page.getByRole('button', { name: 'English' }).click();
      await page.waitForSelector(`html[lang="${lang}"]`);
      expect(await page.getAttribute('html', 'dir')).toBe(lang === 'ar' ? 'rtl' : 'ltr');
      await shoot(page, `sign-in-${lang}`);
      await page.getByLabel(t.email).fill(ADMIN.email);
      await page.getByLabel(t.password).fill(ADMIN.password);
      await page.getByRole('button', { name: t.signIn, exact: true }).click();
      await page.waitForURL(`${base}/admin`);
      await shoot(page, `dashboard-${lang}`);

      await page.getByRole('link', { name: t.readers, exact: true }).click();
      await page.getByLabel(t.search).fill('noor');
      await page.getByRole('button', { name: t.filter }).click();
      await page.waitForURL(/q=noor/);
      await shoot(page, `readers-${lang}`);
      await page.getByRole('link', { name: 'noor.haddad@example.org' }).click();
      await page.getByLabel(t.reason).fill(lang === 'ar' ? 'طلب القارئ عبر الهاتف' : 'asked by phone');
      await page.getByRole('button', { name: t.suppress }).click();
      await expect.poll(() => page.textContent('[role="status"]')).toContain(t.suppressed);
      await shoot(page, `reader-suppressed-${lang}`);
      await page.getByRole('button', { name: t.lift }).click();
      await expect.poll(() => page.textContent('[role="status"]')).toContain(t.lifted);
      const { rows } = await ctx.db.query(
        `SELECT status FROM subscribers WHERE email_key = 'noor.haddad@example.org'`,
      );
      expect(rows[0].status).toBe('confirmed');

      await page.getByRole('link', { name: t.editions, exact: true }).click();
      await shoot(page, `editions-${lang}`);
      await page.locator(`a[href="/admin/editions/${editions[lang]}"]`).first().click();
      await page.waitForURL(new RegExp(editions[lang]));
      await page
        .frameLocator('iframe.preview-frame')
        .getByText(lang === 'ar' ? 'صحيفة المدار' : 'Al-Madar Daily', { exact: true })
        .first()
        .waitFor();
      await shoot(page, `edition-${lang}`);
      // a full-page capture leaves the framed preview out: the frame itself, at both widths
      const name = lang === 'ar' ? 'صحيفة المدار' : 'Al-Madar Daily';
      const frame = page.locator('iframe.preview-frame');
      await page.waitForTimeout(1000); // the frame paints in its own process, after its text is there
      await frame.screenshot({ path: `${SHOTS}/edition-preview-${lang}-800.png` });
      await page.getByRole('link', { name: lang === 'ar' ? 'عرض الهاتف' : 'Phone width' }).click();
      await page.waitForURL(/width=phone/);
      await page.frameLocator('iframe.preview-frame').getByText(name, { exact: true }).first().waitFor();
      expect((await frame.boundingBox())?.width).toBe(375);
      await page.getByRole('button', { name: t.resendFailed }).click();
      await expect.poll(() => page.textContent('[role="status"]')).toContain(t.resent);
      const resend = await ctx.db.query(`SELECT count(*)::int AS n FROM editions WHERE resend_of = $1`, [
        editions[lang],
      ]);
      expect(resend.rows[0].n).toBe(1);
      await shoot(page, `edition-resent-${lang}`);
      expect(errors).toEqual([]);
      await context.close();
    }, 120_000);
  }
});
