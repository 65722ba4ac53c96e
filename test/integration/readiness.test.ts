import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { checkEvictionPolicy } from '../../src/redis.js';
import { createTestContext, eventually } from '../helpers/context.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

describe('readiness and the Redis eviction policy', () => {
  const servers: ChildProcess[] = [];
  afterAll(() => {
    for (const s of servers) s.kill('SIGKILL');
  });

  it('is not ready, with the reason, when Redis may evict keys', async () => {
    const port = await freePort();
    const server = spawn('redis-server', [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'allkeys-lru',
    ]);
    servers.push(server);
    await eventually(async () => {
      const probe = new Redis(port, '127.0.0.1', {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      probe.on('error', () => {}); // refused until the server is up
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } finally {
        probe.disconnect();
      }
    });
    const ctx = await createTestContext({ workers: false, env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
    try {
      const res = await ctx.app.inject('/readyz');
      expect(res.statusCode).toBe(503);
      expect(res.json().problems.join()).toMatch(/maxmemory-policy is allkeys-lru, must be noeviction/);
    } finally {
      await ctx.close();
    }
  });

  it('stays ready with a warning where the server refuses CONFIG GET (managed Redis)', async () => {
    const admin = new Redis('redis://127.0.0.1:6379');
    const user = `gz-noconfig-${process.pid}`;
    await admin.call('ACL', 'SETUSER', user, 'on', 'nopass', '~*', '&*', '+@all', '-config');
    try {
      const limited = new Redis(`redis://${user}@127.0.0.1:6379`);
      const check = await checkEvictionPolicy(limited);
      limited.disconnect();
      expect(check.ok).toBe(true);
      expect(check.ok && check.warning).toMatch(/cannot read maxmemory-policy/);
      const ctx = await createTestContext({
        workers: false,
        env: { REDIS_URL: `redis://${user}@127.0.0.1:6379` },
      });
      try {
        const res = await ctx.app.inject('/readyz');
        expect(res.statusCode).toBe(200);
        // the persistence cannot be read either: said, not guessed
        expect(res.json().warnings.join('\n')).toMatch(/redis persistence unknown \(cannot read CONFIG/);
      } finally {
        await ctx.close();
      }
    } finally {
      await admin.call('ACL', 'DELUSER', user);
      admin.disconnect();
    }
  });

  it('warns on /readyz when Redis keeps nothing over a restart, and not when it has an append-only file', async () => {
    const start = async (persistence: string[]) => {
      const port = await freePort();
      const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', ...persistence], {
        cwd: tmpdir(),
      });
      servers.push(server);
      await eventually(async () => {
        const probe = new Redis(port, '127.0.0.1', {
          lazyConnect: true,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
        });
        probe.on('error', () => {});
        try {
          await probe.connect();
          return (await probe.ping()) === 'PONG';
        } finally {
          probe.disconnect();
        }
      });
      return `redis://127.0.0.1:${port}`;
    };
    const bare = await start(['--save', '', '--appendonly', 'no']);
    const aof = await start([
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfilename',
      `gz-ready-${process.pid}.aof`,
    ]);
    for (const [url, warned] of [
      [bare, true],
      [aof, false],
    ] as const) {
      const ctx = await createTestContext({ workers: false, env: { REDIS_URL: url } });
      try {
        const res = await ctx.app.inject('/readyz');
        expect(res.statusCode).toBe(200);
        const warnings: string[] = res.json().warnings ?? [];
        expect(
          warnings.some((w) => /redis has no persistence \(appendonly no, save ""\)/.test(w)),
          url,
        ).toBe(warned);
      } finally {
        await ctx.close();
      }
    }
  });
});
