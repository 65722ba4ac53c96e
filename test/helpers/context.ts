import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { DestinationStream } from 'pino';
import { buildApp } from '../../src/app.js';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createContainer } from '../../src/container.js';
import { withDefaultUser } from '../../src/db/pool.js';
import { createLogger } from '../../src/logger.js';
import { loadPublication } from '../../src/publication.js';
import { startWorkers } from '../../workers/index.js';
import { type SinkHooks, startSmtpSink } from './smtp-sink.js';

const BASE_DB = process.env.TEST_DATABASE_URL ?? 'postgres://127.0.0.1:5432/postgres';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestContextOptions {
  env?: Record<string, string>;
  /** start the BullMQ workers in this process (default true) */
  workers?: boolean;
  smtp?: SinkHooks;
  now?: string;
  /** start the inbound listener (INBOUND_SMTP_PORT, e.g. '0' for any free port) */
  bounceListener?: boolean;
  /** where the logger writes (default stdout); tests that read log lines pass a stream */
  logDestination?: DestinationStream;
}

/**
 * A whole Gazette against the real services, isolated: its own database, its own queue prefix,
 * its own SMTP server, a manual clock. close() drops the database and the prefix's Redis keys.
 */
export async function createTestContext(opts: TestContextOptions = {}) {
  const id = `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const dbUrl = new URL(withDefaultUser(BASE_DB));
  dbUrl.pathname = `/gazette_${id}`;
  const sink = await startSmtpSink(opts.smtp);
  const clock = new ManualClock(new Date(opts.now ?? '2026-11-29T08:00:00Z'));
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PUBLIC_URL: 'https://news.example.test',
    DATABASE_URL: dbUrl.toString(),
    DATABASE_POOL_SIZE: '5',
    REDIS_URL,
    QUEUE_PREFIX: `gz-${id}`,
    SMTP_URL: sink.url,
    SMTP_POOL_SIZE: '2',
    SECRET_KEY: 'test-secret-key-0123456789abcdef0123456789',
    ADMIN_TOKEN: 'test-admin-token-0123456789',
    JOB_LOCK_DURATION_MS: '2000',
    JOB_STALLED_INTERVAL_MS: '1000',
    ...opts.env,
  });
  const publication = loadPublication(config.PUBLICATION_CONFIG);
  const log = createLogger(config, opts.logDestination);
  const container = await createContainer({
    config,
    publication,
    clock,
    log,
    withInboundListener: opts.bounceListener,
  });
  const app = await buildApp(container);
  await app.ready();
  const workers = opts.workers === false ? undefined : startWorkers(container);

  return {
    id,
    clock,
    config,
    publication,
    container,
    app,
    sink,
    db: container.db,
    workers,
    adminHeaders: { authorization: `Bearer ${config.ADMIN_TOKEN}` },
    async close() {
      await workers?.close();
      await app.close();
      await container.close();
      await sink.close();
      await dropDatabase(dbUrl.toString());
      await deleteRedisPrefix(config.QUEUE_PREFIX);
    },
  };
}

export type TestContext = Awaited<ReturnType<typeof createTestContext>>;

async function dropDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = target.pathname.slice(1);
  target.pathname = '/postgres';
  const client = new pg.Client({ connectionString: target.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Deletes every Redis key of a queue prefix (tests that start their own processes use it too). */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Polls until fn returns a truthy value; for waiting on workers without fixed sleeps. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false | null>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`condition not met in ${timeoutMs} ms${last ? `: ${last}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
