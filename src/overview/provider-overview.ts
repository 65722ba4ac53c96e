/**
 * The receiving providers as the console shows them (docs/console.md, "Providers"): each one's
 * limits, its backoff state from the provider gate (Redis, shared by every worker), and the ledger
 * rows waiting for it. Reads only: the shaping itself is src/shaping/ and delivery/provider-share.ts.
 */
import type { Clock } from '../clock.js';
import type { Queryable } from '../db/pool.js';
import type { ProviderGate } from '../shaping/provider-gate.js';
import { DEFAULT_LIMITS, isLimited, type ProviderRules } from '../shaping/provider-rules.js';
import { cachedDomains } from '../shaping/provider-store.js';
import type { ProviderLimits } from '../shaping/shaping-schema.js';
import { warmupCap } from '../shaping/warmup.js';

export interface ProviderRow {
  provider: string;
  limits: ProviderLimits;
  /** today's warm-up cap, when the limits have a warm-up */
  warmupToday: number | null;
  level: number;
  /** backing off (no new rows) until then, or null when it is not backing off now */
  until: string | null;
  throttles: number;
  lastError: string | null;
  /** pending ledger rows of editions addressed to this provider (a lower bound when `capped`) */
  waiting: number;
}

export interface ProviderOverview {
  providers: ProviderRow[];
  /** pending rows of providers not listed (no limits, never throttled, beyond the busiest) */
  otherWaiting: number;
  /** the count stopped at `scanLimit` pending rows: every figure is "at least" */
  capped: boolean;
  scanLimit: number;
}

export interface ProviderOverviewDeps {
  db: Queryable;
  clock: Clock;
  gate: Pick<ProviderGate, 'states'>;
  rules: ProviderRules;
  /** providers named in the limit tables (published defaults, publication file, PROVIDER_LIMITS) */
  named: readonly string[];
  /** at most this many pending rows are read per look (the cost of a dashboard at 1M readers) */
  scanLimit?: number;
  /** providers without limits or a backoff state shown by their waiting rows, busiest first */
  busiest?: number;
}

/**
 * Pending rows of editions per recipient domain, at most `limit` rows read. The partial index
 * deliveries_open_idx (migration 011) holds exactly the open rows of editions, so the scan never
 * touches sent history; the cap bounds it during a large send (100,000 rows of 300,000 pending
 * among 1M ledger rows: an index scan of deliveries_open_idx, 146 ms on a shared 2-core machine).
 * split_part(..., -1) is the part after the last `@`, as recipientDomain(); lower case is applied
 * after grouping (cheaper than per row).
 */
async function pendingByDomain(
  q: Queryable,
  limit: number,
): Promise<{ counts: Map<string, number>; read: number }> {
  const { rows } = await q.query<{ domain: string; n: number }>(
    `SELECT split_part(recipient, '@', -1) AS domain, count(*)::int AS n
       FROM (SELECT recipient FROM deliveries
              WHERE edition_id IS NOT NULL AND state = 'pending'
              LIMIT $1) open
      GROUP BY 1`,
    [limit],
  );
  const counts = new Map<string, number>();
  let read = 0;
  for (const r of rows) {
    const d = r.domain.toLowerCase();
    counts.set(d, (counts.get(d) ?? 0) + r.n);
    read += r.n;
  }
  return { counts, read };
}

export function createProviderOverview(deps: ProviderOverviewDeps) {
  const { db, clock, gate, rules } = deps;
  const scanLimit = deps.scanLimit ?? 100_000;
  const busiest = deps.busiest ?? 10;
  const named = [...new Set([...Object.keys(DEFAULT_LIMITS), ...deps.named])].filter((p) => p !== 'default');

  /** Domain to provider without asking DNS: the rules' names, then the MX cache, else the domain. */
  async function providersOf(domains: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const unknown: string[] = [];
    for (const d of domains) {
      const p = rules.byDomain(d);
      if (p) out.set(d, p);
      else unknown.push(d);
    }
    for (const e of await cachedDomains(db, unknown, clock.now())) out.set(e.domain, e.provider);
    for (const d of unknown) if (!out.has(d)) out.set(d, d);
    return out;
  }

  return {
    async get(): Promise<ProviderOverview> {
      const now = clock.now().getTime();
      const [states, pending] = await Promise.all([gate.states(), pendingByDomain(db, scanLimit)]);
      const byDomain = await providersOf([...pending.counts.keys()]);
      const waiting = new Map<string, number>();
      for (const [d, n] of pending.counts) {
        const p = byDomain.get(d) ?? d;
        waiting.set(p, (waiting.get(p) ?? 0) + n);
      }
      const state = new Map(states.map((s) => [s.provider, s]));
      const listed = new Set<string>([...states.map((s) => s.provider)]);
      for (const p of named) if (isLimited(rules.limits(p))) listed.add(p);
      const busy = [...waiting]
        .filter(([p]) => !listed.has(p))
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
      for (const [p] of busy.slice(0, busiest)) listed.add(p);
      const providers = [...listed]
        .map((provider): ProviderRow => {
          const limits = rules.limits(provider);
          const st = state.get(provider);
          const until = st?.until && Date.parse(st.until) > now ? st.until : null;
          return {
            provider,
            limits,
            warmupToday: limits.warmup ? warmupCap(limits.warmup, now) : null,
            level: st?.level ?? 0,
            until,
            throttles: st?.throttles ?? 0,
            lastError: st?.lastError ?? null,
            waiting: waiting.get(provider) ?? 0,
          };
        })
        // backing off first, then the deepest level, then the most rows waiting
        .sort(
          (a, b) =>
            Number(b.until !== null) - Number(a.until !== null) ||
            b.level - a.level ||
            b.waiting - a.waiting ||
            (a.provider < b.provider ? -1 : 1),
        );
      const shown = providers.reduce((a, p) => a + p.waiting, 0);
      return {
        providers,
        otherWaiting: pending.read - shown,
        capped: pending.read >= scanLimit,
        scanLimit,
      };
    },
  };
}

export type ProviderOverviewService = ReturnType<typeof createProviderOverview>;
