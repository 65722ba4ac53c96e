/**
 * Owner of `article_popularity`: the popularity list a CMS posts (article references and scores),
 * the "most read" source of publications that do not count clicks. Each post replaces the list.
 */
import { type Db, type Queryable, withTransaction } from '../db/pool.js';
import type { MostReadQuery } from './most-read.js';

export interface PopularityEntry {
  /** the CMS's own post id when a source is named, else Gazette's article id */
  ref: string;
  score: number;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface PopularityResult {
  stored: number;
  /** references that name no article Gazette has */
  unknown: string[];
}

export async function replacePopularity(
  db: Db,
  list: { source: string | null; entries: readonly PopularityEntry[] },
  at: Date,
): Promise<PopularityResult> {
  const { source, entries } = list;
  return withTransaction(db, async (client) => {
    // by (source, external id) or by Gazette id, both on a unique index
    const { rows } =
      source === null
        ? await client.query<{ ref: string; article_id: string | null }>(
            `SELECT e.ref, a.id AS article_id FROM unnest($1::uuid[]) AS e(ref) LEFT JOIN articles a ON a.id = e.ref`,
            [entries.map((e) => e.ref.toLowerCase()).filter((r) => UUID_RE.test(r))],
          )
        : await client.query<{ ref: string; article_id: string | null }>(
            `SELECT e.ref, a.id AS article_id FROM unnest($2::text[]) AS e(ref)
               LEFT JOIN articles a ON a.source = $1 AND a.external_id = e.ref`,
            [source, entries.map((e) => e.ref)],
          );
    const found = new Map(rows.map((r) => [String(r.ref), r.article_id]));
    const scores = new Map<string, number>();
    const unknown: string[] = [];
    for (const e of entries) {
      const id = found.get(source === null ? e.ref.toLowerCase() : e.ref);
      if (!id) unknown.push(e.ref);
      else scores.set(id, Math.max(scores.get(id) ?? 0, e.score));
    }
    await client.query('DELETE FROM article_popularity');
    await client.query(
      `INSERT INTO article_popularity (article_id, score, received_at)
       SELECT * FROM unnest($1::uuid[], $2::float8[]) AS p(a, s), (SELECT $3::timestamptz) t`,
      [[...scores.keys()], [...scores.values()], at],
    );
    return { stored: scores.size, unknown };
  });
}

/** The most-read ids from the list: its language, published, posted within the last days. */
export async function popularIds(q: Queryable, m: MostReadQuery): Promise<string[]> {
  if (m.limit <= 0) return [];
  const since = new Date(m.at.getTime() - m.days * 24 * 3600_000);
  const { rows } = await q.query<{ article_id: string }>(
    `SELECT p.article_id FROM article_popularity p
       JOIN articles a ON a.id = p.article_id AND a.status = 'published' AND a.language = $1
      WHERE p.received_at > $2 AND NOT (p.article_id = ANY ($3::uuid[]))
      ORDER BY p.score DESC, p.article_id
      LIMIT $4`,
    [m.language, since, m.exclude, m.limit],
  );
  return rows.map((r) => r.article_id);
}
