-- List import (issue 17), the suppression list of erased addresses, and the erasure record.

-- One CSV import: what the operator chose (mapping, mode, attestation) and how far the background
-- job got. `cursor` is the last row number processed: a restarted job resumes after it.
CREATE TABLE imports (
  id uuid PRIMARY KEY,
  state text NOT NULL CHECK (state IN ('queued', 'running', 'mailing', 'done', 'failed')),
  -- confirm: every new reader gets the double opt-in mail; attested: the operator attests prior
  -- consent, readers are confirmed and the attestation is their consent evidence
  mode text NOT NULL CHECK (mode IN ('confirm', 'attested')),
  attestation text,
  mapping jsonb NOT NULL,
  delimiter text NOT NULL,
  operator text NOT NULL,
  source text NOT NULL,
  total_rows integer NOT NULL DEFAULT 0,
  cursor integer NOT NULL DEFAULT 0,
  imported integer NOT NULL DEFAULT 0,
  duplicate integer NOT NULL DEFAULT 0,
  invalid integer NOT NULL DEFAULT 0,
  suppressed integer NOT NULL DEFAULT 0,
  skipped integer NOT NULL DEFAULT 0,
  -- confirm mode: confirmation mails created so far (paced, see src/imports/import-mail.ts)
  mailed integer NOT NULL DEFAULT 0,
  error text,
  created_at timestamptz NOT NULL,
  started_at timestamptz,
  finished_at timestamptz,
  CHECK (mode = 'confirm' OR attestation IS NOT NULL)
);
CREATE INDEX imports_created_idx ON imports (created_at DESC, id DESC);

-- Each data row of an import's file, staged as the upload streams in and given its outcome by the
-- job: the per-row report. Invalid rows keep the raw address (cut short) so the operator can fix it.
CREATE TABLE import_rows (
  import_id uuid NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
  row_no integer NOT NULL,
  email text,
  email_key text,
  -- keyed hash of email_key (src/subscriptions/suppression.ts): checked against the suppression list
  email_hash bytea,
  name text,
  language text,
  frequency text,
  topics text[],
  timezone text,
  consent_at timestamptz,
  consent_source text,
  outcome text CHECK (outcome IN ('imported', 'duplicate', 'invalid', 'suppressed', 'skipped')),
  reason text,
  subscriber_id uuid,
  -- confirm mode: when this row's confirmation mail was created
  mailed_at timestamptz,
  PRIMARY KEY (import_id, row_no)
);
-- erasure finds a person's rows by address or reader; invalid rows (no key) by a scan of the few of them
CREATE INDEX import_rows_key_idx ON import_rows (email_key);
CREATE INDEX import_rows_invalid_idx ON import_rows (row_no) WHERE email_key IS NULL;
CREATE INDEX import_rows_unmailed_idx ON import_rows (import_id, row_no)
  WHERE outcome = 'imported' AND mailed_at IS NULL;
CREATE INDEX import_rows_subscriber_idx ON import_rows (subscriber_id) WHERE subscriber_id IS NOT NULL;

-- Addresses that must never be mailed or re-added, kept only as a keyed hash (HMAC-SHA256 of the
-- lower-cased address under a key derived from SECRET_KEY): an erased reader leaves nothing else.
CREATE TABLE suppression_hashes (
  email_hash bytea PRIMARY KEY,
  reason text NOT NULL CHECK (reason IN ('erased')),
  created_at timestamptz NOT NULL
);

-- Who erased which subscriber id, and when; never the address.
CREATE TABLE erasures (
  id bigserial PRIMARY KEY,
  subscriber_id uuid NOT NULL,
  erased_by text NOT NULL,
  erased_at timestamptz NOT NULL,
  details jsonb NOT NULL DEFAULT '{}'
);

-- Erasure finds ledger rows without a reader (operator test copies) by address.
CREATE INDEX deliveries_unowned_recipient_idx ON deliveries (lower(recipient)) WHERE subscriber_id IS NULL;

-- consent_events stays append-only, except for an erasure: the erasing transaction sets
-- gazette.erasure locally, and only DELETE is let through then.
CREATE OR REPLACE FUNCTION consent_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('gazette.erasure', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'consent_events is append-only';
END $$;
