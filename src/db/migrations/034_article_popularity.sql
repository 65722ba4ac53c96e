-- The CMS's popularity list (POST /webhooks/popularity, e.g. from a WordPress popular-posts
-- plugin): the "most read" section of publications that do not count clicks. Each post replaces
-- the whole list.
CREATE TABLE article_popularity (
  article_id uuid PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
  score double precision NOT NULL CHECK (score >= 0),
  received_at timestamptz NOT NULL
);
