/**
 * shaping: the gazette lane's morning rush with the readers spread over receiving providers that
 * the sink plays (bench/sink-providers.ts): 60% at a "gmail" domain that answers 421 4.7.28 above
 * 300 msg/s, 20% at a "microsoft" domain that takes 2 transactions at once (421 4.7.0 over it),
 * 100 messages per connection, and 20 ms to answer each, 20% at two unlimited domains. Gazette
 * knows the domains' providers from the publication file's `shaping.domains` (no DNS) and their
 * limits from its `shaping.providers`, as an operator who read the providers' published numbers
 * would set them (Gmail's 5% under it). A breaking article arrives once a fifth of the digests are
 * out, as in the alert lane.
 *
 * Reports per provider its msg/s over its own sending window, against its limit; the throttle
 * replies the sink gave; rows failed and copies beyond one per sent row (both must be 0); the first
 * alert's latency; and the unlimited providers' rate against the plain gazette lane's in this run
 * (the lane runs one itself when the gazette lane was not asked for).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../../src/db/pool.js';
import type { ProviderLimits } from '../../src/shaping/shaping-schema.js';
import { type LaneContext, type LaneResult, PUBLICATION_CONFIG, round, uniqueId } from '../common.js';
import { ROOT } from '../procs.js';
import type { DomainStats, SinkProviderRule } from '../sink-providers.js';
import { gazetteRun } from './gazette.js';

interface Played {
  domain: string;
  provider: string;
  /** share of the readers, in tenths */
  tenths: number;
  /** what the sink enforces */
  sink: SinkProviderRule;
  /** what the operator configures in the publication file */
  gazette?: ProviderLimits;
}

/**
 * The providers played. Gmail's 300 msg/s is the number; on a machine whose plain lane
 * does not reach twice that (a shared 2-core box does ~250 msg/s), a limit above what the sender
 * can do measures nothing, so it is scaled to 30% of the plain lane's rate in this run (and said so).
 */
export function shapingProviders(plainRate: number): Played[] {
  const gmail = plainRate >= 600 ? 300 : Math.max(10, Math.round(plainRate * 0.3));
  return [
    {
      domain: 'gmail.bench.example',
      provider: 'gmail',
      tenths: 6,
      sink: { perSecond: gmail },
      // 5% under the provider's number, as an operator would set it: the sink counts to the
      // message in a one-second bucket, and a loaded sender's messages reach it in clumps
      gazette: { perSecond: Math.floor(gmail * 0.95) },
    },
    {
      domain: 'outlook.bench.example',
      provider: 'microsoft',
      tenths: 2,
      // 20 ms to answer each message, as an MX does (a real one takes longer): two connections
      // can carry 100 msg/s, and how busy they were is the measure; 100 messages per connection
      sink: { maxConnections: 2, replyMs: 20, messagesPerConnection: 100 },
      gazette: { maxConnections: 2, messagesPerConnection: 100 },
    },
    { domain: 'other-a.bench.example', provider: 'other-a.bench.example', tenths: 1, sink: {} },
    { domain: 'other-b.bench.example', provider: 'other-b.bench.example', tenths: 1, sink: {} },
  ];
}

/** The bench publication with a `shaping` section, written where Gazette's processes read it. */
function shapingPublication(id: string, played: Played[]): string {
  const base = JSON.parse(readFileSync(join(ROOT, PUBLICATION_CONFIG), 'utf8'));
  base.shaping = {
    domains: Object.fromEntries(played.map((p) => [p.domain, p.provider])),
    providers: Object.fromEntries(played.filter((p) => p.gazette).map((p) => [p.provider, p.gazette])),
  };
  const dir = join(ROOT, 'bench/results/tmp');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `shaping-publication-${id}.json`);
  writeFileSync(file, `${JSON.stringify(base, null, 2)}\n`);
  return file;
}

/** Readers by their number (reader-N) % 10 over the played domains, in their shares. */
async function spreadReaders(db: Db, played: Played[]): Promise<void> {
  const slots: string[] = played.flatMap((p) => Array<string>(p.tenths).fill(p.domain));
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
  const plainWindow = Number(plain.seconds) - Number(plain.firstMessageS);
  const plainRate = Number(plain.messages) / plainWindow;
  const played = shapingProviders(plainRate);
  const id = uniqueId();
  const file = shapingPublication(id, played);
  await ctx.sink.providers(
    Object.fromEntries(
      played.filter((p) => p.sink.perSecond || p.sink.maxConnections).map((p) => [p.domain, p.sink]),
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
      prepare: (db) => spreadReaders(db, played),
      inspect: async (db) => {
        ledger = await ledgerByDomain(db);
      },
      env: { PUBLICATION_CONFIG: file },
    });
  } finally {
    await ctx.sink.providers({});
    rmSync(file, { force: true });
  }
  const [main, alert] = run;
  const domains = (main!.sinkDomains ?? {}) as Record<string, DomainStats>;
  const webhookAt = alert?.webhookAt as number | undefined;
  const providers = played.map((p) => {
    const d = domains[p.domain];
    const rows = ledger.filter((r) => r.domain === p.domain);
    const count = (state: string) => rows.find((r) => r.state === state)?.n ?? 0;
    const window = d?.firstAt && d.lastAt ? (d.lastAt - d.firstAt) / 1000 : 0;
    const rate = window > 0 ? (d!.count - 1) / window : 0;
    // a connection limit is met when its connections are kept busy: the share of the window
    // with `maxConnections` transactions open at the sink
    const busy =
      p.sink.maxConnections && window > 0 ? d!.openMs / (p.sink.maxConnections * window * 1000) : undefined;
    const pct = p.sink.perSecond
      ? (100 * rate) / p.sink.perSecond
      : busy !== undefined
        ? 100 * busy
        : undefined;
    return {
      provider: p.provider,
      domain: p.domain,
      messages: d?.count ?? 0,
      seconds: round(window, 2),
      msgPerSec: round(rate),
      limit: p.sink.perSecond
        ? `${p.sink.perSecond}/s`
        : p.sink.maxConnections
          ? `${p.sink.maxConnections} connections busy`
          : 'none',
      pctOfLimit: pct === undefined ? undefined : round(pct),
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
  // while the unlimited providers' mail was going out, every provider's together: a full pipeline
  // (the plain lane's rate) means no throttled provider held them up
  const [s0, s1] = [Math.floor(otherFirst / 1000), Math.floor(otherLast / 1000)];
  let during = 0;
  for (const d of Object.values(domains))
    for (const [sec, n] of Object.entries(d.bySecond)) if (Number(sec) >= s0 && Number(sec) < s1) during += n;
  const pipelineRate = s1 > s0 ? during / (s1 - s0) : 0;
  const dueAt = Number(main!.dueAt);
  const throttled = providers.filter((p) => p.limit !== 'none');
  const result: LaneResult = {
    ...main!,
    lane: 'shaping',
    providers,
    plainMsgPerSec: round(plainRate),
    gmailScaledFrom300: played[0]!.sink.perSecond !== 300,
    othersMsgPerSec: round(othersRate),
    othersDoneS: round((otherLast - dueAt) / 1000, 2),
    plainDoneS: plain.seconds,
    allProvidersWhileOthersMsgPerSec: round(pipelineRate),
    othersVsPlain: round(pipelineRate / plainRate, 2),
    // the same readers' pace in both lanes: the plain lane's last message over the unlimited
    // providers' last (both from due); 1 = Gmail's pace did not hold them up at all
    othersDoneVsPlain: round(Number(plain.seconds) / ((otherLast - dueAt) / 1000), 2),
    throttleReplies: providers.reduce((s, p) => s + p.throttleReplies, 0),
    failedRows: providers.reduce((s, p) => s + p.failedRows, 0),
    notSent: providers.reduce((s, p) => s + p.notSent, 0),
    firstAlertS: alert?.firstAlertS,
    summary:
      `${main!.duplicatesAtSink} dup; ` +
      throttled.map((p) => `${p.provider} ${p.msgPerSec}/s ${p.throttleReplies} 421`).join(', ') +
      `; while others sent: ${round(pipelineRate)}/s = ${round(pipelineRate / plainRate, 2)}x plain`,
  };
  out.push(result);
  if (alert) out.push(alert);
  return out;
}
