import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/pool.js';
import { LISTENER_APPLICATION_NAME } from '../../src/outbox/delivery-listener.js';
import { outboxInsertCtes } from '../../src/outbox/outbox-store.js';
import { recordSubscriberEvent } from '../../src/outbox/subscriber-events.js';
import { webhooksSweepScheduler } from '../../workers/webhooks-worker.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { addReader } from '../helpers/digest-fixtures.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';

// The sweep runs once an hour here: anything delivered within the test was enqueued at commit.
const ENV = {
  FETCH_ALLOWED_HOSTS: '127.0.0.1',
  WEBHOOK_OUT_SWEEP_INTERVAL_MS: '3600000',
  WEBHOOK_OUT_RETRY_BASE_MS: '100',
  WEBHOOK_OUT_TIMEOUT_MS: '2000',
};

describe('webhook delivery starts at commit', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ env: ENV, now: new Date().toISOString() });
    await webhooksSweepScheduler(ctx.container);
    // the webhooks worker's listener is up (its LISTEN ran), so no commit below goes unheard
    await eventually(async () => {
      const { rows } = await ctx.db.query(
        `SELECT 1 FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = $1 AND query LIKE 'LISTEN%'`,
        [LISTENER_APPLICATION_NAME],
      );
      return rows.length > 0;
    });
  });
  afterAll(async () => ctx?.close());

  it('delivers an event long before the next sweep; a rolled-back change enqueues nothing', async () => {
    const receiver = await startWebhookReceiver();
    try {
      const created = await ctx.app.inject({
        method: 'POST',
        url: '/api/v1/webhook-endpoints',
        headers: ctx.adminHeaders,
        payload: { url: receiver.url(), events: ['subscriber.unsubscribed'] },
      });
      const ep = created.json() as { id: string; secret: string };
      const queue = ctx.container.queues.get('webhooks');
      const jobsBefore = (
        await queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed'])
      ).filter((j) => j.name === 'deliver');
      expect(jobsBefore).toHaveLength(0);

      const id = await addReader(ctx, { email: 'at-commit@example.com' });
      const committedAt = Date.now();
      const sub = { id, email: 'at-commit@example.com', language: 'ar' };
      // rolled back: its delivery row never existed, so no job may name it
      await expect(
        withTransaction(ctx.db, async (tx) => {
          await recordSubscriberEvent(tx, 'subscriber.unsubscribed', sub, { n: 1 }, ctx.clock.now());
          throw new Error('the change failed');
        }),
      ).rejects.toThrow('the change failed');
      await withTransaction(ctx.db, (tx) =>
        recordSubscriberEvent(tx, 'subscriber.unsubscribed', sub, { n: 2 }, ctx.clock.now()),
      );

      await eventually(async () => receiver.received.length === 1);
      const body = new Webhook(ep.secret).verify(
        receiver.received[0]!.body,
        receiver.received[0]!.headers as Record<string, string>,
      );
      expect(body).toMatchObject({ type: 'subscriber.unsubscribed', data: { subscriberId: id, n: 2 } });
      // the worker writes the outcome once it has the answer
      const rows = await eventually(async () => {
        const res = await ctx.db.query('SELECT id, state FROM webhook_deliveries');
        return res.rows[0]?.state === 'delivered' && res.rows;
      });
      expect(rows).toEqual([{ id: expect.any(Number), state: 'delivered' }]);
      // the one job there is, is the committed row's, under the row's id
      const jobs = (await queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed'])).filter(
        (j) => j.name === 'deliver',
      );
      expect(jobs.map((j) => j.id)).toEqual([`webhook-${rows[0].id}`]);
      // and no sweep ran since the commit to hand it over
      const sweeps = (await queue.getJobs(['completed', 'failed', 'active'])).filter(
        (j) => j.name === 'sweep' && (j.processedOn ?? 0) >= committedAt,
      );
      expect(sweeps).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it('a job whose row does not exist ends quietly', async () => {
    const queue = ctx.container.queues;
    await queue.enqueue('webhooks', 'deliver', { deliveryId: 987654 }, { jobId: 'webhook-987654' });
    const job = await eventually(async () => {
      const j = await queue.get('webhooks').getJob('webhook-987654');
      return j && (await j.getState()) === 'completed' && j;
    });
    expect(job.returnvalue).toBe('skipped');
  });

  it('hands over every row of a large statement (notifications are chunked under 8000 bytes)', async () => {
    const queue = ctx.container.queues.get('webhooks');
    await queue.pause();
    const ep = (
      await ctx.app.inject({
        method: 'POST',
        url: '/api/v1/webhook-endpoints',
        headers: ctx.adminHeaders,
        payload: { url: 'http://127.0.0.1:9/never', events: ['edition.sent'] },
      })
    ).json() as { id: string };
    await ctx.db.query(
      `WITH ${outboxInsertCtes(
        `SELECT 'msg_bulk_' || g AS id, 'edition.sent' AS type, '{}'::jsonb AS payload, now() AS at
           FROM generate_series(1, 2500) g`,
      )} SELECT count(*) FROM outbox_wd`,
    );
    const { rows } = await ctx.db.query(
      `SELECT array_agg(id ORDER BY id) AS ids FROM webhook_deliveries WHERE endpoint_id = $1`,
      [ep.id],
    );
    expect(rows[0].ids).toHaveLength(2500);
    await eventually(async () => (await queue.getWaitingCount()) >= 2500);
    const waiting = (await queue.getWaiting(0, 5000)).map((j) => j.id).sort();
    expect(waiting).toEqual((rows[0].ids as number[]).map((id) => `webhook-${id}`).sort());
    // nothing is sent to it: disabled, its jobs find nothing to claim
    await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/webhook-endpoints/${ep.id}/disable`,
      headers: ctx.adminHeaders,
    });
    await queue.resume();
  });
});
