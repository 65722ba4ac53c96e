/** Turns untrusted CMS articles into clean, validated values for the templates and text part. */
import type { Language, Publication } from '../publication.js';
import { formatHtml, formatText, type LocaleStrings } from './locale-strings.js';
import type { RenderArticle } from './render-types.js';
import { cleanText, isolateHtml, isolateText, neutralizeTokens, safeUrl } from './safe-text.js';

const MAX_TITLE = 200;
const MAX_SUMMARY = 320;
const MAX_AUTHOR = 80;

export interface CleanArticle {
  /** Position in the caller's priority order. */
  rank: number;
  id: string;
  title: string;
  summary: string;
  url: string;
  image: { src: string; alt: string } | null;
  author: string | null;
  topicId: string | null;
  breaking: boolean;
}

/** Cuts at a word boundary and marks the cut, so a summary never ends mid-word. */
export function truncate(value: string, max: number): string {
  if (value.length <= max) return value;
  const cut = value.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max * 0.6 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/** Returns null when the article cannot be linked safely (missing or non-http(s) URL, no title). */
export function cleanArticle(
  article: RenderArticle,
  rank: number,
  publication: Publication,
): CleanArticle | null {
  const url = safeUrl(article.url);
  const title = truncate(cleanText(article.title), MAX_TITLE);
  if (!url || !title) return null;
  const src = safeUrl(article.imageUrl);
  const knownTopics = new Set(publication.topics.map((t) => t.id));
  const author = article.author ? truncate(cleanText(article.author), MAX_AUTHOR) : '';
  return {
    rank,
    id: article.id,
    title,
    summary: truncate(cleanText(article.summary), MAX_SUMMARY),
    url,
    image: src ? { src, alt: truncate(cleanText(article.imageAlt ?? '') || title, MAX_TITLE) } : null,
    author: author || null,
    topicId: article.topics.find((t) => knownTopics.has(t)) ?? null,
    breaking: article.breaking,
  };
}

export function bylineHtml(article: CleanArticle, strings: LocaleStrings) {
  return article.author ? formatHtml(strings.article.byline, { author: isolateHtml(article.author) }) : '';
}

export function bylineText(article: CleanArticle, strings: LocaleStrings): string {
  return article.author ? formatText(strings.article.byline, { author: isolateText(article.author) }) : '';
}

/** Right-to-left mark: keeps an Arabic plain-text line right-to-left even if it opens with Latin. */
const RLM = '\u200f';

/** Prepares a content line for the text part. */
export function textLine(value: string, language: Language): string {
  const safe = neutralizeTokens(value);
  return language === 'ar' && safe ? `${RLM}${safe}` : safe;
}
