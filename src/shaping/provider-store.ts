import type { Queryable } from '../db/pool.js';

/** The owner of `provider_domains` (migration 031): the MX cache shared by every worker process. */
export interface DomainEntry {
  domain: string;
  provider: string;
  mxHosts: string[];
  error: string | null;
}

/** Entries of these domains that have not expired at `at`. */
export async function cachedDomains(q: Queryable, domains: string[], at: Date): Promise<DomainEntry[]> {
  if (domains.length === 0) return [];
  const { rows } = await q.query<{
    domain: string;
    provider: string;
    mx_hosts: string[];
    error: string | null;
  }>(
    `SELECT domain, provider, mx_hosts, error FROM provider_domains
      WHERE domain = ANY($1::text[]) AND expires_at > $2`,
    [domains, at],
  );
  return rows.map((r) => ({ domain: r.domain, provider: r.provider, mxHosts: r.mx_hosts, error: r.error }));
}

/** Stores lookups (a newer answer replaces an older one), each with its own expiry. */
export async function storeDomains(
  q: Queryable,
  entries: Array<DomainEntry & { expiresAt: Date }>,
  at: Date,
): Promise<void> {
  if (entries.length === 0) return;
  await q.query(
    `INSERT INTO provider_domains (domain, provider, mx_hosts, error, resolved_at, expires_at)
     SELECT e.domain, e.provider, string_to_array(e.mx, ' '), e.error, $6, e.expires_at
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
            AS e(domain, provider, mx, error, expires_at)
     ON CONFLICT (domain) DO UPDATE
        SET provider = excluded.provider, mx_hosts = excluded.mx_hosts, error = excluded.error,
            resolved_at = excluded.resolved_at, expires_at = excluded.expires_at`,
    [
      entries.map((e) => e.domain),
      entries.map((e) => e.provider),
      entries.map((e) => e.mxHosts.join(' ')),
      entries.map((e) => e.error),
      entries.map((e) => e.expiresAt),
      at,
    ],
  );
}
