-- A paused reader resumed (issue 20, re-permission): by their keep link (the re-permission mail's,
-- or the one mailed when a paused address is subscribed again), by saving their preferences, or by
-- an operator. Kept as consent evidence like every other change of a reader's consent.
-- (Merging with other migrations that extend this list: the last one must name every event.)
ALTER TABLE consent_events DROP CONSTRAINT consent_events_event_check;
ALTER TABLE consent_events ADD CONSTRAINT consent_events_event_check
  CHECK (event IN ('subscribe_requested', 'confirmed', 'preferences_changed', 'unsubscribed', 'suppressed',
                   'resubscribed', 'suppression_lifted', 'confirmation_resent', 'resumed'));
