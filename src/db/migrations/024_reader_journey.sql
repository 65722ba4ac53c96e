-- The reader's journey (issue 18):
-- - 'resubscribed': the undo button on the unsubscribe page restores a reader who had confirmed,
--   authenticated by the unsubscribe link from their own mailbox; kept as consent evidence.
-- - 'already_subscribed': a confirmed reader who submits the form again is sent their preference
--   link instead of nothing. It is transactional, so the sweep's partial index covers it too.
ALTER TABLE consent_events DROP CONSTRAINT consent_events_event_check;
ALTER TABLE consent_events ADD CONSTRAINT consent_events_event_check
  CHECK (event IN ('subscribe_requested', 'confirmed', 'preferences_changed', 'unsubscribed', 'suppressed',
                   'resubscribed'));
ALTER TABLE deliveries DROP CONSTRAINT deliveries_kind_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_kind_check
  CHECK (kind IN ('confirmation', 'welcome', 'digest', 'alert', 'test', 'already_subscribed'));
DROP INDEX deliveries_transactional_pending_idx;
CREATE INDEX deliveries_transactional_pending_idx ON deliveries (id)
  WHERE edition_id IS NULL AND state = 'pending' AND kind IN ('confirmation', 'welcome', 'already_subscribed');
