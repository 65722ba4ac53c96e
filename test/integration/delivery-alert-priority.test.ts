import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { enqueueBatches, seedEdition, settled } from '../helpers/delivery-fixtures.js';

describe('breaking alerts go ahead of digest traffic', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    // one SMTP connection, a few rows per claim: digests and alerts compete for the same pipe
    ctx = await createTestContext({
      env: { SMTP_POOL_SIZE: '1', SEND_CONCURRENCY: '2', SEND_CLAIM_SIZE: '10' },
    });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('stops taking digest rows while alerts are pending, without rate limits', async () => {
    const digest = await seedEdition(ctx, { readers: 300, batchSize: 300 });
    const alert = await seedEdition(ctx, { readers: 60, batchSize: 60, kind: 'alert' });
    const alertRecipients = new Set(alert.readers.map((r) => r.email));
    await enqueueBatches(ctx, digest.editionId, [0]);
    await ctx.sink.waitFor(30);
    const atAlert = ctx.sink.received.length;
    await enqueueBatches(ctx, alert.editionId, [0], { queue: 'alerts' });

    await eventually(
      async () => ctx.sink.received.filter((m) => alertRecipients.has(m.to[0] ?? '')).length === 60,
      30_000,
    );
    const lastAlert = ctx.sink.received.findLastIndex((m) => alertRecipients.has(m.to[0] ?? ''));
    const digestsInBetween = ctx.sink.received
      .slice(atAlert, lastAlert + 1)
      .filter((m) => !alertRecipients.has(m.to[0] ?? '')).length;
    // only rows the digest had already claimed may go first: the chunk in flight, and one more
    // taken while the queue-depth probe (read at most every 100 ms) still said "no alerts"
    expect(digestsInBetween).toBeLessThanOrEqual(2 * 10 + 2);

    const rows = await settled(ctx, digest.editionId, 60_000);
    expect(rows.every((r) => r.state === 'sent')).toBe(true);
    expect(ctx.sink.received.length).toBe(360);
  }, 90_000);
});
