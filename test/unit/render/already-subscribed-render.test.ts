import { describe, expect, it } from 'vitest';
import { renderTransactional } from '../../../src/render/index.js';
import { samplePublication } from '../../fixtures/sample-articles.js';
import { expectGolden, hrefs, visibleText } from './render-helpers.js';

const publication = samplePublication();
const preferencesUrl = 'https://news.example.test/preferences/tok-pref';
const unsubscribeUrl = 'https://news.example.test/unsubscribe/tok-unsub';
const keepUrl = 'https://news.example.test/keep/tok-keep';

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

  it('tells a paused reader they are paused and carries the link that resumes them, in both languages', async () => {
    const ar = await renderTransactional('already-subscribed', {
      language: 'ar',
      publication,
      preferencesUrl,
      unsubscribeUrl,
      keepUrl,
    });
    expect(ar.subject).toBe('اشتراكك في نشرة صحيفة المدار متوقف مؤقتاً');
    expect(ar.html).toMatch(/<html lang="ar" dir="rtl"/);
    expect(visibleText(ar.html)).toContain('استئناف اشتراكي');
    expect(hrefs(ar.html)).toContain(keepUrl);
    expect(ar.text).toContain(keepUrl);
    const en = await renderTransactional('already-subscribed', {
      language: 'en',
      publication,
      preferencesUrl,
      unsubscribeUrl,
      keepUrl,
    });
    expect(en.subject).toBe('Your subscription to Al-Madar Daily is paused');
    expect(visibleText(en.html)).toContain('Resume my subscription');
    expect(hrefs(en.html)).toContain(keepUrl);
    // the confirmed reader's mail has no such link
    const confirmed = await renderTransactional('already-subscribed', {
      language: 'en',
      publication,
      preferencesUrl,
      unsubscribeUrl,
    });
    expect(hrefs(confirmed.html)).not.toContain(keepUrl);
    expect(confirmed.text).not.toContain('Resume');
  });

  it.each(['ar', 'en'] as const)(
    'already-subscribed-paused %s matches its golden files',
    async (language) => {
      const { subject, html, text } = await renderTransactional('already-subscribed', {
        language,
        publication,
        preferencesUrl,
        unsubscribeUrl,
        keepUrl,
      });
      expectGolden(`already-subscribed-paused-${language}.html`, html);
      expectGolden(`already-subscribed-paused-${language}.txt`, `Subject: ${subject}\n\n${text}`);
    },
  );
});
