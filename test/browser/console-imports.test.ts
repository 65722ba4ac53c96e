import type { AddressInfo } from 'node:net';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertBounceEvent } from '../../src/bounces/bounce-store.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { seedEdition } from '../helpers/delivery-fixtures.js';
import { addReader } from '../helpers/digest-fixtures.js';

const SHOTS = 'samples/console';
const ADMIN = { email: 'chief@almadar.example', password: 'correct horse battery 42' };

const copy = {
  ar: {
    signIn: 'دخول',
    email: 'البريد الإلكتروني',
    password: 'كلمة المرور',
    file: 'ملف CSV',
    attested: 'وافق هؤلاء القرّاء من قبل: تأكيدهم الآن',
    attestation: 'كيف ومتى وافق هؤلاء القرّاء (يُحفظ دليلاً على موافقتهم)',
    statement: 'اشتركوا عبر نموذج الموقع بين ٢٠٢٢ و٢٠٢٥',
    start: 'استيراد',
    done: 'اكتمل',
    rejected: 'الصفوف التي لم تُستورد',
    reasons: ['ليس عنوان بريد صالحاً', 'العنوان نفسه في الصف ١', 'قارئ من قبل (مؤكَّد)'],
    english: /same address|already a reader|is not an email/,
  },
  en: {
    signIn: 'Sign in',
    email: 'Email address',
    password: 'Password',
    file: 'CSV file',
    attested: 'These readers already consented: confirm them now',
    attestation: 'How and when these readers consented (kept as their consent evidence)',
    statement: 'Signed up on the website form between 2022 and 2025',
    start: 'Import',
    done: 'Done',
    rejected: 'Rows not imported',
    reasons: ['The address is not an email address', 'Same address as row 1', 'Already a reader (Confirmed)'],
    english: /same address as row|already a reader \(confirmed\)/,
  },
};

const csv = (lang: string) =>
  '\uFEFFEmail Address;الاسم;اللغة;TIMEZONE\r\n' +
  `hala.${lang}@example.org;"هالة; العمري";ar;Asia/Amman\r\n` +
  `karim.${lang}@example.org;كريم منصور;ar;Africa/Cairo\r\n` +
  'not-an-address;رقم خاطئ;ar;\r\n' +
  `HALA.${lang}@example.org;هالة مكررة;ar;\r\n` +
  'old.reader@example.org;قارئ قديم;ar;\r\n' +
  `emma.${lang}@example.com;Emma Clarke;en;Europe/London\r\n`;

describe('list import in the console, in Chromium', () => {
  let ctx: TestContext;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    ctx = await createTestContext({ env: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password } });
    await addReader(ctx, { email: 'old.reader@example.org', language: 'ar' });
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

  for (const lang of ['ar', 'en'] as const) {
    it(`uploads a CSV, maps its columns, imports with an attestation and watches it finish (${lang})`, async () => {
      const t = copy[lang];
      const context = await browser.newContext({ locale: lang, viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await page.goto(`${base}/admin/imports`);
      if (lang === 'en') await page.getByRole('button', { name: 'English' }).click();
      await page.waitForSelector(`html[lang="${lang}"]`);
      await page.getByLabel(t.email).fill(ADMIN.email);
      await page.getByLabel(t.password).fill(ADMIN.password);
      await page.getByRole('button', { name: t.signIn, exact: true }).click();
      await page.waitForURL(`${base}/admin/imports`);
      expect(await page.getAttribute('html', 'dir')).toBe(lang === 'ar' ? 'rtl' : 'ltr');

      // choosing the file previews it (htmx): the suggested mapping and the first rows appear
      await page.getByLabel(t.file).setInputFiles({
        name: `قائمة-${lang}.csv`,
        mimeType: 'text/csv',
        buffer: Buffer.from(csv(lang)),
      });
      await page.waitForSelector('#map-email');
      expect(await page.inputValue('#map-email')).toBe('Email Address');
      expect(await page.inputValue('#map-name')).toBe('الاسم');
      expect(await page.inputValue('#map-timezone')).toBe('TIMEZONE');
      await expect.poll(() => page.locator('#import-preview').textContent()).toContain('هالة; العمري');
      // the file input still holds the file after the preview: the same form imports it
      await page.getByLabel(t.attested).check();
      await page.getByLabel(t.attestation).fill(t.statement);
      await shoot(page, `import-preview-${lang}`);

      await page.getByRole('button', { name: t.start, exact: true }).click();
      await page.waitForURL(/\/admin\/imports\/[0-9a-f-]{36}$/);
      // htmx polls the progress until the job is done
      await page.getByText(t.done, { exact: true }).waitFor({ timeout: 60_000 });
      await page.getByRole('heading', { name: t.rejected }).waitFor();
      const status = (await page.locator('#import-status').textContent()) ?? '';
      expect(status).toContain('not-an-address');
      // the reasons in the operator's language, never the API's English sentence
      for (const reason of t.reasons) expect(status).toContain(reason);
      expect(status).not.toMatch(t.english);
      await shoot(page, `import-report-${lang}`);
      const id = /\/admin\/imports\/([0-9a-f-]{36})$/.exec(page.url())![1]!;
      const imp = await ctx.container.imports.get(id);
      expect(imp).toMatchObject({ state: 'done', mode: 'attested', imported: 3, invalid: 1, duplicate: 2 });
      expect(imp.attestation).toBe(t.statement);
      const hala = await ctx.db.query(`SELECT name, timezone, status FROM subscribers WHERE email_key = $1`, [
        `hala.${lang}@example.org`,
      ]);
      expect(hala.rows[0]).toEqual({ name: 'هالة; العمري', timezone: 'Asia/Amman', status: 'confirmed' });

      // the report downloads from the page
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page
          .getByRole('link', { name: lang === 'ar' ? 'تنزيل التقرير (CSV)' : 'Download the report (CSV)' })
          .click(),
      ]);
      expect(download.suggestedFilename()).toBe(`import-${id}.csv`);
      expect(errors).toEqual([]);
      await context.close();
    });
  }

  it('shows bounce figures on the editions, readers by source with suppression reasons, and pauses all sending (ar)', async () => {
    const e = await seedEdition(ctx, { readers: 4, batchSize: 10, language: 'ar' });
    await ctx.db.query(`UPDATE deliveries SET state = 'sent', attempts = 1 WHERE edition_id = $1`, [
      e.editionId,
    ]);
    await ctx.db.query(`UPDATE editions SET state = 'sent' WHERE id = $1`, [e.editionId]);
    const rows = (
      await ctx.db.query('SELECT id, subscriber_id, recipient FROM deliveries WHERE edition_id = $1', [
        e.editionId,
      ])
    ).rows;
    for (const [i, cls] of (['hard', 'complaint', 'auto-reply'] as const).entries())
      await insertBounceEvent(ctx.db, {
        source: 'inbound',
        eventId: `shot-${i}`,
        class: cls,
        rule: null,
        recipient: rows[i].recipient,
        subscriberId: rows[i].subscriber_id,
        deliveryId: Number(rows[i].id),
        editionId: e.editionId,
        messageId: null,
        status: null,
        diagnostic: null,
        raw: null,
        occurredAt: new Date(),
        receivedAt: new Date(),
      });
    const suppressed = await addReader(ctx, {
      email: 'rami.suppressed@example.org',
      name: 'رامي',
      language: 'ar',
    });
    await ctx.container.subscriptions.suppress(suppressed, 'شكوى بريد مزعج', {
      source: 'operator',
      ip: null,
      userAgent: null,
    });

    const context = await browser.newContext({ locale: 'ar', viewport: { width: 1280, height: 900 } });
    await context.route(
      (url) => !url.href.startsWith(base),
      (route) => route.fulfill({ status: 204 }),
    );
    const page = await context.newPage();
    await page.goto(`${base}/admin`);
    await page.getByLabel('البريد الإلكتروني').fill(ADMIN.email);
    await page.getByLabel('كلمة المرور').fill(ADMIN.password);
    await page.getByRole('button', { name: 'دخول', exact: true }).click();
    await page.waitForURL(`${base}/admin`);
    await page.getByLabel('السبب (يظهر إلى أن يستأنف أحدهم الإرسال)').fill('مراجعة قائمة الليلة قبل الإرسال');
    await page.getByRole('button', { name: 'إيقاف كل الإرسال' }).click();
    await page.getByText('أُوقف كل الإرسال الجماعي.').waitFor();
    expect(await page.textContent('main')).toContain('الإرسال موقوف: مراجعة قائمة الليلة قبل الإرسال');
    await shoot(page, 'dashboard-paused-ar');
    await page.getByRole('button', { name: 'استئناف الإرسال' }).click();
    await page.getByText('الإرسال يعمل.').waitFor();
    expect((await ctx.container.sendingPause.status()).paused).toBe(false);

    await page.goto(`${base}/admin/editions`);
    await shoot(page, 'editions-bounces-ar');
    await page.goto(`${base}/admin/subscribers?status=suppressed`);
    expect(await page.textContent('main')).toContain('شكوى بريد مزعج');
    await page.goto(`${base}/admin/subscribers?source=import`);
    await page.selectOption('#f-source', 'import');
    await shoot(page, 'readers-source-ar');
    await context.close();
  });

  it('previews a large file from its first megabyte only; the import sends it whole', async () => {
    const rows = Array.from({ length: 60_000 }, (_, i) => `big${i}@large.example,قارئ رقم ${i}`);
    const big = Buffer.from(`email,name\n${rows.join('\n')}\n`);
    expect(big.length).toBeGreaterThan(2 * 1024 * 1024);
    const context = await browser.newContext({ locale: 'ar', viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const sizes: Record<string, number> = {};
    // the size the browser sent, as the request's Content-Length (a file body is not exposed)
    page.on('request', (r) => {
      if (r.method() !== 'POST') return;
      void r.allHeaders().then((h) => {
        sizes[new URL(r.url()).pathname] = Number(h['content-length'] ?? 0);
      });
    });
    await page.goto(`${base}/admin/imports`);
    await page.getByLabel('البريد الإلكتروني').fill(ADMIN.email);
    await page.getByLabel('كلمة المرور').fill(ADMIN.password);
    await page.getByRole('button', { name: 'دخول', exact: true }).click();
    await page.waitForURL(`${base}/admin/imports`);
    await page.getByLabel('ملف CSV').setInputFiles({ name: 'big.csv', mimeType: 'text/csv', buffer: big });
    await page.waitForSelector('#map-email');
    await expect.poll(() => page.locator('#import-preview').textContent()).toContain('big0@large.example');
    expect(sizes['/admin/imports/preview']).toBeGreaterThan(1024 * 1024);
    expect(sizes['/admin/imports/preview']).toBeLessThan(1024 * 1024 + 4096);
    await page.getByRole('button', { name: 'استيراد', exact: true }).click();
    await page.waitForURL(/\/admin\/imports\/[0-9a-f-]{36}$/);
    expect(sizes['/admin/imports']).toBeGreaterThan(big.length);
    const id = /\/admin\/imports\/([0-9a-f-]{36})$/.exec(page.url())![1]!;
    expect((await ctx.container.imports.get(id)).total_rows).toBe(60_000);
    await context.close();
  });
});
