-- The development mailbox keeps what it caught across restarts (development only: the table
-- stays empty wherever SMTP_URL is set or NODE_ENV is production). The newest 500 are kept.
CREATE TABLE dev_mailbox (
  id uuid PRIMARY KEY,
  received_at timestamptz NOT NULL,
  envelope_from text NOT NULL,
  envelope_to text[] NOT NULL,
  subject text NOT NULL,
  raw bytea NOT NULL
);
CREATE INDEX dev_mailbox_received_idx ON dev_mailbox (received_at DESC, id DESC);
