-- Events back to the CMS (issue 20): signed outgoing webhooks (Standard Webhooks) from a durable
-- outbox. An event row and one delivery row per subscribed endpoint are written in the same
-- transaction as the change they report; the webhooks queue delivers them.
CREATE TABLE webhook_endpoints (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  url text NOT NULL,
  description text NOT NULL DEFAULT '',
  -- the event types this endpoint receives
  events text[] NOT NULL,
  -- whsec_<base64>; the previous secret signs too for a day after a rotation
  secret text NOT NULL,
  previous_secret text,
  previous_secret_until timestamptz,
  enabled boolean NOT NULL DEFAULT true,
  disabled_reason text,
  disabled_at timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);

CREATE TABLE outbox_events (
  -- the webhook-id: one per event, the same on every attempt and every endpoint
  id text PRIMARY KEY,
  type text NOT NULL,
  payload jsonb NOT NULL,
  occurred_at timestamptz NOT NULL
);

CREATE TABLE webhook_deliveries (
  id bigserial PRIMARY KEY,
  event_id text NOT NULL REFERENCES outbox_events (id) ON DELETE CASCADE,
  endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  -- pending -> sending (status lock) -> delivered | failed | pending (retry); cancelled when the
  -- endpoint is disabled
  state text NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'sending', 'delivered', 'failed', 'cancelled')),
  attempts integer NOT NULL DEFAULT 0,
  locked_until timestamptz,
  last_error text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  delivered_at timestamptz,
  -- one event is delivered to one endpoint at most once
  UNIQUE (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_open_idx ON webhook_deliveries (id) WHERE state IN ('pending', 'sending');

-- the delivery log: every attempt, per endpoint
CREATE TABLE webhook_attempts (
  id bigserial PRIMARY KEY,
  delivery_id bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  attempt integer NOT NULL,
  status integer,
  error text,
  response_excerpt text,
  attempted_at timestamptz NOT NULL
);
CREATE INDEX webhook_attempts_endpoint_idx ON webhook_attempts (endpoint_id, id DESC);

-- erasure finds a reader's events by the id in their payload
CREATE INDEX outbox_events_subscriber_idx ON outbox_events ((payload->>'subscriberId'));
