/**
 * npm run bench:hostile [-- --size 999000 --seconds 20 --skip-http --shapes '[[[[,<p<p']
 *
 * Hostile input never freezes the process (issue 12). Two measurements:
 *  1. in process, for each normalizer and the feed parser, the time to normalize (or refuse) one
 *     body of every shape in test/helpers/hostile-inputs.ts at `--size` characters: the worst per
 *     normalizer is the line that matters;
 *  2. the API as in production (`src/main.ts api`, NODE_ENV=production), `GET /healthz` one at a
 *     time, first idle, then while signed webhooks (generic, WordPress, Ghost, Strapi) carrying
 *     those bodies are POSTed two at a time: p50 / p99 / max. The webhook body limit is raised to
 *     fit them.
 * Timing is reported, never asserted. Needs PostgreSQL and Redis as the tests do.
 */
import { parseArgs } from 'node:util';
import { parseFeed } from '../src/articles/feeds.js';
import { normalizeGeneric } from '../src/articles/normalize/generic.js';
import { normalizeGhost } from '../src/articles/normalize/ghost.js';
import { normalizeStrapi } from '../src/articles/normalize/strapi.js';
import { normalizeWordPress } from '../src/articles/normalize/wordpress.js';
import { signGhostWebhook, signStandardWebhook, signWpWebhook } from '../src/articles/signatures.js';
import {
  atomFeed,
  genericPayload,
  ghostPayload,
  HOSTILE_SHAPES,
  HOSTILE_SIZE,
  rssFeed,
  strapiPayload,
  wordpressPayload,
} from '../test/helpers/hostile-inputs.js';
import {
  deleteRedisPrefix,
  gazetteEnv,
  loadBenchPublication,
  round,
  uniqueId,
  WEBHOOK_SECRET,
} from './common.js';
import { sleep, spawnGazette } from './procs.js';
import { createBenchDatabase } from './seed.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: String(HOSTILE_SIZE) },
    seconds: { type: 'string', default: '20' },
    'skip-http': { type: 'boolean', default: false },
    // only these shapes (comma-separated substrings of their names), e.g. on old code at 1 MB
    shapes: { type: 'string', default: '' },
  },
});
const size = Number(values.size);
const seconds = Number(values.seconds);
const only = String(values.shapes)
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const shapes = only.length
  ? HOSTILE_SHAPES.filter((s) => only.some((o) => s.name.includes(o)))
  : HOSTILE_SHAPES;
const publication = loadBenchPublication();
const strapiSource = publication.sources.strapi;
const feedSource = (type: 'rss' | 'atom') => ({
  id: `hostile-${type}`,
  type,
  url: 'https://almadar.example/feed',
});

type Outcome = 'ok' | 'refused' | 'skipped';
const NORMALIZERS: Array<{ name: string; run: (body: string) => Outcome }> = [
  { name: 'generic', run: (b) => count(normalizeGeneric(genericPayload(b), publication)) },
  { name: 'wordpress', run: (b) => count(normalizeWordPress(wordpressPayload(b), publication)) },
  { name: 'ghost', run: (b) => count(normalizeGhost(ghostPayload(b), publication)) },
  {
    name: 'strapi',
    run: (b) =>
      count(
        normalizeStrapi(strapiPayload(b), publication, {
          models: strapiSource?.models,
          ignoredModels: strapiSource?.ignoredModels,
          urlTemplate: strapiSource?.urlTemplate,
        }),
      ),
  },
  { name: 'feed rss', run: (b) => feed(rssFeed(b), 'rss') },
  { name: 'feed atom', run: (b) => feed(atomFeed(b, { escaped: true }), 'atom') },
];

function count(events: unknown[]): Outcome {
  return events.length ? 'ok' : 'skipped';
}

function feed(xml: string, type: 'rss' | 'atom'): Outcome {
  let skipped = false;
  const items = parseFeed(xml, feedSource(type), publication, () => {
    skipped = true;
  });
  return items.length ? 'ok' : skipped ? 'refused' : 'skipped';
}

function timeOne(run: () => Outcome): { ms: number; outcome: Outcome } {
  const t0 = performance.now();
  let outcome: Outcome;
  try {
    outcome = run();
  } catch (err) {
    if ((err as Error).name !== 'PayloadError') throw err;
    outcome = 'refused';
  }
  return { ms: performance.now() - t0, outcome };
}

// ---------------------------------------------------------------- 1. normalization in process

console.log(`hostile bodies of ${size.toLocaleString('en')} characters, ${shapes.length} shapes\n`);
const bodies = shapes.map((s) => ({ shape: s, body: s.make(size) }));
const worst = new Map<string, { ms: number; shape: string }>();
const rows: string[][] = [];
for (const { shape, body } of bodies) {
  const row = [shape.name];
  for (const n of NORMALIZERS) {
    const { ms, outcome } = timeOne(() => n.run(body));
    row.push(`${round(ms, 0)}${outcome === 'ok' ? '' : outcome === 'refused' ? ' r' : ' s'}`);
    if (ms > (worst.get(n.name)?.ms ?? -1)) worst.set(n.name, { ms, shape: shape.name });
  }
  rows.push(row);
}
printTable(['shape (ms; r = refused, s = skipped)', ...NORMALIZERS.map((n) => n.name)], rows);
console.log('');
printTable(
  ['normalizer', `worst ms at ${size.toLocaleString('en')} chars`, 'shape'],
  NORMALIZERS.map((n) => {
    const w = worst.get(n.name);
    return [n.name, String(round(w?.ms ?? 0, 0)), w?.shape ?? ''];
  }),
);

// ---------------------------------------------------------------- 2. /healthz while they arrive

if (!values['skip-http']) await healthUnderLoad();

async function healthUnderLoad() {
  const id = uniqueId();
  const prefix = `gzb-hostile-${id}`;
  const bench = await createBenchDatabase('hostile');
  const secrets = {
    wordpress: 'hostile-wp-secret',
    ghost: 'hostile-ghost-secret',
    strapi: 'hostile-strapi-token',
  };
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const base = `http://127.0.0.1:${port}`;
  const api = await spawnGazette({
    mode: 'api',
    label: `hostile-api-${id}`,
    readyUrl: base,
    env: gazetteEnv({
      dbUrl: bench.url,
      prefix,
      sinkUrl: 'smtp://127.0.0.1:1',
      port,
      logLevel: 'warn',
      connections: 1,
      extra: {
        WEBHOOK_BODY_LIMIT_BYTES: String(Math.max(4 * size, 1024 * 1024)),
        WEBHOOK_SECRET_WORDPRESS: secrets.wordpress,
        WEBHOOK_SECRET_GHOST: secrets.ghost,
        WEBHOOK_SECRET_STRAPI: secrets.strapi,
        RATE_LIMIT_MAX: '100000',
      },
    }),
  });
  const statuses = new Map<number, number>();
  let posted = 0;
  try {
    const idle = await probeHealth(3_000, () => false);
    let n = 0;
    const requests = bodies.flatMap(({ body }) => [
      () => generic(body, n++),
      () => wordpress(body),
      () => ghost(body),
      () => strapi(body),
    ]);
    let stop = false;
    const senders = [0, 1].map(async (lane) => {
      for (let i = lane; !stop; i += 2) {
        const send = requests[i % requests.length]!;
        try {
          const res = await send();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          await res.arrayBuffer();
        } catch {
          statuses.set(0, (statuses.get(0) ?? 0) + 1);
        }
        posted++;
      }
    });
    const loaded = await probeHealth(seconds * 1000, () => stop);
    stop = true;
    await Promise.all(senders);
    console.log('');
    printTable(
      ['/healthz (ms)', 'requests', 'p50', 'p99', 'max'],
      [
        ['idle', String(idle.length), ...summary(idle)],
        [`hostile POSTs, 2 at a time`, String(loaded.length), ...summary(loaded)],
      ],
    );
    console.log(
      `\nhostile webhooks answered: ${posted} (${[...statuses].map(([s, c]) => `${s || 'error'}: ${c}`).join(', ')})`,
    );
  } finally {
    await api.stop();
    await bench.drop();
    await deleteRedisPrefix(prefix);
  }

  function post(path: string, body: string, headers: Record<string, string>) {
    return fetch(`${base}${path}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
      signal: AbortSignal.timeout(120_000),
    });
  }
  function generic(html: string, i: number) {
    const body = JSON.stringify({ ...genericPayload(html, { id: `hostile-${i}` }), id: `evt-hostile-${i}` });
    const msgId = `msg_hostile_${id}_${i}`;
    const ts = Math.floor(Date.now() / 1000);
    return post('/webhooks/generic', body, {
      'webhook-id': msgId,
      'webhook-timestamp': String(ts),
      'webhook-signature': signStandardWebhook(WEBHOOK_SECRET, msgId, ts, body),
    });
  }
  function wordpress(html: string) {
    const body = JSON.stringify(wordpressPayload(html));
    return post('/webhooks/wordpress', body, {
      'x-wp-webhook-signature': signWpWebhook(secrets.wordpress, body),
    });
  }
  function ghost(html: string) {
    const body = JSON.stringify(ghostPayload(html));
    return post('/webhooks/ghost', body, {
      'x-ghost-signature': signGhostWebhook(secrets.ghost, body, Date.now()),
    });
  }
  function strapi(html: string) {
    const body = JSON.stringify(strapiPayload(html));
    return post('/webhooks/strapi', body, { authorization: `Bearer ${secrets.strapi}` });
  }

  /** GET /healthz back to back (10 ms apart) for `ms` or until `done()`: each latency. */
  async function probeHealth(ms: number, done: () => boolean): Promise<number[]> {
    const out: number[] = [];
    const until = Date.now() + ms;
    while (Date.now() < until && !done()) {
      const t0 = performance.now();
      const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(300_000) });
      await res.arrayBuffer();
      out.push(performance.now() - t0);
      await sleep(10);
    }
    return out;
  }
}

function summary(latencies: number[]): string[] {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return [String(round(at(0.5), 1)), String(round(at(0.99), 1)), String(round(sorted.at(-1) ?? 0, 1))];
}

function printTable(header: string[], body: string[][]) {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of body) console.log(line(r));
}
