import type { Clock } from '../clock.js';
import type { Db } from '../db/pool.js';
import type { Logger } from '../logger.js';
import type { MxLookup } from './mx-lookup.js';
import { normalizeDomain, type ProviderRules } from './provider-rules.js';
import { cachedDomains, type DomainEntry, storeDomains } from './provider-store.js';

/**
 * Reader domains to providers, before a batch is sent (never per message): the domains are looked
 * up in PostgreSQL's cache (provider-store.ts), the missing ones in DNS, a few at a time, each
 * bounded by its timeout. A domain whose lookup fails is its own provider (cached for a short
 * while), so a DNS outage costs one bounded wait and stops no provider's mail.
 */
export interface ProviderDirectoryDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  rules: ProviderRules;
  lookup: MxLookup;
  /** how long an answer is kept */
  ttlSeconds: number;
  /** how long a failed lookup is kept (the domain is its own provider meanwhile) */
  failureTtlSeconds: number;
  /** lookups in flight at once */
  parallel?: number;
}

export interface ProviderDirectory {
  /** provider of each domain (normalized); every domain asked for is in the answer */
  resolve(domains: Iterable<string>): Promise<Map<string, string>>;
}

export function createProviderDirectory(deps: ProviderDirectoryDeps): ProviderDirectory {
  const { db, clock, log, rules, lookup } = deps;
  const parallel = Math.max(1, deps.parallel ?? 8);

  async function ask(domain: string): Promise<DomainEntry & { expiresAt: Date }> {
    const now = clock.now().getTime();
    try {
      const mxHosts = await lookup(domain);
      const provider = rules.byMx(domain, mxHosts);
      return { domain, provider, mxHosts, error: null, expiresAt: new Date(now + deps.ttlSeconds * 1000) };
    } catch (err) {
      const error = `${(err as NodeJS.ErrnoException).code ?? ''} ${(err as Error).message}`.trim();
      return {
        domain,
        provider: domain,
        mxHosts: [],
        error,
        expiresAt: new Date(now + deps.failureTtlSeconds * 1000),
      };
    }
  }

  return {
    async resolve(input) {
      const out = new Map<string, string>();
      const unknown: string[] = [];
      for (const raw of input) {
        const domain = normalizeDomain(raw);
        if (out.has(domain) || unknown.includes(domain)) continue;
        const known = rules.byDomain(domain);
        if (known) out.set(domain, known);
        else unknown.push(domain);
      }
      if (unknown.length === 0) return out;
      const cached = await cachedDomains(db, unknown, clock.now());
      for (const e of cached) out.set(e.domain, e.provider);
      const missing = unknown.filter((d) => !out.has(d));
      const answers: Array<DomainEntry & { expiresAt: Date }> = [];
      for (let i = 0; i < missing.length; i += parallel) {
        answers.push(...(await Promise.all(missing.slice(i, i + parallel).map(ask))));
      }
      for (const a of answers) out.set(a.domain, a.provider);
      const failed = answers.filter((a) => a.error);
      if (failed.length > 0)
        log.warn(
          { domains: failed.slice(0, 20).map((a) => a.domain), failed: failed.length, err: failed[0]!.error },
          'MX lookup failed: those domains are shaped as providers of their own for now',
        );
      // a lost cache write only costs another lookup next time
      await storeDomains(db, answers, clock.now()).catch((err) =>
        log.warn({ err: (err as Error).message }, 'could not store MX answers'),
      );
      return out;
    },
  };
}
