import { type ChildProcess, spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verpAddress } from '../../src/bounces/verp.js';
import { readerState } from '../helpers/bounce-checks.js';
import { bounceFixture } from '../helpers/bounce-fixtures.js';
import { inboundSettled, mailBounce } from '../helpers/bounce-mail.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';

const DOMAIN = 'bounces.news.example.test';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'inbound'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

/** `npm run start:inbound`'s role: the listener alone; the workers (here, the test's) process what it stores. */
describe('the inbound process role', () => {
  let ctx: TestContext;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    ctx = await createTestContext({ env: { BOUNCE_DOMAIN: DOMAIN } });
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await ctx?.close();
  });

  it('without INBOUND_SMTP_PORT it refuses to start, naming the variable', async () => {
    const p = start({ DATABASE_URL: ctx.config.DATABASE_URL, QUEUE_PREFIX: ctx.config.QUEUE_PREFIX });
    children.push(p.child);
    expect(await p.exited).toBe(1);
    expect(p.output()).toContain('INBOUND_SMTP_PORT is not set');
  }, 60_000);

  it('stores a DSN before its 250; a worker elsewhere suppresses the reader; SIGTERM ends it cleanly', async () => {
    const port = await freePort();
    const p = start({
      DATABASE_URL: ctx.config.DATABASE_URL,
      REDIS_URL: ctx.config.REDIS_URL,
      QUEUE_PREFIX: ctx.config.QUEUE_PREFIX,
      SECRET_KEY: ctx.config.SECRET_KEY,
      BOUNCE_DOMAIN: DOMAIN,
      INBOUND_SMTP_PORT: String(port),
    });
    children.push(p.child);
    await eventually(
      () =>
        new Promise<boolean>((resolve) => {
          const s = connect(port, '127.0.0.1');
          s.once('error', () => resolve(false));
          s.once('data', (d) => {
            s.destroy();
            resolve(d.toString().startsWith('220 '));
          });
        }),
      45_000,
    );
    const { rows } = await ctx.db.query<{ id: string }>(
      `WITH s AS (INSERT INTO subscribers (email, email_key, status, language, frequency, timezone, confirmed_at)
                  VALUES ('far@example.org', 'far@example.org', 'confirmed', 'en', 'daily', 'UTC', now()) RETURNING id)
       INSERT INTO deliveries (kind, dedupe_key, subscriber_id, recipient, state, sent_at)
       SELECT 'welcome', 'welcome-far', id, 'far@example.org', 'sent', now() FROM s RETURNING id`,
    );
    const verp = verpAddress(Number(rows[0]!.id), ctx.config.SECRET_KEY, DOMAIN);
    const dsn = bounceFixture('gmail-no-such-user', { verp, recipient: 'far@example.org' });
    expect((await mailBounce(port, verp, dsn)).response).toMatch(/^250 /);
    await inboundSettled(ctx);
    expect((await readerState(ctx, 'far@example.org')).status).toBe('suppressed');
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.output()).toContain('inbound listener accepting bounce mail');
  }, 90_000);
});
