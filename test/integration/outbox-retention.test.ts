import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertEndpoint } from '../../src/outbox/endpoint-store.js';
import { recordOutboxEvent } from '../../src/outbox/outbox-store.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { digests } from '../helpers/digest-fixtures.js';

/**
 * The outbox of outgoing webhooks does not grow forever: maintenance deletes events older than
 * DELIVERY_RETENTION_DAYS once every endpoint is done with them (delivered, failed, cancelled),
 * with their delivery rows and attempt log, and keeps an event still owed however old.
 */
describe('outbox retention', () => {
  let ctx: TestContext;

  beforeAll(async () => {
    ctx = await createTestContext({
      now: '2026-12-01T03:00:00Z',
      workers: false,
      env: { DELIVERY_RETENTION_DAYS: '30' },
    });
  });

  afterAll(async () => {
    await ctx?.close();
  });

  it('deletes old events every endpoint is done with, keeps recent ones and ones still owed', async () => {
    const endpoint = await insertEndpoint(ctx.db, {
      url: 'https://cms.example.org/hooks',
      description: 'CMS',
      events: ['subscriber.confirmed'],
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      at: new Date('2026-09-01T00:00:00Z'),
    });
    const events: Array<[string, string, string]> = [
      ['msg_old_delivered', '2026-10-01T00:00:00Z', 'delivered'],
      ['msg_old_failed', '2026-10-02T00:00:00Z', 'failed'],
      ['msg_old_pending', '2026-10-03T00:00:00Z', 'pending'],
      ['msg_recent_delivered', '2026-11-20T00:00:00Z', 'delivered'],
    ];
    for (const [id, at, state] of events) {
      await recordOutboxEvent(ctx.db, {
        id,
        type: 'subscriber.confirmed',
        payload: { subscriberId: '00000000-0000-4000-8000-000000000001' },
        at: new Date(at),
      });
      await ctx.db.query(`UPDATE webhook_deliveries SET state = $2 WHERE event_id = $1`, [id, state]);
      await ctx.db.query(
        `INSERT INTO webhook_attempts (delivery_id, endpoint_id, attempt, status, attempted_at)
         SELECT id, endpoint_id, 1, 200, $2 FROM webhook_deliveries WHERE event_id = $1`,
        [id, new Date(at)],
      );
    }

    const result = await digests(ctx).maintenance.run();
    expect(result.outboxPruned).toBe(2);
    const { rows } = await ctx.db.query<{ id: string }>('SELECT id FROM outbox_events ORDER BY id');
    expect(rows.map((r) => r.id)).toEqual(['msg_old_pending', 'msg_recent_delivered']);
    const { rows: log } = await ctx.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM webhook_attempts WHERE endpoint_id = $1',
      [endpoint.id],
    );
    expect(log[0]!.n).toBe(2);
    expect((await digests(ctx).maintenance.run()).outboxPruned).toBe(0);
  });
});
