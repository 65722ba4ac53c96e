/**
 * Which articles a digest's "most read" section lists: the most clicked of the last days in the
 * edition's language, by unique human clickers (scanner clicks never count), still published,
 * and not already in the edition. Where click tracking is off there are no clicks, and the
 * section is left out.
 */
import type { Queryable } from '../db/pool.js';
import type { Language } from '../publication.js';

export interface MostReadQuery {
  language: Language;
  /** the edition's articles: not listed again */
  exclude: readonly string[];
  /** the edition's due time: clicks of the `days` before it count */
  at: Date;
  days: number;
  limit: number;
}

export async function mostReadIds(q: Queryable, m: MostReadQuery): Promise<string[]> {
  if (m.limit <= 0) return [];
  const since = new Date(m.at.getTime() - m.days * 24 * 3600_000);
  const { rows } = await q.query<{ article_id: string }>(
    `SELECT c.article_id
       FROM clicks c
       JOIN articles a ON a.id = c.article_id AND a.status = 'published' AND a.language = $1
      WHERE c.scanner IS NULL AND c.language = $1 AND c.clicked_at > $2 AND c.clicked_at <= $3
        AND NOT (c.article_id = ANY ($4::uuid[]))
      GROUP BY c.article_id
      ORDER BY count(DISTINCT c.subscriber_id) DESC, max(c.clicked_at) DESC, c.article_id
      LIMIT $5`,
    [m.language, since, m.at, m.exclude, m.limit],
  );
  return rows.map((r) => r.article_id);
}
