/**
 * The click redirect: `/c/<token>` verified, its target looked up from the edition (never carried
 * in the token), the click buffered and written to PostgreSQL in batches, so the redirect never
 * waits on an INSERT. A token that does not verify, or names no link, leads to the publisher's
 * home page.
 *
 * Buffered clicks are written every CLICK_FLUSH_INTERVAL_MS or CLICK_BATCH_SIZE clicks, and at
 * shutdown; a crash loses at most that interval's clicks (statistics, not mail). A failed write
 * keeps the clicks for the next flush, up to a bound past which the oldest are dropped and counted.
 */
import type { Clock } from '../clock.js';
import type { Db } from '../db/pool.js';
import type { Logger } from '../logger.js';
import type { Language } from '../publication.js';
import type { EditionLink } from './click-links.js';
import { type BurstRule, type ClickRow, insertClicks } from './click-store.js';
import type { ClickTokens } from './click-token.js';
import { requestScanner } from './scanners.js';

export interface ClickServiceDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  tokens: ClickTokens;
  /** where a token that does not verify leads */
  homeUrl: string;
  flushIntervalMs: number;
  batchSize: number;
  burst: BurstRule;
}

export interface Redirect {
  location: string;
  /** false for a token that did not verify or named no link */
  known: boolean;
}

export interface ClickService {
  /** The target of a click, recording it (buffered). Never throws for a bad token. */
  follow(token: string, request: { method: string; userAgent?: string }): Promise<Redirect>;
  /** Writes the buffered clicks now; resolves when they are stored. */
  flush(): Promise<void>;
  /** clicks buffered, not yet stored */
  pending(): number;
  /** dropped after repeated write failures (metrics) */
  dropped(): number;
  close(): Promise<void>;
}

interface CachedEdition {
  language: Language;
  links: EditionLink[] | null;
  loadedAt: number;
}

// an edition's links change only while it is planned (an article edited before sending)
const CACHE_TTL_MS = 60_000;
const CACHE_SIZE = 500;

export function createClickService(deps: ClickServiceDeps): ClickService {
  const { db, clock, log, tokens } = deps;
  const maxBuffered = deps.batchSize * 20;
  const cache = new Map<string, CachedEdition>();
  let buffer: ClickRow[] = [];
  let droppedCount = 0;
  let writing: Promise<void> = Promise.resolve();
  let closed = false;
  const timer = setInterval(() => void flush().catch(() => undefined), deps.flushIntervalMs);
  timer.unref();

  async function editionLinks(editionId: string): Promise<CachedEdition | null> {
    const now = Date.now();
    const hit = cache.get(editionId);
    if (hit && now - hit.loadedAt < CACHE_TTL_MS) return hit;
    const { rows } = await db.query<{ language: Language; links: EditionLink[] | null }>(
      'SELECT language, links FROM editions WHERE id = $1',
      [editionId],
    );
    const row = rows[0];
    if (!row) return null;
    const entry = { language: row.language, links: row.links, loadedAt: now };
    cache.delete(editionId);
    cache.set(editionId, entry);
    while (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    return entry;
  }

  async function follow(token: string, request: { method: string; userAgent?: string }): Promise<Redirect> {
    const home = { location: deps.homeUrl, known: false };
    const claims = tokens.verify(token);
    if (!claims) return home;
    const edition = await editionLinks(claims.editionId);
    const link = edition?.links?.[claims.slot];
    if (!edition || !link) return home;
    buffer.push({
      editionId: claims.editionId,
      articleId: link.articleId,
      subscriberId: claims.subscriberId,
      language: edition.language,
      clickedAt: clock.now(),
      scanner: requestScanner(request.method, request.userAgent),
    });
    if (buffer.length >= deps.batchSize) void flush().catch(() => undefined);
    return { location: link.url, known: true };
  }

  function flush(): Promise<void> {
    // one write at a time, in order; a flush asked for during a write runs after it
    writing = writing
      .catch(() => undefined)
      .then(async () => {
        if (buffer.length === 0) return;
        const rows = buffer;
        buffer = [];
        try {
          const bursts = await insertClicks(db, rows, deps.burst);
          if (bursts > 0) log.info({ clicks: rows.length, bursts }, 'scanner bursts marked');
        } catch (err) {
          buffer = [...rows, ...buffer];
          if (buffer.length > maxBuffered) {
            const over = buffer.length - maxBuffered;
            buffer.splice(0, over);
            droppedCount += over;
          }
          log.error({ err, clicks: rows.length, buffered: buffer.length }, 'click batch not stored; kept');
          throw err;
        }
      });
    return writing;
  }

  return {
    follow,
    flush,
    pending: () => buffer.length,
    dropped: () => droppedCount,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await flush().catch(() => undefined);
    },
  };
}
