import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { eventually } from './context.js';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * A redis-server of the test's own on a free port, without persistence, so the test may wipe it,
 * kill it and start it again empty on the same port (never the shared one on 6379).
 */
export async function startOwnRedis(port?: number) {
  const p = port ?? (await freePort());
  let child: ChildProcess | undefined;
  const url = `redis://127.0.0.1:${p}`;

  async function start(): Promise<void> {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(p),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--maxmemory-policy',
        'noeviction',
      ],
      { stdio: 'ignore' },
    );
    await eventually(async () => {
      const probe = new Redis(p, '127.0.0.1', {
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
  }

  async function stop(): Promise<void> {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  }

  await start();
  return {
    port: p,
    url,
    /** the server is killed (SIGKILL: nothing saved, as with a crash) */
    stop,
    /** starts it again on the same port, empty */
    start,
    async flushAll(): Promise<void> {
      const admin = new Redis(url);
      try {
        await admin.flushall();
      } finally {
        admin.disconnect();
      }
    },
    client: () => new Redis(url),
  };
}

export type OwnRedis = Awaited<ReturnType<typeof startOwnRedis>>;
