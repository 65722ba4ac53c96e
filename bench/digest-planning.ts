/**
 * Planner benchmark: N readers (default 100 000) due at one instant. Prints the time until the
 * first batch is persisted and enqueued, the total planning time, batch jobs and their average
 * size, MJML compiles and the slowest statements.
 * Run: N=100000 npx tsx bench/digest-planning.ts (needs local PostgreSQL/Redis).
 * MIX=bench seeds the readers and articles of `npm run bench` (72 editions) instead of three
 * audiences (six editions).
 */

import { createDigests } from '../src/digests/index.js';
import { getCompileCount, renderEdition } from '../src/render/index.js';
import { createTestContext } from '../test/helpers/context.js';
import { seedArticles, seedReaders } from './seed.js';

const N = Number(process.env.N ?? 100_000);
const benchMix = process.env.MIX === 'bench';
const ctx = await createTestContext({
  // the bench mix dates its articles from the real clock
  now: benchMix ? new Date().toISOString() : '2026-11-29T06:59:00Z',
  workers: false,
  env: { LOG_LEVEL: 'silent', ...(process.env.CHUNK ? { PLANNER_CHUNK_SIZE: process.env.CHUNK } : {}) },
});
const stats = new Map<string, { n: number; ms: number }>();
type Querier = { query: (...a: unknown[]) => Promise<unknown>; timed?: boolean };
/** Times every statement by its first words (pool and pooled clients). */
function wrap(q: Querier) {
  if (q.timed) return;
  q.timed = true;
  const orig = q.query.bind(q);
  q.query = async (...a: unknown[]) => {
    const t = performance.now();
    try {
      return await orig(...a);
    } finally {
      const k = String(a[0]).replace(/\s+/g, ' ').trim().slice(0, 70);
      const s = stats.get(k) ?? { n: 0, ms: 0 };
      s.n++;
      s.ms += performance.now() - t;
      stats.set(k, s);
    }
  };
}
try {
  const due = benchMix ? new Date(Date.now() + 60_000) : new Date('2026-11-29T07:00:00Z');
  if (benchMix) {
    await seedReaders(ctx.db, N);
    await seedArticles(ctx.db);
    await ctx.db.query(`UPDATE subscribers SET next_digest_at = $1`, [due]);
  } else {
    await ctx.db.query(
      `INSERT INTO subscribers (email, email_key, status, language, topics, frequency, timezone, send_hour, confirmed_at, next_digest_at)
       SELECT 'r' || i || '@example.org', 'r' || i || '@example.org', 'confirmed',
              CASE WHEN i % 3 = 0 THEN 'ar' ELSE 'en' END,
              CASE i % 5 WHEN 1 THEN ARRAY['economy'] WHEN 2 THEN ARRAY['politics','sport'] ELSE '{}' END,
              'daily', 'UTC', 7, '2026-11-20T00:00:00Z', '2026-11-29T07:00:00Z'
       FROM generate_series(1, $1) i`,
      [N],
    );
    for (let i = 0; i < 30; i++) {
      await ctx.db.query(
        `INSERT INTO articles (source, external_id, url, title, summary, topics, language, status, published_at, first_published_at)
         VALUES ('generic', $1, $2, $3, 'summary', $4, $5, 'published', $6, $6)`,
        [
          `e${i}`,
          `https://almadar.example/${i}`,
          `Story ${i}`,
          [['politics'], ['economy'], ['sport'], []][i % 4],
          i % 2 ? 'ar' : 'en',
          new Date(Date.parse('2026-11-29T00:00:00Z') + i * 60_000),
        ],
      );
    }
  }
  await ctx.db.query('ANALYZE');
  const origConnect = ctx.db.connect.bind(ctx.db);
  const pool = ctx.db as unknown as { connect: (...a: unknown[]) => unknown };
  // pool.query connects with a callback: leave that form alone, time the clients of transactions
  pool.connect = (...a: unknown[]) =>
    a.length
      ? (origConnect as (...x: unknown[]) => unknown)(...a)
      : origConnect().then((c) => {
          wrap(c as unknown as Querier);
          return c;
        });
  wrap(ctx.db as unknown as Querier);
  let first = 0;
  let jobs = 0;
  let t0 = 0;
  const d = createDigests({
    db: ctx.db,
    clock: ctx.clock,
    log: ctx.container.log,
    publication: ctx.publication,
    config: ctx.config,
    render: renderEdition,
    enqueuer: {
      async sendBatches(_l, _e, b) {
        if (!first) first = performance.now() - t0;
        jobs += b.length;
      },
      async repairBatches() {
        return [];
      },
      async planAt() {},
      async fanoutAlert() {},
      async buildRun() {},
    },
  });
  ctx.clock.set(due);
  const c0 = getCompileCount();
  const rss0 = process.memoryUsage().rss;
  t0 = performance.now();
  const r = await d.planner.plan();
  const total = performance.now() - t0;
  console.log(
    JSON.stringify({
      N,
      readers: r.readers,
      editions: r.editions.length,
      rows: r.rows,
      batches: jobs,
      avgBatch: Math.round(r.rows / Math.max(1, jobs)),
      firstBatchMs: Math.round(first),
      totalMs: Math.round(total),
      compiles: getCompileCount() - c0,
      rssDeltaMb: Math.round((process.memoryUsage().rss - rss0) / 1e6),
    }),
  );
  console.log(
    [...stats]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, 10)
      .map(([k, v]) => `${Math.round(v.ms)}ms ${v.n}x ${k}`)
      .join('\n'),
  );
} finally {
  await ctx.close();
}
