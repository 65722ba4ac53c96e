import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createHandoffLog, HandoffLogClosedError, MAX_PARKED } from '../../src/delivery/handoff-log.js';
import { createRedis } from '../../src/redis.js';
import { deleteRedisPrefix, eventually } from '../helpers/context.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

/** The hand-off log against the real Redis: its watermark, the take that fences, trust. */
describe('hand-off log', () => {
  const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  const prefix = `gz-handoff-${randomUUID().slice(0, 8)}`;
  const log = createHandoffLog(redis, prefix);
  afterAll(async () => {
    await deleteRedisPrefix(prefix);
    redis.disconnect();
  });

  it('keeps the highest mark, and a log taken once is gone for everyone', async () => {
    const token = randomUUID();
    await log.open(token);
    await log.markUpTo(token, 40);
    await log.markUpTo(token, 12); // a slower mark arriving late does not lower it
    expect(await log.take(token)).toEqual({ trusted: true, upTo: 40, parked: [] });
    expect(await log.take(token)).toEqual({ trusted: false, why: 'missing' });
    await expect(log.markUpTo(token, 41)).rejects.toBeInstanceOf(HandoffLogClosedError);
    expect(await redis.exists(`${prefix}:handoff:${token}`)).toBe(0);
  });

  it('an attempt that handed nothing off says so; a discarded log is gone, a forgotten one kept', async () => {
    const quiet = randomUUID();
    await log.open(quiet);
    expect(await log.take(quiet)).toEqual({ trusted: true, upTo: 0, parked: [] });

    const done = randomUUID();
    await log.open(done);
    await log.markUpTo(done, 7);
    await log.discard(done);
    expect(await log.take(done)).toEqual({ trusted: false, why: 'missing' });

    // an attempt that ended with outcomes unrecorded leaves its log for the next one
    const failed = randomUUID();
    await log.open(failed);
    await log.markUpTo(failed, 9);
    log.forget(failed);
    await expect(log.markUpTo(failed, 10)).rejects.toBeInstanceOf(HandoffLogClosedError);
    expect(await log.take(failed)).toEqual({ trusted: true, upTo: 9, parked: [] });

    // a mark cannot create a log: an attempt whose log is gone stops handing off
    const never = randomUUID();
    await expect(log.markUpTo(never, 1)).rejects.toBeInstanceOf(HandoffLogClosedError);
    expect(await redis.exists(`${prefix}:handoff:${never}`)).toBe(0);
  });

  it('lists parked rows below the watermark: the latest mark is the whole list, sorted', async () => {
    const token = randomUUID();
    await log.open(token);
    await log.markUpTo(token, 50, [30, 7, 12]);
    // the next mark replaces the list; rows above W need no listing
    await log.markUpTo(token, 50, [30, 12, 60]);
    expect(await log.take(token)).toEqual({ trusted: true, upTo: 50, parked: [12, 30] });
    // taken: a mark, parked rows or not, finds no log
    await expect(log.markUpTo(token, 50, [12])).rejects.toBeInstanceOf(HandoffLogClosedError);
    await expect(log.markUpTo(token, 51)).rejects.toBeInstanceOf(HandoffLogClosedError);
    expect(await redis.exists(`${prefix}:handoff:${token}`)).toBe(0);
  });

  it('reads a log written without a parked list as parking nothing, and refuses an endless list', async () => {
    const token = randomUUID();
    await log.open(token);
    const key = `${prefix}:handoff:${token}`;
    const [serverRun] = (await redis.get(key))!.split(':');
    await redis.set(key, `${serverRun}:9`, 'PX', 60_000); // what a process before parked rows wrote
    const tooMany = Array.from({ length: MAX_PARKED + 1 }, (_, i) => i + 1);
    await expect(log.markUpTo(token, MAX_PARKED + 1, tooMany)).rejects.toBeInstanceOf(RangeError);
    expect(await log.take(token)).toEqual({ trusted: true, upTo: 9, parked: [] });
  });

  it('expires: a log nobody takes does not stay in Redis for ever', async () => {
    const token = randomUUID();
    await log.open(token);
    const ttl = await redis.pttl(`${prefix}:handoff:${token}`);
    expect(ttl).toBeGreaterThan(24 * 3600 * 1000);
    expect(ttl).toBeLessThanOrEqual(7 * 24 * 3600 * 1000);
  });
});

describe('hand-off log with Redis away at the end of a claim', () => {
  const prefix = `gz-handoff-${randomUUID().slice(0, 8)}`;
  const direct = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
  let viaProxy: Redis;
  afterAll(async () => {
    viaProxy?.disconnect();
    await proxy?.close();
    await deleteRedisPrefix(prefix);
    direct.disconnect();
  });

  it('a log that could not be dropped is dropped by the next attempt', async () => {
    const url = new URL(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
    proxy = await startTcpProxy(Number(url.port || 6379), url.hostname);
    url.port = String(proxy.port);
    // the container's client: fail fast while Redis is away
    viaProxy = createRedis(url.toString(), 'producer', { retryStrategy: () => 50 });
    viaProxy.on('error', () => {}); // refused while the proxy is away: expected here
    await eventually(async () => viaProxy.status === 'ready', 10_000);
    const log = createHandoffLog(viaProxy, prefix);
    const finished = randomUUID();
    await log.open(finished);
    await log.markUpTo(finished, 9);

    await proxy.stop();
    await expect(log.discard(finished)).rejects.toThrow();
    expect(await direct.exists(`${prefix}:handoff:${finished}`)).toBe(1);

    await proxy.resume();
    await eventually(async () => viaProxy.status === 'ready', 10_000);
    const next = randomUUID();
    await log.open(next);
    expect(await direct.exists(`${prefix}:handoff:${finished}`)).toBe(0);
    expect(await direct.exists(`${prefix}:handoff:${next}`)).toBe(1);
  });
});
