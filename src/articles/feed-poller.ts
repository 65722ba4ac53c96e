import type { Clock } from '../clock.js';
import type { Db } from '../db/pool.js';
import type { Publication } from '../publication.js';
import { knownExternalIds } from './article-store.js';
import { loadFeedState, recordPoll } from './feed-state-store.js';
import { parseFeed, selectNewItems } from './feeds.js';
import type { IngestService } from './ingest-service.js';
import { type SafeFetchPolicy, safeFetch } from './safe-fetch.js';
import type { ArticleEvent, NormalizedArticle } from './types.js';

export interface PollResult {
  feedId: string;
  status: number;
  found: number;
  stored: number;
  skipped: string[];
}

// WordPress's modified_after is compared with second precision in the site's clock: overlap a little
// and let the event keys (id@modified) drop what was already taken.
const WP_OVERLAP_MS = 5 * 60 * 1000;

export interface FeedPollerDeps {
  db: Db;
  publication: Publication;
  clock: Clock;
  ingest: Pick<IngestService, 'storeEvents'>;
  userAgent: string;
  defaultIntervalSeconds: number;
  /** byte cap, allowed private hosts (see safe-fetch.ts); the timeout is the poller's own */
  fetchPolicy: Omit<SafeFetchPolicy, 'timeoutMs'>;
}

/**
 * Polls configured RSS 2.0, Atom and WordPress REST sources with conditional GET. Items are
 * de-duplicated by guid (or URL) and, on the first poll, only items newer than the source's
 * creation (minus its configured look-back) are taken, so adding a feed does not flood readers.
 */
export function createFeedPoller(deps: FeedPollerDeps) {
  const { db, publication, clock } = deps;

  return {
    feeds: () =>
      publication.feeds.map((f) => ({
        id: f.id,
        everyMs: (f.intervalSeconds ?? deps.defaultIntervalSeconds) * 1000,
      })),

    async poll(feedId: string): Promise<PollResult | null> {
      const feed = publication.feeds.find((f) => f.id === feedId);
      if (!feed) return null; // removed from the configuration since the job was scheduled
      const now = clock.now();
      const state = await loadFeedState(db, feedId, now);
      const since = new Date(state.created_at.getTime() - feed.lookbackHours * 3600_000);

      const url = new URL(feed.url);
      if (feed.type === 'wordpress') {
        const from = new Date((state.last_polled_at ?? since).getTime() - WP_OVERLAP_MS);
        url.searchParams.set('modified_after', from.toISOString().replace(/\.\d{3}Z$/, ''));
        url.searchParams.set('_embed', '1');
        url.searchParams.set('orderby', 'modified');
        url.searchParams.set('order', 'desc');
        url.searchParams.set('per_page', '50');
      }
      const headers: Record<string, string> = {
        'user-agent': deps.userAgent,
        accept:
          feed.type === 'wordpress'
            ? 'application/json'
            : 'application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8',
      };
      if (state.etag) headers['if-none-match'] = state.etag;
      if (state.last_modified) headers['if-modified-since'] = state.last_modified;

      const record = (
        status: number | null,
        error: string | null,
        etag?: string | null,
        lastModified?: string | null,
      ) => recordPoll(db, feedId, { at: now, status, error, etag, lastModified });

      let res: Awaited<ReturnType<typeof safeFetch>>;
      try {
        res = await safeFetch(url, { ...deps.fetchPolicy, timeoutMs: 15_000 }, headers);
      } catch (err) {
        await record(null, (err as Error).message);
        throw err;
      }
      if (res.status === 304) {
        await record(304, null);
        return { feedId, status: 304, found: 0, stored: 0, skipped: [] };
      }
      if (res.status < 200 || res.status >= 300) {
        await record(res.status, `HTTP ${res.status}`);
        throw new Error(`feed ${feedId}: ${url.origin}${url.pathname} answered ${res.status}`);
      }
      const body = res.body.toString('utf8');
      const skipped: string[] = [];
      const items = parseFeed(body, feed, publication, (reason, i) => skipped.push(`item ${i}: ${reason}`));
      const sourceKey = `feed:${feed.id}`;
      const ids = items.map((i) => i.externalId);
      const seen = await knownExternalIds(db, sourceKey, ids);
      let chosen: NormalizedArticle[];
      if (feed.type === 'wordpress') {
        // edits are seen here too: known posts always pass; the event key (id@modified) de-duplicates
        const fresh = selectNewItems(
          items.filter((i) => !seen.has(i.externalId)),
          { since, seen: new Set() },
        );
        chosen = [...items.filter((i) => seen.has(i.externalId)), ...fresh];
      } else {
        chosen = selectNewItems(items, { since, seen, includeUndated: state.last_polled_at !== null });
      }
      const events: ArticleEvent[] = chosen.map((a) => ({
        provider: 'feed',
        eventId: `${a.externalId}@${(a.modifiedAt ?? a.publishedAt)?.toISOString() ?? 'undated'}`,
        action: a.status === 'published' || a.status === 'scheduled' ? 'upsert' : 'unpublish',
        externalId: a.externalId,
        article: a,
      }));
      const stored = events.length ? await deps.ingest.storeEvents(sourceKey, events, { feed: feed.id }) : [];
      await record(
        res.status,
        skipped.length ? skipped.slice(0, 5).join('; ') : null,
        res.header('etag'),
        res.header('last-modified'),
      );
      return {
        feedId,
        status: res.status,
        found: items.length,
        stored: stored.filter((s) => !s.duplicate).length,
        skipped,
      };
    },
  };
}

export type FeedPoller = ReturnType<typeof createFeedPoller>;
