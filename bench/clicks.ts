/**
 * npm run bench:clicks -- [--readers 5000] [--duration 10] [--connections 20]
 *
 * The redirect lane: `GET /c/<token>` against one production API process with click tracking on,
 * distinct readers' tokens over the links of one edition, as fast as it answers. Reports
 * redirects per second, latency percentiles, and that every click was stored (clicks rows ==
 * 302 answers) in batched INSERTs (CLICK_BATCH_SIZE per statement, at most one per
 * CLICK_FLUSH_INTERVAL_MS otherwise). The send with tracking on is the main bench's tracked lane:
 * npm run bench -- --lanes gazette,tracked,library.
 */
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { createClickTokens } from '../src/clicks/index.js';
import { gazetteEnv, pgWrites, round, SECRET_KEY, uniqueId, writeTrackedPublication } from './common.js';
import { freePort } from './lanes/http.js';
import { spawnGazette } from './procs.js';
import { createBenchDatabase, seedReaders } from './seed.js';

const { values } = parseArgs({
  options: {
    readers: { type: 'string', default: '5000' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '20' },
  },
});
const readers = Number(values.readers);
const duration = Number(values.duration);
const connections = Number(values.connections);
if (!Number.isInteger(readers) || readers < 10) throw new Error('--readers must be an integer >= 10');

const publicationPath = writeTrackedPublication();
console.log(`publication with click tracking: ${publicationPath}`);

const bench = await createBenchDatabase('clicks');
const id = uniqueId();
const prefix = `gz-bench-clicks-${id}`;
let api: Awaited<ReturnType<typeof spawnGazette>> | undefined;
try {
  await seedReaders(bench.db, readers);
  const links = Array.from({ length: 15 }, (_, i) => ({
    articleId: `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`,
    url: `https://almadar.example/ar/news/${i + 1}?utm_source=gazette&utm_medium=email`,
  }));
  const edition = await bench.db.query<{ id: string }>(
    `INSERT INTO editions (kind, template, language, frequency, article_ids, edition_key, state, due_at, links)
     VALUES ('digest', 'digest', 'ar', 'daily', $1, $2, 'sent', now() - interval '1 hour', $3) RETURNING id`,
    [links.map((l) => l.articleId), `bench-clicks-${id}`, JSON.stringify(links)],
  );
  const editionId = edition.rows[0]!.id;
  const subscribers = (await bench.db.query<{ id: string }>('SELECT id FROM subscribers ORDER BY id')).rows;
  const tokens = createClickTokens({ secretKey: SECRET_KEY });
  const paths = subscribers.map(
    (s, i) => `/c/${tokens.sign({ editionId, slot: i % links.length, subscriberId: s.id })}`,
  );

  const port = await freePort();
  api = await spawnGazette({
    mode: 'api',
    label: `clicks-api-${id}`,
    readyUrl: `http://127.0.0.1:${port}`,
    env: gazetteEnv({
      dbUrl: bench.url,
      prefix,
      sinkUrl: 'smtp://127.0.0.1:9',
      port,
      logLevel: 'warn',
      connections: 1,
      extra: { PUBLICATION_CONFIG: publicationPath },
    }),
  });
  const before = await pgWrites(bench.db, bench.name);
  let n = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration,
    requests: [
      {
        method: 'GET',
        headers: { 'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1' },
        setupRequest: (req) => ({ ...req, path: paths[n++ % paths.length]! }),
      },
    ],
  });
  const redirects = Number(
    result.statusCodeStats?.['302' as keyof typeof result.statusCodeStats]?.count ?? 0,
  );
  await api.stop(); // flushes the buffered clicks
  api = undefined;
  const stored = Number((await bench.db.query<{ n: string }>('SELECT count(*) AS n FROM clicks')).rows[0]!.n);
  const after = await pgWrites(bench.db, bench.name);
  const line = {
    lane: 'redirect',
    readers,
    connections,
    durationS: duration,
    redirectsPerS: round(redirects / duration),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    errors: result.errors + result.non2xx - redirects,
    redirects,
    clicksStored: stored,
    rowsInserted: after.inserted - before.inserted,
  };
  console.log(JSON.stringify(line));
  // requests still in flight when autocannon stops are answered (and stored) but not counted by it
  if (stored < redirects || stored > redirects + connections) {
    console.error(`bench:clicks: ${redirects} redirects but ${stored} clicks stored`);
    process.exitCode = 1;
  }
} finally {
  await api?.stop().catch(() => undefined);
  await bench.drop();
}
