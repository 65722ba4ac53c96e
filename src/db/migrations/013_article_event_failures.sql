-- An article event that can never be applied (the WordPress post it names is gone or not public,
-- the site answered something that is not JSON, the id is not a post id) is marked failed with its
-- reason, so the sweep stops retrying it and the operator sees it in GET /api/v1/article-events.
-- `error` (003) now also holds the last transient failure of an event still being retried.
ALTER TABLE article_events ADD COLUMN failed_at timestamptz;
ALTER TABLE article_events ADD COLUMN last_attempt_at timestamptz;
CREATE INDEX article_events_failed_idx ON article_events (failed_at DESC, id DESC)
  WHERE failed_at IS NOT NULL;
