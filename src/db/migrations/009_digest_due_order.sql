-- The planner walks due readers in (next_digest_at, id) order with a keyset cursor, so each chunk's
-- index scan starts past the readers it has just planned (and their dead row versions) instead of
-- skipping them again on every chunk.
CREATE INDEX subscribers_due_order_idx ON subscribers (next_digest_at, id)
  WHERE status = 'confirmed' AND next_digest_at IS NOT NULL;
