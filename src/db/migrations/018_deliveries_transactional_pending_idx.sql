-- The transactional sweep (src/queues/owed-work.ts) looks, every minute and after Redis lost its
-- data, for confirmation and welcome mails still pending: their enqueue failed while Redis was
-- away, or Redis lost the job. Without this index the question walks the whole ledger, digest rows
-- included; with it, only the few pending transactional rows.
CREATE INDEX deliveries_transactional_pending_idx ON deliveries (id)
  WHERE edition_id IS NULL AND state = 'pending' AND kind IN ('confirmation', 'welcome');
