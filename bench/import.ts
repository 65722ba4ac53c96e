/**
 * List import at scale: N generated rows (default 1,000,000) streamed over real HTTP into
 * POST /api/v1/subscribers/import, then the import job run in this process. Prints rows/s of the
 * upload (parse + stage) and of the job, the total time and the process's peak RSS: the file is
 * never held whole, so the peak stays flat whatever N is.
 *
 *   npm run bench:import                 # 1,000,000 rows
 *   npm run bench:import -- --rows 50000
 *
 * Needs PostgreSQL and Redis as the tests do; creates its own database and queue prefix and drops
 * them at the end.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { Redis } from 'ioredis';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createContainer } from '../src/container.js';
import { withDefaultUser } from '../src/db/pool.js';
import { loadPublication } from '../src/publication.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const ROWS = arg('rows', 1_000_000);
const BASE_DB = process.env.BENCH_DATABASE_URL ?? 'postgres://127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const FIRST = ['ليلى', 'Omar', 'سارة', 'Karim', 'نور', 'Huda', 'يوسف', 'Amal'];
const LAST = ['حداد', 'Khatib', 'منصور', 'Nasser', 'صالح', 'Amin', 'درويش', 'Younes'];
const TOPICS = ['politics', 'economy', 'culture', 'sport', ''];

/** The file, generated as it is sent: Mailchimp-shaped columns, a BOM, CRLF, quoted Arabic names. */
async function* csvFile(rows: number): AsyncGenerator<Buffer> {
  yield Buffer.from('\uFEFF"Email Address","First Name","Last Name",LANGUAGE,TOPICS,CONFIRM_TIME\r\n');
  let chunk: string[] = [];
  for (let i = 0; i < rows; i++) {
    const lang = i % 3 === 0 ? 'en' : 'ar';
    chunk.push(
      `"reader${i}@bench${i % 97}.example","${FIRST[i % 8]}","${LAST[(i >> 3) % 8]}",${lang},"${TOPICS[i % 5]}","2025-0${(i % 9) + 1}-1${i % 10} 08:${String(i % 60).padStart(2, '0')}:00"\r\n`,
    );
    if (chunk.length === 1000) {
      yield Buffer.from(chunk.join(''));
      chunk = [];
    }
  }
  if (chunk.length) yield Buffer.from(chunk.join(''));
}

function post(
  port: number,
  path: string,
  token: string,
  body: Readable,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        headers: { 'content-type': 'text/csv', authorization: `Bearer ${token}` },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() }));
      },
    );
    req.on('error', reject);
    body.pipe(req);
  });
}

async function main() {
  const id = `b${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const dbUrl = new URL(withDefaultUser(BASE_DB));
  dbUrl.pathname = `/gazette_bench_${id}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    PUBLIC_URL: 'https://news.bench.example',
    DATABASE_URL: dbUrl.toString(),
    REDIS_URL,
    QUEUE_PREFIX: `gzb-${id}`,
    SMTP_URL: 'smtp://127.0.0.1:1',
    SECRET_KEY: 'bench-secret-key-0123456789abcdef0123456789abcdef',
    ADMIN_TOKEN: 'bench-admin-token-0123456789abcdef',
    IMPORT_MAX_BYTES: String(4 * 1024 * 1024 * 1024),
  });
  const container = await createContainer({
    config,
    publication: loadPublication(config.PUBLICATION_CONFIG),
  });
  const app = await buildApp(container);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  try {
    const t0 = performance.now();
    const res = await post(
      port,
      '/api/v1/subscribers/import?mode=attested&attestation=bench&source=bench.csv',
      config.ADMIN_TOKEN,
      Readable.from(csvFile(ROWS)),
    );
    if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${res.body}`);
    const t1 = performance.now();
    const importId = JSON.parse(res.body).id as string;
    // the job, in this process (the queued job is left to no worker: the prefix is dropped below)
    const state = await container.imports.run(importId);
    const t2 = performance.now();
    const view = await container.imports.get(importId);
    const rate = (n: number, ms: number) => Math.round(n / (ms / 1000)).toLocaleString('en');
    console.log(
      `import ${ROWS.toLocaleString('en')} rows: ${state}, imported ${view.imported.toLocaleString('en')}`,
    );
    console.log(
      `  upload (parse + stage): ${((t1 - t0) / 1000).toFixed(1)} s, ${rate(ROWS, t1 - t0)} rows/s`,
    );
    console.log(
      `  job (dedupe + insert):  ${((t2 - t1) / 1000).toFixed(1)} s, ${rate(ROWS, t2 - t1)} rows/s`,
    );
    console.log(`  total: ${((t2 - t0) / 1000).toFixed(1)} s, ${rate(ROWS, t2 - t0)} rows/s`);
    console.log(`  peak RSS: ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
  } finally {
    await app.close();
    await container.close();
    const admin = new pg.Client({ connectionString: withDefaultUser(BASE_DB) });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(dbUrl.pathname.slice(1))} WITH (FORCE)`);
    await admin.end();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${config.QUEUE_PREFIX}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
