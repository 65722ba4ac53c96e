import type { Queryable } from '../db/pool.js';

/** The owner of `feed_state`: when each polled feed was first seen, and its last poll and validators. */

export interface FeedState {
  created_at: Date;
  etag: string | null;
  last_modified: string | null;
  last_polled_at: Date | null;
}

/** The feed's state, its row created at `now` the first time the feed is polled. */
export async function loadFeedState(db: Queryable, feedId: string, now: Date): Promise<FeedState> {
  await db.query('INSERT INTO feed_state (feed_id, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
    feedId,
    now,
  ]);
  const { rows } = await db.query<FeedState>(
    'SELECT created_at, etag, last_modified, last_polled_at FROM feed_state WHERE feed_id = $1',
    [feedId],
  );
  return rows[0]!;
}

/** A poll's outcome; validators (ETag, Last-Modified) are kept when the answer carries none. */
export async function recordPoll(
  db: Queryable,
  feedId: string,
  poll: {
    at: Date;
    status: number | null;
    error: string | null;
    etag?: string | null;
    lastModified?: string | null;
  },
): Promise<void> {
  await db.query(
    `UPDATE feed_state SET last_polled_at = $2, last_status = $3, last_error = $4,
       etag = coalesce($5, etag), last_modified = coalesce($6, last_modified) WHERE feed_id = $1`,
    [feedId, poll.at, poll.status, poll.error, poll.etag ?? null, poll.lastModified ?? null],
  );
}
