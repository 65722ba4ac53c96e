import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCompileCount } from '../../src/render/index.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { digests, seedFourAudiences } from '../helpers/digest-fixtures.js';

/**
 * Planners running at once share the work without double planning: one row per reader, one
 * edition per (language, frequency, slot, article set), each rendered once, batches numbered
 * without overlap, one send job per persisted batch.
 */
describe('concurrent planners', () => {
  let ctx: TestContext;
  const READERS = 1500;
  const BATCH = 40;

  beforeAll(async () => {
    ctx = await createTestContext({
      now: '2026-11-29T06:00:00Z',
      workers: false,
      env: { DELIVERY_BATCH_SIZE: String(BATCH), PLANNER_CHUNK_SIZE: '150' },
    });
    await seedFourAudiences(ctx, { prefix: 'r', readers: READERS });
  });

  afterAll(async () => {
    await ctx?.close();
  });

  it('two planners at once: one row per reader, one edition per audience, one compile each', async () => {
    ctx.clock.set('2026-11-29T07:00:01Z');
    const before = getCompileCount();
    const [a, b] = await Promise.all([digests(ctx).planner.plan(), digests(ctx).planner.plan()]);
    expect(a.readers + b.readers).toBe(READERS);
    // both did part of the work (the first chunk is small, so the second planner finds readers left)
    expect(a.readers).toBeGreaterThan(0);
    expect(b.readers).toBeGreaterThan(0);

    const { rows: perReader } = await ctx.db.query<{ n: number; readers: number }>(
      `SELECT count(*) AS n, count(DISTINCT subscriber_id) AS readers FROM deliveries`,
    );
    expect(perReader[0]).toEqual({ n: READERS, readers: READERS });

    const { rows: editions } = await ctx.db.query<{
      id: string;
      language: string;
      batch_count: number;
      titles: string[];
      rows: number;
      batches: number;
      max_batch: number;
      biggest: number;
    }>(
      `SELECT e.id, e.language, e.batch_count,
              array(SELECT a.title FROM articles a WHERE a.id = ANY(e.article_ids) ORDER BY a.title) AS titles,
              (SELECT count(*) FROM deliveries d WHERE d.edition_id = e.id) AS rows,
              (SELECT count(DISTINCT batch_no) FROM deliveries d WHERE d.edition_id = e.id) AS batches,
              (SELECT max(batch_no) FROM deliveries d WHERE d.edition_id = e.id) AS max_batch,
              (SELECT max(n) FROM (SELECT count(*) AS n FROM deliveries d WHERE d.edition_id = e.id
                                   GROUP BY batch_no) x) AS biggest
       FROM editions e ORDER BY e.language, rows`,
    );
    // en (all topics) and en (politics+sport) differ; economy readers get their own; ar one
    expect(editions.map((e) => `${e.language}:${e.titles.join('+')}:${e.rows}`).sort()).toEqual([
      'ar:سياسة:375',
      'en:Economy one+Politics one:375',
      'en:Economy one:375',
      'en:Politics one:375',
    ]);
    expect(getCompileCount() - before).toBe(editions.length);
    for (const e of editions) {
      expect(e.biggest).toBeLessThanOrEqual(BATCH);
      expect(e.max_batch + 1).toBe(e.batch_count);
      expect(e.batches).toBe(e.batch_count);
    }

    // one send job per persisted batch, with the contract's job id
    const jobs = await ctx.container.queues.get('send').getJobs(['waiting', 'prioritized', 'delayed']);
    const ids = new Set(jobs.map((j) => j.id));
    const expected = editions.flatMap((e) =>
      Array.from({ length: e.batch_count }, (_, i) => `send-${e.id}-${i}`),
    );
    expect(ids).toEqual(new Set(expected));
    expect(jobs).toHaveLength(expected.length);

    // everyone moved to tomorrow
    const { rows: next } = await ctx.db.query<{ next_digest_at: Date; n: number }>(
      'SELECT next_digest_at, count(*) AS n FROM subscribers GROUP BY 1',
    );
    expect(next).toEqual([{ next_digest_at: new Date('2026-11-30T07:00:00Z'), n: READERS }]);
  });

  it('planning again at the same instant does nothing', async () => {
    const r = await digests(ctx).planner.plan();
    expect(r.readers).toBe(0);
    const { rows } = await ctx.db.query<{ n: number }>('SELECT count(*) AS n FROM deliveries');
    expect(rows[0]!.n).toBe(READERS);
  });
});
