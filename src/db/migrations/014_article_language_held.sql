-- Where each article's language came from (the CMS declared it, the script of its text decided, or
-- the source's default applied), and events held because of configuration rather than refused.

ALTER TABLE articles
  ADD COLUMN language_origin text CHECK (language_origin IN ('cms', 'script', 'source-default')),
  -- why the article (or its latest change) waits for a configuration change; null when applied
  ADD COLUMN held_reason text;

-- A held article is a placeholder for an event that could not be applied yet: it has no language
-- until the event is applied, and digests never select it (they take 'published' only).
ALTER TABLE articles DROP CONSTRAINT articles_status_check;
ALTER TABLE articles ADD CONSTRAINT articles_status_check
  CHECK (status IN ('published', 'draft', 'scheduled', 'unpublished', 'deleted', 'held'));
ALTER TABLE articles ALTER COLUMN language DROP NOT NULL;
ALTER TABLE articles ADD CONSTRAINT articles_language_known CHECK (language IS NOT NULL OR status = 'held');

-- The raw event of a held delivery, with the reason; cleared when it is applied.
ALTER TABLE article_events ADD COLUMN held_reason text;
CREATE INDEX article_events_held_idx ON article_events (id) WHERE held_reason IS NOT NULL;
