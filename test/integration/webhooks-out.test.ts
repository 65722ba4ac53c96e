import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/pool.js';
import { finalizeEdition } from '../../src/delivery/delivery-batch-store.js';
import { recordSubscriberEvent } from '../../src/outbox/subscriber-events.js';
import { createWebhookSender } from '../../src/outbox/webhook-sender.js';
import { newNonce } from '../../src/security/tokens.js';
import { recoverOwedWork } from '../../workers/index.js';
import { webhooksSweepScheduler } from '../../workers/webhooks-worker.js';
import { createTestContext, deleteRedisPrefix, eventually, type TestContext } from '../helpers/context.js';
import { enqueueBatches, seedEdition, settled } from '../helpers/delivery-fixtures.js';
import { addReader } from '../helpers/digest-fixtures.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';
import { startWorkerProcess } from '../helpers/worker-process.js';

const ENV = {
  FETCH_ALLOWED_HOSTS: '127.0.0.1',
  WEBHOOK_OUT_RETRY_BASE_MS: '100',
  WEBHOOK_OUT_SWEEP_INTERVAL_MS: '200',
  WEBHOOK_OUT_ATTEMPTS: '6',
  WEBHOOK_OUT_TIMEOUT_MS: '500',
};
type Receiver = Awaited<ReturnType<typeof startWebhookReceiver>>;

async function addEndpoint(ctx: TestContext, url: string, events: string[]) {
  const res = await ctx.app.inject({
    method: 'POST',
    url: '/api/v1/webhook-endpoints',
    headers: ctx.adminHeaders,
    payload: { url, events },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; secret: string };
}

async function pendingReader(ctx: TestContext, email: string) {
  const id = await addReader(ctx, { email, status: 'pending', language: 'ar' });
  const nonce = newNonce();
  await ctx.db.query('UPDATE subscribers SET confirm_nonce = $2 WHERE id = $1', [id, nonce]);
  const token = ctx.container.tokens.confirm({
    subscriberId: id,
    nonce,
    expiresAt: new Date(ctx.clock.now().getTime() + 3600_000),
  });
  return { id, confirm: () => ctx.app.inject({ method: 'POST', url: `/confirm/${token}` }) };
}

const unsubscribe = (ctx: TestContext, id: string) =>
  ctx.app.inject({
    method: 'POST',
    url: `/unsubscribe/${ctx.container.tokens.unsubscribe(id)}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'List-Unsubscribe=One-Click',
  });

describe('events back to the CMS (Standard Webhooks)', () => {
  let ctx: TestContext;
  let receivers: Receiver[] = [];
  beforeAll(async () => {
    // the signature's timestamp is checked against the receiver's wall clock
    ctx = await createTestContext({ env: ENV, now: new Date().toISOString() });
    // the sweep hands stored events to the queue (main.ts sets the schedulers up in production)
    await webhooksSweepScheduler(ctx.container);
  });
  afterEach(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    receivers = [];
  });
  afterAll(async () => ctx?.close());

  it('signs confirmed and unsubscribed events so the reference library verifies them; logs each attempt', async () => {
    const receiver = await startWebhookReceiver();
    receivers.push(receiver);
    const ep = await addEndpoint(ctx, receiver.url(), ['subscriber.confirmed', 'subscriber.unsubscribed']);
    expect(ep.secret).toMatch(/^whsec_/);
    const reader = await pendingReader(ctx, 'webhook-reader@example.com');
    expect((await reader.confirm()).statusCode).toBe(200);
    await eventually(async () => receiver.received.length === 1);
    expect((await unsubscribe(ctx, reader.id)).statusCode).toBeLessThan(400);
    await eventually(async () => receiver.received.length === 2);

    const wh = new Webhook(ep.secret);
    const bodies = receiver.received.map((r) => wh.verify(r.body, r.headers as Record<string, string>));
    expect(bodies).toMatchObject([
      {
        type: 'subscriber.confirmed',
        data: { subscriberId: reader.id, email: 'webhook-reader@example.com' },
      },
      { type: 'subscriber.unsubscribed', data: { subscriberId: reader.id, language: 'ar' } },
    ]);
    // a tampered body does not verify
    expect(() =>
      wh.verify(
        receiver.received[0]!.body.replace('ar', 'en'),
        receiver.received[0]!.headers as Record<string, string>,
      ),
    ).toThrow();

    // the log row is written once the worker has the answer
    const items = await eventually(async () => {
      const log = await ctx.app.inject({
        url: `/api/v1/webhook-endpoints/${ep.id}/deliveries`,
        headers: ctx.adminHeaders,
      });
      const list = log.json().items;
      return list.length === 2 && list;
    });
    expect(items).toMatchObject([
      { type: 'subscriber.unsubscribed', status: 200, state: 'delivered', attempt: 1 },
      { type: 'subscriber.confirmed', status: 200, state: 'delivered', attempt: 1 },
    ]);
    await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/webhook-endpoints/${ep.id}/disable`,
      headers: ctx.adminHeaders,
    });
    // erasure takes the reader's events (and their log) with it
    const erased = await ctx.container.readerData.erase(reader.id, 'test');
    expect(erased.details).toMatchObject({ webhookEvents: 2 });
    const left = await ctx.db.query(
      'SELECT count(*)::int AS n FROM outbox_events WHERE payload::text LIKE $1',
      ['%webhook-reader@example.com%'],
    );
    expect(left.rows[0].n).toBe(0);
  });

  it('reports a hard bounce, a complaint and a sent edition, each once', async () => {
    const receiver = await startWebhookReceiver();
    receivers.push(receiver);
    const ep = await addEndpoint(ctx, receiver.url('/all'), [
      'subscriber.bounced',
      'subscriber.complained',
      'edition.sent',
    ]);
    const bounced = await addReader(ctx, { email: 'bounced@example.com' });
    const complained = await addReader(ctx, { email: 'complained@example.com' });
    const report = { source: 'postmark' as const, occurredAt: ctx.clock.now() };
    await ctx.container.bounces.record({
      ...report,
      eventId: 'b1',
      class: 'hard',
      recipient: 'bounced@example.com',
    });
    // the same report again suppresses nothing new, so it reports nothing new
    await ctx.container.bounces.record({
      ...report,
      eventId: 'b1',
      class: 'hard',
      recipient: 'bounced@example.com',
    });
    await ctx.container.bounces.record({
      ...report,
      eventId: 'c1',
      class: 'complaint',
      recipient: 'complained@example.com',
    });
    const ed = await seedEdition(ctx, { readers: 2, batchSize: 2 });
    await enqueueBatches(ctx, ed.editionId, [0]);
    await settled(ctx, ed.editionId);
    await eventually(async () => receiver.received.length >= 3);
    // a recount of the sent edition (as after a late batch) is not a second edition.sent
    expect(await finalizeEdition(ctx.db, ed.editionId, ctx.clock.now())).toMatchObject({ sent: 2 });
    const wh = new Webhook(ep.secret);
    await eventually(async () => {
      const { rows } = await ctx.db.query(
        `SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND state <> 'delivered'`,
        [ep.id],
      );
      return rows[0].n === 0;
    });
    const events = receiver.received.map((r) => wh.verify(r.body, r.headers as Record<string, string>));
    expect(events).toHaveLength(3);
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          type: 'subscriber.bounced',
          data: expect.objectContaining({ subscriberId: bounced }),
        }),
        expect.objectContaining({
          type: 'subscriber.complained',
          data: expect.objectContaining({ subscriberId: complained }),
        }),
        expect.objectContaining({
          type: 'edition.sent',
          data: expect.objectContaining({
            editionId: ed.editionId,
            counts: expect.objectContaining({ sent: 2 }),
          }),
        }),
      ]),
    );
    await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/webhook-endpoints/${ep.id}/disable`,
      headers: ctx.adminHeaders,
    });
  });

  it('does not post to a private address unless its host is allowed', async () => {
    const inside = await startWebhookReceiver();
    receivers.push(inside);
    const ep = await addEndpoint(ctx, inside.url('/inside'), ['subscriber.unsubscribed']);
    const reader = await pendingReader(ctx, 'ssrf@example.com');
    // a sender without FETCH_ALLOWED_HOSTS, on the same database; the context's own workers
    // (which allow 127.0.0.1) are paused meanwhile, so only this sender's attempt counts
    const queue = ctx.container.queues.get('webhooks');
    await queue.pause();
    await unsubscribe(ctx, reader.id);
    const { rows } = await ctx.db.query('SELECT id FROM webhook_deliveries WHERE endpoint_id = $1', [ep.id]);
    const guarded = createWebhookSender({
      db: ctx.db,
      clock: ctx.clock,
      log: ctx.container.log,
      allowedHosts: new Set(),
      timeoutMs: 500,
    });
    const out = await guarded.deliver(Number(rows[0].id), false);
    expect(out).toMatchObject({ outcome: 'failed', error: expect.stringContaining('non-public address') });
    expect(inside.received).toHaveLength(0);
    await queue.resume();
    await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/webhook-endpoints/${ep.id}/disable`,
      headers: ctx.adminHeaders,
    });
  });

  it('refuses bad endpoint input by name and stores nothing', async () => {
    const post = (payload: Record<string, unknown>) =>
      ctx.app.inject({
        method: 'POST',
        url: '/api/v1/webhook-endpoints',
        headers: ctx.adminHeaders,
        payload,
      });
    const before = (
      await ctx.app.inject({ url: '/api/v1/webhook-endpoints', headers: ctx.adminHeaders })
    ).json();
    for (const [payload, field] of [
      [{ url: 'not a url', events: ['edition.sent'] }, 'url'],
      [{ url: 'ftp://cms.example/x', events: ['edition.sent'] }, 'url'],
      [{ url: 'https://cms.example/x', events: ['article.read'] }, 'events'],
      [{ url: 'https://cms.example/x', events: [] }, 'events'],
    ] as const) {
      const res = await post(payload);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json()).toMatchObject({
        error: expect.any(String),
        message: expect.stringContaining(field),
      });
    }
    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const path of ['disable', 'rotate-secret']) {
      const res = await ctx.app.inject({
        method: 'POST',
        url: `/api/v1/webhook-endpoints/${unknown}/${path}`,
        headers: ctx.adminHeaders,
      });
      expect(res.statusCode).toBe(404);
    }
    expect((await ctx.app.inject({ url: '/api/v1/webhook-endpoints' })).statusCode).toBe(401);
    expect(
      (await ctx.app.inject({ url: '/api/v1/webhook-endpoints', headers: ctx.adminHeaders })).json(),
    ).toEqual(before);
  });

  it('writes no event when the transaction of the change rolls back', async () => {
    const reader = await pendingReader(ctx, 'rollback@example.com');
    const sub = { id: reader.id, email: 'rollback@example.com', language: 'ar' };
    const count = async () =>
      (
        await ctx.db.query(
          `SELECT count(*)::int AS n FROM outbox_events WHERE payload->>'subscriberId' = $1`,
          [reader.id],
        )
      ).rows[0].n as number;
    await expect(
      withTransaction(ctx.db, async (tx) => {
        await recordSubscriberEvent(tx, 'subscriber.unsubscribed', sub, {}, ctx.clock.now());
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await count()).toBe(0);
    await withTransaction(ctx.db, (tx) =>
      recordSubscriberEvent(tx, 'subscriber.unsubscribed', sub, {}, ctx.clock.now()),
    );
    expect(await count()).toBe(1);
  });

  it('disables an endpoint that answers 410 and sends it nothing more', async () => {
    const gone = await startWebhookReceiver(() => 410);
    receivers.push(gone);
    const ep = await addEndpoint(ctx, gone.url('/gone'), ['subscriber.confirmed']);
    const a = await pendingReader(ctx, 'gone-a@example.com');
    await a.confirm();
    await eventually(async () => {
      const list = (
        await ctx.app.inject({ url: '/api/v1/webhook-endpoints', headers: ctx.adminHeaders })
      ).json();
      return list.find((e: { id: string; enabled: boolean }) => e.id === ep.id && !e.enabled);
    });
    const b = await pendingReader(ctx, 'gone-b@example.com');
    await b.confirm();
    const { rows } = await ctx.db.query(
      `SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND state <> 'cancelled'`,
      [ep.id],
    );
    expect(rows[0].n).toBe(0);
    expect(gone.received).toHaveLength(1);
  });

  it('sends one event to one endpoint once, however many jobs and sweeps ask at the same time', async () => {
    // the answer is slow, so the duplicates overlap with the attempt in flight
    const slow = await startWebhookReceiver(async () => {
      await new Promise((r) => setTimeout(r, 150));
      return 200;
    });
    receivers.push(slow);
    await addEndpoint(ctx, slow.url('/slow'), ['subscriber.confirmed']);
    const reader = await pendingReader(ctx, 'once@example.com');
    await reader.confirm();
    const { rows } = await ctx.db.query(
      `SELECT d.id, d.event_id FROM webhook_deliveries d JOIN outbox_events e ON e.id = d.event_id
        WHERE e.payload->>'subscriberId' = $1`,
      [reader.id],
    );
    const [{ id, event_id }] = rows;
    const queue = ctx.container.queues;
    await Promise.all([
      ...[1, 2, 3, 4].map((n) =>
        queue.enqueue('webhooks', 'deliver', { deliveryId: Number(id) }, { jobId: `dup-${id}-${n}` }),
      ),
      ctx.container.webhookSender.deliver(Number(id), false),
      ctx.container.webhookSender.deliver(Number(id), false),
    ]);
    await eventually(async () => slow.delivered(event_id).length > 0).catch((err) => {
      throw new Error(
        `${err.message}: ${JSON.stringify(slow.received.map((r) => [r.headers['webhook-id'], r.status]))} ${event_id}`,
      );
    });
    // every duplicate job has run (and the sweep several times) before counting
    await eventually(
      async () =>
        (await queue.get('webhooks').getJobCounts('waiting', 'active', 'delayed')).active === 0 &&
        (await ctx.db.query(`SELECT state FROM webhook_deliveries WHERE id = $1`, [id])).rows[0].state ===
          'delivered',
    );
    await new Promise((r) => setTimeout(r, 600));
    expect(slow.received.filter((r) => r.headers['webhook-id'] === event_id)).toHaveLength(1);
  });
});

describe('retries survive a worker kill', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ env: ENV, now: new Date().toISOString(), workers: false });
    await webhooksSweepScheduler(ctx.container);
  });
  afterAll(async () => ctx?.close());

  it('holds the event through a killed worker and a 500, then delivers it once, same id, verified', {
    timeout: 120_000,
  }, async () => {
    // 1st request: the worker is killed while it waits; 2nd: 500; then 200
    const receiver = await startWebhookReceiver((n) => (n === 1 ? 'hold' : n === 2 ? 500 : 200));
    try {
      const ep = await addEndpoint(ctx, receiver.url(), ['subscriber.confirmed']);
      const env = { ...ENV, WORKER_QUEUES: 'webhooks' };
      const first = await startWorkerProcess(ctx.config, env);
      const reader = await pendingReader(ctx, 'kill@example.com');
      await reader.confirm();
      await eventually(async () => receiver.received.length === 1, 30_000);
      await first.kill('SIGKILL');
      const second = await startWorkerProcess(ctx.config, env);
      try {
        await eventually(async () => receiver.received.some((r) => r.status === 200), 60_000);
      } finally {
        await second.kill('SIGTERM');
      }
      const ids = new Set(receiver.received.map((r) => r.headers['webhook-id']));
      expect(ids.size).toBe(1);
      expect(receiver.received.map((r) => r.status)).toEqual([0, 500, 200]);
      const last = receiver.received[2]!;
      expect(new Webhook(ep.secret).verify(last.body, last.headers as Record<string, string>)).toMatchObject({
        type: 'subscriber.confirmed',
      });
      const { rows } = await ctx.db.query('SELECT state, attempts FROM webhook_deliveries');
      expect(rows).toEqual([{ state: 'delivered', attempts: 3 }]);
    } finally {
      await receiver.close();
    }
  });
});

describe('after Redis lost its data', () => {
  let ctx: TestContext;
  // the retry delay is far beyond the test: only the sweep can deliver in time
  beforeAll(async () => {
    ctx = await createTestContext({
      env: { ...ENV, WEBHOOK_OUT_RETRY_BASE_MS: '600000' },
      now: new Date().toISOString(),
    });
    await webhooksSweepScheduler(ctx.container);
  });
  afterAll(async () => ctx?.close());

  it('the sweep hands the queue again an event whose retry job was wiped', { timeout: 60_000 }, async () => {
    const receiver = await startWebhookReceiver((n) => (n === 1 ? 503 : 200));
    try {
      await addEndpoint(ctx, receiver.url(), ['subscriber.confirmed']);
      const reader = await pendingReader(ctx, 'wiped@example.com');
      await reader.confirm();
      const row = await eventually(async () => {
        const { rows } = await ctx.db.query(`SELECT id, state, attempts FROM webhook_deliveries`);
        return rows[0]?.state === 'pending' && rows[0].attempts === 1 && rows[0];
      });
      // its retry waits in Redis, ten minutes away
      const job = await ctx.container.queues.get('webhooks').getJob(`webhook-${row.id}`);
      expect(await job?.getState()).toBe('delayed');
      await deleteRedisPrefix(ctx.config.QUEUE_PREFIX);
      // what every process does once it sees the loss (src/queues/redis-watch.ts)
      await recoverOwedWork(ctx.container);
      await eventually(async () => receiver.received.some((r) => r.status === 200), 30_000);
      expect(receiver.received.map((r) => r.status)).toEqual([503, 200]);
      const { rows } = await ctx.db.query('SELECT state, attempts FROM webhook_deliveries');
      expect(rows).toEqual([{ state: 'delivered', attempts: 2 }]);
    } finally {
      await receiver.close();
    }
  });
});
