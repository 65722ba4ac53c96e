/**
 * Owner of `clicks` and `click_optouts` (see CONTEXT.md, table owners). Clicks arrive in batches
 * from the click recorder: one multi-row INSERT per batch, then one statement that marks bursts
 * (several different links of one message within seconds of its delivery) as scanner clicks.
 */
import { type Db, type Queryable, withTransaction } from '../db/pool.js';
import type { Language } from '../publication.js';
import type { ScannerReason } from './scanners.js';

export interface ClickRow {
  editionId: string;
  articleId: string;
  subscriberId: string;
  language: Language;
  clickedAt: Date;
  scanner: ScannerReason | null;
}

export interface BurstRule {
  /** seconds after the message's delivery that a click may be a scanner's */
  windowSeconds: number;
  /** different links of one message in that window that make a burst */
  links: number;
}

/** Stores a batch of clicks; returns how many were marked as a burst. */
export async function insertClicks(db: Db, rows: readonly ClickRow[], burst: BurstRule): Promise<number> {
  if (rows.length === 0) return 0;
  return withTransaction(db, async (client) => {
    // a click on an edition or reader deleted since (erasure) has nothing left to count, and a
    // reader who turned tracking off is not counted from the tracked links of older mails either
    await client.query(
      `INSERT INTO clicks (edition_id, article_id, subscriber_id, language, clicked_at, scanner)
       SELECT c.e, c.a, c.s, c.l, c.t, c.k
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[], $6::text[])
              AS c(e, a, s, l, t, k)
        WHERE EXISTS (SELECT 1 FROM editions WHERE id = c.e)
          AND EXISTS (SELECT 1 FROM subscribers WHERE id = c.s)
          AND NOT EXISTS (SELECT 1 FROM click_optouts WHERE subscriber_id = c.s)`,
      [
        rows.map((r) => r.editionId),
        rows.map((r) => r.articleId),
        rows.map((r) => r.subscriberId),
        rows.map((r) => r.language),
        rows.map((r) => r.clickedAt),
        rows.map((r) => r.scanner),
      ],
    );
    const marked = await client.query(
      `WITH pairs AS (
         SELECT DISTINCT e AS edition_id, s AS subscriber_id FROM unnest($1::uuid[], $2::uuid[]) AS p(e, s)
       ), early AS (
         SELECT c.id, c.edition_id, c.subscriber_id, c.article_id
           FROM pairs p
           JOIN deliveries d ON d.edition_id = p.edition_id AND d.subscriber_id = p.subscriber_id
           JOIN clicks c ON c.edition_id = p.edition_id AND c.subscriber_id = p.subscriber_id
          WHERE d.sent_at IS NOT NULL
            AND c.clicked_at <= d.sent_at + make_interval(secs => $3)
            AND coalesce(c.scanner, 'burst') = 'burst'
       ), bursts AS (
         SELECT edition_id, subscriber_id FROM early
          GROUP BY edition_id, subscriber_id HAVING count(DISTINCT article_id) >= $4
       )
       UPDATE clicks c SET scanner = 'burst'
         FROM early e JOIN bursts b USING (edition_id, subscriber_id)
        WHERE c.id = e.id AND c.scanner IS NULL`,
      [rows.map((r) => r.editionId), rows.map((r) => r.subscriberId), burst.windowSeconds, burst.links],
    );
    return marked.rowCount ?? 0;
  });
}

/** A reader turns click tracking off (true) or back on (false). Idempotent. */
export async function setClickOptOut(
  q: Queryable,
  subscriberId: string,
  optOut: boolean,
  at: Date,
): Promise<void> {
  if (optOut) {
    await q.query(
      `INSERT INTO click_optouts (subscriber_id, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [subscriberId, at],
    );
  } else {
    await q.query('DELETE FROM click_optouts WHERE subscriber_id = $1', [subscriberId]);
  }
}

export async function hasClickOptOut(q: Queryable, subscriberId: string): Promise<boolean> {
  const { rows } = await q.query('SELECT 1 FROM click_optouts WHERE subscriber_id = $1', [subscriberId]);
  return rows.length > 0;
}
