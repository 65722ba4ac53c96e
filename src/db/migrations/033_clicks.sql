-- Click tracking (publication.engagement.clickTracking): the article links an edition was rendered
-- with, the readers who turned tracking off, and the clicks themselves.

-- By slot: [{"articleId", "url"}], the targets `/c/<token>` redirects to (looked up, never carried
-- in the token) and the plain links of readers who are not tracked. NULL for editions rendered
-- before this migration.
ALTER TABLE editions ADD COLUMN links jsonb;

-- A reader who turned click tracking off in the preference centre gets plain links.
CREATE TABLE click_optouts (
  subscriber_id uuid PRIMARY KEY REFERENCES subscribers (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL
);

-- One row per followed redirect. scanner is NULL for a reader's click; otherwise why it was taken
-- for a link scanner ('head', 'user-agent', 'burst'), and it is left out of every statistic.
CREATE TABLE clicks (
  id bigserial PRIMARY KEY,
  edition_id uuid NOT NULL REFERENCES editions (id) ON DELETE CASCADE,
  article_id uuid NOT NULL,
  subscriber_id uuid NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
  language text NOT NULL CHECK (language IN ('ar', 'en')),
  clicked_at timestamptz NOT NULL,
  scanner text CHECK (scanner IN ('head', 'user-agent', 'burst'))
);
CREATE INDEX clicks_edition_reader_idx ON clicks (edition_id, subscriber_id, clicked_at);
CREATE INDEX clicks_article_idx ON clicks (article_id) WHERE scanner IS NULL;
-- most read: human clicks of the last days by language
CREATE INDEX clicks_recent_idx ON clicks (language, clicked_at) WHERE scanner IS NULL;
-- re-permission: a reader's last human click
CREATE INDEX clicks_reader_idx ON clicks (subscriber_id, clicked_at) WHERE scanner IS NULL;
