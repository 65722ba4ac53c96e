import { Resolver } from 'node:dns/promises';

/** The MX hosts of a domain, most preferred first; rejects when DNS does not answer. */
export type MxLookup = (domain: string) => Promise<string[]>;

export interface DnsMxOptions {
  /** `ip` or `ip:port` entries; empty = the system's resolvers */
  servers: string[];
  /** one lookup gives up after this long */
  timeoutMs: number;
}

/** A domain without MX records (or without the name at all): mail goes to the domain itself. */
const NO_MX = new Set(['ENODATA', 'ENOTFOUND']);

/**
 * MX lookups through node:dns with its own resolver (own servers, own timeout, one try), so a
 * slow or dead DNS costs a bounded wait and never the process-wide resolver's retries.
 */
export function createDnsMxLookup(opts: DnsMxOptions): MxLookup {
  const resolver = new Resolver({ timeout: opts.timeoutMs, tries: 1 });
  if (opts.servers.length > 0) resolver.setServers(opts.servers);
  return async (domain) => {
    try {
      const records = await resolver.resolveMx(domain);
      return records.sort((a, b) => a.priority - b.priority).map((r) => r.exchange);
    } catch (err) {
      if (NO_MX.has((err as NodeJS.ErrnoException).code ?? '')) return [];
      throw err;
    }
  };
}
