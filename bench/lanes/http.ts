/**
 * http: the API under a steady request rate. Two runs against one API process:
 *  - POST /webhooks/generic with distinct signed Standard Webhooks events (a new id, body and
 *    signature per request, built in autocannon's setupRequest), at --http-rate for
 *    --http-duration; p99 and "nothing lost" (stored article_events == 2xx responses);
 *  - POST /api/v1/subscriptions with distinct addresses at --subscribe-rate, the documented rate
 *    limit raised with RATE_LIMIT_MAX (all requests come from one loopback address).
 * No worker runs: the lane measures intake, and stored events wait in their queue.
 *
 * Pacing: autocannon's overallRate lets every connection send its share of a second back to back
 * when the second starts, then wait for the next one: 1,000 req/s over 50 connections arrives as a
 * burst of 1,000 requests, 50 at a time, each second. The targets are for a sustained rate, so the
 * measured runs spread it: one autocannon instance per connection at rate/connections, started
 * 1000/connections ms apart, their latency histograms merged (autocannon.aggregateResult). A
 * shorter run in autocannon's own burst mode is reported next to it.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import autocannon, { type Request as LoadRequest, type Result as LoadResult } from 'autocannon';
import { signStandardWebhook } from '../../src/articles/signatures.js';
import {
  deleteRedisPrefix,
  gazetteEnv,
  type LaneContext,
  type LaneResult,
  round,
  uniqueId,
  WEBHOOK_SECRET,
} from '../common.js';
import { cpuDelta, cpuSnapshot, spawnGazette } from '../procs.js';
import { topSelfTime } from '../profile-top.js';
import { articleSeeds, createBenchDatabase } from '../seed.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

let seq = 0;
/** One generic article event: a new article each time, alternating Arabic and English. */
export function webhookEvent(now = new Date()): {
  id: string;
  body: string;
  headers: Record<string, string>;
} {
  const n = ++seq;
  const seed = articleSeeds[n % articleSeeds.length]!;
  const id = `msg_${randomUUID()}`;
  const body = JSON.stringify({
    type: 'article.published',
    data: {
      id: `http-${process.pid}-${n}`,
      url: `https://almadar.example/${seed.language}/${seed.topic}/http-${n}`,
      title: seed.title,
      summary: seed.summary,
      html: `<p>${seed.summary}</p>`,
      language: seed.language,
      categories: [seed.topic === 'sport' ? 'Sport' : 'Politics'],
      publishedAt: now.toISOString(),
    },
  });
  const ts = Math.floor(now.getTime() / 1000);
  return {
    id,
    body,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': signStandardWebhook(WEBHOOK_SECRET, id, ts, body),
    },
  };
}

const WARM_UP_SECONDS = 5;

interface LoadOptions {
  url: string;
  rate: number;
  seconds: number;
  connections: number;
  requests: LoadRequest[];
}

interface Load {
  result: LoadResult;
  /** completed requests per second of wall time */
  perSecond: number;
}

/** Sustained load: one instance per connection, staggered across the second, histograms merged. */
export async function pacedLoad(o: LoadOptions): Promise<Load> {
  const n = Math.max(1, Math.min(o.connections, o.rate));
  const runs = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      await new Promise((r) => setTimeout(r, Math.round((i * 1000) / n)));
      return autocannon({
        url: o.url,
        connections: 1,
        // an even share of the rate; the first (rate % n) instances take one more
        overallRate: Math.floor(o.rate / n) + (i < o.rate % n ? 1 : 0),
        duration: o.seconds,
        timeout: 10,
        method: 'POST',
        requests: o.requests,
        skipAggregateResult: true,
      });
    }),
  );
  const result = autocannon.aggregateResult(runs, { url: o.url, connections: n });
  // the instances overlap except for the stagger: their rates add up
  const perSecond = runs.reduce(
    (sum, r) => sum + r.totalCompletedRequests / ((r.finish.getTime() - r.start.getTime()) / 1000),
    0,
  );
  return { result, perSecond };
}

/** autocannon's own rate limiting: each connection's share of every second sent in one burst. */
export async function burstLoad(o: LoadOptions): Promise<Load> {
  const result = await autocannon({
    url: o.url,
    connections: o.connections,
    overallRate: o.rate,
    duration: o.seconds,
    timeout: 10,
    method: 'POST',
    requests: o.requests,
  });
  return { result, perSecond: result.requests.average };
}

export async function runHttp(ctx: LaneContext): Promise<LaneResult> {
  const { opts } = ctx;
  const id = uniqueId();
  const bench = await createBenchDatabase('http');
  const prefix = `gzb-http-${id}`;
  const port = await freePort();
  const profileDir = opts.profile ? join(ctx.profileDir, 'http-api') : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const api = await spawnGazette({
    mode: 'api',
    label: `http-api-${id}`,
    cpuProfDir: profileDir,
    readyUrl: `http://127.0.0.1:${port}`,
    env: gazetteEnv({
      dbUrl: bench.url,
      prefix,
      sinkUrl: ctx.sink.url,
      port,
      logLevel: opts.logLevel,
      connections: opts.connections,
      extra: { RATE_LIMIT_MAX: '100000000', ...opts.gazetteEnv },
    }),
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    const webhookLoad = (seconds: number): LoadOptions => ({
      url: `${base}/webhooks/generic`,
      rate: opts.httpRate,
      seconds,
      connections: 50,
      requests: [{ method: 'POST', setupRequest: (req) => ({ ...req, ...webhookEvent() }) }],
    });
    // warm-up at the measured rate (JIT, connection pools, prepared plans, 50 load instances
    // starting), so the measured seconds are the steady state
    await pacedLoad(webhookLoad(WARM_UP_SECONDS));
    // autocannon runs in this process: its CPU competes with the API's on the same cores
    const cpuPids = { api: api.pid, bench: process.pid };
    const cpu0 = cpuSnapshot(cpuPids);
    const warm = await bench.db.query<{ n: number }>('SELECT count(*)::int AS n FROM article_events');
    const before = warm.rows[0]!.n;
    ctx.note(`http: webhook ${opts.httpRate} req/s for ${opts.httpDuration} s, paced`);
    const { result: hook, perSecond: hookRate } = await pacedLoad(webhookLoad(opts.httpDuration));
    const burstSeconds = Math.max(5, Math.round(opts.httpDuration / 3));
    ctx.note(`http: webhook ${opts.httpRate} req/s for ${burstSeconds} s in autocannon's burst mode`);
    const { result: hookBurst } = await burstLoad(webhookLoad(burstSeconds));
    // both runs' events: every 2xx must have its row
    const stored =
      (await bench.db.query<{ n: number }>('SELECT count(*)::int AS n FROM article_events')).rows[0]!.n -
      before;

    let sub = 0;
    const subscribeLoad = (seconds: number): LoadOptions => ({
      url: `${base}/api/v1/subscriptions`,
      rate: opts.subscribeRate,
      seconds,
      connections: 25,
      requests: [
        {
          method: 'POST',
          setupRequest: (req) => {
            sub++;
            return {
              ...req,
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({
                email: `new-reader-${id}-${sub}@bench.example`,
                name: sub % 2 ? 'Maya' : 'ليلى',
                language: sub % 2 ? 'en' : 'ar',
                frequency: 'daily',
                topics: ['politics', 'culture'],
                alerts: sub % 3 === 0,
              }),
            };
          },
        },
      ],
    });
    await pacedLoad(subscribeLoad(WARM_UP_SECONDS));
    ctx.note(`http: subscribe ${opts.subscribeRate} req/s for ${opts.httpDuration} s, paced`);
    const { result: subscribe, perSecond: subscribeRate } = await pacedLoad(subscribeLoad(opts.httpDuration));
    ctx.note(`http: subscribe ${opts.subscribeRate} req/s for ${burstSeconds} s in autocannon's burst mode`);
    const { result: subscribeBurst } = await burstLoad(subscribeLoad(burstSeconds));
    const pending = (
      await bench.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM subscribers WHERE status = 'pending'`,
      )
    ).rows[0]!.n;
    const apiPeak = api.peakRssMb();
    const cpuSeconds = cpuDelta(cpu0, cpuSnapshot(cpuPids));
    const hook2xx = hook['2xx'] + hookBurst['2xx'];
    return {
      lane: 'http',
      pacing: 'one autocannon instance per connection at rate/connections, staggered over the second',
      webhookRequests: hook.requests.sent,
      webhookReqPerSec: round(hookRate),
      webhook2xx: hook['2xx'],
      webhookNon2xx: hook.non2xx,
      webhookErrors: hook.errors + hook.timeouts,
      // both runs (paced and burst): every 2xx must have its stored row
      webhookStored: stored,
      webhookLost: Math.max(0, hook2xx - stored),
      // answered after autocannon stopped counting: stored, not lost
      webhookStoredUnacknowledged: Math.max(0, stored - hook2xx),
      webhookP50Ms: hook.latency.p50,
      webhookP99Ms: hook.latency.p99,
      webhookMaxMs: hook.latency.max,
      webhookBurstP50Ms: hookBurst.latency.p50,
      webhookBurstP99Ms: hookBurst.latency.p99,
      webhookBurstErrors: hookBurst.errors + hookBurst.timeouts + hookBurst.non2xx,
      subscribeRequests: subscribe.requests.sent,
      subscribeReqPerSec: round(subscribeRate),
      subscribe2xx: subscribe['2xx'],
      subscribeNon2xx: subscribe.non2xx,
      subscribeStatus: Object.fromEntries(
        Object.entries(subscribe.statusCodeStats).map(([k, v]) => [k, v.count]),
      ),
      subscribePendingRows: pending,
      subscribeP50Ms: subscribe.latency.p50,
      subscribeP99Ms: subscribe.latency.p99,
      subscribeMaxMs: subscribe.latency.max,
      subscribeBurstP50Ms: subscribeBurst.latency.p50,
      subscribeBurstP99Ms: subscribeBurst.latency.p99,
      subscribeBurstNon2xx: subscribeBurst.non2xx + subscribeBurst.errors + subscribeBurst.timeouts,
      apiPeakRssMb: round(apiPeak),
      cpuSeconds,
      processes: 1,
      summary: `webhook p99 ${hook.latency.p99} ms @${round(hookRate)}/s lost ${Math.max(0, hook2xx - stored)} (burst mode p99 ${hookBurst.latency.p99} ms); subscribe p99 ${subscribe.latency.p99} ms @${round(subscribeRate)}/s (burst mode ${subscribeBurst.latency.p99} ms)`,
    };
  } finally {
    await api.stop();
    if (profileDir && existsSync(profileDir)) {
      const file = readdirSync(profileDir).find((f) => /\.0\.\d+\.cpuprofile$/.test(f));
      if (file) for (const l of topSelfTime(join(profileDir, file), 25)) ctx.note(`api profile: ${l}`);
    }
    await bench.drop();
    await deleteRedisPrefix(prefix);
  }
}
