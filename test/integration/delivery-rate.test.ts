import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketShape, createTokenBucket } from '../../src/delivery/token-bucket.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { enqueueBatches, seedEdition, settled } from '../helpers/delivery-fixtures.js';

/**
 * The global send rate: one Redis token bucket counting messages. Rates are checked with the
 * script's injected time (no sleeping, no wall-clock windows); the end-to-end check only uses a
 * lower bound that a slow machine cannot break.
 */
describe('send rate token bucket', () => {
  let ctx: TestContext;
  let redis: Redis;
  let n = 0;
  const key = () => `${ctx.config.QUEUE_PREFIX}:bucket-test-${n++}`;
  const T0 = 1_800_000_000_000;

  beforeAll(async () => {
    ctx = await createTestContext({ workers: false });
    redis = new Redis(ctx.config.REDIS_URL);
  });
  afterAll(async () => {
    redis?.disconnect();
    await ctx?.close();
  });

  it('derives a one-second burst plus a reserve only priority mail may use', () => {
    expect(bucketShape(10)).toEqual({
      capacity: 12,
      reserve: 2,
      floors: { transactional: 0, alert: 1, bulk: 2 },
    });
    expect(bucketShape(0.5).capacity).toBe(2);
  });

  it('grants a burst, then exactly the rate, counted in messages', async () => {
    const bucket = createTokenBucket({ redis, key: key(), ratePerSecond: 10 });
    expect(await bucket.tryTake(50, 'bulk', T0)).toEqual({ granted: 10, waitMs: 0 });
    expect(await bucket.tryTake(1, 'bulk', T0)).toEqual({ granted: 0, waitMs: 100 });
    expect((await bucket.tryTake(5, 'bulk', T0 + 99)).granted).toBe(0);
    expect((await bucket.tryTake(5, 'bulk', T0 + 100)).granted).toBe(1);

    // a greedy bulk sender polling every 10 ms for 10 s gets the rate and no more
    let granted = 0;
    for (let t = 110; t <= 10_100; t += 10) granted += (await bucket.tryTake(50, 'bulk', T0 + t)).granted;
    expect(granted).toBe(100);
    // per one-second window, never more than the rate once the burst is spent
    const perSecond: number[] = [];
    for (let s = 0; s < 3; s++) {
      let inWindow = 0;
      for (let t = 0; t < 1000; t += 10) {
        inWindow += (await bucket.tryTake(50, 'bulk', T0 + 10_110 + s * 1000 + t)).granted;
      }
      perSecond.push(inWindow);
    }
    expect(perSecond).toEqual([10, 10, 10]);
  });

  it('lets transactional mail and alerts through when bulk has drained the bucket', async () => {
    const bucket = createTokenBucket({ redis, key: key(), ratePerSecond: 10 });
    expect((await bucket.tryTake(100, 'bulk', T0)).granted).toBe(10);
    // bulk is at its floor; alerts may go down to half the reserve, transactional to zero
    expect((await bucket.tryTake(1, 'bulk', T0)).granted).toBe(0);
    expect((await bucket.tryTake(5, 'alert', T0)).granted).toBe(1);
    expect((await bucket.tryTake(5, 'alert', T0)).granted).toBe(0);
    expect((await bucket.tryTake(5, 'transactional', T0)).granted).toBe(1);
    expect((await bucket.tryTake(5, 'transactional', T0)).granted).toBe(0);

    // under steady contention an alert every 200 ms always gets its token at once, while bulk
    // (asking every 10 ms) only has what is left of the 10/s
    let bulk = 0;
    let alerts = 0;
    let asked = 0;
    for (let t = 10; t <= 5_000; t += 10) {
      if (t % 200 === 0) {
        asked++;
        alerts += (await bucket.tryTake(1, 'alert', T0 + t)).granted;
      }
      bulk += (await bucket.tryTake(50, 'bulk', T0 + t)).granted;
    }
    expect(alerts).toBe(asked);
    // the bucket was empty at T0: 5 s bring 50 tokens, shared and never exceeded
    expect(bulk + alerts).toBeLessThanOrEqual(50);
    expect(bulk).toBeGreaterThanOrEqual(20);
  });

  it('is one bucket for every process and connection sharing the key', async () => {
    const k = key();
    const other = new Redis(ctx.config.REDIS_URL);
    try {
      const a = createTokenBucket({ redis, key: k, ratePerSecond: 10 });
      const b = createTokenBucket({ redis: other, key: k, ratePerSecond: 10 });
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).tryTake(1, 'bulk', T0)),
      );
      expect(results.reduce((s, r) => s + r.granted, 0)).toBe(10);
      await a.refund(3, T0);
      expect((await b.tryTake(10, 'bulk', T0)).granted).toBe(3);
    } finally {
      other.disconnect();
    }
  });

  it('is a no-op at rate 0 (unlimited)', async () => {
    const bucket = createTokenBucket({ redis, key: key(), ratePerSecond: 0 });
    expect(bucket.unlimited).toBe(true);
    expect(await bucket.take(500, 'bulk')).toBe(500);
  });
});

describe('send rate end to end', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ env: { SEND_RATE_PER_SECOND: '10', SEND_CLAIM_SIZE: '5' } });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('holds a batch to the global rate across messages', async () => {
    const ed = await seedEdition(ctx, { readers: 25, batchSize: 25 });
    const startedAt = Date.now();
    await enqueueBatches(ctx, ed.editionId, [0]);
    const rows = await settled(ctx, ed.editionId, 20_000);
    expect(rows.every((r) => r.state === 'sent')).toBe(true);
    // a burst of 10 (12 less the bulk floor of 2), then 10/s: the 25th message cannot have been
    // granted before 1.5 s; a slower machine only makes this longer
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1400);
    expect(ctx.sink.received.filter((m) => ed.readers.some((r) => r.email === m.to[0]))).toHaveLength(25);
  });
});
