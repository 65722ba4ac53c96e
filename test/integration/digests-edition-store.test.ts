import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/pool.js';
import { finalizeEdition } from '../../src/delivery/delivery-batch-store.js';
import { cancelEdition, type EditionSpec, fillEdition } from '../../src/digests/edition-store.js';
import { renderEdition } from '../../src/render/index.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { addArticle, addReader } from '../helpers/digest-fixtures.js';

/** fillEdition: the one path by which readers join an edition (planner, operator runs, alerts). */
describe('edition store: fillEdition', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ workers: false, env: { DELIVERY_BATCH_SIZE: '2' } });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  const deps = () => ({
    render: renderEdition,
    publication: ctx.publication,
    config: ctx.config,
    clock: ctx.clock,
  });
  const spec = (key: string, articleIds: string[]): EditionSpec => ({
    kind: 'digest',
    key,
    template: 'digest',
    language: 'ar',
    frequency: 'daily',
    articleIds,
    dueAt: ctx.clock.now(),
    moreUrl: null,
    createdBy: 'test',
  });
  const rows = async (editionId: string) =>
    (
      await ctx.db.query<{ subscriber_id: string; batch_no: number }>(
        'SELECT subscriber_id, batch_no FROM deliveries WHERE edition_id = $1 ORDER BY subscriber_id',
        [editionId],
      )
    ).rows;

  it('renders a new edition once and adds the readers in numbered batches, continuing on the next fill', async () => {
    const article = await addArticle(ctx, { title: 'افتتاح جسر جديد فوق نهر العاصي', language: 'ar' });
    const readers: string[] = [];
    for (let i = 0; i < 3; i++)
      readers.push(await addReader(ctx, { email: `qari${i}@example.org`, language: 'ar' }));
    const unconfirmed = await addReader(ctx, {
      email: 'muallaq@example.org',
      language: 'ar',
      status: 'pending',
    });
    const now = ctx.clock.now();

    const first = await withTransaction(ctx.db, (c) =>
      fillEdition(c, deps(), spec('fill-a', [article]), now, () => [readers[0]!, readers[1]!, unconfirmed]),
    );
    expect(first.status).toBe('filled');
    if (first.status !== 'filled') return;
    expect(first.edition.created).toBe(true);
    expect(first.persisted).toEqual({ rows: 2, batches: [0] });
    const { rows: stored } = await ctx.db.query(
      'SELECT state, subject, batch_count FROM editions WHERE id = $1',
      [first.edition.id],
    );
    expect(stored[0]).toMatchObject({ state: 'sending', batch_count: 1 });
    expect(stored[0].subject).toBeTruthy();

    const second = await withTransaction(ctx.db, (c) =>
      fillEdition(c, deps(), spec('fill-a', [article]), now, () => [readers[2]!]),
    );
    expect(second.status).toBe('filled');
    if (second.status !== 'filled') return;
    expect(second.edition).toMatchObject({ id: first.edition.id, created: false });
    // the numbering continues after the edition's last batch
    expect(second.persisted).toEqual({ rows: 1, batches: [1] });
    // a reader already in the edition is not added twice (dedupe key)
    const again = await withTransaction(ctx.db, (c) =>
      fillEdition(c, deps(), spec('fill-a', [article]), now, () => [readers[0]!]),
    );
    expect(again.status === 'filled' && again.persisted).toEqual({ rows: 0, batches: [] });
    expect((await rows(first.edition.id)).map((r) => r.batch_no).sort()).toEqual([0, 0, 1]);
  });

  it('a cancelled edition is closed: pick is never asked and no row is added', async () => {
    const article = await addArticle(ctx, { title: 'تأجيل مباراة الديربي بسبب الأمطار', language: 'ar' });
    const reader = await addReader(ctx, { email: 'mushahid@example.org', language: 'ar' });
    const now = ctx.clock.now();
    const opened = await withTransaction(ctx.db, (c) =>
      fillEdition(c, deps(), spec('fill-b', [article]), now, () => []),
    );
    await cancelEdition(ctx.db, opened.edition.id, now);

    let asked = false;
    const again = await withTransaction(ctx.db, (c) =>
      fillEdition(c, deps(), spec('fill-b', [article]), now, () => {
        asked = true;
        return [reader];
      }),
    );
    expect(again.status).toBe('closed');
    expect(asked).toBe(false);
    expect(await rows(opened.edition.id)).toEqual([]);
  });

  it('pick returning null adds nobody; an edition with nothing published left is not rendered and cancelled', async () => {
    const article = await addArticle(ctx, { title: 'نتائج الامتحانات الثانوية', language: 'ar' });
    const now = ctx.clock.now();
    const none = await withTransaction(ctx.db, (c) =>
      fillEdition(c, deps(), spec('fill-c', [article]), now, () => null),
    );
    expect(none.status).toBe('closed');

    const draft = await addArticle(ctx, { title: 'مسودة لم تنشر', language: 'ar', status: 'draft' });
    const reader = await addReader(ctx, { email: 'mutabi@example.org', language: 'ar' });
    const failed = await withTransaction(ctx.db, (c) =>
      fillEdition(c, deps(), spec('fill-d', [draft]), now, () => [reader]),
    );
    expect(failed.status).toBe('not-rendered');
    const { rows: e } = await ctx.db.query('SELECT state FROM editions WHERE id = $1', [failed.edition.id]);
    expect(e[0].state).toBe('cancelled');
    expect(await rows(failed.edition.id)).toEqual([]);
  });

  it('a batch added while the last one finalizes keeps the edition sending (it is not marked sent under it)', async () => {
    const article = await addArticle(ctx, { title: 'افتتاح معرض الكتاب في الشارقة', language: 'ar' });
    const early = await addReader(ctx, { email: 'sabiq@example.org', language: 'ar' });
    const late = await addReader(ctx, { email: 'lahiq@example.org', language: 'ar' });
    const now = ctx.clock.now();
    const first = await withTransaction(ctx.db, (c) =>
      fillEdition(c, deps(), spec('fill-race', [article]), now, () => [early]),
    );
    if (first.status !== 'filled') throw new Error(`not filled: ${first.status}`);
    const editionId = first.edition.id;
    await ctx.db.query(`UPDATE deliveries SET state = 'sent' WHERE edition_id = $1`, [editionId]);

    // a planner adds batch 1 and has not committed yet when the sender of batch 0 finalizes
    const planner = await ctx.db.connect();
    try {
      await planner.query('BEGIN');
      const second = await fillEdition(planner, deps(), spec('fill-race', [article]), now, () => [late]);
      expect(second.status === 'filled' && second.persisted.batches).toEqual([1]);
      const finalizing = finalizeEdition(ctx.db, editionId, now);
      // it waits for the planner's lock on the edition before deciding
      for (let i = 0; i < 100; i++) {
        const { rows: waiting } = await ctx.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE wait_event_type = 'Lock' AND query LIKE '%FROM editions WHERE id = $1 FOR UPDATE%'`,
        );
        if (waiting[0]!.n > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await planner.query('COMMIT');
      expect(await finalizing).toBeNull();
    } finally {
      planner.release();
    }
    const { rows: e } = await ctx.db.query('SELECT state, final_counts FROM editions WHERE id = $1', [
      editionId,
    ]);
    expect(e[0]).toMatchObject({ state: 'sending', final_counts: null });
  });
});
