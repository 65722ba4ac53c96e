import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createHandoffLog, HandoffLogClosedError } from '../../src/delivery/handoff-log.js';
import { deleteRedisPrefix } from '../helpers/context.js';

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
    expect(await log.take(token)).toEqual({ trusted: true, upTo: 40 });
    expect(await log.take(token)).toEqual({ trusted: false, why: 'missing' });
    await expect(log.markUpTo(token, 41)).rejects.toBeInstanceOf(HandoffLogClosedError);
    expect(await redis.exists(`${prefix}:handoff:${token}`)).toBe(0);
  });

  it('an attempt that handed nothing off says so; a discarded log is gone, a forgotten one kept', async () => {
    const quiet = randomUUID();
    await log.open(quiet);
    expect(await log.take(quiet)).toEqual({ trusted: true, upTo: 0 });

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
    expect(await log.take(failed)).toEqual({ trusted: true, upTo: 9 });

    // a mark cannot create a log: an attempt whose log is gone stops handing off
    const never = randomUUID();
    await expect(log.markUpTo(never, 1)).rejects.toBeInstanceOf(HandoffLogClosedError);
    expect(await redis.exists(`${prefix}:handoff:${never}`)).toBe(0);
  });

  it('expires: a log nobody takes does not stay in Redis for ever', async () => {
    const token = randomUUID();
    await log.open(token);
    const ttl = await redis.pttl(`${prefix}:handoff:${token}`);
    expect(ttl).toBeGreaterThan(24 * 3600 * 1000);
    expect(ttl).toBeLessThanOrEqual(7 * 24 * 3600 * 1000);
  });
});
