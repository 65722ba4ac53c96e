import type { Publication } from '../../publication.js';
import { type ArticleLanguage, HeldError, type LanguageOrigin, type Provider } from '../types.js';
import { extractText } from './html-text.js';

/** An article's language (declared, else told by its script, else the source default) and the source settings. */

/** A language the CMS or feed declared, and the field it came from (for the held reason). */
export interface DeclaredLanguage {
  value: unknown;
  field: string;
}

/**
 * A declared language code ('ar', 'ar-SY', 'ar_SA', 'en_US', WPML's 'en') to Gazette's language:
 * the publication's `languageMap` first (full tag, then primary subtag, any case), then Arabic and
 * English by primary subtag. undefined when nothing was declared (absent, not a string, empty);
 * null when a language was declared that maps to neither.
 */
export function declaredLanguage(raw: unknown, publication: Publication): ArticleLanguage | null | undefined {
  if (typeof raw !== 'string') return undefined;
  const tag = raw.trim().toLowerCase().replace(/_/g, '-');
  if (tag === '') return undefined;
  const primary = tag.split('-')[0] ?? tag;
  const map = languageMapIndex(publication);
  const mapped = map.get(tag) ?? map.get(primary);
  if (mapped) return mapped;
  return primary === 'ar' || primary === 'en' ? primary : null;
}

const languageMaps = new WeakMap<Publication, Map<string, ArticleLanguage>>();

function languageMapIndex(publication: Publication): Map<string, ArticleLanguage> {
  let index = languageMaps.get(publication);
  if (!index) {
    index = new Map(
      Object.entries(publication.languageMap ?? {}).map(([code, lang]) => [
        code.trim().toLowerCase().replace(/_/g, '-'),
        lang,
      ]),
    );
    languageMaps.set(publication, index);
  }
  return index;
}

// letters only: harakat are marks, Arabic-Indic digits are numbers
const ARABIC_LETTER = /(?=\p{L})\p{Script=Arabic}/u;
const LATIN_LETTER = /(?=\p{L})\p{Script=Latin}/u;
/** Enough text to tell the script; an article body can run to megabytes. */
const SCRIPT_SAMPLE_CHARS = 2000;

/**
 * The language the letters of a text are written in, or null when it has neither Arabic nor Latin
 * letters. Arabic wins from a third of the letters up: Arabic news is full of Latin brands,
 * acronyms and product names ("Apple Pay", "iPhone 16 Pro", "NATO"), while English news rarely
 * carries Arabic script at all, so an even split means an Arabic text quoting Latin names.
 */
export function scriptLanguage(text: string): ArticleLanguage | null {
  let arabic = 0;
  let latin = 0;
  let seen = 0;
  for (const ch of text) {
    if (++seen > SCRIPT_SAMPLE_CHARS) break;
    if (ARABIC_LETTER.test(ch)) arabic++;
    else if (LATIN_LETTER.test(ch)) latin++;
  }
  if (arabic === 0 && latin === 0) return null;
  return arabic * 2 >= latin ? 'ar' : 'en';
}

/**
 * The readable text of a start of HTML, for counting letters only (never shown, never trusted):
 * tags, scripts and styles dropped, since their names and URLs are Latin whatever the language.
 */
export function lettersOf(html: string): string {
  return extractText(html.slice(0, SCRIPT_SAMPLE_CHARS * 4), { stopAfter: SCRIPT_SAMPLE_CHARS });
}

/**
 * An article's language, in this order: what the CMS or feed declares; else the script of its
 * title and text; else the source's configured default. A declared language that maps to neither
 * Arabic nor English is not guessed: the event is held until `languageMap` says what it is.
 */
export function resolveLanguage(
  declared: DeclaredLanguage | undefined,
  /** the title and text, read only when nothing was declared */
  content: () => string,
  ctx: SourceContext,
): { language: ArticleLanguage; origin: LanguageOrigin } {
  if (declared) {
    const lang = declaredLanguage(declared.value, ctx.publication);
    if (lang) return { language: lang, origin: 'cms' };
    if (lang === null) {
      throw new HeldError(
        `language "${String(declared.value).trim()}" (${declared.field}) is neither Arabic nor English: map it in the publication file's languageMap`,
      );
    }
  }
  const script = scriptLanguage(content());
  if (script) return { language: script, origin: 'script' };
  return { language: ctx.language, origin: 'source-default' };
}

export interface SourceContext {
  provider: Provider;
  sourceKey: string;
  /** the source's default language, the last resort of resolveLanguage */
  language: ArticleLanguage;
  timezone: string;
  siteUrl?: string;
  publication: Publication;
}

export function sourceContext(publication: Publication, provider: Exclude<Provider, 'feed'>): SourceContext {
  const source = publication.sources[provider];
  return {
    provider,
    sourceKey: provider,
    language: source?.language ?? 'ar',
    timezone: source?.timezone ?? publication.timezone,
    siteUrl: source?.siteUrl,
    publication,
  };
}
