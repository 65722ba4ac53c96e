import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDigests, type Enqueuer } from '../../src/digests/index.js';
import { getCompileCount, type RenderEditionInput, renderEdition } from '../../src/render/index.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { seedFourAudiences } from '../helpers/digest-fixtures.js';

/**
 * Due readers are planned in the order of what decides their edition, not by id, so a chunk
 * fills whole batches of a few editions: the first batch goes out after one edition's render,
 * and batches hold DELIVERY_BATCH_SIZE rows however the audiences' ids interleave.
 */
describe('planner batching', () => {
  let ctx: TestContext;
  const BATCH = 50;
  const PER_AUDIENCE = 100;

  beforeAll(async () => {
    ctx = await createTestContext({
      now: '2026-11-29T06:00:00Z',
      workers: false,
      env: { DELIVERY_BATCH_SIZE: String(BATCH), PLANNER_CHUNK_SIZE: '1000' },
    });
    await seedFourAudiences(ctx, { prefix: 'b', readers: PER_AUDIENCE * 4 });
  });

  afterAll(async () => {
    await ctx?.close();
  });

  it('whole batches, and the first one enqueued after rendering only its own edition', async () => {
    const enqueued: Array<{ editionId: string; batches: number[]; compiles: number }> = [];
    const before = getCompileCount();
    const enqueuer: Enqueuer = {
      async sendBatches(_lane, editionId, batches) {
        enqueued.push({ editionId, batches, compiles: getCompileCount() - before });
      },
      async repairBatches() {
        return [];
      },
      async planAt() {},
      async fanoutAlert() {},
      async buildRun() {},
    };
    const digests = createDigests({
      db: ctx.db,
      clock: ctx.clock,
      log: ctx.container.log,
      publication: ctx.publication,
      config: ctx.config,
      enqueuer,
      render: (input: RenderEditionInput) => renderEdition(input),
    });
    ctx.clock.set('2026-11-29T07:00:01Z');
    const r = await digests.planner.plan();
    expect(r.readers).toBe(PER_AUDIENCE * 4);
    expect(r.editions).toHaveLength(4);
    expect(getCompileCount() - before).toBe(4);

    // the first chunk (BATCH readers) is one audience: one render, one full batch
    expect(enqueued[0]).toEqual({ editionId: enqueued[0]!.editionId, batches: [0], compiles: 1 });

    const { rows } = await ctx.db.query<{ edition_id: string; batch_no: number; n: number }>(
      `SELECT edition_id, batch_no, count(*)::int AS n FROM deliveries GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    expect(rows.map((b) => b.n)).toEqual(Array(8).fill(BATCH));
    expect(rows.map((b) => b.batch_no).sort()).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    expect(enqueued.flatMap((j) => j.batches.map((b) => `${j.editionId}-${b}`)).sort()).toEqual(
      rows.map((b) => `${b.edition_id}-${b.batch_no}`).sort(),
    );
  });
});
