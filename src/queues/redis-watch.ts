import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

/**
 * Notices that Redis lost what Gazette keeps in it, so a process can put the work back without a
 * restart. Job schedulers (planner, maintenance, sweeps) and queued jobs live only in Redis; a
 * restart without persistence, a failover to an empty replica or a FLUSHALL takes them away and
 * nothing in BullMQ says so: workers just wait on empty queues.
 *
 * Three signals, each read by every process on its own:
 *  - a marker key holding a generation id, written (SET NX) by the first process to find it
 *    missing: a different value than this process last saw means the keyspace was wiped (the run id
 *    alone cannot tell a FLUSHALL, which keeps the server running);
 *  - the server's run id (INFO server), new on every restart and failover, even one from an
 *    append-only file that may lack its last second of writes;
 *  - a check that failed: while Redis was unreachable, enqueues failed (a subscribe answered 202
 *    with its confirmation mail only in PostgreSQL).
 * Any of them asks for recovery; recovering is idempotent, so a false alarm costs a few queries.
 */
export type RedisCheck =
  | { state: 'same' }
  | { state: 'unreachable'; error: string }
  | { state: 'recover'; why: string };

export interface RedisWatch {
  check(): Promise<RedisCheck>;
}

export function generationKey(prefix: string): string {
  return `${prefix}:generation`;
}

export function createRedisWatch(redis: Redis, prefix: string): RedisWatch {
  const key = generationKey(prefix);
  // what this process saw at its last successful check (undefined: never checked)
  let generation: string | undefined;
  let runId: string | null | undefined;
  let wasUnreachable = false;

  return {
    async check() {
      const candidate = randomUUID();
      let seen: string | null;
      let server: string | null;
      try {
        // one round trip; the marker has no TTL (Redis runs with noeviction, /readyz checks it)
        const replies = await redis.multi().set(key, candidate, 'NX').get(key).info('server').exec();
        if (!replies) throw new Error('transaction aborted');
        for (const [err] of replies) if (err) throw err;
        seen = (replies[1]?.[1] as string | null) ?? null;
        server = /^run_id:(\w+)/m.exec(String(replies[2]?.[1] ?? ''))?.[1] ?? null;
      } catch (err) {
        wasUnreachable = true;
        return { state: 'unreachable', error: (err as Error).message };
      }
      const before = { generation, runId, wasUnreachable };
      generation = seen ?? undefined;
      runId = server;
      wasUnreachable = false;

      if (before.generation === undefined) {
        // first look: a marker this process just wrote means a new or wiped Redis (or a fresh
        // prefix); recovering then costs little and covers a wipe while every process was down
        return seen === candidate
          ? { state: 'recover', why: 'no marker in redis (new or wiped)' }
          : { state: 'same' };
      }
      if (seen !== before.generation) return { state: 'recover', why: 'redis lost its data (marker gone)' };
      if (before.runId && server && server !== before.runId)
        return { state: 'recover', why: 'redis restarted or failed over (new run id)' };
      if (before.wasUnreachable) return { state: 'recover', why: 'redis was unreachable' };
      return { state: 'same' };
    },
  };
}

export interface RedisRecoveryLoop {
  stop(): void;
}

/**
 * Checks every `intervalMs` and runs `recover` when a check asks for it; a recovery that fails is
 * tried again at the next check, so the bound on putting the work back is the interval plus one
 * recovery once Redis answers.
 */
export function startRedisRecovery(opts: {
  watch: RedisWatch;
  intervalMs: number;
  log: Logger;
  recover: (why: string) => Promise<unknown>;
}): RedisRecoveryLoop {
  const { watch, intervalMs, log } = opts;
  let owed: string | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  async function tick(): Promise<void> {
    const result = await watch.check();
    if (result.state === 'unreachable') {
      log.debug({ err: result.error }, 'redis check failed');
      return;
    }
    if (result.state === 'recover') owed = result.why;
    if (!owed) return;
    const why = owed;
    const startedAt = performance.now();
    try {
      const done = await opts.recover(why);
      owed = undefined;
      log.warn(
        { why, ms: Math.round(performance.now() - startedAt), ...(done as object) },
        'redis recovery: schedulers re-created and owed work re-enqueued from PostgreSQL',
      );
    } catch (err) {
      log.error(
        { why, err: (err as Error).message },
        'redis recovery failed; trying again at the next check',
      );
    }
  }

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      tick()
        .catch((err) => log.error({ err: (err as Error).message }, 'redis check crashed'))
        .finally(schedule);
    }, intervalMs);
    timer.unref();
  };
  // the first check runs at once: a process starting on a wiped Redis recovers at boot
  tick()
    .catch((err) => log.error({ err: (err as Error).message }, 'redis check crashed'))
    .finally(schedule);

  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
