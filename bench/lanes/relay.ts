/**
 * relay: the gazette lane's digest with two relays (issue 19), each a sink process of its own with
 * tracking on: SMTP_URL is the primary, SMTP_FALLBACK_URLS the fallback. Once the primary has
 * accepted 30% of the readers' digests it is killed (its listener stops and every connection is
 * cut where it is, with no reply: bench/sink.ts kill), and the rest must arrive through the
 * fallback, none twice: within each sink (Message-ID, recipient) and across both (recipient).
 *
 * A message whose body was on the wire when the primary died is `ambiguous` in the ledger and is
 * never resent (docs/delivery.md); the lane counts those. msg/s is the digests delivered by both
 * relays from the due instant to the last one, against the plain gazette lane of the same run.
 */
import {
  deleteRedisPrefix,
  gazetteEnv,
  type LaneContext,
  type LaneResult,
  round,
  uniqueId,
} from '../common.js';
import { type GazetteProcess, type RemoteSink, sleep, spawnGazette, startRemoteSink } from '../procs.js';
import { createBenchDatabase, makeDue, seedArticles, seedReaders } from '../seed.js';

const KILL_AT = 0.3;

export async function runRelay(ctx: LaneContext): Promise<LaneResult> {
  const { opts } = ctx;
  const id = uniqueId();
  const bench = await createBenchDatabase('relay');
  const prefix = `gzb-${id}`;
  const sinks: RemoteSink[] = [];
  let worker: GazetteProcess | undefined;
  try {
    await seedReaders(bench.db, opts.readers);
    await seedArticles(bench.db);
    const primary = await startRemoteSink({ track: true });
    sinks.push(primary);
    const fallback = await startRemoteSink({ track: true });
    sinks.push(fallback);
    const env = gazetteEnv({
      dbUrl: bench.url,
      prefix,
      sinkUrl: primary.url,
      logLevel: opts.logLevel,
      connections: opts.connections,
      extra: {
        SMTP_FALLBACK_URLS: fallback.url,
        PLANNER_INTERVAL_SECONDS: '1',
        IMMEDIATE_WINDOW_SECONDS: '3600',
        ...opts.gazetteEnv,
      },
    });
    worker = await spawnGazette({ mode: 'worker', label: `relay-worker-${id}`, env });
    await sleep(500);
    const due = await makeDue(bench.db, 2000 + Math.ceil((opts.readers * 4000) / 100_000));
    ctx.note(`relay: ${opts.readers} readers due at +${round((due - Date.now()) / 1000)} s`);

    let killedAt: number | null = null;
    let atKill = 0;
    let lastDelivered = -1;
    let lastChange = Date.now();
    let ledger: Array<{ state: string; n: number }> = [];
    for (;;) {
      const [p, f] = await Promise.all([primary.stats(), fallback.stats()]);
      const delivered = (p.kinds.digest?.count ?? 0) + (f.kinds.digest?.count ?? 0);
      if (killedAt === null && (p.kinds.digest?.count ?? 0) >= Math.floor(opts.readers * KILL_AT)) {
        await primary.kill();
        killedAt = Date.now();
        atKill = (await primary.stats()).kinds.digest?.count ?? 0;
        ctx.note(
          `relay: primary killed at +${round((killedAt - due) / 1000)} s, ${atKill} digests through it`,
        );
      }
      if (Date.now() > due) {
        ledger = (
          await bench.db.query<{ state: string; n: number }>(
            `SELECT state, count(*)::int AS n FROM deliveries WHERE kind = 'digest' GROUP BY 1 ORDER BY 1`,
          )
        ).rows;
        const stillDue = await bench.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM (SELECT 1 FROM subscribers
            WHERE status = 'confirmed' AND next_digest_at <= $1 LIMIT 1) due`,
          [new Date(due)],
        );
        const open = ledger.filter((r) => r.state === 'pending' || r.state === 'sending');
        if (killedAt !== null && stillDue.rows[0]!.n === 0 && ledger.length > 0 && open.length === 0) break;
      }
      if (delivered !== lastDelivered) {
        lastDelivered = delivered;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > opts.idleTimeout * 1000 && Date.now() > due + 10_000) {
        throw new Error(
          `relay: no progress for ${opts.idleTimeout} s: ${delivered} delivered, ledger ${JSON.stringify(ledger)}; see ${worker.logFile}`,
        );
      }
      if (worker.child.exitCode !== null) throw new Error(`relay: the worker exited; see ${worker.logFile}`);
      await sleep(200);
    }
    const peakRss = worker.peakRssMb();
    await worker.stop();
    const [p, f] = await Promise.all([primary.stats(), fallback.stats()]);
    const [pr, fr] = await Promise.all([primary.recipients('digest'), fallback.recipients('digest')]);
    const inPrimary = new Set(pr);
    const acrossRelays = fr.filter((r) => inPrimary.has(r)).length;
    const within = (s: typeof p) =>
      s.duplicateMessageIds + Object.values(s.duplicateRecipients).reduce((a, n) => a + n, 0);
    const dupes = within(p) + within(f) + acrossRelays;
    const pd = p.kinds.digest?.count ?? 0;
    const fd = f.kinds.digest?.count ?? 0;
    const lastAt = Math.max(p.kinds.digest?.lastAt ?? 0, f.kinds.digest?.lastAt ?? 0);
    const seconds = (lastAt - due) / 1000;
    const rows = Object.fromEntries(ledger.map((r) => [r.state, r.n]));
    const expected = ledger.reduce((a, r) => a + r.n, 0);
    const msgPerSec = round((pd + fd) / seconds);
    const plain = ctx.results.gazette?.msgPerSec as number | undefined;
    const ratio = plain ? round(msgPerSec / plain, 2) : undefined;
    const firstFallback = f.kinds.digest?.firstAt ?? null;
    return {
      lane: 'relay',
      readers: opts.readers,
      messages: pd + fd,
      expected,
      seconds: round(seconds, 2),
      msgPerSec,
      firstMessageS: round(((p.kinds.digest?.firstAt ?? due) - due) / 1000, 2),
      primaryMessages: pd,
      primaryAtKill: atKill,
      fallbackMessages: fd,
      // the rate through the primary until the kill, and through the fallback after it (same lane,
      // same machine load: what the move itself costs)
      beforeKillMsgPerSec: killedAt ? round(atKill / ((killedAt - due) / 1000)) : null,
      afterKillMsgPerSec: killedAt ? round((pd + fd - atKill) / ((lastAt - killedAt) / 1000)) : null,
      // from the kill to the fallback's first digest: how long the move took
      switchS: killedAt && firstFallback ? round((firstFallback - killedAt) / 1000, 2) : null,
      ledger: rows,
      ambiguous: rows.ambiguous ?? 0,
      failed: rows.failed ?? 0,
      duplicatesAtSink: dupes,
      duplicatesAcrossRelays: acrossRelays,
      ratioToGazette: ratio ?? null,
      workerPeakRssMb: round(peakRss),
      processes: 1,
      summary:
        `${pd} via primary (killed at ${atKill}), ${fd} via fallback, ${rows.sent ?? 0}/${expected} sent, ` +
        `${rows.ambiguous ?? 0} ambiguous, ${rows.failed ?? 0} failed, ${dupes} duplicate(s)` +
        (ratio ? `, ${ratio}x gazette` : ''),
    };
  } finally {
    await worker?.stop('SIGKILL').catch(() => {});
    for (const s of sinks) await s.close().catch(() => {});
    await bench.drop();
    await deleteRedisPrefix(prefix);
  }
}
