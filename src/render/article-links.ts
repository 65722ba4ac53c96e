import type { CleanArticle } from './article-view.js';
import { linkToken } from './personalization.js';
import type { RenderEditionInput } from './render-types.js';
import { SafeHtml } from './safe-text.js';
import { utmParams, withParams } from './utm.js';

/**
 * Where each article link goes: the URL (with UTM parameters), or with click tracking on a
 * `{{link_<slot>}}` token that each reader's copy fills (src/clicks/click-links.ts).
 */
export interface ArticleLinks {
  href(article: CleanArticle): string | SafeHtml;
  text(article: CleanArticle): string;
  list: { articleId: string; url: string }[];
}

export function articleLinks(input: RenderEditionInput, articles: readonly CleanArticle[]): ArticleLinks {
  const kind = input.template === 'alert' ? 'alert' : input.frequency;
  const utm = utmParams({ publication: input.publication, kind, date: input.date });
  const list = articles.map((a) => ({ articleId: a.id, url: withParams(a.url, utm) }));
  const slotOf = new Map(articles.map((a, slot) => [a.rank, slot]));
  const slot = (a: CleanArticle) => slotOf.get(a.rank)!;
  if (!input.publication.engagement.clickTracking) {
    return { list, href: (a) => list[slot(a)]!.url, text: (a) => list[slot(a)]!.url };
  }
  return { list, href: (a) => new SafeHtml(linkToken(slot(a))), text: (a) => linkToken(slot(a)) };
}
