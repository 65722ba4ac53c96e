import { describe, expect, it } from 'vitest';
import { renderTransactional } from '../../../src/render/index.js';
import { samplePublication } from '../../fixtures/sample-articles.js';
import { expectGolden, hrefs, visibleText } from './render-helpers.js';

const publication = samplePublication();
const preferencesUrl = 'https://news.example.test/preferences/tok-pref';
const unsubscribeUrl = 'https://news.example.test/unsubscribe/tok-unsub';

describe('already subscribed', () => {
  it('tells an Arabic reader nothing changed and links their preferences, right to left', async () => {
    const { subject, html, text } = await renderTransactional('already-subscribed', {
      language: 'ar',
      publication,
      name: 'WIN $5000 https://evil.example',
      preferencesUrl,
      unsubscribeUrl,
    });
    expect(subject).toBe('أنت مشترك مسبقاً في نشرة صحيفة المدار');
    expect(html).toMatch(/<html lang="ar" dir="rtl"/);
    expect(visibleText(html)).toContain('أنت مشترك مسبقاً');
    expect(visibleText(html)).toContain('فتح تفضيلاتي');
    expect(hrefs(html)).toContain(preferencesUrl);
    expect(hrefs(html)).toContain(unsubscribeUrl);
    expect(text).toContain(preferencesUrl);
    expect(text).toContain(unsubscribeUrl);
    // whoever submitted the form chose no words in this mail
    for (const part of [subject, html, text]) expect(part).not.toContain('evil.example');
  });

  it.each(['ar', 'en'] as const)('already-subscribed %s matches its golden files', async (language) => {
    const { subject, html, text } = await renderTransactional('already-subscribed', {
      language,
      publication,
      preferencesUrl,
      unsubscribeUrl,
    });
    expectGolden(`already-subscribed-${language}.html`, html);
    expectGolden(`already-subscribed-${language}.txt`, `Subject: ${subject}\n\n${text}`);
  });
});
