import { readFileSync } from 'node:fs';
import { type Publication, parsePublication } from '../../../src/publication.js';

const FIXTURES = new URL('../../fixtures/cms/', import.meta.url);

export function fixtureText(path: string): string {
  return readFileSync(new URL(path, FIXTURES), 'utf8');
}

export function fixture(path: string): unknown {
  return JSON.parse(fixtureText(path));
}

export function publication(overrides: Partial<Record<string, unknown>> = {}): Publication {
  return parsePublication({
    name: { ar: 'صحيفة المدار', en: 'Al-Madar Daily' },
    website: 'https://almadar.example',
    postalAddress: { ar: 'شارع بغداد، دمشق', en: 'Baghdad Street, Damascus' },
    sender: { name: { ar: 'نشرة المدار', en: 'Al-Madar' }, email: 'news@almadar.example' },
    timezone: 'Asia/Damascus',
    locales: { ar: { locale: 'ar-SY' }, en: { locale: 'en-GB' } },
    topics: [
      { id: 'politics', label: { ar: 'سياسة', en: 'Politics' } },
      { id: 'economy', label: { ar: 'اقتصاد', en: 'Economy' } },
      { id: 'society', label: { ar: 'مجتمع', en: 'Society' } },
      { id: 'reports', label: { ar: 'تقارير', en: 'Reports' } },
      { id: 'culture', label: { ar: 'ثقافة', en: 'Culture' } },
      { id: 'sport', label: { ar: 'رياضة', en: 'Sport' } },
    ],
    consent: { version: '1', text: { ar: 'أوافق', en: 'I agree' } },
    categoryMap: {
      سياسة: 'politics',
      World: 'politics',
      اقتصاد: 'economy',
      مجتمع: 'society',
      ' تقارير ': 'reports',
      Reports: 'reports',
      ثقافة: 'culture',
      رياضة: 'sport',
    },
    breakingTerms: ['عاجل', 'Breaking'],
    sources: {
      generic: { language: 'ar', timezone: 'Asia/Damascus' },
      wordpress: { language: 'ar', timezone: 'Asia/Damascus', siteUrl: 'https://almadar.example' },
      ghost: { language: 'en', timezone: 'UTC' },
      strapi: { language: 'ar', timezone: 'Asia/Damascus', siteUrl: 'https://cms.almadar.example' },
    },
    ...overrides,
  });
}

/** Fixtures are edited field by field to build the bad and edge cases. */
// biome-ignore lint/suspicious/noExplicitAny: untyped JSON fixture, mutated freely in tests
export type FixtureJson = Record<string, any>;
