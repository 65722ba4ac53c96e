-- The planner claims due readers in (next_digest_at, language, frequency, topics, alerts, id) order,
-- so readers who will share an edition arrive together: a chunk then fills a few editions with
-- whole batches instead of spreading thin over all of them, and the first chunk renders only the
-- editions of its readers. This index serves that keyset walk and, by its leading column, what the
-- two indexes it replaces served (the planner's wake-up, min(next_digest_at), and the overdue scan).
CREATE INDEX subscribers_due_profile_idx ON subscribers (next_digest_at, language, frequency, topics, alerts, id)
  WHERE status = 'confirmed' AND next_digest_at IS NOT NULL;
DROP INDEX subscribers_due_order_idx;
DROP INDEX subscribers_due_idx;
