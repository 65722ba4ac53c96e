import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import {
  copiesByRecipient,
  enqueueBatches,
  ledger,
  seedEdition,
  settled,
} from '../helpers/delivery-fixtures.js';
import { publicationFile } from '../helpers/publication-file.js';
import { startDropProxy } from '../helpers/smtp-drop-proxy.js';

/**
 * A provider's connection storm (docs/delivery.md "Providers"): a real SMTP server behind a proxy
 * that cuts the connection whenever a RCPT TO names one domain's reader, after the envelope began
 * and before any byte of the body. Other domains' mail goes through the same relay meanwhile, so
 * the drops are that provider's: it backs off alone, its rows wait `pending` with no job attempt
 * spent, and once the drops stop and the pause is over its mail goes out, each reader once.
 */
describe('a connection storm at one provider', () => {
  let proxy: Awaited<ReturnType<typeof startDropProxy>>;
  let ctx: TestContext | undefined;
  beforeAll(async () => {
    proxy = await startDropProxy();
  });
  afterEach(async () => {
    proxy.cutAtRcptDomains.clear();
    await ctx?.close();
    ctx = undefined;
  });
  afterAll(async () => {
    await proxy?.close();
  });

  const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1);

  it('backs off only the provider whose transactions are cut; its rows stay pending, unspent', async () => {
    const c = await createTestContext({
      env: {
        SMTP_URL: proxy.url,
        SMTP_POOL_SIZE: '3',
        SEND_CONCURRENCY: '3',
        SEND_CLAIM_SIZE: '4',
        PROVIDER_BACKOFF_MS: '60000',
        PROVIDER_RECHECK_MS: '100',
        PROVIDER_RECOVER_AFTER: '2',
        PROVIDER_DROP_STORM: '3',
        PROVIDER_DROP_WINDOW_MS: '60000',
        // the domains' providers from the publication file: no DNS
        PUBLICATION_CONFIG: publicationFile({
          shaping: { domains: { 'stormy.test': 'stormy', 'calm.test': 'calm' } },
        }),
      },
    });
    ctx = c;
    proxy.setTarget(c.sink.port);
    proxy.cutAtRcptDomains.add('stormy.test');
    const { editionId } = await seedEdition(c, { readers: 24, batchSize: 12, language: 'en' });
    await c.db.query(
      `UPDATE deliveries SET recipient = split_part(recipient, '@', 1) || '@' ||
              (CASE WHEN id % 3 = 0 THEN 'stormy.test' ELSE 'calm.test' END)
        WHERE edition_id = $1`,
      [editionId],
    );
    await enqueueBatches(c, editionId, [0, 1]);

    // the other provider's readers are served; the stormy ones' rows (in flight at times) end pending
    const rows = await eventually(async () => {
      const all = await ledger(c, editionId);
      expect(all.filter((r) => r.state === 'sent')).toHaveLength(16);
      const stormy = all.filter((r) => domainOf(r.recipient) === 'stormy.test');
      expect(stormy).toHaveLength(8);
      expect(stormy.every((r) => r.state === 'pending')).toBe(true);
      return all;
    });
    expect(rows.filter((r) => r.state === 'failed' || r.state === 'ambiguous')).toEqual([]);
    // the provider backs off in Redis, for every process, with the reason
    const state = await eventually(async () => {
      const s = await c.container.providerGate.state('stormy');
      expect(s.level).toBe(1);
      return s;
    });
    expect(state.lastError).toMatch(/connection storm: 3 connections lost/);
    expect(Date.parse(state.until!)).toBeGreaterThan(c.clock.now().getTime());
    expect((await c.container.providerGate.state('calm')).level).toBe(0);
    // no job attempt was spent, none failed: they come back for the waiting rows
    const jobs = await c.container.queues.get('send').getJobs(['failed', 'delayed', 'waiting', 'active']);
    expect(jobs.length).toBeGreaterThan(0);
    for (const job of jobs) expect(job.attemptsMade).toBe(0);
    expect(await c.container.queues.get('send').getJobs(['failed'])).toEqual([]);
    // sending is not paused: it was the provider, not the relay
    expect(await c.container.queues.get('send').isPaused()).toBe(false);
    const metrics = await c.app.inject({ url: '/metrics' });
    expect(metrics.body).toMatch(/gazette_provider_throttles_total\{provider="stormy"\} 1/);

    // the storm ends and the pause runs out: the rows go out, each reader once, and it recovers
    proxy.cutAtRcptDomains.clear();
    c.clock.advance(61_000);
    const done = await settled(c, editionId);
    expect(done.every((r) => r.state === 'sent')).toBe(true);
    const copies = copiesByRecipient(c.sink.received);
    expect(copies.size).toBe(24);
    expect([...copies.values()].every((n) => n === 1)).toBe(true);
    await eventually(async () => {
      expect((await c.container.providerGate.state('stormy')).level).toBe(0);
      return true;
    });
  });
});
