-- Normalized articles from every source, and the raw CMS events they came from.

CREATE TABLE articles (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- 'generic' | 'wordpress' | 'ghost' | 'strapi' | 'feed:<feed id>'
  source text NOT NULL,
  external_id text NOT NULL,
  url text NOT NULL,
  title text NOT NULL,
  summary text NOT NULL DEFAULT '',
  body_html text NOT NULL DEFAULT '',
  image_url text,
  image_alt text,
  author text,
  categories text[] NOT NULL DEFAULT '{}',
  tags text[] NOT NULL DEFAULT '{}',
  topics text[] NOT NULL DEFAULT '{}',
  language text NOT NULL CHECK (language IN ('ar', 'en')),
  breaking boolean NOT NULL DEFAULT false,
  status text NOT NULL CHECK (status IN ('published', 'draft', 'scheduled', 'unpublished', 'deleted')),
  published_at timestamptz,
  modified_at timestamptz,
  -- when Gazette first saw the article published: digests select on this, so an article the CMS
  -- back-dated still reaches the next digest instead of falling before its window
  first_published_at timestamptz,
  -- incremented on every content change after the first publication (admin list shows "updated")
  revision integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (source, external_id)
);
CREATE INDEX articles_available_idx ON articles (language, first_published_at) WHERE status = 'published';
CREATE INDEX articles_listing_idx ON articles (coalesce(published_at, created_at) DESC, id DESC);

-- Every webhook delivery or feed item, stored before we answer 202 and processed from a queue.
-- event_key de-duplicates replays: the provider's event id, or "<external id>@<modified time>".
CREATE TABLE article_events (
  id bigserial PRIMARY KEY,
  provider text NOT NULL,
  event_key text NOT NULL,
  action text NOT NULL CHECK (action IN ('upsert', 'unpublish', 'delete')),
  external_id text NOT NULL,
  payload jsonb NOT NULL,
  received_at timestamptz NOT NULL,
  processed_at timestamptz,
  article_id uuid REFERENCES articles (id),
  -- outbox: the domain event this change owes the digest pipeline, until it is enqueued
  lifecycle text CHECK (lifecycle IN ('published', 'changed', 'withdrawn')),
  lifecycle_enqueued_at timestamptz,
  attempts integer NOT NULL DEFAULT 0,
  error text,
  UNIQUE (provider, event_key)
);
CREATE INDEX article_events_unprocessed_idx ON article_events (id)
  WHERE processed_at IS NULL OR (lifecycle IS NOT NULL AND lifecycle_enqueued_at IS NULL);

-- Feed polling state: conditional GET validators and the no-flood cut-off.
CREATE TABLE feed_state (
  feed_id text PRIMARY KEY,
  created_at timestamptz NOT NULL,
  etag text,
  last_modified text,
  last_polled_at timestamptz,
  last_status integer,
  last_error text
);
