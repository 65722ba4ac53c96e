import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCompileCount } from '../../src/render/index.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { addArticle, addReader, digests, htmlOf, ledger, mailsTo } from '../helpers/digest-fixtures.js';

/**
 * Daily and weekly digests across languages, topic sets and time zones: each reader gets exactly
 * their articles at their local hour, nothing empty, nothing unpublished, nothing twice; and one
 * MJML compile per edition.
 */
describe('scheduled digests', () => {
  let ctx: TestContext;
  const ids: Record<string, string> = {};
  const art: Record<string, string> = {};
  let compilesBefore = 0;

  beforeAll(async () => {
    // Sunday 29 November 2026, 13:00 UTC
    ctx = await createTestContext({ now: '2026-11-29T13:00:00Z' });
    ids.utc = await addReader(ctx, { email: 'utc@example.org', name: 'Uma', timezone: 'UTC' });
    ids.damascus = await addReader(ctx, {
      email: 'dimashq@example.org',
      language: 'ar',
      name: 'أحمد',
      timezone: 'Asia/Damascus',
    });
    ids.ny = await addReader(ctx, {
      email: 'ny@example.org',
      timezone: 'America/New_York',
      topics: ['economy'],
    });
    ids.sport = await addReader(ctx, { email: 'sport@example.org', topics: ['sport'] });
    ids.pending = await addReader(ctx, { email: 'pending@example.org', status: 'pending' });
    ids.weekly = await addReader(ctx, { email: 'weekly@example.org', frequency: 'weekly', sendHour: 9 });
    ids.late = await addReader(ctx, { email: 'late@example.org', sendHour: 18 });

    const evening = '2026-11-29T20:00:00Z';
    art.en1 = await addArticle(ctx, {
      title: 'Parliament votes on budget',
      topics: ['politics'],
      at: evening,
    });
    art.en2 = await addArticle(ctx, { title: 'Central bank holds rates', topics: ['economy'], at: evening });
    art.en3 = await addArticle(ctx, { title: 'A story without a topic', at: evening });
    art.draft = await addArticle(ctx, {
      title: 'Draft never sent',
      topics: ['economy'],
      status: 'draft',
      at: evening,
    });
    art.gone = await addArticle(ctx, {
      title: 'Unpublished never sent',
      topics: ['economy'],
      status: 'unpublished',
      at: evening,
    });
    art.ar1 = await addArticle(ctx, {
      title: 'البرلمان يصوت على الموازنة',
      language: 'ar',
      topics: ['politics'],
      at: evening,
    });
    art.ar2 = await addArticle(ctx, {
      title: 'المصرف المركزي يثبت الفائدة',
      language: 'ar',
      topics: ['economy'],
      at: evening,
    });
    art.en5 = await addArticle(ctx, {
      title: 'Markets rally at noon',
      topics: ['economy'],
      at: '2026-11-30T10:00:00Z',
    });
    compilesBefore = getCompileCount();
  });

  afterAll(async () => {
    await ctx?.close();
  });

  it('schedules each confirmed reader at their local send hour', async () => {
    const r = await digests(ctx).planner.plan();
    expect(r.scheduled).toBe(6);
    const { rows } = await ctx.db.query<{ id: string; next_digest_at: Date | null }>(
      'SELECT id, next_digest_at FROM subscribers',
    );
    const next = new Map(rows.map((x) => [x.id, x.next_digest_at?.toISOString() ?? null]));
    expect(next.get(ids.utc!)).toBe('2026-11-30T07:00:00.000Z');
    expect(next.get(ids.damascus!)).toBe('2026-11-30T04:00:00.000Z'); // UTC+3
    expect(next.get(ids.ny!)).toBe('2026-11-30T12:00:00.000Z'); // UTC-5 in winter
    expect(next.get(ids.late!)).toBe('2026-11-29T18:00:00.000Z'); // still today
    expect(next.get(ids.weekly!)).toBe('2026-12-04T09:00:00.000Z'); // Friday
    expect(next.get(ids.pending!)).toBeNull();
  });

  it('sends each reader their articles at their hour, in their language', async () => {
    ctx.clock.set('2026-11-30T04:00:20Z');
    const first = await digests(ctx).planner.plan();
    // the 18:00 reader's slot of yesterday is 10 h old: skipped, not sent late
    expect(first.expired).toBe(1);
    let rows = await ledger(ctx);
    expect(rows.map((r) => r.recipient)).toEqual(['dimashq@example.org']);
    expect(new Set(rows[0]!.article_ids)).toEqual(new Set([art.ar1, art.ar2]));
    // each slot's mail must be out before the clock jumps hours ahead: a digest still owed
    // DIGEST_MAX_AGE_SECONDS (6 h) after it was due fails instead of going out late
    await ctx.sink.waitFor(1);

    ctx.clock.set('2026-11-30T07:00:10Z');
    await digests(ctx).planner.plan();
    await ctx.sink.waitFor(2);
    ctx.clock.set('2026-11-30T12:00:05Z');
    await digests(ctx).planner.plan();
    rows = await ledger(ctx);
    const byRecipient = new Map(rows.map((r) => [r.recipient, r]));
    expect([...byRecipient.keys()].sort()).toEqual([
      'dimashq@example.org',
      'ny@example.org',
      'utc@example.org',
    ]);
    // empty topics: everything in the language, including the article with no topic
    expect(new Set(byRecipient.get('utc@example.org')!.article_ids)).toEqual(
      new Set([art.en1, art.en2, art.en3]),
    );
    // economy only: not politics, not the topic-less article; the noon article is in
    expect(new Set(byRecipient.get('ny@example.org')!.article_ids)).toEqual(new Set([art.en2, art.en5]));
    // the sport reader had nothing: no row, but the slot moved on
    const { rows: sport } = await ctx.db.query<{ next_digest_at: Date; last_digest_at: Date }>(
      'SELECT next_digest_at, last_digest_at FROM subscribers WHERE id = $1',
      [ids.sport],
    );
    expect(sport[0]!.next_digest_at.toISOString()).toBe('2026-12-01T07:00:00.000Z');
    expect(sport[0]!.last_digest_at.toISOString()).toBe('2026-11-30T07:00:10.000Z');

    const mails = await ctx.sink.waitFor(3);
    expect(mails).toHaveLength(3);
    const ar = mailsTo(mails, 'dimashq@example.org')[0]!;
    expect(htmlOf(ar)).toMatch(/dir="rtl"/);
    expect(htmlOf(ar)).toContain('البرلمان يصوت على الموازنة');
    expect(htmlOf(ar)).toContain('المصرف المركزي يثبت الفائدة');
    expect(ar.parsed.subject).toMatch(/[\u0600-\u06FF]/);
    expect(htmlOf(ar)).toContain('أحمد');
    const en = mailsTo(mails, 'utc@example.org')[0]!;
    expect(htmlOf(en)).not.toMatch(/dir="rtl"/);
    for (const t of ['Parliament votes on budget', 'Central bank holds rates', 'A story without a topic'])
      expect(htmlOf(en)).toContain(t);
    for (const t of ['Draft never sent', 'Unpublished never sent', 'Markets rally'])
      expect(htmlOf(en)).not.toContain(t);
    expect(en.parsed.text).toContain('Parliament votes on budget');
    const ny = mailsTo(mails, 'ny@example.org')[0]!;
    expect(htmlOf(ny)).toContain('Markets rally at noon');
    expect(htmlOf(ny)).not.toContain('Parliament votes on budget');
  });

  it('renders once per edition (MJML compiles = editions)', async () => {
    const { rows } = await ctx.db.query<{ n: number }>('SELECT count(*) AS n FROM editions');
    expect(rows[0]!.n).toBe(3);
    expect(getCompileCount() - compilesBefore).toBe(3);
  });

  it('never sends an article twice: the next day carries only what is new', async () => {
    ctx.clock.set('2026-11-30T18:00:30Z');
    await digests(ctx).planner.plan(); // the 18:00 reader: what arrived after the skipped slot
    ctx.clock.set('2026-12-01T07:00:30Z');
    await digests(ctx).planner.plan();
    const rows = await ledger(ctx);
    const utc = rows.filter((r) => r.recipient === 'utc@example.org');
    expect(utc).toHaveLength(2);
    expect(utc[1]!.article_ids).toEqual([art.en5]);
    expect(rows.filter((r) => r.recipient === 'ny@example.org')).toHaveLength(1);
    const late = rows.filter((r) => r.recipient === 'late@example.org');
    expect(late).toHaveLength(1);
    expect(new Set(late[0]!.article_ids)).toEqual(new Set([art.en1, art.en2, art.en3, art.en5]));
    // the Arabic reader had nothing new on the second day
    expect(rows.filter((r) => r.recipient === 'dimashq@example.org')).toHaveLength(1);
  });

  it('sends the weekly digest on the publication weekly day with the week', async () => {
    ctx.clock.set('2026-12-04T09:00:15Z');
    await digests(ctx).planner.plan();
    const weekly = (await ledger(ctx)).filter((r) => r.recipient === 'weekly@example.org');
    expect(weekly).toHaveLength(1);
    expect(weekly[0]!.frequency).toBe('weekly');
    expect(new Set(weekly[0]!.article_ids)).toEqual(new Set([art.en1, art.en2, art.en3, art.en5]));
    const { rows } = await ctx.db.query<{ next_digest_at: Date }>(
      'SELECT next_digest_at FROM subscribers WHERE id = $1',
      [ids.weekly],
    );
    expect(rows[0]!.next_digest_at.toISOString()).toBe('2026-12-11T09:00:00.000Z');
  });

  it('caps a digest at maxItems, newest first, with a link to the site for the rest', async () => {
    await addReader(ctx, {
      email: 'culture@example.org',
      topics: ['culture'],
      confirmedAt: '2026-12-04T09:00:00Z',
    });
    const max = ctx.publication.digest.maxItems;
    for (let i = 1; i <= max + 2; i++) {
      await addArticle(ctx, {
        title: `Culture note ${i}`,
        topics: ['culture'],
        at: new Date(Date.parse('2026-12-04T10:00:00Z') + i * 60_000),
      });
    }
    await digests(ctx).planner.plan();
    ctx.clock.set('2026-12-05T07:00:10Z');
    await digests(ctx).planner.plan();
    const row = (await ledger(ctx)).find((r) => r.recipient === 'culture@example.org')!;
    expect(row.article_ids).toHaveLength(max);
    const { rows } = await ctx.db.query<{ more_url: string | null }>(
      'SELECT more_url FROM editions WHERE id = $1',
      [row.edition_id],
    );
    expect(rows[0]!.more_url).toBe(ctx.publication.website);
    const mail = await eventually(async () => mailsTo(ctx.sink.received, 'culture@example.org')[0]);
    expect(htmlOf(mail)).toContain(`Culture note ${max + 2}`); // newest first
    expect(htmlOf(mail)).toContain('Culture note 3<');
    expect(htmlOf(mail)).not.toContain('Culture note 2<'); // the two oldest did not fit
    expect(htmlOf(mail)).toContain(`href="${ctx.publication.website}"`);
  });
});
