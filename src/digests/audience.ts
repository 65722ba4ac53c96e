/**
 * Who gets which articles, computed in SQL for a whole chunk of readers at once and returned
 * grouped: readers with the same language, frequency, due slot and resulting article list share
 * one edition. Nothing here runs per reader in JS.
 */
import type { Queryable } from '../db/pool.js';
import type { Language } from '../publication.js';
import type { Frequency } from '../subscriptions/schemas.js';

/** Ledger states that mean "this reader has (or is about to have) the article". */
export const RECEIVED_STATES = ['pending', 'sending', 'sent', 'ambiguous'] as const;

export interface AudienceGroup {
  language: Language;
  frequency: Frequency;
  dueAt: Date;
  /** in priority order (featured, editor's priority, breaking, then newest), capped at the frequency's maximum */
  articleIds: string[];
  /** the reader had more articles than the cap: the edition links to the site */
  hasMore: boolean;
  subscriberIds: string[];
}

export type CandidateSource =
  /**
   * Scheduled digests: each reader's own window, from last_digest_at (minus a grace for late
   * commits; the ledger removes repeats) or, for a first digest, confirmation capped by a look-back.
   */
  | { kind: 'window'; graceSeconds: number }
  /** Operator runs: a fixed candidate list, due now. */
  | { kind: 'fixed'; articleIds: string[]; dueAt: Date };

export interface GroupOptions {
  readerIds: string[];
  now: Date;
  source: CandidateSource;
  maxItems: number;
  weeklyMaxItems: number;
}

const READERS_WINDOW = `
  SELECT s.id, s.language, s.topics, s.frequency, s.alerts, s.next_digest_at AS due_at,
    CASE WHEN s.last_digest_at IS NOT NULL THEN
      greatest(s.last_digest_at - make_interval(secs => $3),
               $2::timestamptz - CASE s.frequency WHEN 'weekly' THEN interval '8 days' ELSE interval '2 days' END)
    ELSE
      greatest(coalesce(s.confirmed_at, '-infinity'::timestamptz),
               $2::timestamptz - CASE s.frequency WHEN 'weekly' THEN interval '7 days' ELSE interval '24 hours' END)
    END AS since
  FROM subscribers s WHERE s.id = ANY($1::uuid[]) AND s.status = 'confirmed'`;

const CANDIDATES_WINDOW = `
  SELECT a.id, a.language, a.topics, a.breaking, a.featured, a.priority, a.first_published_at,
         coalesce(a.published_at, a.first_published_at) AS sort_at
  FROM articles a
  WHERE a.status = 'published' AND a.first_published_at <= $2
    AND a.first_published_at > (SELECT min(since) FROM r)
    AND a.language IN (SELECT DISTINCT language FROM r)`;

const READERS_FIXED = `
  SELECT s.id, s.language, s.topics, s.frequency, s.alerts, $3::timestamptz AS due_at,
         '-infinity'::timestamptz AS since
  FROM subscribers s WHERE s.id = ANY($1::uuid[]) AND s.status = 'confirmed'`;

const CANDIDATES_FIXED = `
  SELECT a.id, a.language, a.topics, a.breaking, a.featured, a.priority, a.first_published_at,
         coalesce(a.published_at, a.first_published_at) AS sort_at
  FROM articles a
  WHERE a.id = ANY($7::uuid[]) AND a.status = 'published' AND a.first_published_at <= $2`;

function groupSql(source: CandidateSource['kind']): string {
  const readers = source === 'window' ? READERS_WINDOW : READERS_FIXED;
  const candidates = source === 'window' ? CANDIDATES_WINDOW : CANDIDATES_FIXED;
  return `
WITH r AS MATERIALIZED (${readers}),
c AS MATERIALIZED (${candidates}),
-- editions that carry any candidate: the only ledger rows that matter for this chunk
rel AS MATERIALIZED (
  SELECT e.id, e.article_ids FROM editions e
  WHERE e.kind IN ('digest', 'alert') AND e.article_ids && (SELECT coalesce(array_agg(id), '{}') FROM c)
),
recv AS MATERIALIZED (
  SELECT DISTINCT d.subscriber_id, x.aid
  FROM rel JOIN deliveries d ON d.edition_id = rel.id
  CROSS JOIN LATERAL unnest(rel.article_ids) AS x(aid)
  WHERE d.subscriber_id = ANY($1::uuid[]) AND d.state = ANY($6::text[])
),
-- breaking articles whose alert fan-out is still running reach alert readers as the alert
alerting AS MATERIALIZED (
  SELECT DISTINCT unnest(e.article_ids) AS aid FROM editions e
  WHERE e.kind = 'alert' AND e.fanout_done_at IS NULL AND e.state NOT IN ('cancelled', 'expired')
),
-- Readers with the same inputs get the same list: compute it once per profile, not per reader.
prof AS MATERIALIZED (
  SELECT p.language, p.topics, p.frequency, p.due_at, p.since, p.alerts,
         coalesce((
           -- the editor's lead story first (featured, then priority), then breaking, then newest
           SELECT array_agg(c.id ORDER BY c.featured DESC, c.priority DESC, c.breaking DESC, c.sort_at DESC, c.id) FROM c
           WHERE c.language = p.language AND c.first_published_at > p.since
             -- a reader with no topics follows everything; an article with no topic reaches only them
             AND (p.topics = '{}' OR c.topics && p.topics)
             AND NOT (p.alerts AND c.breaking AND c.id IN (SELECT aid FROM alerting))
         ), '{}') AS ids
  FROM (SELECT DISTINCT language, topics, frequency, due_at, since, alerts FROM r) p
),
got AS MATERIALIZED (SELECT subscriber_id, array_agg(aid) AS aids FROM recv GROUP BY subscriber_id),
pick AS (
  SELECT r.id, r.language, r.frequency, r.due_at,
         -- minus what the ledger says this reader already has (order kept)
         CASE WHEN g.aids IS NULL THEN p.ids
              ELSE ARRAY(SELECT x FROM unnest(p.ids) WITH ORDINALITY AS u(x, o) WHERE x <> ALL (g.aids) ORDER BY o)
         END AS ids
  FROM r
  JOIN prof p ON p.language = r.language AND p.topics = r.topics AND p.frequency = r.frequency
    AND p.due_at = r.due_at AND p.since = r.since AND p.alerts = r.alerts
  LEFT JOIN got g ON g.subscriber_id = r.id
),
capped AS (
  SELECT p.id, p.language, p.frequency, p.due_at,
         p.ids[1:CASE p.frequency WHEN 'weekly' THEN $5::int ELSE $4::int END] AS article_ids,
         cardinality(p.ids) > CASE p.frequency WHEN 'weekly' THEN $5::int ELSE $4::int END AS has_more
  FROM pick p WHERE cardinality(p.ids) > 0
)
SELECT language, frequency, due_at, article_ids, has_more, array_agg(id ORDER BY id) AS subscriber_ids
FROM capped
GROUP BY language, frequency, due_at, article_ids, has_more
ORDER BY language, frequency, due_at, article_ids::text, has_more`;
}

export async function groupReaders(q: Queryable, opts: GroupOptions): Promise<AudienceGroup[]> {
  if (opts.readerIds.length === 0) return [];
  const params: unknown[] =
    opts.source.kind === 'window'
      ? [
          opts.readerIds,
          opts.now,
          opts.source.graceSeconds,
          opts.maxItems,
          opts.weeklyMaxItems,
          RECEIVED_STATES,
        ]
      : [
          opts.readerIds,
          opts.now,
          opts.source.dueAt,
          opts.maxItems,
          opts.weeklyMaxItems,
          RECEIVED_STATES,
          opts.source.articleIds,
        ];
  const { rows } = await q.query<{
    language: Language;
    frequency: Frequency;
    due_at: Date;
    article_ids: string[];
    has_more: boolean;
    subscriber_ids: string[];
  }>(groupSql(opts.source.kind), params);
  return rows.map((r) => ({
    language: r.language,
    frequency: r.frequency,
    dueAt: r.due_at,
    articleIds: r.article_ids,
    hasMore: r.has_more,
    subscriberIds: r.subscriber_ids,
  }));
}
