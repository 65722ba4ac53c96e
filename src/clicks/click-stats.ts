/**
 * Click statistics as the admin API (and later the console) shows them: unique human clickers,
 * by language, per edition and per article. Scanner clicks are counted apart and in nothing else.
 */
import type { Queryable } from '../db/pool.js';
import { LANGUAGES, type Language } from '../publication.js';

export type ByLanguage = Record<Language, number>;

export interface EditionClickStats {
  editionId: string;
  language: Language;
  /** readers with at least one human click on any link of the edition */
  humanClickers: number;
  /** clicks taken for a link scanner's, by reason; never in the other numbers */
  scannerClicks: { head: number; userAgent: number; burst: number };
  articles: { articleId: string; humanClickers: number }[];
}

export interface ArticleClickStats {
  articleId: string;
  humanClickers: ByLanguage;
  editions: number;
  scannerClicks: number;
}

const zero = (): ByLanguage => Object.fromEntries(LANGUAGES.map((l) => [l, 0])) as ByLanguage;

/** null when the edition does not exist */
export async function editionClickStats(q: Queryable, editionId: string): Promise<EditionClickStats | null> {
  const edition = await q.query<{ language: Language }>('SELECT language FROM editions WHERE id = $1', [
    editionId,
  ]);
  const language = edition.rows[0]?.language;
  if (!language) return null;
  const [totals, articles] = await Promise.all([
    q.query<{ clickers: string; head: string; ua: string; burst: string }>(
      `SELECT count(DISTINCT subscriber_id) FILTER (WHERE scanner IS NULL) AS clickers,
              count(*) FILTER (WHERE scanner = 'head') AS head,
              count(*) FILTER (WHERE scanner = 'user-agent') AS ua,
              count(*) FILTER (WHERE scanner = 'burst') AS burst
         FROM clicks WHERE edition_id = $1`,
      [editionId],
    ),
    q.query<{ article_id: string; clickers: string }>(
      `SELECT article_id, count(DISTINCT subscriber_id) AS clickers
         FROM clicks WHERE edition_id = $1 AND scanner IS NULL
        GROUP BY article_id ORDER BY clickers DESC, article_id`,
      [editionId],
    ),
  ]);
  const t = totals.rows[0]!;
  return {
    editionId,
    language,
    humanClickers: Number(t.clickers),
    scannerClicks: { head: Number(t.head), userAgent: Number(t.ua), burst: Number(t.burst) },
    articles: articles.rows.map((r) => ({ articleId: r.article_id, humanClickers: Number(r.clickers) })),
  };
}

export async function articleClickStats(q: Queryable, articleId: string): Promise<ArticleClickStats> {
  const { rows } = await q.query<{
    language: Language;
    clickers: string;
    editions: string;
    scanners: string;
  }>(
    `SELECT language,
            count(DISTINCT subscriber_id) FILTER (WHERE scanner IS NULL) AS clickers,
            count(DISTINCT edition_id) FILTER (WHERE scanner IS NULL) AS editions,
            count(*) FILTER (WHERE scanner IS NOT NULL) AS scanners
       FROM clicks WHERE article_id = $1 GROUP BY language`,
    [articleId],
  );
  const humanClickers = zero();
  let editions = 0;
  let scannerClicks = 0;
  for (const r of rows) {
    humanClickers[r.language] = Number(r.clickers);
    editions += Number(r.editions);
    scannerClicks += Number(r.scanners);
  }
  return { articleId, humanClickers, editions, scannerClicks };
}
