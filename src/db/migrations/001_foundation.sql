-- Subscribers, their consent evidence, and the delivery ledger every outgoing mail is recorded in.

CREATE TABLE subscribers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- local part as given, domain lower-cased and in punycode
  email text NOT NULL,
  -- lower-cased address: one subscriber per mailbox whatever the case typed
  email_key text NOT NULL UNIQUE,
  name text,
  status text NOT NULL CHECK (status IN ('pending', 'confirmed', 'unsubscribed', 'suppressed')),
  language text NOT NULL CHECK (language IN ('ar', 'en')),
  topics text[] NOT NULL DEFAULT '{}',
  frequency text NOT NULL CHECK (frequency IN ('immediate', 'daily', 'weekly')),
  alerts boolean NOT NULL DEFAULT false,
  timezone text NOT NULL,
  send_hour smallint NOT NULL DEFAULT 7 CHECK (send_hour BETWEEN 0 AND 23),
  -- a fresh nonce per opt-in request: confirmation links carry it, so they are single-use and an
  -- old link never revives consent after an unsubscribe
  confirm_nonce text,
  confirmation_sent_at timestamptz,
  confirmed_at timestamptz,
  unsubscribed_at timestamptz,
  suppressed_reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscribers_status_idx ON subscribers (status, id);

-- Append-only: what the reader agreed to, when, from where.
CREATE TABLE consent_events (
  id bigserial PRIMARY KEY,
  subscriber_id uuid NOT NULL REFERENCES subscribers (id),
  email text NOT NULL,
  event text NOT NULL CHECK (event IN ('subscribe_requested', 'confirmed', 'preferences_changed', 'unsubscribed', 'suppressed')),
  source text NOT NULL,
  consent_version text,
  consent_text text,
  ip inet,
  user_agent text,
  details jsonb NOT NULL DEFAULT '{}',
  occurred_at timestamptz NOT NULL
);
CREATE INDEX consent_events_subscriber_idx ON consent_events (subscriber_id, id);

CREATE FUNCTION consent_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'consent_events is append-only';
END $$;
CREATE TRIGGER consent_events_no_update BEFORE UPDATE OR DELETE ON consent_events
  FOR EACH ROW EXECUTE FUNCTION consent_events_append_only();

-- One row per message Gazette means to send. A send takes the row from pending to sending first
-- (the status lock), so a duplicated or retried job never mails twice.
CREATE TABLE deliveries (
  id bigserial PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('confirmation', 'welcome', 'digest', 'alert', 'test')),
  -- unique per intended message, e.g. confirmation-<subscriber>-<nonce>
  dedupe_key text NOT NULL UNIQUE,
  subscriber_id uuid REFERENCES subscribers (id),
  recipient text NOT NULL,
  state text NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'ambiguous', 'suppressed', 'cancelled')),
  attempts integer NOT NULL DEFAULT 0,
  smtp_response text,
  message_id text,
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz
);
CREATE INDEX deliveries_subscriber_idx ON deliveries (subscriber_id, kind, created_at);
