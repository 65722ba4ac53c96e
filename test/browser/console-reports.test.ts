import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertBounceEvent, markEventSuppressed } from '../../src/bounces/bounce-store.js';
import type { BounceClass } from '../../src/bounces/classify.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { seedEdition } from '../helpers/delivery-fixtures.js';
import { addReader } from '../helpers/digest-fixtures.js';

const SHOTS = 'samples/console';
const ADMIN = { email: 'chief@almadar.example', password: 'correct horse battery 42' };
const EDITOR = { email: 'desk@almadar.example', password: 'another long passphrase 7' };
const THROTTLE = '421 4.7.0 [TS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume';

const copy = {
  ar: {
    signIn: 'دخول',
    email: 'البريد الإلكتروني',
    password: 'كلمة المرور',
    providers: 'مزوّدو البريد المستقبِلون',
    backingOff: 'متريّث',
    waiting: 'رسائل تنتظر',
    bounces: 'تقارير الارتداد والشكاوى',
    hard: 'حُظر: العنوان غير موجود',
    next: 'التالي',
    page2: 'الصفحة ٢ من ٢',
    digits: /[٠-٩]/,
  },
  en: {
    signIn: 'Sign in',
    email: 'Email address',
    password: 'Password',
    providers: 'Receiving providers',
    backingOff: 'Backing off',
    waiting: 'Rows waiting',
    bounces: 'Bounce and complaint reports',
    hard: 'Suppressed: the address does not exist',
    next: 'Next',
    page2: 'Page 2 of 2',
    digits: /[0-9]/,
  },
};

describe('providers and bounce reports in the console, in Chromium', () => {
  let ctx: TestContext;
  let browser: Browser;
  let base: string;
  let reader = '';

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    ctx = await createTestContext({
      workers: false,
      env: {
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        PROVIDER_LIMITS: '{"gmail":{"perSecond":50,"perHour":20000,"messagesPerConnection":100}}',
      },
    });
    await ctx.container.operators.create({ ...EDITOR, role: 'editor', createdBy: 'test' });
    const { editionId } = await seedEdition(ctx, { readers: 12, batchSize: 6 });
    const domains = ['gmail.com', 'yahoo.com', 'outlook.com', 'alwatan-news.example'];
    await ctx.db.query(
      `UPDATE deliveries SET recipient = 'r' || id || '@' || ($2::text[])[1 + id % 4] WHERE edition_id = $1`,
      [editionId, domains],
    );
    await ctx.container.providerGate.throttled('yahoo', THROTTLE, ctx.clock.now().getTime());
    reader = await addReader(ctx, { email: 'layla.saeed@example.org', name: 'ليلى سعيد' });
    const start = ctx.clock.now().getTime() - 40 * 3600_000;
    const classes: BounceClass[] = ['soft', 'auto-reply', 'block', 'complaint'];
    let last: number | undefined;
    for (let n = 0; n < 23; n++)
      last = await insertBounceEvent(ctx.db, {
        source: n % 3 ? 'inbound' : 'postmark',
        eventId: `b-${n}`,
        class: n === 22 ? 'hard' : classes[n % classes.length]!,
        rule: null,
        recipient: 'layla.saeed@example.org',
        subscriberId: reader,
        deliveryId: null,
        editionId: n % 2 ? editionId : null,
        messageId: null,
        status: n === 22 ? '5.1.1' : '4.2.2',
        diagnostic:
          n === 22
            ? "550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos"
            : `452 4.2.2 mailbox full (${n})`,
        raw: null,
        occurredAt: new Date(start + n * 3600_000),
        receivedAt: new Date(start + n * 3600_000),
      });
    await markEventSuppressed(ctx.db, last!);
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

  async function shoot(page: Page, name: string) {
    for (const width of [1280, 375]) {
      await page.setViewportSize({ width, height: 900 });
      await page.screenshot({ path: `${SHOTS}/${name}-${width}.png`, fullPage: true });
      if (width === 375)
        expect(
          await page.evaluate('document.documentElement.scrollWidth'),
          `${name} at 375 px`,
        ).toBeLessThanOrEqual(375);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  }

  /** The section alone at both widths, to read it at full size. */
  async function shootPart(part: ReturnType<Page['locator']>, name: string) {
    for (const width of [1280, 375]) {
      await part.page().setViewportSize({ width, height: 900 });
      await part.screenshot({ path: `${SHOTS}/${name}-${width}.png` });
    }
    await part.page().setViewportSize({ width: 1280, height: 900 });
  }

  for (const lang of ['ar', 'en'] as const) {
    it(`an editor sees the providers' backoff on the dashboard and a reader's bounce reports (${lang})`, async () => {
      const t = copy[lang];
      const context = await browser.newContext({ locale: lang, viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await page.goto(`${base}/admin`);
      if (lang === 'en') await page.getByRole('button', { name: 'English' }).click();
      await page.waitForSelector(`html[lang="${lang}"]`);
      await page.getByLabel(t.email).fill(EDITOR.email);
      await page.getByLabel(t.password).fill(EDITOR.password);
      await page.getByRole('button', { name: t.signIn, exact: true }).click();
      await page.waitForURL(`${base}/admin`);
      expect(await page.getAttribute('html', 'dir')).toBe(lang === 'ar' ? 'rtl' : 'ltr');

      const card = page.locator('section[aria-labelledby="providers"]');
      await card.getByRole('heading', { name: t.providers }).waitFor();
      const yahoo = card.locator('tbody tr').first();
      expect(await yahoo.locator('td').first().textContent()).toBe('yahoo');
      expect(await yahoo.textContent()).toContain(t.backingOff);
      // the SMTP reply reads left to right inside the right-to-left page
      const reply = yahoo.locator('bdi[dir="ltr"]', { hasText: 'TS04' });
      type Styled = { getComputedStyle(e: unknown): { direction: string } };
      expect(
        await reply.evaluate((e) => (globalThis as unknown as Styled).getComputedStyle(e).direction),
      ).toBe('ltr');
      const waiting = await yahoo.locator(`td[data-label="${t.waiting}"]`).textContent();
      expect(waiting).toMatch(t.digits);
      expect(await card.locator('form, button').count()).toBe(0);
      await shoot(page, `dashboard-providers-${lang}`);
      await shootPart(card, `providers-card-${lang}`);

      await page.goto(`${base}/admin/subscribers/${reader}`);
      const bounces = page.locator('#bounces');
      await bounces.getByRole('heading', { name: t.bounces }).waitFor();
      expect(await bounces.locator('tbody tr').count()).toBe(20);
      expect(await bounces.locator('tbody tr').first().textContent()).toContain(t.hard);
      await shoot(page, `reader-bounces-${lang}`);
      await shootPart(bounces.locator('tbody tr').first(), `bounces-row-${lang}`);
      await bounces.getByRole('link', { name: t.next }).click();
      await page.waitForURL(/offset=20/);
      expect(await page.locator('#bounces .pager').textContent()).toContain(t.page2);
      expect(await page.locator('#bounces tbody tr').count()).toBe(3);
      expect(errors).toEqual([]);
      await context.close();
    }, 120_000);
  }
});
