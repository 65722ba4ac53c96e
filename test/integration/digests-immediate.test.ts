import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { addArticle, addReader, digests, htmlOf, ledger, mailsTo } from '../helpers/digest-fixtures.js';

/**
 * Immediate readers (a window opened by the first article, one mail per window) and the breaking
 * alert lane, and the ledger keeping an alerted article out of every later digest.
 */
describe('immediate windows and breaking alerts', () => {
  let ctx: TestContext;
  const burst: string[] = [];

  beforeAll(async () => {
    ctx = await createTestContext({ now: '2026-11-29T10:00:00Z' });
    await addReader(ctx, { email: 'now@example.org', frequency: 'immediate' });
    await addReader(ctx, {
      email: 'econ-now@example.org',
      frequency: 'immediate',
      topics: ['economy'],
      alerts: true,
    });
    await addReader(ctx, {
      email: 'ar-now@example.org',
      frequency: 'immediate',
      language: 'ar',
      alerts: true,
    });
    await addReader(ctx, {
      email: 'politics-daily@example.org',
      topics: ['politics'],
      alerts: true,
      sendHour: 12,
    });
    await addReader(ctx, { email: 'daily@example.org', sendHour: 12 });
    // paused by re-permission: kept, but neither alerts nor digests reach them
    await addReader(ctx, {
      email: 'paused@example.org',
      topics: ['politics'],
      alerts: true,
      sendHour: 12,
      status: 'paused',
    });
    await digests(ctx).planner.plan(); // schedules the daily readers for 12:00 UTC
  });

  afterAll(async () => {
    await ctx?.close();
  });

  it('a burst of five articles inside one window is one mail', async () => {
    const topics = [['politics'], ['economy'], ['politics'], ['economy'], []];
    for (const [i, t] of topics.entries()) {
      const id = await addArticle(ctx, { title: `Burst story ${i + 1}`, topics: t });
      burst.push(id);
      await digests(ctx).lifecycle.published(id);
      ctx.clock.advance(10_000);
    }
    const { rows } = await ctx.db.query<{ email: string; next_digest_at: Date | null }>(
      `SELECT email, next_digest_at FROM subscribers WHERE frequency = 'immediate' ORDER BY email`,
    );
    // the first article opened the window; the four after it did not move it
    expect(rows.find((r) => r.email === 'now@example.org')!.next_digest_at!.toISOString()).toBe(
      '2026-11-29T10:02:00.000Z',
    );
    expect(rows.find((r) => r.email === 'econ-now@example.org')!.next_digest_at!.toISOString()).toBe(
      '2026-11-29T10:02:10.000Z',
    );
    expect(rows.find((r) => r.email === 'ar-now@example.org')!.next_digest_at).toBeNull();

    // before the window closes nothing goes out
    ctx.clock.set('2026-11-29T10:01:30Z');
    await digests(ctx).planner.plan();
    expect(await ledger(ctx)).toHaveLength(0);

    ctx.clock.set('2026-11-29T10:02:11Z');
    await digests(ctx).planner.plan();
    const rowsAfter = await ledger(ctx);
    expect(rowsAfter.map((r) => r.recipient).sort()).toEqual(['econ-now@example.org', 'now@example.org']);
    const mails = await ctx.sink.waitFor(2);
    const now = mailsTo(mails, 'now@example.org');
    expect(now).toHaveLength(1);
    for (let i = 1; i <= 5; i++) expect(htmlOf(now[0]!)).toContain(`Burst story ${i}`);
    const econ = mailsTo(mails, 'econ-now@example.org');
    expect(econ).toHaveLength(1);
    expect(htmlOf(econ[0]!)).toContain('Burst story 2');
    expect(htmlOf(econ[0]!)).toContain('Burst story 4');
    expect(htmlOf(econ[0]!)).not.toContain('Burst story 1');
  });

  it('the next article opens the next window: the next mail carries only it', async () => {
    ctx.clock.set('2026-11-29T10:05:00Z');
    const id = await addArticle(ctx, { title: 'Live coverage, update 1', topics: ['politics'] });
    await digests(ctx).lifecycle.published(id);
    ctx.clock.set('2026-11-29T10:07:01Z');
    await digests(ctx).planner.plan();
    const mails = await ctx.sink.waitFor(3);
    const now = mailsTo(mails, 'now@example.org');
    expect(now).toHaveLength(2);
    expect(htmlOf(now[1]!)).toContain('Live coverage, update 1');
    expect(htmlOf(now[1]!)).not.toContain('Burst story');
    expect(mailsTo(mails, 'econ-now@example.org')).toHaveLength(1);
  });

  it('a breaking article goes out at once as an alert to alert readers of its language', async () => {
    ctx.clock.set('2026-11-29T10:30:00Z');
    const breaking = await addArticle(ctx, {
      title: 'Breaking: ceasefire announced',
      topics: ['politics', 'economy'],
      breaking: true,
    });
    // through the real lifecycle queue and worker, as ingestion would
    await ctx.container.queues.enqueue('article-lifecycle', 'published', { articleId: breaking });
    const mails = await ctx.sink.waitFor(5);
    const alerts = mails.slice(3);
    expect(alerts.map((m) => m.to[0]).sort()).toEqual(['econ-now@example.org', 'politics-daily@example.org']);
    for (const m of alerts) {
      expect(m.parsed.subject).toContain('Breaking: ceasefire announced');
      expect(htmlOf(m)).toContain('Breaking: ceasefire announced');
    }
    const alertRows = (await ledger(ctx)).filter((r) => r.kind === 'alert');
    expect(alertRows).toHaveLength(2);
    expect(alertRows.map((r) => r.recipient)).not.toContain('paused@example.org');
    expect(alertRows[0]!.article_ids).toEqual([breaking]);

    // the window it opened closes: the reader without alerts gets it in their digest; the alerted
    // economy reader has nothing new, so no mail
    ctx.clock.set('2026-11-29T10:32:01Z');
    await digests(ctx).planner.plan();
    await ctx.sink.waitFor(6);
    expect(mailsTo(ctx.sink.received, 'now@example.org')).toHaveLength(3);
    expect(htmlOf(mailsTo(ctx.sink.received, 'now@example.org')[2]!)).toContain(
      'Breaking: ceasefire announced',
    );
    expect(mailsTo(ctx.sink.received, 'econ-now@example.org')).toHaveLength(2);

    // the daily digests at noon: the alerted reader does not get the article again
    ctx.clock.set('2026-11-29T12:00:05Z');
    await digests(ctx).planner.plan();
    await ctx.sink.waitFor(8);
    const politics = mailsTo(ctx.sink.received, 'politics-daily@example.org');
    expect(politics).toHaveLength(2);
    expect(htmlOf(politics[1]!)).toContain('Burst story 1');
    expect(htmlOf(politics[1]!)).toContain('Live coverage, update 1');
    expect(htmlOf(politics[1]!)).not.toContain('ceasefire');
    const daily = mailsTo(ctx.sink.received, 'daily@example.org');
    expect(daily).toHaveLength(1);
    expect(htmlOf(daily[0]!)).toContain('ceasefire');
  });

  it('nothing twice: every reader has each article in at most one live ledger row', async () => {
    const { rows } = await ctx.db.query<{ recipient: string; aid: string; n: number }>(
      `SELECT d.recipient, x.aid, count(*) AS n
       FROM deliveries d JOIN editions e ON e.id = d.edition_id CROSS JOIN unnest(e.article_ids) x(aid)
       GROUP BY 1, 2 HAVING count(*) > 1`,
    );
    expect(rows).toEqual([]);
    expect(ctx.sink.received).toHaveLength(8);
  });

  it('a withdrawn breaking article: pending alert rows are cancelled, nothing goes out', async () => {
    ctx.clock.set('2026-11-29T13:00:00Z');
    const alertsQueue = ctx.container.queues.get('alerts');
    await alertsQueue.pause();
    try {
      const id = await addArticle(ctx, {
        title: 'Breaking: premature report',
        breaking: true,
        topics: ['politics'],
      });
      const fan = await digests(ctx).alerts.fanout(id);
      expect(fan.rows).toBe(2);
      await ctx.db.query(`UPDATE articles SET status = 'unpublished' WHERE id = $1`, [id]);
      const res = await digests(ctx).lifecycle.withdrawn(id);
      expect(res.cancelled).toEqual([fan.editionId]);
      const rows = (await ledger(ctx)).filter((r) => r.edition_id === fan.editionId);
      expect(rows.map((r) => r.state)).toEqual(['cancelled', 'cancelled']);
      expect(rows[0]!.edition_state).toBe('cancelled');
    } finally {
      await alertsQueue.resume();
    }
    await eventually(async () => (await alertsQueue.getJobCounts('waiting', 'active')).waiting === 0);
    await eventually(async () => (await alertsQueue.getJobCounts('active')).active === 0);
    expect(ctx.sink.received).toHaveLength(8);
  });
});
