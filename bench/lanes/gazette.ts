/**
 * gazette: the real thing, one worker process (`node --import tsx src/main.ts worker`), against a
 * fresh database and queue prefix. All N readers are made due at one instant (their
 * next_digest_at, in one UPDATE, as a 07:00 send looks in production); the planner finds them
 * (PLANNER_INTERVAL_SECONDS=1, so its wake-up for that instant is set within a second), plans,
 * renders each edition once and the send worker delivers. Measured from the due instant to the
 * last message accepted by the sink.
 *
 * With the alert lane, the API process runs too, and once a fifth of the digest is delivered a
 * breaking article arrives through the signed webhook; the lane times the first and the last
 * alert at the sink from the moment the webhook was posted.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { signStandardWebhook } from '../../src/articles/signatures.js';
import type { Db } from '../../src/db/pool.js';
import {
  type Dkim,
  deleteRedisPrefix,
  gazetteEnv,
  type LaneContext,
  type LaneResult,
  type MixEdition,
  pgWrites,
  round,
  uniqueId,
  WEBHOOK_SECRET,
  watchRedisMemory,
} from '../common.js';
import {
  cpuDelta,
  cpuSnapshot,
  type GazetteProcess,
  type RemoteSink,
  sleep,
  spawnGazette,
} from '../procs.js';
import { topSelfTime } from '../profile-top.js';
import { BREAKING_ARTICLE, createBenchDatabase, makeDue, seedArticles, seedReaders } from '../seed.js';
import { freePort } from './http.js';

export interface GazetteRunOptions {
  label: string;
  dkim?: Dkim;
  alert: boolean;
  captureMix: boolean;
  /** readers for this run (default --readers) */
  readers?: number;
  /** after seeding, before the run (the shaping lane spreads readers over provider domains) */
  prepare?: (db: import('../../src/db/pool.js').Db) => Promise<void>;
  /** more environment for Gazette's processes (the shaping lane's publication file) */
  env?: Record<string, string>;
  /** reads the bench database once the run is done, before it is dropped */
  inspect?: (db: import('../../src/db/pool.js').Db) => Promise<void>;
  /** the alert result's lane name (default alert) */
  alertLabel?: string;
  /** the publication file Gazette's processes load instead of the sample (the tracked lane's) */
  publicationConfig?: string;
  /** keep every n-th message whole at the sink, for check() */
  sampleEvery?: number;
  /** after the send, before the database is dropped: fields for the result; throws if wrong */
  check?: (db: Db, sink: RemoteSink) => Promise<Record<string, unknown>>;
}

export async function runGazette(
  ctx: LaneContext,
  o: { alert: boolean; dkimToo: boolean; only?: 'dkim'; dkimReaders?: number },
): Promise<LaneResult[]> {
  const results: LaneResult[] = [];
  if (o.only !== 'dkim')
    results.push(...(await gazetteRun(ctx, { label: 'gazette', alert: o.alert, captureMix: true })));
  if (o.dkimToo)
    results.push(
      ...(await gazetteRun(ctx, {
        label: 'gazette+dkim',
        dkim: ctx.dkim,
        alert: false,
        captureMix: false,
        readers: o.dkimReaders,
      })),
    );
  return results;
}

export async function gazetteRun(ctx: LaneContext, o: GazetteRunOptions): Promise<LaneResult[]> {
  const opts = { ...ctx.opts, readers: o.readers ?? ctx.opts.readers };
  const id = uniqueId();
  const bench = await createBenchDatabase(o.dkim ? 'dkim' : 'gazette');
  const prefix = `gzb-${id}`;
  const procs: GazetteProcess[] = [];
  const redisMem = watchRedisMemory();
  try {
    const seedStart = Date.now();
    await seedReaders(bench.db, opts.readers);
    const articleIds = await seedArticles(bench.db);
    await o.prepare?.(bench.db);
    ctx.note(
      `${o.label}: seeded ${opts.readers} readers and ${articleIds.length} articles in ${round((Date.now() - seedStart) / 1000)} s`,
    );
    await ctx.sink.reset(true, o.sampleEvery);
    await redisMem.ready;

    const port = o.alert ? await freePort() : 0;
    const profileDir = opts.profile ? join(ctx.profileDir, o.label.replace(/\W/g, '-')) : undefined;
    if (profileDir) mkdirSync(profileDir, { recursive: true });
    const env = gazetteEnv({
      dbUrl: bench.url,
      prefix,
      sinkUrl: ctx.sink.url,
      port,
      logLevel: opts.logLevel,
      connections: opts.connections,
      dkim: o.dkim,
      extra: {
        PLANNER_INTERVAL_SECONDS: '1',
        // the breaking article would open immediate readers' windows; keep them closed during the run
        IMMEDIATE_WINDOW_SECONDS: '3600',
        ...o.env,
        ...opts.gazetteEnv,
        ...(o.publicationConfig ? { PUBLICATION_CONFIG: o.publicationConfig } : {}),
      },
    });
    const worker = await spawnGazette({
      mode: 'worker',
      label: `${o.label.replace(/\W/g, '-')}-worker-${id}`,
      env,
      cpuProfDir: profileDir,
    });
    procs.push(worker);
    const api = o.alert
      ? await spawnGazette({
          mode: 'api',
          label: `${o.label.replace(/\W/g, '-')}-api-${id}`,
          env,
          readyUrl: `http://127.0.0.1:${port}`,
        })
      : undefined;
    if (api) procs.push(api);

    await sleep(500);
    const writesBefore = await pgWrites(bench.db, bench.name);
    const compilesBefore = worker.probe()?.compiles ?? 0;
    // a lead long enough for the UPDATE to commit, and a planner tick (1 s) to set its wake-up,
    // before the instant (the UPDATE takes 1.5-4 s per 100k readers on a busy 2-core machine);
    // 7 s at 20k readers before, most of it waiting
    const due = await makeDue(bench.db, 2000 + Math.ceil((opts.readers * 4000) / 100_000));
    const cpuPids = { worker: worker.pid, api: api?.pid, sink: ctx.sink.pid, bench: process.pid };
    const cpu0 = cpuSnapshot(cpuPids);
    const idleRss = worker.peakRssMb();
    ctx.note(`${o.label}: ${opts.readers} readers due at +${round((due - Date.now()) / 1000)} s`);

    let expectedDigests: number | null = null;
    let expectedAlerts: number | null = null;
    let webhookAt: number | null = null;
    let webhookMs: number | null = null;
    let webhookStatus: number | null = null;
    let digestsAtWebhook = 0;
    let lastCount = -1;
    let lastChange = Date.now();
    let lastDbCheck = 0;
    let stats = await ctx.sink.stats();
    for (;;) {
      stats = await ctx.sink.stats();
      const digests = stats.kinds.digest?.count ?? 0;
      const alerts = stats.kinds.alert?.count ?? 0;
      if (api && webhookAt === null && digests >= Math.max(1, Math.floor(opts.readers * 0.2))) {
        digestsAtWebhook = digests;
        webhookAt = Date.now();
        webhookStatus = await postBreaking(port);
        webhookMs = Date.now() - webhookAt;
        ctx.note(
          `alert: breaking webhook answered ${webhookStatus} in ${webhookMs} ms, ${digests} digests delivered so far`,
        );
      }
      if (Date.now() - lastDbCheck > 1000) {
        lastDbCheck = Date.now();
        if (expectedDigests === null) {
          const left = await bench.db.query<{ n: number }>(
            // a probe, not a count: counting the readers still due scanned up to N index entries every
            // second, which at 1M readers was a busy PostgreSQL backend of the benchmark's own
            `SELECT count(*)::int AS n FROM (SELECT 1 FROM subscribers
              WHERE status = 'confirmed' AND next_digest_at <= $1 LIMIT 1) due`,
            [new Date(due)],
          );
          if (Date.now() > due && left.rows[0]!.n === 0) {
            expectedDigests = (
              await bench.db.query<{ n: number }>(
                `SELECT count(*)::int AS n FROM deliveries WHERE kind = 'digest'`,
              )
            ).rows[0]!.n;
            ctx.note(
              `${o.label}: planning done at +${round((Date.now() - due) / 1000)} s: ${expectedDigests} digest rows`,
            );
          }
        }
        if (webhookAt !== null && expectedAlerts === null) {
          const { rows } = await bench.db.query<{ done: boolean; n: number }>(
            `SELECT bool_and(e.fanout_done_at IS NOT NULL) AS done,
                    (SELECT count(*)::int FROM deliveries WHERE kind = 'alert') AS n
             FROM editions e WHERE e.kind = 'alert'`,
          );
          if (rows[0]?.done) expectedAlerts = rows[0].n;
        }
      }
      const digestsDone = expectedDigests !== null && digests >= expectedDigests;
      const alertsDone = !api || (expectedAlerts !== null && alerts >= expectedAlerts);
      if (digestsDone && alertsDone) break;
      if (stats.count !== lastCount) {
        lastCount = stats.count;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > opts.idleTimeout * 1000 && Date.now() > due + 10_000) {
        const states = await bench.db.query(
          `SELECT kind, state, count(*)::int AS n FROM deliveries GROUP BY 1, 2`,
        );
        throw new Error(
          `${o.label}: no progress for ${opts.idleTimeout} s: sink ${JSON.stringify(stats.kinds)}, expected digests ${expectedDigests}, alerts ${expectedAlerts}, ledger ${JSON.stringify(states.rows)}; see ${worker.logFile}`,
        );
      }
      if (worker.child.exitCode !== null)
        throw new Error(`${o.label}: the worker exited; see ${worker.logFile}`);
      await sleep(50);
    }
    const cpu = cpuDelta(cpu0, cpuSnapshot(cpuPids));
    await sleep(1200); // the statistics collector and the probe catch up
    const writesAfter = await pgWrites(bench.db, bench.name);
    const probe = worker.probe();
    const editions = (
      await bench.db.query<{ kind: string; n: number }>(
        `SELECT kind, count(*)::int AS n FROM editions GROUP BY kind`,
      )
    ).rows;
    const ledger = (
      await bench.db.query<{ kind: string; state: string; n: number }>(
        `SELECT kind, state, count(*)::int AS n FROM deliveries GROUP BY 1, 2 ORDER BY 1, 2`,
      )
    ).rows;
    if (o.captureMix) ctx.mix = await captureMix(bench.db);
    await o.inspect?.(bench.db);
    const workerPeak = worker.peakRssMb();
    const apiPeak = api?.peakRssMb();
    const loop = probe ? { p99: round(probe.loopDelayP99Ms), max: round(probe.loopDelayMaxMs) } : null;
    const heap =
      probe?.heapPeakMb === undefined
        ? null
        : { heapPeakMb: round(probe.heapPeakMb), arrayBuffersPeakMb: round(probe.arrayBuffersPeakMb ?? 0) };
    for (const p of procs) await p.stop();
    const mem = await redisMem.stop();

    const d = stats.kinds.digest!;
    const seconds = ((d.lastAt ?? Date.now()) - due) / 1000;
    const editionCount = editions.reduce((s, e) => s + e.n, 0);
    const compiles = (worker.probe()?.compiles ?? probe?.compiles ?? 0) - compilesBefore;
    const dupes =
      stats.duplicateMessageIds + Object.values(stats.duplicateRecipients).reduce((s, n) => s + n, 0);
    const main: LaneResult = {
      lane: o.label,
      readers: opts.readers,
      dueAt: due,
      messages: d.count,
      expected: expectedDigests,
      seconds: round(seconds, 2),
      msgPerSec: round(d.count / seconds),
      firstMessageS: round(((d.firstAt ?? due) - due) / 1000, 2),
      avgBytes: Math.round(stats.bytes / Math.max(1, stats.count)),
      workerPeakRssMb: round(workerPeak),
      workerRssAtDueMb: round(idleRss),
      workerHeap: heap,
      cpuSeconds: cpu,
      workerCpuSPer1k: round(((cpu.worker ?? 0) * 1000) / Math.max(1, d.count), 2),
      apiPeakRssMb: apiPeak === undefined ? undefined : round(apiPeak),
      redisPeakGrowthMb: round(mem.peakGrowthMb),
      redisEndGrowthMb: round(mem.endGrowthMb),
      pgRowsInserted: writesAfter.inserted - writesBefore.inserted,
      // minus the benchmark's own UPDATE that made the readers due
      pgRowsUpdated: writesAfter.updated - writesBefore.updated - opts.readers,
      pgRowsDeleted: writesAfter.deleted - writesBefore.deleted,
      compiles,
      editions: editionCount,
      editionsByKind: Object.fromEntries(editions.map((e) => [e.kind, e.n])),
      ledger,
      duplicatesAtSink: dupes,
      sinkConnections: stats.connections,
      workerLoopDelayMs: loop,
      processes: api ? 2 : 1,
      sinkDomains: stats.domains && Object.keys(stats.domains).length > 0 ? stats.domains : undefined,
      summary: `${dupes} duplicate(s), ${editionCount} editions, ${compiles} compiles`,
    };
    if (profileDir && existsSync(profileDir)) {
      // the main thread's profile (thread 0); tsx's loader thread writes another
      const file = readdirSync(profileDir).find((f) => /\.0\.\d+\.cpuprofile$/.test(f));
      if (file) {
        main.profile = join(profileDir, file);
        main.profileTop = topSelfTime(join(profileDir, file), 20);
      }
    }
    if (o.check) Object.assign(main, await o.check(bench.db, ctx.sink));
    const out = [main];
    if (api) {
      const a = stats.kinds.alert;
      out.push({
        lane: o.alertLabel ?? 'alert',
        messages: a?.count ?? 0,
        expected: expectedAlerts,
        webhookStatus,
        webhookMs,
        webhookAt,
        digestsDeliveredBeforeWebhook: digestsAtWebhook,
        firstAlertS: a?.firstAt && webhookAt ? round((a.firstAt - webhookAt) / 1000, 2) : undefined,
        lastAlertS: a?.lastAt && webhookAt ? round((a.lastAt - webhookAt) / 1000, 2) : undefined,
        digestStillSendingAtFirstAlert: a?.firstAt ? (d.lastAt ?? 0) > a.firstAt : undefined,
        seconds: a?.lastAt && webhookAt ? round((a.lastAt - webhookAt) / 1000, 2) : undefined,
        msgPerSec:
          a?.lastAt && a.firstAt && webhookAt ? round(a.count / ((a.lastAt - webhookAt) / 1000)) : undefined,
        apiPeakRssMb: apiPeak === undefined ? undefined : round(apiPeak),
        processes: 2,
        summary: `webhook ${webhookStatus} in ${webhookMs} ms; ${digestsAtWebhook} digests out before it`,
      });
    }
    return out;
  } finally {
    for (const p of procs) await p.stop('SIGKILL').catch(() => {});
    await redisMem.stop().catch(() => {});
    await bench.drop();
    await deleteRedisPrefix(prefix);
  }
}

async function postBreaking(port: number): Promise<number> {
  const id = `msg_breaking_${uniqueId()}`;
  const now = new Date();
  const body = JSON.stringify({
    type: 'article.published',
    data: {
      id: `breaking-${id}`,
      url: `https://almadar.example/ar/breaking/${id}`,
      title: BREAKING_ARTICLE.title,
      summary: BREAKING_ARTICLE.summary,
      html: `<p>${BREAKING_ARTICLE.summary}</p>`,
      language: BREAKING_ARTICLE.language,
      categories: [BREAKING_ARTICLE.category, 'عاجل'],
      publishedAt: now.toISOString(),
      breaking: true,
    },
  });
  const ts = Math.floor(now.getTime() / 1000);
  const res = await fetch(`http://127.0.0.1:${port}/webhooks/generic`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': signStandardWebhook(WEBHOOK_SECRET, id, ts, body),
    },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

async function captureMix(db: import('../../src/db/pool.js').Db): Promise<MixEdition[]> {
  const { rows } = await db.query<{
    subject: string;
    html: string;
    text_body: string;
    language: 'ar' | 'en';
    n: number;
  }>(
    `SELECT e.subject, e.html, e.text_body, e.language, count(d.id)::int AS n
     FROM editions e JOIN deliveries d ON d.edition_id = e.id
     WHERE e.kind = 'digest' AND d.state = 'sent' GROUP BY e.id ORDER BY e.id`,
  );
  return rows.map((r) => ({
    subject: r.subject,
    html: r.html,
    text: r.text_body,
    language: r.language,
    count: r.n,
  }));
}
