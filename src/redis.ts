import { Redis, type RedisOptions } from 'ioredis';

/**
 * Producers (the API) fail fast when Redis is away, so a request errors instead of hanging;
 * workers wait forever (maxRetriesPerRequest: null), as BullMQ requires for blocking commands.
 */
export function createRedis(url: string, role: 'producer' | 'worker', extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    enableOfflineQueue: role === 'worker',
    lazyConnect: false,
    ...extra,
  });
}

export type RedisPolicyCheck = { ok: true; warning?: string } | { ok: false; reason: string };

/** BullMQ loses jobs if Redis evicts keys; managed Redis may refuse CONFIG, then we only warn. */
export async function checkEvictionPolicy(redis: Redis): Promise<RedisPolicyCheck> {
  let reply: unknown;
  try {
    reply = await redis.call('CONFIG', 'GET', 'maxmemory-policy');
  } catch (err) {
    return {
      ok: true,
      warning: `cannot read maxmemory-policy (${(err as Error).message}); make sure it is noeviction`,
    };
  }
  const policy = Array.isArray(reply) ? String(reply[1] ?? '') : '';
  if (policy && policy !== 'noeviction') {
    return {
      ok: false,
      reason: `redis maxmemory-policy is ${policy}, must be noeviction or queued jobs can be evicted`,
    };
  }
  return { ok: true };
}

/**
 * Whether Redis keeps its data over a restart (append-only file or RDB snapshots). Without either,
 * a restart empties every queue and scheduler; Gazette puts the work back from PostgreSQL
 * (queues/redis-watch.ts), but the operator should know. A warning, never a failure.
 */
export async function checkPersistence(redis: Redis): Promise<string | undefined> {
  let appendonly: unknown;
  let save: unknown;
  try {
    [appendonly, save] = await Promise.all([
      redis.call('CONFIG', 'GET', 'appendonly'),
      redis.call('CONFIG', 'GET', 'save'),
    ]);
  } catch (err) {
    return `redis persistence unknown (cannot read CONFIG: ${(err as Error).message}); enable appendonly so a restart keeps queued jobs`;
  }
  const aof = Array.isArray(appendonly) ? String(appendonly[1] ?? '') : '';
  const rdb = Array.isArray(save) ? String(save[1] ?? '') : '';
  if (aof !== 'yes' && rdb.trim() === '')
    return 'redis has no persistence (appendonly no, save ""): a restart loses every queued job and scheduler until Gazette re-enqueues them from PostgreSQL; set appendonly yes';
  return undefined;
}

/** Waits for the first connection, so a producer that fails fast does not fail its first command. */
export async function waitForRedis(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`redis not reachable within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}
