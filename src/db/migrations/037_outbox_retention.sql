-- Outbox retention (issue 20): events whose deliveries all ended are deleted once they are older
-- than DELIVERY_RETENTION_DAYS, with their delivery rows and log; this index finds them.
CREATE INDEX outbox_events_occurred_idx ON outbox_events (occurred_at);
