import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finalizeEdition } from '../../src/delivery/delivery-batch-store.js';
import { pruneDeliveryLedger } from '../../src/delivery/retention.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { editionRow, ledger, seedEdition } from '../helpers/delivery-fixtures.js';

const DAY = 24 * 3600 * 1000;

describe('delivery ledger retention', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ workers: false, env: { DELIVERY_RETENTION_DAYS: '30' } });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  const age = async (editionId: string, days: number) =>
    ctx.db.query('UPDATE deliveries SET created_at = $2 WHERE edition_id = $1', [
      editionId,
      new Date(ctx.clock.now().getTime() - days * DAY),
    ]);
  const setStates = async (editionId: string, states: string[]) => {
    const rows = await ledger(ctx, editionId);
    for (const [i, state] of states.entries()) {
      await ctx.db.query('UPDATE deliveries SET state = $2 WHERE id = $1', [rows[i]!.id, state]);
    }
  };
  const deps = () => ({ db: ctx.db, clock: ctx.clock, log: ctx.container.log, config: ctx.config });

  it('stores complete counts, then deletes old detail in bounded chunks', async () => {
    const old = await seedEdition(ctx, { readers: 5, batchSize: 5 });
    await setStates(old.editionId, ['sent', 'sent', 'sent', 'failed', 'ambiguous']);
    await ctx.db.query(`UPDATE editions SET state = 'sent' WHERE id = $1`, [old.editionId]);
    await age(old.editionId, 31);

    const stuck = await seedEdition(ctx, { readers: 2, batchSize: 2 });
    await setStates(stuck.editionId, ['sent']); // the other row is still pending
    await age(stuck.editionId, 40);

    const recent = await seedEdition(ctx, { readers: 3, batchSize: 3 });
    await setStates(recent.editionId, ['sent', 'sent', 'sent']);
    await age(recent.editionId, 29);

    const { rows: tx } = await ctx.db.query<{ id: number }>(
      `INSERT INTO deliveries (kind, dedupe_key, subscriber_id, recipient, state, created_at)
       VALUES ('confirmation', 'confirmation-retention-test', $1, $2, 'sent', $3) RETURNING id`,
      [old.readers[0]!.id, old.readers[0]!.email, new Date(ctx.clock.now().getTime() - 100 * DAY)],
    );

    // a budget of 2 chunks of 2 rows: not done in one call
    const first = await pruneDeliveryLedger(deps(), { chunkSize: 2, maxChunks: 2 });
    expect(first).toMatchObject({ editionsSealed: 1, rowsDeleted: 4, complete: false });
    expect(first.stuckEditions).toEqual([stuck.editionId]);
    expect((await editionRow(ctx, old.editionId)).final_counts).toEqual({
      total: 5,
      sent: 3,
      failed: 1,
      ambiguous: 1,
      suppressed: 0,
      cancelled: 0,
      pending: 0,
      sending: 0,
    });

    const second = await pruneDeliveryLedger(deps(), { chunkSize: 2, maxChunks: 2 });
    expect(second).toMatchObject({ editionsSealed: 0, rowsDeleted: 1, complete: true });
    expect(await ledger(ctx, old.editionId)).toHaveLength(0);
    // counts survive, and are never recomputed from the (now empty) ledger
    expect(await finalizeEdition(ctx.db, old.editionId, ctx.clock.now())).toBeNull();
    expect((await editionRow(ctx, old.editionId)).final_counts).toMatchObject({ total: 5, sent: 3 });

    // untouched: a stuck edition, a recent one, transactional rows
    expect(await ledger(ctx, stuck.editionId)).toHaveLength(2);
    expect(await ledger(ctx, recent.editionId)).toHaveLength(3);
    const { rows } = await ctx.db.query('SELECT id FROM deliveries WHERE id = $1', [tx[0]!.id]);
    expect(rows).toHaveLength(1);
  });
});
