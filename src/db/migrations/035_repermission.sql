-- Re-permission (list hygiene from engagement, issue 20): a reader with no human click for
-- engagement.repermissionAfterDays is asked once whether they still want the newsletter; without an
-- answer within engagement.repermissionGraceDays they are 'paused': kept, not mailed (every
-- audience selects status = 'confirmed'), reversible by the reader and by an operator.
ALTER TABLE subscribers DROP CONSTRAINT subscribers_status_check;
ALTER TABLE subscribers ADD CONSTRAINT subscribers_status_check
  CHECK (status IN ('pending', 'confirmed', 'unsubscribed', 'suppressed', 'paused'));

ALTER TABLE deliveries DROP CONSTRAINT deliveries_kind_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_kind_check
  CHECK (kind IN ('confirmation', 'welcome', 'digest', 'alert', 'test', 'already_subscribed', 'repermission'));
DROP INDEX deliveries_transactional_pending_idx;
CREATE INDEX deliveries_transactional_pending_idx ON deliveries (id)
  WHERE edition_id IS NULL AND state = 'pending'
    AND kind IN ('confirmation', 'welcome', 'already_subscribed', 'repermission');

-- One row per reader: the latest question. asked_at starts a round (its delivery has the dedupe
-- key repermission-<reader>-<asked_at in ms>, so a round mails once); answered_at is the keep link,
-- the preference centre or an operator; paused_at is set when the grace ran out unanswered.
CREATE TABLE repermissions (
  subscriber_id uuid PRIMARY KEY REFERENCES subscribers (id) ON DELETE CASCADE,
  asked_at timestamptz NOT NULL,
  delivery_id bigint,
  answered_at timestamptz,
  answered_by text CHECK (answered_by IN ('reader', 'operator')),
  paused_at timestamptz
);
-- the pause step: open questions only
CREATE INDEX repermissions_open_idx ON repermissions (asked_at) WHERE answered_at IS NULL AND paused_at IS NULL;
