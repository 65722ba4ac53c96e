import { afterEach, describe, expect, it } from 'vitest';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { copiesByRecipient, enqueueBatches, ledger, seedEdition } from '../helpers/delivery-fixtures.js';
import { publicationFile } from '../helpers/publication-file.js';

/**
 * Warm-up end to end (docs/delivery.md "Providers"): a provider with a daily cap that grows gets
 * exactly the day's cap, on the injected clock; its other rows wait `pending` (never failed, no job
 * attempt spent) while another provider's readers are all served; each next day the grown cap goes
 * out, and nothing twice.
 */
describe('warm-up of a new sending domain at one provider', () => {
  let ctx: TestContext | undefined;
  afterEach(async () => {
    await ctx?.close();
    ctx = undefined;
  });

  const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1);

  it("sends the day's cap, keeps the rest pending, and the grown cap the next day", async () => {
    const c = await createTestContext({
      now: '2026-11-29T08:00:00Z',
      env: {
        SEND_CLAIM_SIZE: '4',
        PROVIDER_RECHECK_MS: '100',
        // held rows wait across days here; a real daily digest would expire first (see the docs)
        DIGEST_MAX_AGE_SECONDS: String(4 * 86_400),
        PUBLICATION_CONFIG: publicationFile({
          shaping: {
            domains: { 'warm.test': 'warmish', 'plain.test': 'plainish' },
            // day 0 (the 29th): 5, day 1: 10, day 2: 20
            providers: { warmish: { warmup: { since: '2026-11-29', start: 5, growth: 2 } } },
          },
        }),
      },
    });
    ctx = c;
    const { editionId } = await seedEdition(c, { readers: 40, batchSize: 10, language: 'en' });
    await c.db.query(
      `UPDATE deliveries SET recipient = split_part(recipient, '@', 1) || '@' ||
              (CASE WHEN id % 2 = 0 THEN 'warm.test' ELSE 'plain.test' END)
        WHERE edition_id = $1`,
      [editionId],
    );
    // due on the test's clock, so the digest is not expired by the days the test moves on
    await c.db.query('UPDATE editions SET due_at = $2 WHERE id = $1', [editionId, c.clock.now()]);
    await enqueueBatches(c, editionId, [0, 1, 2, 3]);

    const sentWarm = async (n: number) =>
      eventually(async () => {
        const rows = await ledger(c, editionId);
        const warm = rows.filter((r) => domainOf(r.recipient) === 'warm.test');
        expect(warm.filter((r) => r.state === 'sent')).toHaveLength(n);
        expect(warm.filter((r) => r.state === 'pending')).toHaveLength(20 - n);
        return rows;
      });

    // day 0: every plain reader, exactly five warm ones
    const day0 = await eventually(async () => {
      const rows = await sentWarm(5);
      expect(rows.filter((r) => domainOf(r.recipient) === 'plain.test' && r.state === 'sent')).toHaveLength(
        20,
      );
      return rows;
    });
    expect(day0.filter((r) => r.state === 'failed' || r.state === 'ambiguous')).toEqual([]);
    // the jobs come back for the waiting rows without spending an attempt
    for (const job of await c.container.queues
      .get('send')
      .getJobs(['delayed', 'waiting', 'active', 'failed']))
      expect(job.attemptsMade).toBe(0);
    expect(await c.container.queues.get('send').getJobs(['failed'])).toEqual([]);
    // the sink has exactly those, and the provider's day counter in Redis (every process's) is full
    await c.sink.waitFor(25);
    expect(c.sink.received.filter((m) => domainOf(m.to[0]!) === 'warm.test')).toHaveLength(5);
    const day = Math.floor(c.clock.now().getTime() / 86_400_000);
    expect(await c.container.redis.get(`${c.config.QUEUE_PREFIX}:provider:warmish:day:${day}`)).toBe('5');

    // day 1: the cap has doubled to ten
    c.clock.advance(86_400_000);
    await sentWarm(15);
    // day 2: twenty, more than is left
    c.clock.advance(86_400_000);
    const done = await sentWarm(20);
    expect(done.every((r) => r.state === 'sent')).toBe(true);
    const copies = copiesByRecipient(c.sink.received);
    expect(copies.size).toBe(40);
    expect([...copies.values()].every((n) => n === 1)).toBe(true);
  });
});
