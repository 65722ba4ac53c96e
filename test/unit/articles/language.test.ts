import { describe, expect, it } from 'vitest';
import {
  HeldError,
  normalizeGeneric,
  normalizeGhost,
  normalizeWordPress,
} from '../../../src/articles/index.js';
import { declaredLanguage, scriptLanguage } from '../../../src/articles/normalize/language.js';
import { loadPublication } from '../../../src/publication.js';
import { type FixtureJson, fixture, publication } from './helpers.js';

const pub = publication();
const sample = loadPublication('config/publication.sample.json');

function generic(data: Record<string, unknown>) {
  return normalizeGeneric(
    {
      type: 'article.published',
      id: 'evt-lang',
      data: {
        id: 'l-1',
        url: 'https://almadar.example/news/l-1',
        publishedAt: '2026-11-29T08:00:00Z',
        ...data,
      },
    },
    pub,
  )[0]?.article;
}

describe('the script of the title and text', () => {
  it('counts Arabic letters against Latin letters; a short Latin brand in an Arabic title stays Arabic', () => {
    expect(scriptLanguage('Apple Pay متاحة في سوريا')).toBe('ar');
    expect(scriptLanguage('iPhone 16 Pro Max يصل إلى دمشق')).toBe('ar');
    expect(scriptLanguage('NATO يعقد قمة طارئة')).toBe('ar');
    expect(scriptLanguage('Cabinet approves the 2027 budget')).toBe('en');
    // an English text quoting an Arabic name is still English
    expect(scriptLanguage('An interview with محمد about the harvest in the eastern provinces')).toBe('en');
    // harakat and Arabic-Indic digits are not letters; digits and punctuation alone say nothing
    expect(scriptLanguage('٢٠٢٦ — 2026!')).toBeNull();
    expect(scriptLanguage('')).toBeNull();
  });

  it('counts the letters a reader sees, not those of tags, URLs or entities', () => {
    const html =
      '<p><a href="https://almadar.example/category/economy/very-long-english-slug-for-the-link">الحكومة</a> ' +
      '<img src="https://cdn.example/images/photograph-of-the-minister.jpg" alt=""> تعلن الموازنة&nbsp;&hellip;</p>' +
      '<script>trackPageViewForAnalyticsDashboard()</script>';
    expect(generic({ title: 'الموازنة', html })).toMatchObject({ language: 'ar', languageOrigin: 'script' });
  });

  it('decides when the CMS declares nothing, and says so', () => {
    expect(generic({ title: 'Apple Pay متاحة في سوريا' })).toMatchObject({
      language: 'ar',
      languageOrigin: 'script',
    });
    expect(
      generic({ title: 'Cabinet approves the 2027 budget', html: '<p>The vote was close.</p>' }),
    ).toMatchObject({
      language: 'en',
      languageOrigin: 'script',
    });
    // nothing to read: the source's default (generic is "ar" in the publication)
    expect(generic({ title: '2026' })).toMatchObject({ language: 'ar', languageOrigin: 'source-default' });
  });
});

describe('a language the CMS declares', () => {
  it('reads ar, ar_SA, en_US, EN-gb by their primary subtag and wins over the script', () => {
    expect(declaredLanguage('ar', pub)).toBe('ar');
    expect(declaredLanguage('ar_SA', pub)).toBe('ar');
    expect(declaredLanguage('en_US', pub)).toBe('en');
    expect(declaredLanguage(' EN-gb ', pub)).toBe('en');
    expect(declaredLanguage('', pub)).toBeUndefined();
    expect(declaredLanguage(false, pub)).toBeUndefined();
    expect(declaredLanguage('fr', pub)).toBeNull();
    expect(declaredLanguage('ku_IQ', publication({ languageMap: { ku: 'ar' } }))).toBe('ar');
    expect(generic({ title: 'Apple Pay متاحة في سوريا', language: 'en' })).toMatchObject({
      language: 'en',
      languageOrigin: 'cms',
    });
  });

  it('reads Polylang lang and WPML wpml_language_code / wpml_current_locale from WordPress', () => {
    const rest = fixture('wordpress/rest-post-embed.json') as FixtureJson;
    const lang = (extra: Record<string, unknown>) =>
      normalizeWordPress({ ...rest, ...extra }, pub)[0]?.article?.language;
    expect(lang({ lang: 'en' })).toBe('en');
    expect(lang({ wpml_language_code: 'en' })).toBe('en');
    expect(lang({ wpml_current_locale: 'en_US' })).toBe('en');
    expect(normalizeWordPress(rest, pub)[0]?.article?.languageOrigin).toBe('script');
    const hooks = fixture('wordpress/wp-webhooks-post-create.json') as FixtureJson;
    const polylangTerm = {
      ...hooks,
      taxonomies: { ...hooks.taxonomies, language: { en: { name: 'English', slug: 'en' } } },
    };
    expect(normalizeWordPress(polylangTerm, pub, { trigger: 'post_create' })[0]?.article).toMatchObject({
      language: 'en',
      languageOrigin: 'cms',
    });
  });

  it('holds an upsert whose declared language maps to neither, naming the field and the setting', () => {
    let held: unknown;
    try {
      generic({ title: 'Le budget est adopté', language: 'fr-FR' });
    } catch (err) {
      held = err;
    }
    expect(held).toBeInstanceOf(HeldError);
    expect(held).toMatchObject({
      message:
        'language "fr-FR" (data.language) is neither Arabic nor English: map it in the publication file\'s languageMap',
      externalId: 'l-1',
      title: 'Le budget est adopté',
    });
  });

  it('never holds a removal for its language', () => {
    const hooks = fixture('wordpress/wp-webhooks-post-create.json') as FixtureJson;
    const [event] = normalizeWordPress({ ...hooks, lang: 'fr' }, pub, { trigger: 'post_delete' });
    expect(event).toMatchObject({ action: 'delete', externalId: '4821', article: null });
  });
});

describe('Ghost declares no language', () => {
  it('an Arabic post is Arabic with the sample configuration, read from its letters', () => {
    const [event] = normalizeGhost(fixture('ghost/post-published-ar.json'), sample, {
      event: 'post.published',
    });
    expect(event?.article).toMatchObject({ language: 'ar', languageOrigin: 'script' });
    const [english] = normalizeGhost(fixture('ghost/post-published.json'), sample, {
      event: 'post.published',
    });
    expect(english?.article).toMatchObject({ language: 'en', languageOrigin: 'script' });
  });

  it('the sample publication file sets no source language that contradicts the Arabic publication', () => {
    for (const [name, source] of Object.entries(sample.sources)) {
      expect([name, source?.language]).toEqual([name, 'ar']);
    }
    for (const feed of sample.feeds) expect([feed.id, feed.language ?? 'ar']).toEqual([feed.id, 'ar']);
  });
});
