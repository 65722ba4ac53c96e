import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import {
  copiesByRecipient,
  editionRow,
  enqueueBatches,
  ledger,
  seedEdition,
  settled,
} from '../helpers/delivery-fixtures.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

/**
 * A relay outage does not fail readers for good (issue 15). The workers reach the SMTP sink through
 * a proxy the test takes away: connections are refused, as from a relay that is down. The job
 * retries are 100 ms apart here (8 attempts), so the old behaviour failed every reader within about
 * a second; the outage below lasts several times that, which is what a 5-minute outage is to the
 * default 2 s exponential backoff. Timings are configuration: the relay probe runs every 200 ms.
 */
const MAX_AGE_S = 3600;

describe('a relay outage', { timeout: 90_000 }, () => {
  let ctx: TestContext;
  let relay: Awaited<ReturnType<typeof startTcpProxy>>;

  beforeAll(async () => {
    relay = await startTcpProxy(0);
    ctx = await createTestContext({
      env: {
        SMTP_URL: relay.url,
        RELAY_PROBE_INTERVAL_MS: '200',
        DIGEST_MAX_AGE_SECONDS: String(MAX_AGE_S),
      },
    });
    relay.setTarget(ctx.sink.port);
  });
  afterAll(async () => {
    await ctx?.close();
    await relay?.close();
  });

  const sendingStatus = async () =>
    (await ctx.app.inject({ method: 'GET', url: '/api/v1/sending', headers: ctx.adminHeaders })).json() as {
      paused: boolean;
      reason: string | null;
    };

  it('pauses sending, keeps every reader pending without spending attempts, and resumes by itself', async () => {
    await relay.stop();
    const ed = await seedEdition(ctx, { readers: 40, batchSize: 10 });
    await enqueueBatches(ctx, ed.editionId, [0, 1, 2, 3]);

    const paused = await eventually(async () => {
      const s = await sendingStatus();
      return s.paused ? s : undefined;
    }, 20_000);
    expect(paused.reason).toMatch(/relay cannot be reached/);
    // many job retries' worth of outage: nobody fails, nothing is left claimed
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      const rows = await ledger(ctx, ed.editionId);
      expect(rows.filter((r) => r.state === 'failed')).toHaveLength(0);
      expect((await sendingStatus()).paused).toBe(true);
    }
    const jobs = await ctx.container.queues.get('send').getJobs(['failed']);
    expect(jobs).toHaveLength(0);

    await relay.resume();
    const rows = await settled(ctx, ed.editionId, 30_000);
    expect(rows.map((r) => r.state)).toEqual(Array(40).fill('sent'));
    const copies = copiesByRecipient(
      ctx.sink.received.filter((m) => ed.readers.some((r) => r.email === m.to[0])),
    );
    for (const reader of ed.readers) expect(copies.get(reader.email), reader.email).toBe(1);
    expect((await sendingStatus()).paused).toBe(false);
    expect((await editionRow(ctx, ed.editionId)).final_counts).toMatchObject({ sent: 40, failed: 0 });
  });

  it('fails the rows of a digest only once it is older than DIGEST_MAX_AGE_SECONDS', async () => {
    await relay.stop();
    const ed = await seedEdition(ctx, { readers: 6, batchSize: 6 });
    await enqueueBatches(ctx, ed.editionId, [0]);
    await eventually(async () => (await sendingStatus()).paused, 20_000);
    // the outage outlives the digest
    await ctx.db.query('UPDATE editions SET due_at = $2 WHERE id = $1', [
      ed.editionId,
      new Date(ctx.clock.now().getTime() - (MAX_AGE_S + 60) * 1000),
    ]);
    await relay.resume();
    const rows = await settled(ctx, ed.editionId, 30_000);
    expect(rows.map((r) => r.state)).toEqual(Array(6).fill('failed'));
    for (const row of rows) expect(row.error).toMatch(/digest expired/);
    expect(ctx.sink.received.filter((m) => ed.readers.some((r) => r.email === m.to[0]))).toHaveLength(0);
  });
});
