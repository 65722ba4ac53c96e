import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { withDefaultUser } from '../../src/db/pool.js';
import { deleteRedisPrefix, eventually } from '../helpers/context.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

function run(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
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

describe('the gazette process', () => {
  const dbName = `gazette_proc_${randomBytes(4).toString('hex')}`;
  const prefix = `gz-proc-${randomBytes(3).toString('hex')}`;
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await deleteRedisPrefix(prefix);
    const url = new URL(withDefaultUser('postgres://127.0.0.1:5432/postgres'));
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await client.end();
  });

  it('stops the boot with one line naming a bad variable', async () => {
    const bad = run(['all'], { PORT: 'not-a-port' });
    expect(await bad.exited).toBe(1);
    expect(bad.output().trim()).toMatch(/^gazette: environment variable PORT: /);
    const prod = run(['api'], {
      NODE_ENV: 'production',
      SECRET_KEY: 'x'.repeat(40),
      ADMIN_TOKEN: 'y'.repeat(20),
    });
    expect(await prod.exited).toBe(1);
    expect(prod.output()).toMatch(/SMTP_URL: required when NODE_ENV=production/);
    // the development values printed in the source never start a production process
    const devKey = run(['api'], {
      NODE_ENV: 'production',
      SMTP_URL: 'smtp://127.0.0.1:1',
      SECRET_KEY: 'gazette-development-secret-key-not-for-production',
      ADMIN_TOKEN: 'Vb8Nz1Kp6Rs3Hd5Fg0JaUYt7Qm2Lw9Xc4eT1',
    });
    expect(await devKey.exited).toBe(1);
    expect(devKey.output().trim()).toMatch(
      /^gazette: environment variable SECRET_KEY: unsafe for NODE_ENV=production: is the development value/,
    );
    const pub = run(['all'], { PUBLICATION_CONFIG: '/nonexistent/publication.json' });
    expect(await pub.exited).toBe(1);
    expect(pub.output()).toMatch(/PUBLICATION_CONFIG: cannot read \/nonexistent\/publication.json/);
  }, 90_000);

  it('creates its database, catches mail in the development mailbox, and shuts down gracefully', async () => {
    const port = await freePort();
    const smtpPort = await freePort();
    const app = run(['all'], {
      PORT: String(port),
      HOST: '127.0.0.1',
      DEV_SMTP_PORT: String(smtpPort),
      DATABASE_URL: `postgres://127.0.0.1:5432/${dbName}`,
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'warn',
      FORM_MIN_SUBMIT_SECONDS: '0',
    });
    children.push(app.child);
    const base = `http://127.0.0.1:${port}`;
    await eventually(async () => (await fetch(`${base}/readyz`).catch(() => null))?.ok, 30_000);

    const res = await fetch(`${base}/api/v1/subscriptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'reader@example.com', language: 'ar' }),
    });
    expect(res.status).toBe(202);
    const mails = await eventually(async () => {
      const list = (await (await fetch(`${base}/dev/mailbox.json`)).json()) as Array<{
        id: string;
        to: string[];
      }>;
      return list.length ? list : null;
    }, 20_000);
    expect(mails[0]?.to).toEqual(['reader@example.com']);
    const page = await (await fetch(`${base}/dev/mailbox/${mails[0]?.id}`)).text();
    expect(page).toContain(`/dev/mailbox/${mails[0]?.id}/html`);
    const html = await (await fetch(`${base}/dev/mailbox/${mails[0]?.id}/html`)).text();
    expect(html).toContain('dir="rtl"');
    const raw = await (await fetch(`${base}/dev/mailbox/${mails[0]?.id}/raw`)).text();
    expect(raw).toMatch(/^Subject: =\?UTF-8\?/im);

    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(0);
  }, 60_000);
});
