import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStandardWebhook } from '../../src/articles/signatures.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import {
  copiesByRecipient,
  enqueueBatches,
  type LedgerRow,
  type SeededEdition,
  seedEdition,
  settled,
} from '../helpers/delivery-fixtures.js';
import { type GazetteProcess, startGazette } from '../helpers/gazette-process.js';
import { freePort, type OwnRedis, startOwnRedis } from '../helpers/own-redis.js';

/**
 * Redis losing its data under running Gazette processes (an API and a worker, the production entry
 * src/main.ts), against a redis-server of this test's own: wiped with FLUSHALL, then killed and
 * started again empty. Nothing is restarted on Gazette's side; the work PostgreSQL says is owed
 * must complete anyway, exactly once.
 */
const SECRET = `whsec_${Buffer.from('redis-loss-webhook-secret-0123').toString('base64')}`;
const TIMEOUT = 240_000;

describe('losing Redis data under running processes', { timeout: TIMEOUT }, () => {
  let redis: OwnRedis;
  let ctx: TestContext;
  let api: GazetteProcess;
  let worker: GazetteProcess;
  let base: string;

  beforeAll(async () => {
    redis = await startOwnRedis();
    // the processes use the system clock: keep the context's on real time
    ctx = await createTestContext({
      workers: false,
      now: new Date().toISOString(),
      env: { REDIS_URL: redis.url, WEBHOOK_SECRET_GENERIC: SECRET },
    });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const common = {
      REDIS_CHECK_INTERVAL_MS: '500',
      WEBHOOK_SECRET_GENERIC: SECRET,
      FORM_MIN_SUBMIT_SECONDS: '0',
    };
    [api, worker] = await Promise.all([
      startGazette('api', ctx.config, { ...common, PORT: String(port), HOST: '127.0.0.1' }, 'Gazette is up'),
      startGazette(
        'worker',
        ctx.config,
        {
          ...common,
          WORKER_QUEUES: 'all',
          // slow enough that the wipe lands mid-send, with batches done, sending and waiting
          SEND_RATE_PER_SECOND: '40',
          SEND_CONCURRENCY: '2',
          SEND_CLAIM_SIZE: '4',
        },
        'workers started',
      ),
    ]);
  }, TIMEOUT);

  afterAll(async () => {
    await Promise.all([api?.kill('SIGKILL'), worker?.kill('SIGKILL')]);
    await ctx?.close();
    await redis?.stop();
  });

  const diagnostics = () =>
    `\n--- worker\n${worker.output().slice(-3000)}\n--- api\n${api.output().slice(-2000)}`;

  function postEvent(externalId: string) {
    const body = JSON.stringify({
      type: 'article.published',
      data: {
        id: externalId,
        url: `https://almadar.example/ar/news/${externalId}`,
        title: 'انقطاع الكهرباء في ريف حلب يدخل يومه الثالث',
        summary: 'تواصل فرق الصيانة عملها لإعادة التيار إلى القرى المتضررة.',
        html: '<p>قالت مديرية الكهرباء إن الأعطال ستُصلح خلال يومين.</p>',
        categories: ['محليات'],
        language: 'ar',
        publishedAt: new Date().toISOString(),
        modifiedAt: new Date().toISOString(),
      },
    });
    const id = `msg_${randomUUID()}`;
    const ts = Math.floor(Date.now() / 1000);
    return fetch(`${base}/webhooks/generic`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(ts),
        'webhook-signature': signStandardWebhook(SECRET, id, ts, body),
      },
      body,
    });
  }

  const unprocessedEvents = async () =>
    (
      await ctx.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM article_events WHERE processed_at IS NULL',
      )
    ).rows[0]!.n;

  function expectExactlyOnce(ed: SeededEdition, rows: LedgerRow[]) {
    const mine = new Set(ed.readers.map((r) => r.email));
    const copies = copiesByRecipient(ctx.sink.received.filter((m) => mine.has(m.to[0]!)));
    for (const row of rows) {
      const n = copies.get(row.recipient) ?? 0;
      if (row.state === 'sent') expect(n, `${row.recipient} sent`).toBe(1);
      else {
        expect(row.state, `${row.recipient}: ${n} copies`).toBe('ambiguous');
        expect(n).toBeLessThanOrEqual(1);
      }
    }
    expect(Math.max(0, ...copies.values())).toBe(1);
  }

  /** Seeds an edition, enqueues its batches as the planner does, and waits until `atLeast` went out. */
  async function sendingEdition(readers: number, atLeast: number): Promise<SeededEdition> {
    const ed = await seedEdition(ctx, { readers, batchSize: 20 });
    await enqueueBatches(ctx, ed.editionId, [...Array(ed.batches).keys()]);
    const mine = new Set(ed.readers.map((r) => r.email));
    await eventually(
      async () => ctx.sink.received.filter((m) => mine.has(m.to[0]!)).length >= atLeast,
      60_000,
    ).catch((err) => {
      throw new Error(`${(err as Error).message}${diagnostics()}`);
    });
    return ed;
  }

  it('says on /readyz that this Redis keeps nothing over a restart, without failing readiness', async () => {
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; warnings?: string[] };
    expect(body.status).toBe('ready');
    expect(body.warnings?.join('\n')).toMatch(/redis has no persistence \(appendonly no, save ""\)/);
  });

  it('after a FLUSHALL mid-send, pending digests complete and accepted events are applied, without a restart', async () => {
    const ed = await sendingEdition(240, 40);
    // events the API accepted (202) whose jobs are still waiting in Redis when it is wiped
    const events = ctx.container.queues.get('article-events');
    await events.pause();
    for (let i = 0; i < 5; i++) expect((await postEvent(`flush-${i}`)).status).toBe(202);
    await eventually(async () => (await events.getWaitingCount()) >= 5);
    expect(await unprocessedEvents()).toBe(5);

    await redis.flushAll();

    const rows = await settled(ctx, ed.editionId, 90_000).catch((err) => {
      throw new Error(`${(err as Error).message}${diagnostics()}`);
    });
    expectExactlyOnce(ed, rows);
    await eventually(async () => (await unprocessedEvents()) === 0, 30_000);
    // the schedulers are back in Redis, as at boot
    const schedulers = async (q: 'digests' | 'article-events' | 'transactional') =>
      (await ctx.container.queues.get(q).getJobSchedulers()).map((s) => s.key);
    expect(await schedulers('digests')).toEqual(expect.arrayContaining(['planner', 'digests-maintenance']));
    expect(await schedulers('article-events')).toContain('article-events-sweep');
    expect(await schedulers('transactional')).toContain('transactional-sweep');
    expect(worker.output()).toMatch(/redis lost its data \(marker gone\)/);
    expect(api.output()).toMatch(/redis lost its data \(marker gone\)/);
    const ambiguous = rows.filter((r) => r.state === 'ambiguous').length;
    console.log(`FLUSHALL mid-send: ${rows.length} rows, ${ambiguous} ambiguous, 0 duplicates`);
  });

  it('after a wipe, a batch a killed worker left only `sending` (its successor job lost with Redis) is settled', async () => {
    const ed = await seedEdition(ctx, { readers: 30, batchSize: 20 });
    // batch 0 as a SIGKILLed worker leaves it, its claim long expired; batch 1 still pending; the
    // jobs that would have settled them were in Redis
    await ctx.db.query(`UPDATE editions SET state = 'sending' WHERE id = $1`, [ed.editionId]);
    await ctx.db.query(
      `UPDATE deliveries SET state = 'sending', claim_token = 'killed-worker-claim', claimed_at = now() - interval '1 hour'
        WHERE edition_id = $1 AND batch_no = 0`,
      [ed.editionId],
    );

    await redis.flushAll();

    const rows = await settled(ctx, ed.editionId, 60_000).catch((err) => {
      throw new Error(`${(err as Error).message}${diagnostics()}`);
    });
    // its hand-off log went with Redis: whether those left is unknown, so ambiguous, never resent
    expect(rows.filter((r) => r.batch_no === 0).map((r) => r.state)).toEqual(Array(20).fill('ambiguous'));
    expect(rows.filter((r) => r.batch_no === 1).map((r) => r.state)).toEqual(Array(10).fill('sent'));
    const mine = new Set(ed.readers.map((r) => r.email));
    const copies = copiesByRecipient(ctx.sink.received.filter((m) => mine.has(m.to[0]!)));
    for (const row of rows)
      expect(copies.get(row.recipient) ?? 0, row.recipient).toBe(row.batch_no === 0 ? 0 : 1);
  });

  it('after Redis is killed and started empty, digests and events complete, and a subscribe made meanwhile gets its confirmation', async () => {
    const ed = await sendingEdition(240, 40);
    await redis.stop();

    // the reader is stored and the answer is the usual 202; the mail waits for Redis
    const email = `qari-${randomUUID().slice(0, 8)}@example.org`;
    const sub = await fetch(`${base}/api/v1/subscriptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, language: 'ar', name: 'سلمى' }),
    });
    expect(sub.status).toBe(202);
    const { rows: pending } = await ctx.db.query<{ state: string }>(
      `SELECT d.state FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
        WHERE s.email = $1 AND d.kind = 'confirmation'`,
      [email],
    );
    expect(pending).toEqual([{ state: 'pending' }]);
    // a CMS event during the outage is stored and accepted too
    expect((await postEvent('outage-1')).status).toBe(202);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);

    await redis.start();

    const confirmation = await eventually(
      async () => ctx.sink.received.find((m) => m.to.includes(email)),
      60_000,
    ).catch((err) => {
      throw new Error(`${(err as Error).message}${diagnostics()}`);
    });
    expect(confirmation.parsed.html).toContain('dir="rtl"');
    const rows = await settled(ctx, ed.editionId, 90_000).catch((err) => {
      throw new Error(`${(err as Error).message}${diagnostics()}`);
    });
    expectExactlyOnce(ed, rows);
    await eventually(async () => (await unprocessedEvents()) === 0, 30_000);
    expect(ctx.sink.received.filter((m) => m.to.includes(email))).toHaveLength(1);
    const ambiguous = rows.filter((r) => r.state === 'ambiguous').length;
    console.log(`kill + restart empty mid-send: ${rows.length} rows, ${ambiguous} ambiguous, 0 duplicates`);
  });
});
