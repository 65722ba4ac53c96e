-- Outgoing CMS webhooks (issue 20), two additions:
--
-- 1. Endpoints from the publication file ("webhooks": [{ "id", "url", "events", "secretEnv" }]).
--    file_key is the entry's id: every process upserts its file's endpoints at start on it (ON
--    CONFLICT), so processes starting together make one row each. NULL: made through the admin API.
--    An entry taken out of the file keeps its row and log, marked removed_from_file_at; it takes no
--    new events (and what it was still owed is cancelled) until the entry comes back.
ALTER TABLE webhook_endpoints
  ADD COLUMN file_key text UNIQUE,
  ADD COLUMN removed_from_file_at timestamptz;

-- 2. Delivery at commit: every statement that inserts delivery rows NOTIFYs their ids. PostgreSQL
--    delivers a notification only once the inserting transaction commits (never after a rollback),
--    so the webhooks worker that LISTENs (src/outbox/delivery-listener.ts) enqueues them at once; the
--    sweep stays the safety net. Payloads are chunked below NOTIFY's 8000-byte limit.
CREATE FUNCTION webhook_deliveries_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ids text;
BEGIN
  FOR ids IN
    SELECT string_agg(id::text, ',' ORDER BY id)
      FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) / 300 AS chunk FROM new_rows) s
     GROUP BY chunk
  LOOP
    PERFORM pg_notify('gazette_webhook_deliveries', ids);
  END LOOP;
  RETURN NULL;
END
$$;
CREATE TRIGGER webhook_deliveries_notify AFTER INSERT ON webhook_deliveries
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION webhook_deliveries_notify();
