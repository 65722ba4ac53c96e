/**
 * npm run bench:smoke [-- --readers 2000]
 *
 * The gazette lane on a small audience with the worker killed (SIGKILL) once mid-send and
 * started again, then Redis wiped (FLUSHALL) under the restarted worker, mid-send: the worker must
 * notice, re-create its schedulers and re-enqueue the pending batches itself, without a restart.
 * The smoke runs its own redis-server on a free port (no persistence), so the wipe touches nothing
 * else. Exits 1 when exactly-once breaks, counted at the sink:
 *  - a Message-ID or a reader's digest arrives twice;
 *  - a ledger row says `sent` but its reader got nothing;
 *  - a message arrives for a reader without a ledger row;
 *  - rows are left pending/sending/failed (the run did not finish), or a reader was not planned.
 * Rows the kill left `ambiguous` are allowed and counted (delivered or not, never resent), and so
 * are the claimed rows the restarted worker found were never handed to SMTP (hand-off log) and sent.
 * Timing is reported, never asserted. Runs in CI: small, and patient on a 2-core machine.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { gazetteEnv, round, uniqueId } from './common.js';
import { type GazetteProcess, sleep, spawnGazette, startRemoteSink } from './procs.js';
import { createBenchDatabase, makeDue, readerEmail, seedArticles, seedReaders } from './seed.js';
import { runWire, toDataPayload } from './wire-client.js';

const { values } = parseArgs({
  options: {
    readers: { type: 'string', default: '2000' },
    'kill-at': { type: 'string', default: '0.3' },
    // share of the readers at the sink when the smoke's Redis is wiped under the restarted worker
    'wipe-at': { type: 'string', default: '0.6' },
    timeout: { type: 'string', default: '150' },
    'log-level': { type: 'string', default: 'info' },
    // self-check: after the run, deliver one extra digest to a reader; the smoke must then fail
    'inject-duplicate': { type: 'boolean', default: false },
  },
});
const readers = Number(values.readers);
const killAt = Number(values['kill-at']);
const wipeAt = Number(values['wipe-at']);
const deadline = Date.now() + Number(values.timeout) * 1000;
const t0 = Date.now();
const log = (m: string) => console.log(`[smoke +${round((Date.now() - t0) / 1000)}s] ${m}`);

const id = uniqueId();
const prefix = `gzb-smoke-${id}`;
const sink = await startRemoteSink({ track: true });
const bench = await createBenchDatabase('smoke');
const redis = await startOwnRedis();
const REDIS_URL = redis.url;
const problems: string[] = [];
let worker: GazetteProcess | undefined;
const wipe = {
  atDigests: 0,
  openRows: 0,
  ambiguousAtWipe: 0,
  lastAfterS: null as number | null,
  recoveredInS: null as number | null,
};

try {
  await seedReaders(bench.db, readers);
  await seedArticles(bench.db);
  const env = gazetteEnv({
    dbUrl: bench.url,
    prefix,
    sinkUrl: sink.url,
    logLevel: String(values['log-level']),
    connections: 5,
    extra: {
      REDIS_URL,
      // the wipe is noticed within a second (production default: 10 s)
      REDIS_CHECK_INTERVAL_MS: '1000',
      PLANNER_INTERVAL_SECONDS: '1',
      IMMEDIATE_WINDOW_SECONDS: '3600',
      // a killed worker's jobs are found stalled, and its claims expire, within seconds
      JOB_LOCK_DURATION_MS: '5000',
      JOB_STALLED_INTERVAL_MS: '2000',
      // and a batch whose job went with the wipe while it waited for such a claim gets one again
      MAINTENANCE_INTERVAL_SECONDS: '15',
      // small batches, so the kill lands with many batches planned, some sending, some waiting
      DELIVERY_BATCH_SIZE: '100',
    },
  });
  worker = await spawnGazette({ mode: 'worker', label: `smoke-worker-1-${id}`, env });
  const due = await makeDue(bench.db, 1500);
  log(`${readers} readers due; worker pid ${worker.pid}`);

  // kill once a share of the digest is out
  const killCount = Math.max(1, Math.floor(readers * killAt));
  await sink.waitFor(killCount, { kind: 'digest', idleMs: 60_000 });
  // ...while it holds claimed rows: a kill between batches (the worker can outrun the planner's
  // first chunks) would test a restart, not a crash mid-send. At least 20, so the kill is unlikely
  // to land after a batch's last few rows finished between this look and the signal
  let claimedAtKill = 0;
  for (const until = Date.now() + 10_000; Date.now() < until; ) {
    const { rows } = await bench.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM deliveries WHERE kind = 'digest' AND state = 'sending'`,
    );
    claimedAtKill = rows[0]!.n;
    if (claimedAtKill >= 20) break;
    await sleep(2);
  }
  const before = await sink.stats();
  worker.child.kill('SIGKILL');
  await worker.exited;
  const atKill = (await sink.stats()).kinds.digest?.count ?? 0;
  log(
    `worker SIGKILLed with ${atKill} digests accepted (first at +${round(((before.kinds.digest?.firstAt ?? due) - due) / 1000, 2)} s), ${claimedAtKill} row(s) claimed just before`,
  );
  const rssFirst = worker.peakRssMb();

  worker = await spawnGazette({ mode: 'worker', label: `smoke-worker-2-${id}`, env });
  log(`worker restarted, pid ${worker.pid}`);

  // Redis loses everything under the restarted worker while rows are still owed (pending or
  // sending): schedulers, queued and active jobs, hand-off logs. No restart follows.
  const wipeCount = Math.max(atKill + 1, Math.floor(readers * wipeAt));
  await sink.waitFor(wipeCount, { kind: 'digest', idleMs: 60_000 });
  const { rows: open } = await bench.db.query<{ n: number; ambiguous: number }>(
    `SELECT count(*) FILTER (WHERE state IN ('pending', 'sending'))::int AS n,
            count(*) FILTER (WHERE state = 'ambiguous')::int AS ambiguous
       FROM deliveries WHERE kind = 'digest'`,
  );
  const wipedAt = Date.now();
  await redis.flushAll();
  wipe.atDigests = (await sink.stats()).kinds.digest?.count ?? 0;
  wipe.openRows = open[0]!.n;
  wipe.ambiguousAtWipe = open[0]!.ambiguous;
  log(
    `redis wiped (FLUSHALL) with ${wipe.atDigests} digests accepted, ${wipe.openRows} row(s) pending or sending`,
  );

  // finished when planning is done and no row is left pending or sending
  let states: Record<string, number> = {};
  for (;;) {
    const left = await bench.db.query<{ n: number }>(
      // a probe, not a count (see lanes/gazette.ts)
      `SELECT count(*)::int AS n FROM (SELECT 1 FROM subscribers
              WHERE status = 'confirmed' AND next_digest_at <= $1 LIMIT 1) due`,
      [new Date(due)],
    );
    const { rows } = await bench.db.query<{ state: string; n: number }>(
      `SELECT state, count(*)::int AS n FROM deliveries WHERE kind = 'digest' GROUP BY state`,
    );
    states = Object.fromEntries(rows.map((r) => [r.state, r.n]));
    if (left.rows[0]!.n === 0 && !states.pending && !states.sending) break;
    if (Date.now() > deadline) {
      problems.push(
        `not finished in ${values.timeout} s: ledger ${JSON.stringify(states)}, readers still due ${left.rows[0]!.n}`,
        ...(await diagnose(bench.db, prefix, worker.logFile)),
      );
      break;
    }
    if (worker.child.exitCode !== null) {
      problems.push(`the restarted worker exited (${worker.child.exitCode}); see ${worker.logFile}`);
      break;
    }
    await sleep(250);
  }
  await sleep(500);
  wipe.recoveredInS = await recoveryDelay(worker.logFile, wipedAt);
  const lastAt = (await sink.stats()).kinds.digest?.lastAt;
  if (lastAt && lastAt > wipedAt) wipe.lastAfterS = (lastAt - wipedAt) / 1000;
  if (wipe.recoveredInS === null)
    problems.push(`the worker never logged a redis recovery after the wipe; see ${worker.logFile}`);
  if (values['inject-duplicate']) {
    const raw = Buffer.from(
      'From: <newsletter@almadar.example>\r\nTo: <reader-2@bench.example>\r\nSubject: injected\r\n' +
        'Message-ID: <injected@bench.example>\r\nFeedback-ID: injected:digest:daily-ar:gazette\r\n\r\nduplicate\r\n',
    );
    await runWire({
      port: sink.port,
      connections: 1,
      messages: 1,
      payload: toDataPayload(raw),
      from: 'newsletter@almadar.example',
      to: () => 'reader-2@bench.example',
    });
    log('injected a second digest for reader-2 (self-check: this run must fail)');
  }
  const stats = await sink.stats();
  const received = new Set(await sink.recipients('digest'));
  const { rows: ledger } = await bench.db.query<{ recipient: string; state: string }>(
    `SELECT lower(recipient) AS recipient, state FROM deliveries WHERE kind = 'digest'`,
  );
  const inLedger = new Set(ledger.map((r) => r.recipient));

  if (stats.duplicateMessageIds > 0)
    problems.push(`${stats.duplicateMessageIds} duplicate Message-ID(s) at the sink`);
  if (stats.missingMessageId > 0) problems.push(`${stats.missingMessageId} message(s) without a Message-ID`);
  const dupRcpt = stats.duplicateRecipients.digest ?? 0;
  if (dupRcpt > 0) problems.push(`${dupRcpt} reader(s) got the digest more than once`);
  const sentNotReceived = ledger.filter((r) => r.state === 'sent' && !received.has(r.recipient)).length;
  if (sentNotReceived > 0)
    problems.push(`${sentNotReceived} row(s) marked sent but never accepted by the sink`);
  const unknown = [...received].filter((r) => !inLedger.has(r)).length;
  if (unknown > 0) problems.push(`${unknown} message(s) for readers without a ledger row`);
  const ambiguous = ledger.filter((r) => r.state === 'ambiguous');
  const ambiguousDelivered = ambiguous.filter((r) => received.has(r.recipient)).length;
  const failed = ledger.filter((r) => r.state === 'failed').length;
  if (failed > 0) problems.push(`${failed} row(s) failed although the sink accepts everything`);
  const unplanned = readers - inLedger.size;
  if (unplanned > 0) {
    // every seeded reader has articles in their language and topics
    const sample = [...Array(readers).keys()].map((i) => readerEmail(i + 1)).find((e) => !inLedger.has(e));
    problems.push(`${unplanned} reader(s) never planned (e.g. ${sample})`);
  }

  const d = stats.kinds.digest;
  const seconds = d?.lastAt ? (d.lastAt - due) / 1000 : null;
  console.log('');
  console.log(
    `smoke: ${readers} readers, worker SIGKILLed at ${atKill} digests and restarted, Redis wiped at ${wipe.atDigests}`,
  );
  console.log(`  ledger:            ${JSON.stringify(states)}`);
  console.log(`  accepted at sink:  ${d?.count ?? 0} digests (${received.size} distinct readers)`);
  console.log(
    `  ambiguous rows:    ${ambiguous.length} (${ambiguousDelivered} of them reached the sink before the kill)`,
  );
  console.log(
    `  released rows:     ${await releasedRows(worker.logFile)} (claimed by the killed worker, never handed to SMTP by it: sent after the restart)`,
  );
  console.log(
    `  timing (reported, not asserted): first message ${d?.firstAt ? round((d.firstAt - due) / 1000, 2) : '-'} s, last ${seconds === null ? '-' : round(seconds, 2)} s after due, ${seconds ? round((d?.count ?? 0) / seconds) : '-'} msg/s including the restart`,
  );
  console.log(
    `  redis wipe:        ${wipe.openRows} row(s) owed at the FLUSHALL; recovery logged ${wipe.recoveredInS === null ? '-' : round(wipe.recoveredInS, 2)} s after it, last digest at the sink ${wipe.lastAfterS === null ? '-' : round(wipe.lastAfterS, 2)} s after it (no restart); ${ambiguous.length - wipe.ambiguousAtWipe} row(s) turned ambiguous after the wipe (claims whose hand-off log went with Redis)`,
  );
  console.log(
    `  worker peak RSS:   ${round(rssFirst)} MB before the kill, ${round(worker.peakRssMb())} MB after`,
  );
  console.log(`  total:             ${round((Date.now() - t0) / 1000)} s`);
} catch (err) {
  problems.push(`smoke run failed: ${(err as Error).message}`);
} finally {
  await worker?.stop().catch(() => {});
  await sink.close();
  await bench.drop().catch(() => {});
  await redis.stop();
}

/** Seconds from the wipe to the worker's "redis recovery" log line, or null if it never recovered. */
async function recoveryDelay(logFile: string, wipedAt: number): Promise<number | null> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    if (!line.includes('redis recovery: schedulers re-created')) continue;
    try {
      const t = (JSON.parse(line) as { time?: number }).time ?? 0;
      if (t >= wipedAt) return (t - wipedAt) / 1000;
    } catch {
      // not a JSON line
    }
  }
  return null;
}

/** A redis-server of the smoke's own on a free port, without persistence: it may be wiped. */
async function startOwnRedis(): Promise<{ url: string; flushAll(): Promise<void>; stop(): Promise<void> }> {
  const port = await new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: 'ignore', cwd: tmpdir() },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') break;
    } catch (err) {
      if (i > 100) throw new Error(`redis-server on port ${port} did not start: ${(err as Error).message}`);
      await sleep(50);
    } finally {
      probe.disconnect();
    }
  }
  return {
    url,
    async flushAll() {
      const admin = new Redis(url);
      try {
        await admin.flushall();
      } finally {
        admin.disconnect();
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Rows the restarted worker released from the killed one's claims (its log lines say which). */
async function releasedRows(logFile: string): Promise<number> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  let n = 0;
  for (const line of text.split('\n')) {
    if (!line.includes('never handed to SMTP')) continue;
    try {
      n += ((JSON.parse(line) as { rows?: unknown[] }).rows ?? []).length;
    } catch {
      // a line cut by the kill
    }
  }
  return n;
}

/** What a stuck run looks like from the outside: where the pending rows are, the send queue, the worker's warnings. */
async function diagnose(db: typeof bench.db, queuePrefix: string, logFile: string): Promise<string[]> {
  const out: string[] = [];
  const { rows } = await db.query<{ edition_id: string; batches: number[] }>(
    `SELECT edition_id, array_agg(DISTINCT batch_no ORDER BY batch_no) AS batches
       FROM deliveries WHERE kind = 'digest' AND state = 'pending' GROUP BY edition_id LIMIT 20`,
  );
  out.push(
    `  pending rows by edition: ${rows.map((r) => `${r.edition_id}:[${r.batches.join(',')}]`).join(' ')}`,
  );
  // rows left sending: whose claim, since when (database clock), and what the workers said of it
  const { rows: claims } = await db.query<{
    claim_token: string;
    edition_id: string;
    batch_no: number;
    n: number;
    age_s: number;
  }>(
    `SELECT claim_token, edition_id, batch_no, count(*)::int AS n,
            round(extract(epoch FROM now() - max(claimed_at)))::int AS age_s
       FROM deliveries WHERE kind = 'digest' AND state = 'sending'
      GROUP BY claim_token, edition_id, batch_no LIMIT 10`,
  );
  const logs = await Promise.all(
    [logFile.replace('smoke-worker-2-', 'smoke-worker-1-'), logFile].map((f) =>
      readFile(f, 'utf8').catch(() => ''),
    ),
  );
  const queue = new Queue('send', { connection: { url: REDIS_URL }, prefix: queuePrefix });
  const digests = new Queue('digests', { connection: { url: REDIS_URL }, prefix: queuePrefix });
  try {
    for (const c of claims) {
      const { rows: ed } = await db.query<{ state: string }>('SELECT state FROM editions WHERE id = $1', [
        c.edition_id,
      ]);
      // the ids maintenance and the recovery would enqueue it under (queues/digest-enqueuer.ts)
      const ids = [`send-${c.edition_id}-${c.batch_no}`, `send-${c.edition_id}-${c.batch_no}-repair`];
      const states = await Promise.all(ids.map((j) => queue.getJobState(j)));
      out.push(
        `  sending: ${c.n} row(s) of ${c.edition_id}:${c.batch_no} under claim ${c.claim_token}, renewed ${c.age_s} s ago; edition ${ed[0]?.state}; jobs ${ids.map((j, i) => `${j}=${states[i]}`).join(' ')}`,
      );
      for (const [i, text] of logs.entries())
        for (const l of text
          .split('\n')
          .filter(
            (l) =>
              l.includes(c.claim_token) ||
              (l.includes(c.edition_id) && (l.includes(`"batch":${c.batch_no},`) || l.includes(ids[0]!))),
          )
          .slice(-8))
          out.push(`    worker ${i + 1}: ${l.slice(0, 300)}`);
    }
    out.push(`  send queue: ${JSON.stringify(await queue.getJobCounts())}`);
    for (const job of await queue.getFailed(0, 4))
      out.push(`  failed job ${job.id}: ${job.failedReason} (attempts ${job.attemptsMade})`);
    out.push(`  digests queue: ${JSON.stringify(await digests.getJobCounts())}`);
    for (const s of await digests.getJobSchedulers())
      out.push(`  digests scheduler ${s.key}: next ${s.next ? new Date(s.next).toISOString() : 'none'}`);
  } finally {
    await queue.close();
    await digests.close();
  }
  const maintained = (logs[1] ?? '')
    .split('\n')
    .filter((l) => l.includes('"msg":"edition maintenance"') || l.includes('"msg":"delivery ledger pruned"'))
    .slice(-4);
  out.push(
    '  last maintenance runs of the restarted worker:',
    ...maintained.map((l) => `    ${l.slice(0, 300)}`),
  );
  const warnings = (await readFile(logFile, 'utf8').catch(() => ''))
    .split('\n')
    .filter((l) => /"level":(40|50|60)/.test(l))
    .slice(-10);
  out.push(
    `  last warnings of the restarted worker (${logFile}):`,
    ...warnings.map((l) => `    ${l.slice(0, 400)}`),
  );
  return out;
}

if (problems.length > 0) {
  console.log('');
  for (const p of problems) console.log(`FAIL: ${p}`);
  process.exit(1);
}
console.log('\nsmoke: exactly-once held (every reader at most once at the sink; every sent row delivered)');
process.exit(0);
