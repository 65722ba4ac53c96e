import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisWatch, generationKey } from '../../src/queues/redis-watch.js';
import { createRedis, waitForRedis } from '../../src/redis.js';
import { type OwnRedis, startOwnRedis } from '../helpers/own-redis.js';

/** The signals of queues/redis-watch.ts against a redis-server of this test's own. */
describe('noticing that Redis lost its data', () => {
  let redis: OwnRedis;
  beforeAll(async () => {
    redis = await startOwnRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('tells a wipe and a restart from a Redis that kept its data, in every process', async () => {
    // two processes' producer connections (fail fast, as the API's)
    const a = createRedis(redis.url, 'producer');
    const b = createRedis(redis.url, 'producer');
    a.on('error', () => {});
    b.on('error', () => {});
    await Promise.all([waitForRedis(a), waitForRedis(b)]);
    const watchA = createRedisWatch(a, 'gz-watch');
    const watchB = createRedisWatch(b, 'gz-watch');
    try {
      // the first process on an empty Redis recovers at boot; the second finds its marker
      expect(await watchA.check()).toEqual({ state: 'recover', why: 'no marker in redis (new or wiped)' });
      expect(await watchB.check()).toEqual({ state: 'same' });
      expect(await watchA.check()).toEqual({ state: 'same' });

      // FLUSHALL keeps the run id: the marker tells it, to both, whichever looks first
      await redis.flushAll();
      expect(await watchA.check()).toEqual({ state: 'recover', why: 'redis lost its data (marker gone)' });
      expect(await watchB.check()).toEqual({ state: 'recover', why: 'redis lost its data (marker gone)' });
      expect(await watchB.check()).toEqual({ state: 'same' });

      // a restart that kept the marker (as from an append-only file) still has a new run id
      const admin = redis.client();
      const marker = await admin.get(generationKey('gz-watch'));
      await redis.stop();
      expect((await watchA.check()).state).toBe('unreachable');
      await redis.start();
      await admin.set(generationKey('gz-watch'), marker!);
      admin.disconnect();
      await Promise.all([waitForRedis(a), waitForRedis(b)]); // ioredis reconnects on its own
      expect(await watchA.check()).toEqual({
        state: 'recover',
        why: 'redis restarted or failed over (new run id)',
      });
      expect(await watchB.check()).toEqual({
        state: 'recover',
        why: 'redis restarted or failed over (new run id)',
      });

      expect(await watchA.check()).toEqual({ state: 'same' });
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });
});
