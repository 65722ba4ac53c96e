import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import {
  copiesByRecipient,
  enqueueBatches,
  ledger,
  seedEdition,
  settled,
} from '../helpers/delivery-fixtures.js';
import { startDnsServer } from '../helpers/dns-server.js';
import type { SinkHooks } from '../helpers/smtp-sink.js';
import { smtpError } from '../helpers/smtp-sink.js';

/**
 * Traffic shaping per receiving provider (docs/delivery.md "Providers"), end to end: readers'
 * domains are grouped by MX through a real DNS server in the test process, the SMTP sink throttles
 * per recipient domain, and the ledger shows the throttled provider's rows waiting `pending`
 * (never failed, no job attempt spent) while the other providers' rows are sent.
 */
const DOMAINS = ['gmailish.test', 'plain.test', 'dead.test', 'msish.test'] as const;

describe('traffic shaping per receiving provider', () => {
  let dns: Awaited<ReturnType<typeof startDnsServer>>;
  let ctx: TestContext | undefined;

  beforeAll(async () => {
    dns = await startDnsServer({
      mx: {
        'gmailish.test': ['alt1.aspmx.l.google.com', 'aspmx.l.google.com'],
        'msish.test': ['msish-test.mail.protection.outlook.com'],
        'plain.test': ['mx.plain.test'],
      },
      // a DNS that never answers for this domain: its readers must still get their mail
      silent: ['dead.test'],
    });
  });
  afterEach(async () => {
    await ctx?.close();
    ctx = undefined;
  });
  afterAll(async () => {
    await dns?.close();
  });

  async function start(env: Record<string, string>, smtp: SinkHooks) {
    ctx = await createTestContext({
      smtp,
      env: {
        MX_DNS_SERVERS: dns.server,
        MX_LOOKUP_TIMEOUT_MS: '200',
        PROVIDER_BACKOFF_MS: '60000',
        PROVIDER_RECHECK_MS: '100',
        PROVIDER_RECOVER_AFTER: '3',
        SMTP_POOL_SIZE: '4',
        ...env,
      },
    });
    return ctx;
  }

  /** An edition whose readers are spread over the domains in turn. */
  async function seedSpread(c: TestContext, readers: number, batchSize: number, domains: readonly string[]) {
    const seeded = await seedEdition(c, { readers, batchSize, language: 'en' });
    await c.db.query(
      `UPDATE deliveries SET recipient = split_part(recipient, '@', 1) || '@' || ($2::text[])[(id % $3) + 1]
        WHERE edition_id = $1`,
      [seeded.editionId, domains, domains.length],
    );
    return seeded;
  }

  const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1);

  it('backs off only the provider that throttles: its rows wait pending, the others are sent', async () => {
    let throttle = true;
    let refused = 0;
    const c = await start(
      {},
      {
        onRcpt(address) {
          if (throttle && domainOf(address) === 'gmailish.test') {
            refused++;
            return smtpError(421, '4.7.28 Our system has detected an unusual rate of unsolicited mail');
          }
          return undefined;
        },
      },
    );
    const domains = DOMAINS.slice(0, 3);
    const { editionId, batches } = await seedSpread(c, 30, 10, domains);
    await enqueueBatches(
      c,
      editionId,
      Array.from({ length: batches }, (_, b) => b),
    );

    // every reader of the two other providers is served while gmail throttles
    await c.sink.waitFor(20);
    await eventually(async () => {
      const rows = await ledger(c, editionId);
      const gmail = rows.filter((r) => domainOf(r.recipient) === 'gmailish.test');
      expect(gmail).toHaveLength(10);
      expect(gmail.map((r) => r.state)).toEqual(gmail.map(() => 'pending'));
      // the sink has the others' messages; their outcomes are written within a flush
      expect(rows.filter((r) => r.state === 'sent')).toHaveLength(20);
      return rows;
    });
    expect(refused).toBeGreaterThan(0);
    const rows = await ledger(c, editionId);
    expect(rows.filter((r) => r.state === 'failed')).toEqual([]);
    for (const r of rows.filter((x) => domainOf(x.recipient) !== 'gmailish.test'))
      expect(r.state).toBe('sent');
    // the jobs wait without spending attempts: none failed, none retried
    const jobs = await c.container.queues
      .get('send')
      .getJobs(['failed', 'delayed', 'waiting', 'active', 'completed']);
    expect(jobs).toHaveLength(3);
    for (const job of jobs) {
      // they come back every PROVIDER_RECHECK_MS: never completed with rows owed, never failed
      expect(['delayed', 'active', 'waiting']).toContain(await job.getState());
      expect(job.attemptsMade).toBe(0);
    }
    expect(await c.container.queues.get('send').getJobs(['failed'])).toEqual([]);

    // the operator sees the backoff, in the admin API and the metrics
    const api = await c.app.inject({ url: '/api/v1/sending/providers', headers: c.adminHeaders });
    expect(api.statusCode).toBe(200);
    const gmailState = api.json().providers.find((p: { provider: string }) => p.provider === 'gmail');
    expect(gmailState).toMatchObject({ provider: 'gmail', level: 1, throttles: 1 });
    expect(Date.parse(gmailState.until)).toBeGreaterThan(c.clock.now().getTime());
    const metrics = await c.app.inject({ url: '/metrics' });
    expect(metrics.body).toMatch(/gazette_provider_throttles_total\{provider="gmail"\} \d/);
    expect(metrics.body).toMatch(/gazette_provider_backoff_level\{provider="gmail",paused="yes"\} 1/);
    // the dead DNS made dead.test its own provider, remembered with the error
    const cached = await c.db.query<{ domain: string; provider: string; error: string | null }>(
      'SELECT domain, provider, error FROM provider_domains ORDER BY domain',
    );
    expect(cached.rows.map((r) => [r.domain, r.provider, r.error !== null])).toEqual([
      ['dead.test', 'dead.test', true],
      ['gmailish.test', 'gmail', false],
      ['plain.test', 'plain.test', false],
    ]);

    // the pause ends: gmail's rows are sent, each reader exactly once, and the level recovers
    throttle = false;
    c.clock.advance(61_000);
    const done = await settled(c, editionId);
    expect(done.every((r) => r.state === 'sent')).toBe(true);
    const copies = copiesByRecipient(c.sink.received);
    expect(copies.size).toBe(30);
    expect([...copies.values()].every((n) => n === 1)).toBe(true);
    expect((await c.container.providerGate.state('gmail')).level).toBe(0);
  });

  it('holds a provider to its hourly limit from the publication or env, in every process alike', async () => {
    const c = await start({ PROVIDER_LIMITS: JSON.stringify({ gmail: { perHour: 4 } }) }, {});
    const { editionId, batches } = await seedSpread(c, 24, 6, ['gmailish.test', 'plain.test']);
    await enqueueBatches(
      c,
      editionId,
      Array.from({ length: batches }, (_, b) => b),
    );
    await c.sink.waitFor(16);
    await eventually(async () => {
      const rows = await ledger(c, editionId);
      expect(rows.filter((r) => r.state === 'sent')).toHaveLength(16);
      expect(rows.filter((r) => r.state === 'pending')).toHaveLength(8);
      return true;
    });
    const sentTo = c.sink.received.map((m) => domainOf(m.to[0]!));
    expect(sentTo.filter((d) => d === 'gmailish.test')).toHaveLength(4);
    // each next clock hour has room for four more
    c.clock.advance(3_600_000);
    await c.sink.waitFor(20);
    c.clock.advance(3_600_000);
    const done = await settled(c, editionId);
    expect(done.every((r) => r.state === 'sent')).toBe(true);
    expect(copiesByRecipient(c.sink.received).size).toBe(24);
  });

  it('keeps a provider to its connection limit while others use the whole pool', async () => {
    const active = new Map<string, number>();
    let most = 0;
    let mostOthers = 0;
    const c = await start(
      { PROVIDER_LIMITS: JSON.stringify({ microsoft: { maxConnections: 1 } }), SMTP_POOL_SIZE: '4' },
      {
        onRcpt(address, session) {
          const d = domainOf(address);
          (session as unknown as { rcptDomain: string }).rcptDomain = d;
          active.set(d, (active.get(d) ?? 0) + 1);
          if (d === 'msish.test') most = Math.max(most, active.get(d)!);
          else mostOthers = Math.max(mostOthers, active.get(d)!);
          return undefined;
        },
        onData(_raw, session) {
          const d = (session as unknown as { rcptDomain: string }).rcptDomain;
          active.set(d, (active.get(d) ?? 1) - 1);
          return undefined;
        },
        // slow replies, so messages overlap whenever Gazette lets them
        replyDelayMs: () => 30,
      },
    );
    const { editionId, batches } = await seedSpread(c, 32, 16, ['msish.test', 'plain.test']);
    await enqueueBatches(
      c,
      editionId,
      Array.from({ length: batches }, (_, b) => b),
    );
    const done = await settled(c, editionId);
    expect(done.every((r) => r.state === 'sent')).toBe(true);
    expect(copiesByRecipient(c.sink.received).size).toBe(32);
    expect(most).toBe(1);
    expect(mostOthers).toBeGreaterThan(1);
  });

  it("takes a connection-limited provider's leases once per chunk, not once per message", async () => {
    let open = 0;
    let most = 0;
    const c = await start(
      { PROVIDER_LIMITS: JSON.stringify({ microsoft: { maxConnections: 2 } }), SMTP_POOL_SIZE: '4' },
      {
        onRcpt(address) {
          if (domainOf(address) === 'msish.test') most = Math.max(most, ++open);
          return undefined;
        },
        onData(_raw, session) {
          const to = session.envelope.rcptTo[0]?.address ?? '';
          if (domainOf(to) === 'msish.test') open--;
          return undefined;
        },
        replyDelayMs: () => 5,
      },
    );
    // one batch of 80 readers, 40 of them at the connection-limited provider
    const { editionId, batches } = await seedSpread(c, 80, 80, ['msish.test', 'plain.test']);
    await enqueueBatches(
      c,
      editionId,
      Array.from({ length: batches }, (_, b) => b),
    );
    const done = await settled(c, editionId);
    expect(done.every((r) => r.state === 'sent')).toBe(true);
    expect(copiesByRecipient(c.sink.received).size).toBe(80);
    expect(most).toBeLessThanOrEqual(2);
    // leases are numbered in Redis as they are taken: a lease per message took 40 (and each cost
    // the message a claim of its own); kept over the attempt's chunk of rows, a handful
    const taken = Number(
      await c.container.redis.hget(`${c.config.QUEUE_PREFIX}:provider:microsoft`, 'leaseSeq'),
    );
    expect(taken).toBeGreaterThan(0);
    expect(taken).toBeLessThanOrEqual(10);
    // and every lease went back when the attempt was done
    expect(await c.container.redis.zcard(`${c.config.QUEUE_PREFIX}:provider:microsoft:leases`)).toBe(0);
  });

  it("closes a connection once it carried a provider's messagesPerConnection, not other providers' mail", async () => {
    const carried = new Map<string, { ms: number; others: number }>();
    const c = await start(
      { PROVIDER_LIMITS: JSON.stringify({ microsoft: { messagesPerConnection: 3 } }), SMTP_POOL_SIZE: '2' },
      {
        onRcpt(address, session) {
          const n = carried.get(session.id) ?? { ms: 0, others: 0 };
          if (domainOf(address) === 'msish.test') n.ms++;
          else n.others++;
          carried.set(session.id, n);
          return undefined;
        },
      },
    );
    // a quarter of the readers at Microsoft
    const { editionId } = await seedSpread(c, 40, 40, [
      'msish.test',
      'plain.test',
      'plain.test',
      'plain.test',
    ]);
    await enqueueBatches(c, editionId, [0]);
    const done = await settled(c, editionId);
    expect(done.every((r) => r.state === 'sent')).toBe(true);
    expect(copiesByRecipient(c.sink.received).size).toBe(40);
    const sessions = [...carried.values()];
    expect(sessions.reduce((sum, n) => sum + n.ms, 0)).toBe(10);
    expect(Math.max(...sessions.map((n) => n.ms))).toBeLessThanOrEqual(3);
    // the others' messages do not count: a connection carried more of them than the limit
    expect(Math.max(...sessions.map((n) => n.others))).toBeGreaterThan(3);
  });

  it("comes back for a paced provider's rows handed back while starving, even its last ones", async () => {
    // two job slots and six batches: fresh batches wait, so a batch whose paced rows wait for
    // Gmail's tokens 250 ms hands them back and ends; it must come back for them (before, when
    // it had claimed the provider's last rows, the batch ended done and they waited for the
    // five-minute maintenance)
    const c = await start(
      { PROVIDER_LIMITS: JSON.stringify({ gmail: { perSecond: 4 } }), SEND_BATCH_JOBS: '2' },
      {},
    );
    const { editionId, batches } = await seedSpread(c, 24, 4, ['gmailish.test', 'plain.test']);
    await enqueueBatches(
      c,
      editionId,
      Array.from({ length: batches }, (_, b) => b),
    );
    const done = await settled(c, editionId, 15_000);
    expect(done.every((r) => r.state === 'sent')).toBe(true);
    expect(copiesByRecipient(c.sink.received).size).toBe(24);
  });
});
