/**
 * npm run bench -- [--readers 100000] [--lanes gazette,tracked,library,wire,naive,alert,dkim,http,relay,shaping]
 *                  [--connections 5] [--naive-sample 2000] [--http-duration 30] [--profile]
 *
 * Starts an SMTP sink (own process), runs the chosen lanes against it, prints a table, ratio and
 * target lines, and writes the whole result as JSON under bench/results/. Targets are reported as
 * met or not met; nothing here fails on timing.
 */

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { withDefaultUser } from '../src/db/pool.js';
import {
  generateDkim,
  type LaneContext,
  type LaneResult,
  loadBenchPublication,
  type RunOptions,
  redisUsedMemory,
  round,
} from './common.js';
import { gazetteRun, runGazette } from './lanes/gazette.js';
import { runHttp } from './lanes/http.js';
import { runLibrary } from './lanes/library.js';
import { runNaive } from './lanes/naive.js';
import { runRelay } from './lanes/relay.js';
import { runShaping } from './lanes/shaping.js';
import { runTracked } from './lanes/tracked.js';
import { runWireLane } from './lanes/wire.js';
import { ROOT, startRemoteSink } from './procs.js';
import { BASE_DB } from './seed.js';
import { measureAround, type SpeedAround } from './speed-probe.js';

const ALL_LANES = [
  'gazette',
  'tracked',
  'library',
  'wire',
  'naive',
  'alert',
  'dkim',
  'http',
  'relay',
  'shaping',
] as const;
type Lane = (typeof ALL_LANES)[number];

const { values } = parseArgs({
  options: {
    readers: { type: 'string', default: '100000' },
    lanes: { type: 'string', default: ALL_LANES.join(',') },
    connections: { type: 'string', default: '5' },
    'naive-sample': { type: 'string' },
    'dkim-readers': { type: 'string' },
    'http-duration': { type: 'string' },
    'http-rate': { type: 'string', default: '1000' },
    'subscribe-rate': { type: 'string', default: '500' },
    'log-level': { type: 'string', default: 'info' },
    'idle-timeout': { type: 'string', default: '90' },
    profile: { type: 'boolean', default: false },
    // extra environment for Gazette's processes, for tuning experiments: --set SEND_CONCURRENCY=8
    set: { type: 'string', multiple: true, default: [] },
    out: { type: 'string' },
  },
});

const opts: RunOptions = {
  readers: Number(values.readers),
  connections: Number(values.connections),
  // the naive lane is a rate: a sample of 2% of the readers, at least 500, at most 2,000
  naiveSample: Number(
    values['naive-sample'] ?? Math.min(2000, Math.max(500, Math.round(Number(values.readers) / 50))),
  ),
  // the targets' 30 s at 100,000 readers and above; shorter for the quicker, smaller runs (5 s at 20k)
  httpDuration: Number(
    values['http-duration'] ??
      Math.min(30, Math.max(5, Math.round((30 * Number(values.readers)) / 100_000 / 5) * 5)),
  ),
  httpRate: Number(values['http-rate']),
  subscribeRate: Number(values['subscribe-rate']),
  logLevel: String(values['log-level']),
  profile: Boolean(values.profile),
  idleTimeout: Number(values['idle-timeout']),
  gazetteEnv: Object.fromEntries(
    (values.set ?? []).map((kv) => {
      const eq = kv.indexOf('=');
      if (eq < 1) {
        console.error(`bench: --set expects KEY=VALUE, got "${kv}"`);
        process.exit(2);
      }
      return [kv.slice(0, eq), kv.slice(eq + 1)];
    }),
  ),
};
const lanes = String(values.lanes)
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean) as Lane[];
for (const l of lanes) {
  if (!ALL_LANES.includes(l)) {
    console.error(`bench: unknown lane "${l}" (known: ${ALL_LANES.join(', ')})`);
    process.exit(2);
  }
}
if (!Number.isInteger(opts.readers) || opts.readers < 10) {
  console.error('bench: --readers must be an integer >= 10');
  process.exit(2);
}

const startedAt = new Date();
const log = (msg: string) =>
  console.log(`[bench +${round((Date.now() - startedAt.getTime()) / 1000)}s] ${msg}`);
log(`readers=${opts.readers} lanes=${lanes.join(',')} connections=${opts.connections} cpus=${cpus().length}`);

const sink = await startRemoteSink({ track: false });
const profileDir = join(ROOT, 'bench/results/profiles', startedAt.toISOString().replace(/[:.]/g, '-'));
const ctx: LaneContext = {
  opts,
  sink,
  publication: loadBenchPublication(),
  dkim: generateDkim(),
  results: {},
  profileDir,
  note: log,
};
const redisBefore = await redisUsedMemory();

const wanted = (l: Lane) => lanes.includes(l);
const failures: string[] = [];
async function lane(name: string, fn: () => Promise<LaneResult | LaneResult[]>) {
  log(`lane ${name}: start`);
  try {
    const { out, speed } = await measureAround(fn);
    for (const r of Array.isArray(out) ? out : [out]) {
      r.speed = speed;
      ctx.results[r.lane] = r;
      log(`lane ${r.lane}: ${JSON.stringify(r)}`);
    }
  } catch (err) {
    failures.push(`${name}: ${(err as Error).message}`);
    log(`lane ${name} FAILED: ${(err as Error).stack ?? err}`);
  }
}

try {
  // gazette first: the others then send the same message count and the same editions
  if (wanted('gazette')) await lane('gazette', () => runGazette(ctx, { alert: false, dkimToo: false }));
  // the same send with click tracking on: per-reader signed links (its ratios beside the gazette lane's)
  if (wanted('tracked')) await lane('tracked', () => runTracked(ctx));
  // The alert lane is a digest run of its own, with the API and a breaking webhook mid-send: the
  // alerts' sending (they go first) must not count against the gazette lane's digest rate.
  if (wanted('alert'))
    await lane('alert', () =>
      gazetteRun(ctx, { label: 'gazette+alert', alert: true, captureMix: !wanted('gazette') }),
    );
  const messages = (ctx.results.gazette?.messages as number | undefined) ?? opts.readers;
  if (wanted('library')) await lane('library', () => runLibrary(ctx, { messages }));
  if (wanted('dkim')) {
    // DKIM halves both senders' rates: a ratio needs fewer readers than the main lanes (default 20,000)
    // a fifth of the readers, at most 20,000: RSA signing makes these the slowest lanes
    const dkimReaders = Number(
      values['dkim-readers'] ?? Math.min(20_000, Math.max(1000, Math.round(opts.readers / 5))),
    );
    await lane('gazette+dkim', () =>
      runGazette(ctx, { alert: false, dkimToo: true, only: 'dkim', dkimReaders }),
    );
    const dkimMessages = (ctx.results['gazette+dkim']?.messages as number | undefined) ?? dkimReaders;
    const mix = ctx.mix;
    // the library lane sends the gazette lane's editions, scaled to the DKIM message count
    if (mix) {
      const total = mix.reduce((s, m) => s + m.count, 0);
      ctx.mix = mix.map((m) => ({ ...m, count: Math.max(1, Math.round((m.count * dkimMessages) / total)) }));
    }
    await lane('library+dkim', () => runLibrary(ctx, { messages: dkimMessages, dkim: ctx.dkim }));
    ctx.mix = mix;
  }
  if (wanted('wire')) await lane('wire', () => runWireLane(ctx, { messages }));
  if (wanted('naive'))
    await lane('naive', () =>
      runNaive(ctx, { sample: Math.min(opts.naiveSample, messages), readers: messages }),
    );
  if (wanted('http')) await lane('http', () => runHttp(ctx));
  // after gazette: its ratio is against the plain lane of the same run
  if (wanted('relay')) await lane('relay', () => runRelay(ctx));
  // after the gazette lane: its rate, in this run, is what the unlimited providers are held to
  if (wanted('shaping')) await lane('shaping', () => runShaping(ctx));
} finally {
  await sink.close();
}

// ------------------------------------------------------------------ report

const r = ctx.results;
const rate = (name: string) => r[name]?.msgPerSec as number | undefined;
const ratio = (a?: number, b?: number) => (a && b ? a / b : undefined);
const ratios = {
  'Gazette / library limit': ratio(rate('gazette'), rate('library')),
  'Gazette / wire limit': ratio(rate('gazette'), rate('wire')),
  'Gazette / naive': ratio(rate('gazette'), rate('naive')),
  'Gazette+DKIM / library+DKIM': ratio(rate('gazette+dkim'), rate('library+dkim')),
  'relay (primary killed) / gazette': ratio(rate('relay'), rate('gazette')),
  // every provider's rate while the unlimited ones' mail went out, over the plain lane's (both
  // first to last message): 1 = nobody held up by the throttled ones (bench/lanes/shaping.ts)
  'Shaping while unlimited sent / gazette': r.shaping?.othersVsPlain as number | undefined,
  // the unlimited providers' readers: the plain lane's done time over theirs (both from due)
  'Shaping unlimited done / gazette done': r.shaping?.othersDoneVsPlain as number | undefined,
  'Tracked / library limit': ratio(rate('tracked'), rate('library')),
  'Tracked / gazette': ratio(rate('tracked'), rate('gazette')),
};
const fmtRatio = (v: number) => (v >= 10 ? v.toFixed(1) : v.toFixed(2));

type Verdict = { target: string; met: boolean | null; value: string };
const targets: Verdict[] = [];
const target = (
  name: string,
  value: number | undefined,
  ok: (v: number) => boolean,
  show: (v: number) => string,
) =>
  targets.push({
    target: name,
    met: value === undefined ? null : ok(value),
    value: value === undefined ? 'n/a' : show(value),
  });
const g = r.gazette;
target(
  'Gazette >= 1.5x library',
  ratios['Gazette / library limit'],
  (v) => v >= 1.5,
  (v) => `${fmtRatio(v)}x`,
);
target(
  'Gazette >= 25x naive',
  ratios['Gazette / naive'],
  (v) => v >= 25,
  (v) => `${fmtRatio(v)}x`,
);
target(
  'Gazette+DKIM >= 1.5x library+DKIM',
  ratios['Gazette+DKIM / library+DKIM'],
  (v) => v >= 1.5,
  (v) => `${fmtRatio(v)}x`,
);
target(
  'Gazette / wire >= 0.25 (stretch)',
  ratios['Gazette / wire limit'],
  (v) => v >= 0.25,
  (v) => `${fmtRatio(v)}x`,
);
if (g) {
  target(
    'MJML compiles == editions',
    g.compiles === undefined ? undefined : Number(g.compiles) - Number(g.editions),
    (v) => v === 0,
    () => `${g.compiles} compiles, ${g.editions} editions`,
  );
  target(
    'time to first digest message <= 2 s',
    g.firstMessageS as number | undefined,
    (v) => v <= 2,
    (v) => `${v} s`,
  );
  target(
    'worker peak RSS < 300 MB',
    g.workerPeakRssMb as number | undefined,
    (v) => v < 300,
    (v) => `${v} MB`,
  );
}
const a = r.alert;
if (a)
  target(
    'alert first message <= 2 s after webhook',
    a.firstAlertS as number | undefined,
    (v) => v <= 2,
    (v) => `${v} s`,
  );
const rl = r.relay;
if (rl)
  target(
    'relay: primary killed, every row sent once, none twice',
    rl.duplicatesAtSink === undefined ? undefined : Number(rl.duplicatesAtSink) + Number(rl.failed),
    (v) => v === 0,
    () =>
      `${rl.fallbackMessages} via fallback, ${rl.duplicatesAtSink} duplicate(s), ${rl.failed} failed, ${rl.ambiguous} ambiguous (never resent)`,
  );
const sh = r.shaping;
if (sh) {
  type P = { provider: string; limit: string; pctOfLimit?: number; msgPerSec: number };
  for (const p of (sh.providers as P[]).filter((x) => x.pctOfLimit !== undefined))
    target(
      `shaping: ${p.provider} within 10% of its limit`,
      p.pctOfLimit,
      (v) => v >= 90,
      (v) => `${p.msgPerSec} msg/s, ${v}% of ${p.limit}`,
    );
  target(
    "shaping: unlimited providers' readers done at the gazette lane's pace (>= 0.9x)",
    sh.othersDoneVsPlain as number | undefined,
    (v) => v >= 0.9,
    (v) =>
      `${fmtRatio(v)}x (their last message at +${sh.othersDoneS} s, the plain lane's at +${sh.plainDoneS} s)`,
  );
  // stricter: the capacity Gmail's pace leaves unused goes to the unlimited providers meanwhile
  target(
    'shaping: every provider together while the unlimited sent, at the gazette rate (>= 0.9x)',
    sh.othersVsPlain as number | undefined,
    (v) => v >= 0.9,
    (v) =>
      `${fmtRatio(v)}x (${sh.allProvidersWhileOthersMsgPerSec} msg/s while they sent, ${sh.othersMsgPerSec} of them theirs; plain ${sh.plainMsgPerSec})`,
  );
  target(
    'shaping: no row failed, none unsent, no duplicate',
    Number(sh.failedRows) + Number(sh.notSent) + Number(sh.duplicatesAtSink),
    (v) => v === 0,
    () => `${sh.failedRows} failed, ${sh.notSent} unsent, ${sh.duplicatesAtSink} duplicates`,
  );
  target(
    'shaping: first alert < 1 s during the rush',
    sh.firstAlertS as number | undefined,
    (v) => v < 1,
    (v) => `${v} s`,
  );
}
const h = r.http;
if (h) {
  target(
    'webhook p99 < 50 ms',
    h.webhookP99Ms as number | undefined,
    (v) => v < 50,
    (v) => `${v} ms at ${h.webhookReqPerSec} req/s`,
  );
  target(
    'webhook nothing lost',
    h.webhookLost as number | undefined,
    (v) => v === 0,
    (v) => `${h.webhook2xx} 2xx, ${h.webhookStored} stored, lost ${v}`,
  );
  target(
    'subscribe p99 < 50 ms',
    h.subscribeP99Ms as number | undefined,
    (v) => v < 50,
    (v) => `${v} ms at ${h.subscribeReqPerSec} req/s`,
  );
  target(
    'API peak RSS < 300 MB',
    h.apiPeakRssMb as number | undefined,
    (v) => v < 300,
    (v) => `${v} MB`,
  );
}

console.log('');
console.log(
  `Gazette benchmark, ${opts.readers} readers, ${cpus().length} CPU(s), ${opts.connections} SMTP connections`,
);
const cols = ['lane', 'messages', 'seconds', 'msg/s', 'first msg', 'peak RSS', 'notes'];
const rows = Object.values(r).map((x) => [
  x.lane,
  x.messages === undefined ? '' : String(x.messages),
  x.seconds === undefined ? '' : String(x.seconds),
  x.msgPerSec === undefined ? '' : String(x.msgPerSec),
  x.firstMessageS !== undefined
    ? `${x.firstMessageS} s`
    : x.firstAlertS !== undefined
      ? `${x.firstAlertS} s`
      : '',
  x.workerPeakRssMb !== undefined
    ? `w ${x.workerPeakRssMb} MB`
    : x.apiPeakRssMb !== undefined
      ? `api ${x.apiPeakRssMb} MB`
      : x.peakRssMb !== undefined
        ? `${x.peakRssMb} MB`
        : '',
  String(x.summary ?? ''),
]);
const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((row) => row[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
console.log(line(cols));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const row of rows) console.log(line(row));
console.log('');
for (const [name, v] of Object.entries(ratios)) if (v !== undefined) console.log(`${name} = ${fmtRatio(v)}x`);
// A ratio of two lanes' rates assumes the machine was as fast for both: speed-probe.ts times a fixed
// CPU task around each lane and reads the hypervisor's steal time over it.
const drift = (a: string, b: string) => {
  const x = r[a]?.speed as SpeedAround | undefined;
  const y = r[b]?.speed as SpeedAround | undefined;
  if (!x || !y) return;
  const slow = (s: SpeedAround) => Math.max(s.probeBeforeMs, s.probeAfterMs);
  const fast = (s: SpeedAround) => Math.min(s.probeBeforeMs, s.probeAfterMs);
  // the widest gap the probes allow between the two lanes' machine speeds
  const off = Math.max(slow(x) / fast(y), slow(y) / fast(x)) - 1;
  const steal = (s: SpeedAround) => (s.stealPct === undefined ? '' : `, steal ${s.stealPct}%`);
  const stolen = Math.max(x.stealPct ?? 0, y.stealPct ?? 0);
  console.log(
    `machine speed check, ${a} vs ${b}: a fixed CPU task took ${x.probeBeforeMs}/${x.probeAfterMs} ms ` +
      `(before/after) around ${a}${steal(x)}, ${y.probeBeforeMs}/${y.probeAfterMs} ms around ${b}${steal(y)}` +
      (off > 0.25 || stolen > 5
        ? ` (the machine's speed moved by up to ${Math.round(off * 100)}%${stolen > 5 ? ` and the hypervisor took ${stolen}%` : ''}: the ratio is uncertain by about as much)`
        : ''),
  );
};
drift('gazette', 'library');
drift('tracked', 'library');
const perK = (l: string) => r[l]?.workerCpuSPer1k as number | undefined;
if (perK('tracked') !== undefined)
  console.log(
    `worker CPU-s per 1k messages: tracked ${perK('tracked')}` +
      (perK('gazette') !== undefined
        ? `, gazette ${perK('gazette')} (tracked/gazette ${fmtRatio(perK('tracked')! / perK('gazette')!)}x)`
        : ''),
  );
drift('gazette+dkim', 'library+dkim');
console.log('');
for (const t of targets)
  console.log(`${t.met === null ? 'n/a    ' : t.met ? 'met    ' : 'NOT MET'}  ${t.target}: ${t.value}`);
if (failures.length) {
  console.log('');
  for (const f of failures) console.log(`lane failed: ${f}`);
}

// ------------------------------------------------------------------ JSON

const pkg = (name: string) => {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8'))
      .version as string;
  } catch {
    return 'unknown';
  }
};
const pgVersion = await (async () => {
  const c = new pg.Client({ connectionString: withDefaultUser(BASE_DB) });
  await c.connect();
  try {
    return (await c.query<{ v: string }>('SHOW server_version')).rows[0]?.v;
  } finally {
    await c.end();
  }
})().catch(() => 'unknown');
const report = {
  startedAt: startedAt.toISOString(),
  finishedAt: new Date().toISOString(),
  options: opts,
  lanes,
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGb: round(totalmem() / 2 ** 30),
  },
  versions: {
    node: process.version,
    gazette: pkg('..'),
    bullmq: pkg('bullmq'),
    nodemailer: pkg('nodemailer'),
    mjml: pkg('mjml'),
    fastify: pkg('fastify'),
    smtpServer: pkg('smtp-server'),
    postgres: pgVersion,
    redisUsedMemoryAtStartMb: round(redisBefore / 2 ** 20),
  },
  processes: Object.fromEntries(Object.values(r).map((x) => [x.lane, x.processes ?? null])),
  results: r,
  ratios: Object.fromEntries(
    Object.entries(ratios).map(([k, v]) => [k, v === undefined ? null : round(v, 3)]),
  ),
  targets,
  failures,
};
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
const out =
  values.out ??
  join(ROOT, 'bench/results', `bench-${opts.readers}-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`\nwritten ${out}`);
process.exit(failures.length ? 1 : 0);
