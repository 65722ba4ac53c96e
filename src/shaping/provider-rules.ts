import type { MxRule, ProviderLimits, Shaping } from './shaping-schema.js';

/**
 * Which provider receives a reader's mail, told by the domain's MX hosts: Google Workspace and
 * gmail.com share Google's MX, so a company domain hosted there is throttled as Gmail is. The
 * published defaults below cover the large providers; the publication file adds rules (tried
 * first) and maps domains directly. A domain no rule matches is its own provider.
 */
export const DEFAULT_MX_RULES: readonly MxRule[] = [
  { pattern: '*.google.com', provider: 'gmail' },
  { pattern: '*.googlemail.com', provider: 'gmail' },
  { pattern: '*.outlook.com', provider: 'microsoft' },
  { pattern: '*.hotmail.com', provider: 'microsoft' },
  { pattern: '*.yahoodns.net', provider: 'yahoo' },
  { pattern: '*.icloud.com', provider: 'icloud' },
  { pattern: '*.me.com', provider: 'icloud' },
  { pattern: '*.zoho.com', provider: 'zoho' },
  { pattern: '*.yandex.net', provider: 'yandex' },
  { pattern: '*.mail.ru', provider: 'mailru' },
];

/** The big consumer domains, so their readers are grouped even before (or without) DNS. */
export const DEFAULT_DOMAINS: Readonly<Record<string, string>> = {
  'gmail.com': 'gmail',
  'googlemail.com': 'gmail',
  'outlook.com': 'microsoft',
  'hotmail.com': 'microsoft',
  'live.com': 'microsoft',
  'msn.com': 'microsoft',
  'yahoo.com': 'yahoo',
  'ymail.com': 'yahoo',
  'icloud.com': 'icloud',
  'me.com': 'icloud',
  'mac.com': 'icloud',
};

/**
 * Published default limits. Providers publish few numbers: Microsoft is known to refuse many
 * parallel connections from one sender, Yahoo defers bursts ([TS0x]); rates are left open
 * (0) and the backoff finds the pace a provider accepts. `default` is every other provider.
 */
export const DEFAULT_LIMITS: Readonly<Record<string, ProviderLimits>> = {
  microsoft: { maxConnections: 10 },
  yahoo: { maxConnections: 10 },
};

export interface ProviderRules {
  /** the provider of a domain by its name alone (publication `domains`, then the defaults), if known */
  byDomain(domain: string): string | undefined;
  /** the provider the MX hosts (most preferred first) point to, or the domain itself */
  byMx(domain: string, mxHosts: readonly string[]): string;
  /** limits of a provider: its own entries over every `default`; env over file over published */
  limits(provider: string): ProviderLimits;
}

function matches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  if (!p.startsWith('*.')) return host === p;
  const base = p.slice(2);
  return host === base || host.endsWith(`.${base}`);
}

/** A domain as a provider name: lower case, without the root's trailing dot. */
export function normalizeDomain(domain: string): string {
  return domain.trim().toLowerCase().replace(/\.$/, '');
}

export function createProviderRules(
  shaping: Pick<Shaping, 'mx' | 'domains' | 'providers'>,
  envLimits: Record<string, ProviderLimits> = {},
): ProviderRules {
  const rules = [...shaping.mx, ...DEFAULT_MX_RULES];
  const domains = new Map<string, string>(Object.entries(DEFAULT_DOMAINS));
  for (const [d, p] of Object.entries(shaping.domains)) domains.set(normalizeDomain(d), p);
  const layers = [DEFAULT_LIMITS, shaping.providers, envLimits];
  const cache = new Map<string, ProviderLimits>();
  return {
    byDomain: (domain) => domains.get(normalizeDomain(domain)),
    byMx(domain, mxHosts) {
      for (const raw of mxHosts) {
        const host = normalizeDomain(raw);
        const rule = rules.find((r) => matches(r.pattern, host));
        if (rule) return rule.provider;
      }
      return normalizeDomain(domain);
    },
    limits(provider) {
      let found = cache.get(provider);
      if (!found) {
        found = {};
        // a provider's own entry beats any `default`, then the file beats the published values
        // and the environment beats the file
        for (const layer of layers) Object.assign(found, layer.default);
        for (const layer of layers) Object.assign(found, layer[provider]);
        cache.set(provider, found);
      }
      return found;
    },
  };
}

/** Whether a provider's limits ask for anything beyond the global rate. */
export function isLimited(limits: ProviderLimits): boolean {
  return Boolean(limits.perSecond || limits.perHour || limits.maxConnections || limits.warmup);
}
