/**
 * shaping: the gazette lane's morning rush with the readers spread over receiving providers that
 * the sink plays (bench/sink-providers.ts): 60% at a "gmail" domain that answers 421 4.7.28 above
 * 300 msg/s, 20% at a "microsoft" domain that takes 2 transactions at once (421 4.7.0 over it),
 * 20% at two unlimited domains. Gazette knows the domains' providers from the publication file's
 * `shaping.domains` (no DNS) and their limits from its `shaping.providers`, as an operator who read
 * the providers' published numbers would set them. A breaking article arrives once a fifth of the
 * digests are out, as in the alert lane.
 *
 * Reports per provider its msg/s over its own sending window, against its limit; the throttle
 * replies the sink gave; rows failed and copies beyond one per sent row (both must be 0); the first
 * alert's latency; and the unlimited providers' rate against the plain gazette lane's in this run
 * (the lane runs one itself when the gazette lane was not asked for).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../../src/db/pool.js';
import { type LaneContext, type LaneResult, PUBLICATION_CONFIG, round, uniqueId } from '../common.js';
import { ROOT } from '../procs.js';
import type { DomainStats } from '../sink-providers.js';
import { gazetteRun } from './gazette.js';

interface Played {
  domain: string;
  provider: string;
  /** share of the readers, in tenths */
  tenths: number;
  /** what the sink enforces */
  sink: { perSecond?: number; maxConnections?: number };
  /** what the operator configures in the publication file */
  gazette?: { perSecond?: number; maxConnections?: number };
}

export const SHAPING_PROVIDERS: readonly Played[] = [
  {
    domain: 'gmail.bench.example',
    provider: 'gmail',
    tenths: 6,
    sink: { perSecond: 300 },
    gazette: { perSecond: 300 },
  },
  {
    domain: 'outlook.bench.example',
    provider: 'microsoft',
    tenths: 2,
    sink: { maxConnections: 2 },
    gazette: { maxConnections: 2 },
  },
  { domain: 'other-a.bench.example', provider: 'other-a.bench.example', tenths: 1, sink: {} },
  { domain: 'other-b.bench.example', provider: 'other-b.bench.example', tenths: 1, sink: {} },
];

/** The bench publication with a `shaping` section, written where Gazette's processes read it. */
function shapingPublication(id: string): string {
  const base = JSON.parse(readFileSync(join(ROOT, PUBLICATION_CONFIG), 'utf8'));
  base.shaping = {
    domains: Object.fromEntries(SHAPING_PROVIDERS.map((p) => [p.domain, p.provider])),
    providers: Object.fromEntries(
      SHAPING_PROVIDERS.filter((p) => p.gazette).map((p) => [p.provider, p.gazette]),
    ),
  };
  const dir = join(ROOT, 'bench/results/tmp');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `shaping-publication-${id}.json`);
  writeFileSync(file, `${JSON.stringify(base, null, 2)}\n`);
  return file;
}

/** Readers by their number (reader-N) % 10 over the played domains, in their shares. */
async function spreadReaders(db: Db): Promise<void> {
  const slots: string[] = SHAPING_PROVIDERS.flatMap((p) => Array<string>(p.tenths).fill(p.domain));
  await db.query(
    `UPDATE subscribers SET email = split_part(email, '@', 1) || '@' || ($1::text[])[n % 10 + 1],
                            email_key = split_part(email_key, '@', 1) || '@' || ($1::text[])[n % 10 + 1]
       FROM (SELECT id AS sid, split_part(split_part(email, '@', 1), '-', 2)::int AS n FROM subscribers) s
      WHERE subscribers.id = s.sid`,
    [slots],
  );
  await db.query('ANALYZE subscribers');
}

async function ledgerByDomain(db: Db) {
  const { rows } = await db.query<{ domain: string; state: string; n: number }>(
    `SELECT split_part(recipient, '@', 2) AS domain, state, count(*)::int AS n
       FROM deliveries GROUP BY 1, 2 ORDER BY 1, 2`,
  );
  return rows;
}

export async function runShaping(ctx: LaneContext): Promise<LaneResult[]> {
  const out: LaneResult[] = [];
  let plain = ctx.results.gazette;
  if (!plain) {
    plain = (await gazetteRun(ctx, { label: 'gazette', alert: false, captureMix: true }))[0]!;
    out.push(plain);
  }
  const id = uniqueId();
  const file = shapingPublication(id);
  await ctx.sink.providers(
    Object.fromEntries(
      SHAPING_PROVIDERS.filter((p) => p.sink.perSecond || p.sink.maxConnections).map((p) => [
        p.domain,
        p.sink,
      ]),
    ),
  );
  let ledger: Awaited<ReturnType<typeof ledgerByDomain>> = [];
  let run: LaneResult[];
  try {
    run = await gazetteRun(ctx, {
      label: 'shaping',
      alert: true,
      alertLabel: 'shaping-alert',
      captureMix: false,
      prepare: spreadReaders,
      inspect: async (db) => {
        ledger = await ledgerByDomain(db);
      },
      env: { PUBLICATION_CONFIG: file },
    });
  } finally {
    await ctx.sink.providers({});
  }
  const [main, alert] = run;
  const domains = (main!.sinkDomains ?? {}) as Record<string, DomainStats>;
  const webhookAt = alert?.webhookAt as number | undefined;
  const plainWindow = Number(plain.seconds) - Number(plain.firstMessageS);
  const plainRate = Number(plain.messages) / plainWindow;
  const providers = SHAPING_PROVIDERS.map((p) => {
    const d = domains[p.domain];
    const rows = ledger.filter((r) => r.domain === p.domain);
    const count = (state: string) => rows.find((r) => r.state === state)?.n ?? 0;
    const window = d?.firstAt && d.lastAt ? (d.lastAt - d.firstAt) / 1000 : 0;
    const rate = window > 0 ? (d!.count - 1) / window : 0;
    // a connection limit as a rate: the plain lane's per-connection rate times the connections allowed
    const limit =
      p.sink.perSecond ??
      (p.sink.maxConnections ? (plainRate * p.sink.maxConnections) / ctx.opts.connections : undefined);
    return {
      provider: p.provider,
      domain: p.domain,
      messages: d?.count ?? 0,
      seconds: round(window, 2),
      msgPerSec: round(rate),
      limit: p.sink.perSecond
        ? `${p.sink.perSecond}/s`
        : p.sink.maxConnections
          ? `${p.sink.maxConnections} connections (~${round(limit ?? 0)}/s)`
          : 'none',
      pctOfLimit: limit ? round((100 * rate) / limit) : undefined,
      peakOpen: d?.peakOpen,
      throttleReplies: d?.throttled ?? 0,
      failedRows: count('failed') + count('ambiguous'),
      notSent: rows
        .filter((r) => r.state !== 'sent' && r.state !== 'suppressed')
        .reduce((s, r) => s + r.n, 0),
      // the sink's copies beyond one per row the ledger has sent
      duplicates: Math.max(0, (d?.count ?? 0) - count('sent')),
      firstAlertS:
        d?.firstByKind.alert && webhookAt ? round((d.firstByKind.alert - webhookAt) / 1000, 2) : undefined,
    };
  });
  const others = providers.filter((p) => p.limit === 'none');
  const otherFirst = Math.min(...others.map((p) => domains[p.domain]?.firstAt ?? Number.POSITIVE_INFINITY));
  const otherLast = Math.max(...others.map((p) => domains[p.domain]?.lastAt ?? 0));
  const otherCount = others.reduce((s, p) => s + p.messages, 0);
  const othersRate = otherLast > otherFirst ? otherCount / ((otherLast - otherFirst) / 1000) : 0;
  const throttled = providers.filter((p) => p.limit !== 'none');
  const result: LaneResult = {
    ...main!,
    lane: 'shaping',
    providers,
    plainMsgPerSec: round(plainRate),
    othersMsgPerSec: round(othersRate),
    othersVsPlain: round(othersRate / plainRate, 2),
    throttleReplies: providers.reduce((s, p) => s + p.throttleReplies, 0),
    failedRows: providers.reduce((s, p) => s + p.failedRows, 0),
    notSent: providers.reduce((s, p) => s + p.notSent, 0),
    firstAlertS: alert?.firstAlertS,
    summary:
      `${main!.duplicatesAtSink} dup; ` +
      throttled.map((p) => `${p.provider} ${p.msgPerSec}/s ${p.throttleReplies} 421`).join(', ') +
      `; others ${round(othersRate)}/s = ${round(othersRate / plainRate, 2)}x plain`,
  };
  out.push(result);
  if (alert) out.push(alert);
  return out;
}
