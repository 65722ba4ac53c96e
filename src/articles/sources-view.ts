/**
 * Where articles come from, as an operator checks them: each configured feed with its last poll,
 * its last error and the items taken, and each CMS webhook source with whether it is enabled and
 * what it brought in. Reads only (feed_state is written by feed-poller.ts).
 */
import type { Queryable } from '../db/pool.js';
import type { Publication } from '../publication.js';

export interface SourceView {
  /** `feed:<id>` for feeds, else the CMS name */
  id: string;
  kind: 'feed' | 'webhook';
  /** the feed's address; null for webhooks */
  url: string | null;
  enabled: boolean;
  lastPolledAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  articles: number;
  held: number;
  lastArticleAt: string | null;
}

const WEBHOOKS = ['generic', 'wordpress', 'ghost', 'strapi'] as const;
export type WebhookSecrets = Partial<Record<(typeof WEBHOOKS)[number], string | undefined>>;

export async function listSources(
  db: Queryable,
  publication: Pick<Publication, 'feeds'>,
  secrets: WebhookSecrets,
): Promise<SourceView[]> {
  const [states, counts] = await Promise.all([
    db.query<{
      feed_id: string;
      last_polled_at: Date | null;
      last_status: number | null;
      last_error: string | null;
    }>('SELECT feed_id, last_polled_at, last_status, last_error FROM feed_state'),
    db.query<{ source: string; n: string; held: string; last: Date | null }>(
      `SELECT source, count(*) AS n, count(*) FILTER (WHERE held_reason IS NOT NULL) AS held, max(created_at) AS last
         FROM articles GROUP BY source`,
    ),
  ]);
  const state = new Map(states.rows.map((r) => [r.feed_id, r]));
  const count = new Map(counts.rows.map((r) => [r.source, r]));
  const taken = (id: string) => {
    const c = count.get(id);
    return {
      articles: Number(c?.n ?? 0),
      held: Number(c?.held ?? 0),
      lastArticleAt: c?.last?.toISOString() ?? null,
    };
  };
  return [
    ...publication.feeds.map((f): SourceView => {
      const s = state.get(f.id);
      return {
        id: `feed:${f.id}`,
        kind: 'feed',
        url: f.url,
        enabled: true,
        lastPolledAt: s?.last_polled_at?.toISOString() ?? null,
        lastStatus: s?.last_status ?? null,
        lastError: s?.last_error ?? null,
        ...taken(`feed:${f.id}`),
      };
    }),
    ...WEBHOOKS.map(
      (w): SourceView => ({
        id: w,
        kind: 'webhook',
        url: null,
        enabled: Boolean(secrets[w]),
        lastPolledAt: null,
        lastStatus: null,
        lastError: null,
        ...taken(w),
      }),
    ),
  ];
}
