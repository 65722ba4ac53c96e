import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createProviderGate } from '../../src/shaping/provider-gate.js';
import { deleteRedisPrefix } from '../helpers/context.js';

/**
 * The provider gate's Lua on the real Redis. A provider that counts its own rate (Gmail's 421
 * 4.7.28 over it) must never see more than one second's worth at once, alerts' priority reserve
 * included: a burst above the rate costs a backoff.
 */
describe('provider gate', () => {
  const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  const prefix = `gz-gate-${randomBytes(4).toString('hex')}`;
  const gate = createProviderGate({
    redis,
    prefix,
    backoffMs: 1000,
    maxBackoffMs: 8000,
    recoverAfter: 2,
    leaseMs: 60_000,
  });
  afterAll(async () => {
    await deleteRedisPrefix(prefix);
    redis.disconnect();
  });

  it('grants no more than one second of the rate at once, whatever the priorities', async () => {
    const limits = { perSecond: 2 };
    const now = Date.parse('2026-11-29T08:00:00Z');
    let granted = 0;
    for (const priority of ['bulk', 'alert', 'transactional'] as const)
      granted += (await gate.take('rated', limits, 100, priority, now)).granted;
    expect(granted).toBeGreaterThan(0);
    expect(granted).toBeLessThanOrEqual(2);
  });

  it('counts connections lost mid-transaction and reports the storm to exactly one caller', async () => {
    const now = Date.parse('2026-11-29T08:00:00Z');
    const seen = await Promise.all(Array.from({ length: 5 }, () => gate.dropped('stormy', 3, 60_000, now)));
    expect(seen.filter((s) => s.storm)).toHaveLength(1);
    // the count starts again after the storm; a backoff then makes the drops in flight not count
    await gate.throttled('stormy', 'storm', now);
    expect(await gate.dropped('stormy', 3, 60_000, now + 10)).toEqual({ drops: 0, storm: false });
    // after the window the count starts from one
    expect((await gate.dropped('other', 3, 1000, now)).drops).toBe(1);
    expect((await gate.dropped('other', 3, 1000, now + 2000)).drops).toBe(1);
  });
});
