-- Bounces and complaints (issue 16). One row per report Gazette received about one recipient: a
-- refusal at SMTP time, a relay's webhook event, or a DSN/ARF mail. (source, event_id) is the
-- relay's own event id, so a redelivered webhook or a resent report changes nothing.
CREATE TABLE bounce_events (
  id bigserial PRIMARY KEY,
  -- smtp (refused at send time), postmark, mailgun, sendgrid, standard, ses, inbound (DSN/ARF by mail)
  source text NOT NULL,
  event_id text NOT NULL,
  class text NOT NULL CHECK (class IN ('hard', 'soft', 'block', 'complaint', 'auto-reply', 'unknown')),
  -- the classification rule that decided (src/bounces/classify.ts), or the relay's own type
  rule text,
  recipient text,
  subscriber_id uuid REFERENCES subscribers (id) ON DELETE SET NULL,
  -- retention prunes ledger rows; the edition keeps its bounce counts through edition_id
  delivery_id bigint REFERENCES deliveries (id) ON DELETE SET NULL,
  edition_id uuid REFERENCES editions (id) ON DELETE SET NULL,
  message_id text,
  -- the evidence: the status code and the diagnostic text, capped
  status text,
  diagnostic text,
  -- the report itself as received (a DSN or ARF mail, a relay's event JSON), capped at 64 KiB
  raw bytea,
  -- whether this event suppressed the reader
  suppressed boolean NOT NULL DEFAULT false,
  occurred_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL,
  UNIQUE (source, event_id)
);
-- the soft-bounce window: a reader's recent events
CREATE INDEX bounce_events_subscriber_idx ON bounce_events (subscriber_id, occurred_at)
  WHERE subscriber_id IS NOT NULL;
-- per-edition bounced / complained counts
CREATE INDEX bounce_events_edition_idx ON bounce_events (edition_id) WHERE edition_id IS NOT NULL;
-- retention deletes ledger rows in chunks: the ON DELETE SET NULL above must not scan this table
CREATE INDEX bounce_events_delivery_idx ON bounce_events (delivery_id) WHERE delivery_id IS NOT NULL;
-- a bounce names the message it is about by its Message-ID: that finds the ledger row
CREATE INDEX deliveries_message_id_idx ON deliveries (message_id) WHERE message_id IS NOT NULL;
