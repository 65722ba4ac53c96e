/**
 * http: the API under a steady request rate. Two runs against one API process:
 *  - POST /webhooks/generic with distinct signed Standard Webhooks events (a new id, body and
 *    signature per request, built in autocannon's setupRequest), at --http-rate for
 *    --http-duration; p99 and "nothing lost" (stored article_events == 2xx responses);
 *  - POST /api/v1/subscriptions with distinct addresses at --subscribe-rate, the documented rate
 *    limit raised with RATE_LIMIT_MAX (all requests come from one loopback address).
 * No worker runs: the lane measures intake, and stored events wait in their queue.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import autocannon from 'autocannon';
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
    // warm-up: JIT, pools, prepared plans
    await autocannon({
      url: `${base}/webhooks/generic`,
      connections: 10,
      amount: 300,
      method: 'POST',
      requests: [{ method: 'POST', setupRequest: (req) => ({ ...req, ...webhookEvent() }) }],
    });
    const warm = await bench.db.query<{ n: number }>('SELECT count(*)::int AS n FROM article_events');
    const before = warm.rows[0]!.n;

    // autocannon runs in this process: its CPU competes with the API's on the same cores
    const cpuPids = { api: api.pid, bench: process.pid };
    const cpu0 = cpuSnapshot(cpuPids);
    ctx.note(`http: webhook ${opts.httpRate} req/s for ${opts.httpDuration} s`);
    const hook = await autocannon({
      url: `${base}/webhooks/generic`,
      connections: 50,
      duration: opts.httpDuration,
      overallRate: opts.httpRate,
      timeout: 10,
      method: 'POST',
      requests: [{ method: 'POST', setupRequest: (req) => ({ ...req, ...webhookEvent() }) }],
    });
    const stored =
      (await bench.db.query<{ n: number }>('SELECT count(*)::int AS n FROM article_events')).rows[0]!.n -
      before;

    ctx.note(`http: subscribe ${opts.subscribeRate} req/s for ${opts.httpDuration} s`);
    let sub = 0;
    const subscribe = await autocannon({
      url: `${base}/api/v1/subscriptions`,
      connections: 25,
      duration: opts.httpDuration,
      overallRate: opts.subscribeRate,
      timeout: 10,
      method: 'POST',
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
    const pending = (
      await bench.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM subscribers WHERE status = 'pending'`,
      )
    ).rows[0]!.n;
    const apiPeak = api.peakRssMb();
    const cpuSeconds = cpuDelta(cpu0, cpuSnapshot(cpuPids));
    const hook2xx = hook['2xx'];
    return {
      lane: 'http',
      webhookRequests: hook.requests.total,
      webhookReqPerSec: round(hook.requests.average),
      webhook2xx: hook2xx,
      webhookNon2xx: hook.non2xx,
      webhookErrors: hook.errors + hook.timeouts,
      webhookStored: stored,
      // stored but answered after autocannon stopped counting are not lost; 2xx without a row are
      webhookLost: Math.max(0, hook2xx - stored),
      webhookStoredUnacknowledged: Math.max(0, stored - hook2xx),
      webhookP50Ms: hook.latency.p50,
      webhookP99Ms: hook.latency.p99,
      webhookMaxMs: hook.latency.max,
      subscribeRequests: subscribe.requests.total,
      subscribeReqPerSec: round(subscribe.requests.average),
      subscribe2xx: subscribe['2xx'],
      subscribeNon2xx: subscribe.non2xx,
      subscribeStatus: Object.fromEntries(
        Object.entries(subscribe.statusCodeStats).map(([k, v]) => [k, v.count]),
      ),
      subscribePendingRows: pending,
      subscribeP50Ms: subscribe.latency.p50,
      subscribeP99Ms: subscribe.latency.p99,
      subscribeMaxMs: subscribe.latency.max,
      apiPeakRssMb: round(apiPeak),
      cpuSeconds,
      processes: 1,
      summary: `webhook p99 ${hook.latency.p99} ms @${round(hook.requests.average)}/s lost ${Math.max(0, hook2xx - stored)}; subscribe p99 ${subscribe.latency.p99} ms @${round(subscribe.requests.average)}/s`,
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
