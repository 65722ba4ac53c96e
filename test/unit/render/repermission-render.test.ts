import { describe, expect, it } from 'vitest';
import { renderTransactional } from '../../../src/render/index.js';
import { samplePublication } from '../../fixtures/sample-articles.js';
import { expectGolden, hrefs, visibleText } from './render-helpers.js';

const publication = samplePublication();
const keepUrl = 'https://news.example.test/keep/tok-keep';
const preferencesUrl = 'https://news.example.test/preferences/tok-pref';
const unsubscribeUrl = 'https://news.example.test/unsubscribe/tok-unsub';

describe('re-permission mail', () => {
  it('asks an Arabic reader whether to keep sending, right to left, with keep and unsubscribe links', async () => {
    const { subject, html, text } = await renderTransactional('repermission', {
      language: 'ar',
      publication,
      name: 'سلمى',
      keepUrl,
      preferencesUrl,
      unsubscribeUrl,
      graceDays: 14,
    });
    expect(subject).toBe('هل ما زلت ترغب في تلقي نشرة صحيفة المدار؟');
    expect(html).toMatch(/<html lang="ar" dir="rtl"/);
    expect(visibleText(html)).toContain('هل ما زلت ترغب في تلقي النشرة؟');
    expect(visibleText(html)).toContain('نعم، استمروا في الإرسال');
    expect(visibleText(html)).toContain('سلمى');
    expect(hrefs(html)).toContain(keepUrl);
    expect(hrefs(html)).toContain(unsubscribeUrl);
    expect(text).toContain(keepUrl);
    expect(text).toContain(unsubscribeUrl);
    expect(text).toContain('14');
  });

  it('refuses a keep link that is not http(s)', async () => {
    await expect(
      renderTransactional('repermission', {
        language: 'en',
        publication,
        keepUrl: 'javascript:alert(1)',
        preferencesUrl,
        unsubscribeUrl,
      }),
    ).rejects.toThrow(/keepUrl/);
  });

  it.each(['ar', 'en'] as const)('repermission %s matches its golden files', async (language) => {
    const { subject, html, text } = await renderTransactional('repermission', {
      language,
      publication,
      keepUrl,
      preferencesUrl,
      unsubscribeUrl,
      graceDays: 14,
    });
    expectGolden(`repermission-${language}.html`, html);
    expectGolden(`repermission-${language}.txt`, `Subject: ${subject}\n\n${text}`);
  });
});
