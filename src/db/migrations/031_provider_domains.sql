-- Traffic shaping (issue 19): which receiving provider each reader domain belongs to, by its MX
-- hosts. A cache of DNS answers shared by every worker process; an entry past expires_at is
-- looked up again. A failed lookup is stored too (provider = the domain itself, error set) with a
-- short expiry, so a dead DNS is not asked again by every batch.
CREATE TABLE provider_domains (
  domain text PRIMARY KEY,
  provider text NOT NULL,
  mx_hosts text[] NOT NULL DEFAULT '{}',
  error text,
  resolved_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
