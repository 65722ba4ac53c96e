-- Mail taken by the inbound SMTP listener (issue 16): stored whole before the 250, processed
-- afterwards by the bounces queue from this copy, so a crash between the two loses nothing (the
-- sweep hands unprocessed rows to the queue again). Processed rows are deleted after a week: the
-- evidence a report leaves is kept, capped, in bounce_events.raw.
CREATE TABLE inbound_mail (
  id bigserial PRIMARY KEY,
  received_at timestamptz NOT NULL,
  remote_ip text,
  mail_from text NOT NULL,
  rcpt_to text[] NOT NULL,
  raw bytea NOT NULL,
  processed_at timestamptz,
  -- what processing made of it: reports stored, a reader unsubscribed, ignored and why
  outcome text,
  attempts integer NOT NULL DEFAULT 0
);
CREATE INDEX inbound_mail_unprocessed_idx ON inbound_mail (id) WHERE processed_at IS NULL;
CREATE INDEX inbound_mail_processed_idx ON inbound_mail (processed_at) WHERE processed_at IS NOT NULL;
