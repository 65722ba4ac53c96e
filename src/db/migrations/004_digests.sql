-- Editions (one rendered message shared by every reader who gets the same articles in the same
-- language and template) and the per-reader ledger rows that deliver them.

ALTER TABLE subscribers
  -- when this reader's next digest is due (daily/weekly: their local hour; immediate: when the
  -- window opened by the first new article closes); NULL = nothing scheduled
  ADD COLUMN next_digest_at timestamptz,
  -- the end of the window the last digest covered: the next one takes articles after it
  ADD COLUMN last_digest_at timestamptz;
CREATE INDEX subscribers_due_idx ON subscribers (next_digest_at) WHERE status = 'confirmed' AND next_digest_at IS NOT NULL;

CREATE TABLE editions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind text NOT NULL CHECK (kind IN ('digest', 'alert', 'test')),
  template text NOT NULL,
  language text NOT NULL CHECK (language IN ('ar', 'en')),
  frequency text CHECK (frequency IN ('immediate', 'daily', 'weekly')),
  -- sorted; with language, template and due slot this identifies the edition (edition_key)
  article_ids uuid[] NOT NULL,
  edition_key text NOT NULL UNIQUE,
  state text NOT NULL DEFAULT 'planned'
    CHECK (state IN ('planned', 'sending', 'paused', 'cancelled', 'sent', 'expired')),
  due_at timestamptz NOT NULL,
  subject text,
  html text,
  text_body text,
  rendered_at timestamptz,
  -- batches persisted so far: send jobs carry (edition id, batch number)
  batch_count integer NOT NULL DEFAULT 0,
  -- counts kept after ledger detail is pruned (retention)
  final_counts jsonb,
  created_by text NOT NULL DEFAULT 'planner',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX editions_state_idx ON editions (state, due_at);

ALTER TABLE deliveries
  ADD COLUMN edition_id uuid REFERENCES editions (id),
  ADD COLUMN batch_no integer,
  -- which attempt holds the status lock, and since when: a row still 'sending' under another,
  -- older claim after a crash becomes 'ambiguous', never resent blindly
  ADD COLUMN claim_token text,
  ADD COLUMN claimed_at timestamptz;
CREATE UNIQUE INDEX deliveries_edition_reader_uq ON deliveries (edition_id, subscriber_id) WHERE edition_id IS NOT NULL;
CREATE INDEX deliveries_batch_idx ON deliveries (edition_id, batch_no, state) WHERE edition_id IS NOT NULL;
CREATE INDEX deliveries_retention_idx ON deliveries (created_at);
