import { describe, expect, it } from 'vitest';
import { getCompileCount, RenderError, renderTransactional } from '../../../src/render/index.js';
import { SAMPLE_DATE, samplePublication } from '../../fixtures/sample-articles.js';
import { expectGolden, hrefs, visibleText } from './render-helpers.js';

const publication = samplePublication();
const confirmUrl = 'https://almadar.example/ar/newsletter/confirm?token=abc&lang=ar';
const expiresAt = new Date(SAMPLE_DATE.getTime() + 48 * 3600_000);

describe('confirmation', () => {
  it('renders the Arabic double opt-in with button, fallback link and expiry', async () => {
    const before = getCompileCount();
    const { subject, html, text } = await renderTransactional('confirmation', {
      language: 'ar',
      publication,
      name: 'Sarah <img src=x>',
      confirmUrl,
      expiresAt,
    });
    expect(getCompileCount() - before).toBe(1);
    expect(subject).toBe('أكِّد اشتراكك في نشرة صحيفة المدار');
    expect(html).toMatch(/<html lang="ar" dir="rtl"/);
    expect(hrefs(html).filter((h) => h === confirmUrl.replace('&', '&amp;'))).toHaveLength(2);
    expect(visibleText(html)).toContain('تأكيد الاشتراك');
    // The fallback URL is isolated so it reads left-to-right inside the Arabic paragraph.
    expect(html).toContain(`<bdi>\u2068${confirmUrl.replace('&', '&amp;')}\u2069</bdi>`);
    expect(html).toContain('تنتهي صلاحية هذا الرابط في ٣ تشرين الثاني ٢٠٢٦');
    expect(html).not.toContain('<img src=x>');
    // Not subscribed yet: no unsubscribe link, and the footer says why the mail came.
    expect(html).not.toContain('إلغاء الاشتراك');
    expect(text).toContain(confirmUrl);
    expect(text).toContain('أُدخل في نموذج الاشتراك');
    expect(text).not.toMatch(/<(?:a|div|p|br|span|bdi)\b|&amp;|&lt;/i);
  });

  it('never carries the name typed into the form: no greeting at all, in either part', async () => {
    // whoever typed the address chose the name; this mail goes to an unconfirmed mailbox
    const spam = 'WIN $5000 NOW: https://evil.example/claim';
    for (const language of ['ar', 'en'] as const) {
      const { subject, html, text } = await renderTransactional('confirmation', {
        language,
        publication,
        name: spam,
        confirmUrl,
        expiresAt,
      });
      for (const part of [subject, html, text]) {
        expect(part).not.toContain('evil.example');
        expect(part).not.toContain('5000');
      }
      expect(visibleText(html)).not.toContain(language === 'ar' ? 'مرحباً' : 'Hello');
      expect(text).not.toContain(language === 'ar' ? 'مرحباً' : 'Hello');
    }
  });

  it.each(['ar', 'en'] as const)('confirmation %s matches its golden files', async (language) => {
    const { subject, html, text } = await renderTransactional('confirmation', {
      language,
      publication,
      name: 'ليلى',
      confirmUrl,
      expiresAt,
    });
    expectGolden(`confirmation-${language}.html`, html);
    expectGolden(`confirmation-${language}.txt`, `Subject: ${subject}\n\n${text}`);
  });

  it('requires an http(s) confirmation URL', async () => {
    await expect(
      renderTransactional('confirmation', { language: 'en', publication, confirmUrl: 'javascript:alert(1)' }),
    ).rejects.toThrow(RenderError);
  });
});

describe('welcome', () => {
  it('renders English left-to-right with preferences and unsubscribe links', async () => {
    const { subject, html, text } = await renderTransactional('welcome', {
      language: 'en',
      publication,
      name: 'Omar',
      preferencesUrl: 'https://almadar.example/en/newsletter/preferences?t=1',
      unsubscribeUrl: 'https://almadar.example/en/newsletter/unsubscribe?t=1',
    });
    expect(subject).toBe('Welcome to Al-Madar Daily');
    expect(html).toMatch(/<html lang="en" dir="ltr"/);
    expect(visibleText(html)).toContain('Hello \u2068Omar\u2069,');
    const links = hrefs(html);
    expect(links).toContain('https://almadar.example/en/newsletter/preferences?t=1');
    expect(links).toContain('https://almadar.example/en/newsletter/unsubscribe?t=1');
    expect(text).toContain('https://almadar.example/en/newsletter/unsubscribe?t=1');
    expect(text).toContain('Al-Madar Daily, 12 Baghdad Street, Damascus, Syria');
  });

  it('greets generically without a name', async () => {
    const { text } = await renderTransactional('welcome', {
      language: 'ar',
      publication,
      preferencesUrl: 'https://almadar.example/p',
      unsubscribeUrl: 'https://almadar.example/u',
    });
    expect(text).toContain('مرحباً بك،');
  });
});
