/**
 * The "most read" (الأكثر قراءة) section of daily and weekly digests: part of the edition, so it
 * is compiled with it, once. Its links take the slots after the edition's own articles.
 */
import type { Language } from '../publication.js';
import type { ArticleLinks } from './article-links.js';
import { type CleanArticle, cleanArticle, textLine } from './article-view.js';
import { markerPair } from './html-budget.js';
import type { LocaleStrings } from './locale-strings.js';
import type { RenderEditionInput } from './render-types.js';
import type { SafeHtml } from './safe-text.js';

// ranks of their own, so a most-read article never shares a marker or slot with an edition article
const RANK_BASE = 10_000;
export const MOST_READ_SPAN = 'most-read';

/** The clean most-read articles of a digest: not in the edition, capped, in the caller's order. */
export function mostReadArticles(
  input: RenderEditionInput,
  edition: readonly CleanArticle[],
): CleanArticle[] {
  const cap = input.publication.engagement.mostRead.items;
  if (input.template !== 'digest' || input.frequency === 'immediate' || cap === 0) return [];
  const inEdition = new Set(edition.map((a) => a.id));
  const out: CleanArticle[] = [];
  for (const [i, article] of (input.mostRead ?? []).entries()) {
    if (out.length >= cap) break;
    if (inEdition.has(article.id) || out.some((a) => a.id === article.id)) continue;
    const clean = cleanArticle(article, RANK_BASE + i, input.publication);
    if (clean) out.push(clean);
  }
  return out;
}

function numberFor(input: RenderEditionInput, n: number): string {
  const { locale, numberingSystem } = input.publication.locales[input.language];
  return new Intl.NumberFormat(locale, numberingSystem ? { numberingSystem } : {}).format(n);
}

export function mostReadView(
  input: RenderEditionInput,
  articles: readonly CleanArticle[],
  strings: LocaleStrings,
  links: ArticleLinks,
): {
  markerStart: SafeHtml;
  markerEnd: SafeHtml;
  label: string;
  items: { number: string; url: string | SafeHtml; title: string }[];
} {
  return {
    ...markerPair(MOST_READ_SPAN),
    label: strings.digest.mostRead,
    items: articles.map((a, i) => ({ number: numberFor(input, i + 1), url: links.href(a), title: a.title })),
  };
}

export function mostReadText(
  input: RenderEditionInput,
  articles: readonly CleanArticle[],
  strings: LocaleStrings,
  links: ArticleLinks,
  language: Language,
): string[] {
  if (articles.length === 0) return [];
  const lines = [textLine(`== ${strings.digest.mostRead} ==`, language), ''];
  articles.forEach((a, i) => {
    lines.push(textLine(`${numberFor(input, i + 1)}. ${a.title}`, language), links.text(a), '');
  });
  return lines;
}
