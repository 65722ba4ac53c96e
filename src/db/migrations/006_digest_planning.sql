-- Planning state on top of 004: fan-out cursors, operator send runs, resend lineage, and what a
-- re-render or a personalised send needs besides the html.

-- An operator's "send now": the selection it was made with and the keyset cursor of its fan-out
-- (readers with id <= cursor are planned), so a restarted fan-out resumes without repeats or gaps.
CREATE TABLE digest_runs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  criteria jsonb NOT NULL,
  -- candidate articles chosen when the run was created
  article_ids uuid[] NOT NULL,
  cursor uuid,
  state text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'done', 'cancelled')),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);

ALTER TABLE editions
  ADD COLUMN run_id uuid REFERENCES digest_runs (id),
  -- resend-failed copies point at the edition they resend
  ADD COLUMN resend_of uuid REFERENCES editions (id),
  -- alert fan-out: keyset cursor over subscriber ids, and when the last chunk was persisted
  ADD COLUMN fanout_cursor uuid,
  ADD COLUMN fanout_done_at timestamptz,
  -- the rendered greeting pair ({"named": "... {name} ...", "generic": "..."}) for personalize()
  ADD COLUMN greeting jsonb,
  -- target of the "more on the site" link when the reader had more articles than fit
  ADD COLUMN more_url text;

-- lifecycle events look up the editions that carry an article
CREATE INDEX editions_article_ids_idx ON editions USING gin (article_ids);
CREATE INDEX editions_resend_of_idx ON editions (resend_of) WHERE resend_of IS NOT NULL;

-- confirmed daily/weekly readers without a slot yet (just confirmed, or preferences reset)
CREATE INDEX subscribers_unscheduled_idx ON subscribers (frequency, timezone, send_hour)
  WHERE status = 'confirmed' AND next_digest_at IS NULL AND frequency <> 'immediate';
-- immediate readers whose window is closed: a new article opens one
CREATE INDEX subscribers_window_idx ON subscribers (language)
  WHERE status = 'confirmed' AND frequency = 'immediate' AND next_digest_at IS NULL;
-- alert fan-out walks these by id
CREATE INDEX subscribers_alerts_idx ON subscribers (language, id) WHERE status = 'confirmed' AND alerts;
