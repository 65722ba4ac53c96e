import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDigests, type Enqueuer } from '../../src/digests/index.js';
import { type RenderEditionInput, renderEdition } from '../../src/render/index.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { addArticle, addReader, digests, ledger } from '../helpers/digest-fixtures.js';

/**
 * A planner or fan-out that dies half-way resumes without repeating or skipping anyone; a
 * withdrawn article leaves editions not yet sent.
 */
describe('restart and withdrawal', () => {
  let ctx: TestContext;
  const sent: string[] = [];

  const enqueuer: Enqueuer = {
    async sendBatches(_lane, editionId, batches) {
      for (const b of batches) sent.push(`${editionId}-${b}`);
    },
    // no job system here: every batch asked about has no live job
    async repairBatches(_lane, editionId, batches) {
      for (const b of batches) sent.push(`${editionId}-${b}`);
      return batches;
    },
    async planAt() {},
    async fanoutAlert() {},
    async buildRun() {},
  };
  const build = (overrides: Partial<Parameters<typeof createDigests>[0]> = {}) =>
    createDigests({
      db: ctx.db,
      clock: ctx.clock,
      log: ctx.container.log,
      publication: ctx.publication,
      config: ctx.config,
      enqueuer,
      render: renderEdition,
      ...overrides,
    });

  beforeAll(async () => {
    ctx = await createTestContext({
      now: '2026-11-29T06:00:00Z',
      workers: false,
      env: { DELIVERY_BATCH_SIZE: '10', PLANNER_CHUNK_SIZE: '60' },
    });
  });

  afterAll(async () => {
    await ctx?.close();
  });

  it('a planner that crashes mid-run: committed chunks stay, the rest is planned once on the next run', async () => {
    // ten economy readers due at 07:00:00 (the first chunk), 190 all-topics readers a second later
    await ctx.db.query(
      `INSERT INTO subscribers (email, email_key, status, language, topics, frequency, timezone, send_hour,
                                confirmed_at, next_digest_at)
       SELECT 'p' || i || '@example.org', 'p' || i || '@example.org', 'confirmed', 'en',
              CASE WHEN i <= 10 THEN ARRAY['economy'] ELSE '{}' END, 'daily', 'UTC', 7,
              '2026-11-25T00:00:00Z',
              CASE WHEN i <= 10 THEN '2026-11-29T07:00:00Z'::timestamptz ELSE '2026-11-29T07:00:01Z' END
       FROM generate_series(1, 200) i`,
    );
    await addArticle(ctx, { title: 'Economy', topics: ['economy'], at: '2026-11-29T05:00:00Z' });
    await addArticle(ctx, { title: 'Politics', topics: ['politics'], at: '2026-11-29T05:00:00Z' });
    ctx.clock.set('2026-11-29T07:00:05Z');

    // the process dies while the second chunk renders its edition (not a render error: the
    // chunk's transaction is abandoned)
    let renders = 0;
    const dying = build({
      render: async (input: RenderEditionInput) => {
        if (++renders > 1) throw new Error('worker killed');
        return renderEdition(input);
      },
    });
    await expect(dying.planner.plan()).rejects.toThrow('worker killed');

    const afterCrash = await ledger(ctx);
    expect(afterCrash).toHaveLength(10); // only the first, committed chunk
    const { rows: stillDue } = await ctx.db.query<{ n: number }>(
      `SELECT count(*) AS n FROM subscribers WHERE next_digest_at = '2026-11-29T07:00:01Z'`,
    );
    expect(stillDue[0]!.n).toBe(190);

    await build().planner.plan();
    const rows = await ledger(ctx);
    expect(rows).toHaveLength(200);
    expect(new Set(rows.map((r) => r.subscriber_id)).size).toBe(200);
    const { rows: editions } = await ctx.db.query<{ id: string; batch_count: number; batches: number[] }>(
      `SELECT e.id, e.batch_count, array_agg(DISTINCT d.batch_no ORDER BY d.batch_no) AS batches
       FROM editions e JOIN deliveries d ON d.edition_id = e.id GROUP BY e.id`,
    );
    expect(editions).toHaveLength(2);
    for (const e of editions) {
      // contiguous numbering across the crash, and a job for every batch
      expect(e.batches).toEqual(Array.from({ length: e.batch_count }, (_, i) => i));
      for (const b of e.batches) expect(sent).toContain(`${e.id}-${b}`);
    }
  });

  it('an alert fan-out that dies after a chunk continues from its cursor', async () => {
    await ctx.db.query(
      `INSERT INTO subscribers (email, email_key, status, language, frequency, timezone, alerts, confirmed_at)
       SELECT 'a' || i || '@example.org', 'a' || i || '@example.org', 'confirmed', 'ar', 'daily', 'UTC', true,
              '2026-11-25T00:00:00Z'
       FROM generate_series(1, 150) i`,
    );
    const breaking = await addArticle(ctx, {
      title: 'عاجل',
      language: 'ar',
      breaking: true,
      topics: ['politics'],
    });
    let calls = 0;
    const dying = build({
      enqueuer: {
        ...enqueuer,
        async sendBatches(lane, editionId, batches) {
          if (++calls === 2) throw new Error('redis gone');
          return enqueuer.sendBatches(lane, editionId, batches);
        },
      },
    });
    await expect(dying.alerts.fanout(breaking)).rejects.toThrow('redis gone');
    const partial = (await ledger(ctx)).filter((r) => r.kind === 'alert');
    expect(partial).toHaveLength(120); // two chunks of 60 committed; the second's jobs were lost
    const r = await build().alerts.fanout(breaking);
    expect(r.rows).toBe(30);
    const rows = (await ledger(ctx)).filter((x) => x.kind === 'alert');
    expect(rows).toHaveLength(150);
    expect(new Set(rows.map((x) => x.subscriber_id)).size).toBe(150);
    // maintenance re-enqueues the batches whose jobs were lost, at once (the job system says which
    // batches have no live job: digests-repair.test.ts)
    sent.length = 0;
    await build().maintenance.run();
    const editionId = rows[0]!.edition_id;
    expect(sent).toEqual(expect.arrayContaining([`${editionId}-6`, `${editionId}-11`]));
  });

  it('a withdrawn article leaves unsent editions; an edition left empty is cancelled', async () => {
    ctx.clock.set('2026-11-30T09:00:00Z');
    await addReader(ctx, { email: 'w@example.org', language: 'en', topics: ['sport'] });
    const keep = await addArticle(ctx, { title: 'Cup final tonight', topics: ['sport'] });
    const pull = await addArticle(ctx, { title: 'Transfer rumour', topics: ['sport'] });
    const d = build();
    const { editions } = await d.operator.send({ topics: ['sport'], language: 'en' });
    expect(editions).toHaveLength(1);
    const id = editions[0]!.id;
    const before = await ctx.db.query<{ html: string }>('SELECT html FROM editions WHERE id = $1', [id]);
    expect(before.rows[0]!.html).toContain('Transfer rumour');

    await ctx.db.query(`UPDATE articles SET status = 'deleted' WHERE id = $1`, [pull]);
    expect((await d.lifecycle.withdrawn(pull)).rerendered).toEqual([id]);
    const after = await ctx.db.query<{ html: string; article_ids: string[]; state: string }>(
      'SELECT html, article_ids, state FROM editions WHERE id = $1',
      [id],
    );
    expect(after.rows[0]!.html).not.toContain('Transfer rumour');
    expect(after.rows[0]!.html).toContain('Cup final tonight');
    expect(after.rows[0]!.article_ids).toEqual([keep]);

    await ctx.db.query(`UPDATE articles SET status = 'unpublished' WHERE id = $1`, [keep]);
    expect((await d.lifecycle.withdrawn(keep)).cancelled).toEqual([id]);
    expect((await digests(ctx).operator.get(id)).state).toBe('cancelled');
    // the run's fan-out now finds nothing to send
    await d.operator.buildRun(id);
    expect((await ledger(ctx)).filter((r) => r.edition_id === id)).toEqual([]);
  });
});
