import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config.js';
import { localizedError, preferencesPage } from '../../../src/http/pages/subscribe-page.js';
import { type Publication, parsePublication } from '../../../src/publication.js';
import { renderEdition, renderTransactional } from '../../../src/render/index.js';
import { nextDigestText } from '../../../src/render/next-digest.js';
import { arabicArticles, SAMPLE_DATE, samplePublication } from '../../fixtures/sample-articles.js';
import { visibleText } from './render-helpers.js';

/**
 * The digits of what Gazette writes to Arabic readers are one setting of the publication
 * (locales.ar.numberingSystem): Arabic-Indic ("arab") or Latin ("latn"), never a mix. Both are
 * rendered here: the digest's date and subject count, the confirmation's expiry, the first-digest
 * promise, the preference centre's hours and its error messages.
 */
const ARABIC_INDIC = /[\u0660-\u0669]/;
const LATIN = /[0-9]/;

function withDigits(numberingSystem: string | undefined): Publication {
  const raw = JSON.parse(JSON.stringify(samplePublication())) as Publication;
  if (numberingSystem === undefined) delete raw.locales.ar.numberingSystem;
  else raw.locales.ar.numberingSystem = numberingSystem;
  return parsePublication(raw);
}

async function whatGazetteWrites(publication: Publication): Promise<string[]> {
  const digest = await renderEdition({
    template: 'digest',
    language: 'ar',
    articles: arabicArticles,
    publication,
    editionId: 'digits',
    date: SAMPLE_DATE,
    frequency: 'daily',
  });
  const confirmation = await renderTransactional('confirmation', {
    language: 'ar',
    publication,
    confirmUrl: 'https://news.example.test/confirm/abc',
    expiresAt: new Date('2026-12-09T10:30:00Z'),
  });
  const page = preferencesPage({
    language: 'ar',
    publication,
    email: 'reader@example.com',
    name: '',
    action: '/preferences/t',
    unsubscribeHref: '/unsubscribe/t',
    dataHref: '/preferences/t/data',
    values: {
      topics: [],
      frequency: 'daily',
      alerts: false,
      language: 'ar',
      timezone: 'Asia/Damascus',
      sendHour: 7,
      weeklyDay: null,
    },
  });
  const hours = /<select id="sendHour"[\s\S]*?<\/select>/.exec(page)![0];
  return [
    digest.subject,
    /الأحد، [^<]+ ٢٠٢٦|الأحد، [^<]+ 2026/.exec(digest.html)![0],
    visibleText(confirmation.html).match(/تنتهي صلاحية[^.]*/)![0],
    nextDigestText(
      publication,
      'ar',
      { frequency: 'daily', timezone: 'Asia/Damascus', sendHour: 7 },
      new Date('2026-11-29T13:00:00Z'),
    ),
    visibleText(hours),
    localizedError(publication, 'ar', 'sendHour').message,
    localizedError(publication, 'ar', 'name').message,
  ];
}

describe('the digit system of Arabic mail and pages', () => {
  it('writes Arabic-Indic digits everywhere with numberingSystem "arab"', async () => {
    const texts = await whatGazetteWrites(withDigits('arab'));
    for (const t of texts) {
      expect(t, t).toMatch(ARABIC_INDIC);
      expect(t, t).not.toMatch(LATIN);
    }
    expect(texts[0]).toMatch(/و٧ أخبار أخرى$/);
    expect(texts[1]).toBe('الأحد، ١ تشرين الثاني ٢٠٢٦');
    expect(texts[5]).toBe('اختر ساعة بين ٠٠:٠٠ و٢٣:٠٠.');
    expect(texts[6]).toContain('على ١٠٠ حرف');
  });

  it('writes Latin digits everywhere with numberingSystem "latn", the words staying Arabic', async () => {
    const texts = await whatGazetteWrites(withDigits('latn'));
    for (const t of texts) {
      expect(t, t).toMatch(LATIN);
      expect(t, t).not.toMatch(ARABIC_INDIC);
    }
    expect(texts[0]).toMatch(/و7 أخبار أخرى$/);
    expect(texts[1]).toBe('الأحد، 1 تشرين الثاني 2026');
    expect(texts[5]).toBe('اختر ساعة بين 00:00 و23:00.');
    expect(texts[6]).toContain('على 100 حرف');
  });

  it("follows the locale's own digits when the setting is left out", async () => {
    expect((await whatGazetteWrites(withDigits(undefined)))[1]).toBe('الأحد، ١ تشرين الثاني ٢٠٢٦'); // ar-SY
  });

  it('refuses a numbering system Intl does not know, naming the field', () => {
    expect(() => withDigits('arabic')).toThrow(ConfigError);
    expect(() => withDigits('arabic')).toThrow(
      /locales\.ar\.numberingSystem: "arabic" is not a numbering system/,
    );
  });
});
