import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderConnections } from '../../src/delivery/provider-connections.js';
import { SendPacing } from '../../src/delivery/send-pacing.js';
import type { SendPriority } from '../../src/delivery/token-bucket.js';
import { createProviderGate } from '../../src/shaping/provider-gate.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Send-time pacing against the real provider gate in Redis: a bulk attempt whose queued rows
 * could not go for a while hands them back only while batches wait for a slot and it holds no
 * connection; leases going back are told to the process's attempts (they wake at once).
 */
describe('send pacing: starved rows and freed leases', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ workers: false });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  const gate = () =>
    createProviderGate({
      redis: ctx.container.redis,
      prefix: `${ctx.config.QUEUE_PREFIX}:pacing-test`,
      backoffMs: 1000,
      maxBackoffMs: 10_000,
      recoverAfter: 10,
      leaseMs: 60_000,
    });
  const pacing = (g: ReturnType<typeof gate>, priority: SendPriority, queued: boolean) =>
    new SendPacing({
      gate: g,
      log: ctx.container.log,
      priority,
      slots: 4,
      nowMs: () => Date.now(),
      limitsOf: () => ({ perSecond: 1 }),
      onBackoff: () => {},
      othersQueued: async () => queued,
    });

  it('says a bulk attempt starves after 250 ms without a row it could send, and only while batches wait', async () => {
    const g = gate();
    const bulk = pacing(g, 'bulk', true);
    const alone = pacing(g, 'bulk', false);
    const alert = pacing(g, 'alert', true);
    try {
      expect(await bulk.starved()).toBe(false);
      await sleep(300);
      expect(await bulk.starved()).toBe(true);
      // nobody waits for a slot, or the attempt sends alerts: it keeps its rows
      expect(await alone.starved()).toBe(false);
      expect(await alert.starved()).toBe(false);
      // a row it can send (not paced) resets the clock
      expect(bulk.pick([{ id: 1, recipient: 'a@other.example' } as never])).toBe(0);
      expect(await bulk.starved()).toBe(false);
    } finally {
      await Promise.all([bulk.close(), alone.close(), alert.close()]);
    }
  });

  it('tells the attempts of the process when leases go back (release or refund), until they unsubscribe', async () => {
    const g = gate();
    let woken = 0;
    const unsubscribe = g.onRelease(() => woken++);
    await g.release('microsoft', []);
    expect(woken).toBe(0);
    await g.release('microsoft', ['lease-of-another-attempt']);
    expect(woken).toBe(1);
    await g.refund('microsoft', { maxConnections: 2 }, 0, ['another-lease'], Date.now());
    expect(woken).toBe(2);
    unsubscribe();
    await g.release('microsoft', ['a-third-lease']);
    expect(woken).toBe(2);
  });

  it('a retired provider gives back the leases beyond its rows left at once, the rest as they end', async () => {
    const g = gate();
    const conns = new ProviderConnections(g, ctx.container.log, 'bulk', 4, () => {});
    const key = `${ctx.config.QUEUE_PREFIX}:pacing-test:provider:microsoft:leases`;
    try {
      expect((await conns.ensure('microsoft', 2, Date.now())).held).toBe(2);
      conns.claimed('microsoft', 2);
      expect(conns.use('microsoft') && conns.use('microsoft')).toBe(true);
      conns.settled('microsoft', true);
      // not retired: the attempt may claim more rows, both leases stay
      await sleep(20);
      expect(await ctx.container.redis.zcard(key)).toBe(2);
      conns.retire('microsoft');
      await sleep(20);
      expect(await ctx.container.redis.zcard(key)).toBe(1);
      conns.settled('microsoft', true);
      await sleep(20);
      expect(await ctx.container.redis.zcard(key)).toBe(0);
    } finally {
      await conns.close();
    }
  });
});
