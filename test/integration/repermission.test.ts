import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { addArticle, addReader, htmlOf, mailsTo } from '../helpers/digest-fixtures.js';
import { publicationFile } from '../helpers/publication-file.js';
import type { ReceivedMail } from '../helpers/smtp-sink.js';

const BROWSER =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';
const CLICK_LINK = /https:\/\/news\.example\.test\/c\/([A-Za-z0-9_-]{60})/;
const KEEP_LINK = /https:\/\/news\.example\.test(\/keep\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)/;
const LONG_AGO = '2025-09-01T08:00:00Z'; // confirmed ~15 months before the test's now
const DAY = 24 * 3600_000;
const form = { 'content-type': 'application/x-www-form-urlencoded' };

/** List hygiene from engagement: one question after the period, paused after the grace, resumable. */
describe('re-permission', () => {
  let ctx: TestContext;
  const r: Record<string, string> = {};
  const email = (name: string) => `${name}@example.org`;
  let sent = 0;

  const runJob = async (id: string) => {
    await ctx.container.queues.enqueue('engagement', 'repermission', {}, { jobId: id });
    const queue = ctx.container.queues.get('engagement');
    await eventually(async () => (await (await queue.getJob(id))?.getState()) === 'completed');
  };
  const statusOf = async (name: string) =>
    (await ctx.db.query<{ status: string }>('SELECT status FROM subscribers WHERE id = $1', [r[name]]))
      .rows[0]!.status;
  const asks = async () =>
    (
      await ctx.db.query<{ recipient: string; state: string }>(
        "SELECT recipient, state FROM deliveries WHERE kind = 'repermission' ORDER BY recipient",
      )
    ).rows;
  const sendDigest = async () => {
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/digests/send',
      payload: {},
      headers: ctx.adminHeaders,
    });
    expect(res.statusCode).toBe(202);
    return (await res.json()) as { editionIds?: string[] };
  };
  const keepPath = (mail: ReceivedMail) => KEEP_LINK.exec(htmlOf(mail))![1]!;
  let mails: ReceivedMail[] = [];

  beforeAll(async () => {
    ctx = await createTestContext({
      now: '2026-11-29T10:00:00Z',
      env: {
        PUBLICATION_CONFIG: publicationFile({
          engagement: { clickTracking: true, repermissionAfterDays: 180, repermissionGraceDays: 14 },
        }),
        CLICK_FLUSH_INTERVAL_MS: '3600000',
      },
    });
    for (const [name, language] of [
      ['idle', 'ar'],
      ['clicker', 'ar'],
      ['scanned', 'en'],
      ['optout', 'ar'],
      ['quiet2', 'en'],
      ['quiet3', 'ar'],
    ] as const) {
      r[name] = await addReader(ctx, { email: email(name), language, confirmedAt: LONG_AGO });
    }
    r.fresh = await addReader(ctx, {
      email: email('fresh'),
      language: 'en',
      confirmedAt: new Date(ctx.clock.now().getTime() - 10 * DAY),
    });
    // the opt-out reader turned click tracking off: never judged by clicks
    const prefs = `/preferences/${ctx.container.tokens.preferences(r.optout!)}/tracking`;
    const off = await ctx.app.inject({ method: 'POST', url: prefs, payload: 'tracking=off', headers: form });
    expect(off.statusCode).toBe(303);

    await addArticle(ctx, { title: 'افتتاح معرض الكتاب', language: 'ar', at: '2026-11-29T09:00:00Z' });
    await addArticle(ctx, { title: 'Book fair opens', at: '2026-11-29T09:00:00Z' });
    await sendDigest();
    sent += 7;
    mails = await ctx.sink.waitFor(sent);

    // long after delivery (no burst): the clicker clicks like a person, "scanned" only by a scanner
    ctx.clock.set('2026-11-29T10:30:00Z');
    const token = (name: string) => CLICK_LINK.exec(htmlOf(mailsTo(mails, email(name))[0]!))![1]!;
    expect(
      (await ctx.app.inject({ url: `/c/${token('clicker')}`, headers: { 'user-agent': BROWSER } }))
        .statusCode,
    ).toBe(302);
    await ctx.app.inject({
      url: `/c/${token('scanned')}`,
      headers: { 'user-agent': 'python-requests/2.31.0' },
    });
    await ctx.container.clicks.flush();
    const { rows } = await ctx.db.query<{ subscriber_id: string; scanner: string | null }>(
      'SELECT subscriber_id, scanner FROM clicks',
    );
    expect(rows).toEqual(
      expect.arrayContaining([
        { subscriber_id: r.clicker, scanner: null },
        { subscriber_id: r.scanned, scanner: 'user-agent' },
      ]),
    );
  }, 60_000);

  afterAll(async () => {
    await ctx?.close();
  });

  it('asks nobody while tracking has not yet been on for the whole period', async () => {
    await runJob('repermission-run-0');
    expect(await asks()).toEqual([]);
    // tracking on since long ago: a scanner's click of an old mail (stored as the redirect would)
    await ctx.db.query(
      `INSERT INTO clicks (edition_id, article_id, subscriber_id, language, clicked_at, scanner)
       SELECT edition_id, article_id, subscriber_id, language, $1, 'head' FROM clicks LIMIT 1`,
      [LONG_AGO],
    );
  });

  it('asks readers with no human click once, although the job runs twice', async () => {
    await runJob('repermission-run-1');
    await runJob('repermission-run-2');
    sent += 4;
    mails = await ctx.sink.waitFor(sent);
    await eventually(async () => (await asks()).every((a) => a.state === 'sent'));
    // a recent human click, an opt-out of tracking, a confirmation inside the period: not asked
    expect((await asks()).map((a) => a.recipient)).toEqual(
      ['idle', 'quiet2', 'quiet3', 'scanned'].map(email),
    );
    const ar = mailsTo(mails, email('idle'));
    const question = ar[ar.length - 1]!;
    expect(question.parsed.subject).toBe('هل ما زلت ترغب في تلقي نشرة صحيفة المدار؟');
    expect(htmlOf(question)).toMatch(/<html lang="ar" dir="rtl"/);
    expect(htmlOf(question)).toContain('نعم، استمروا في الإرسال');
    expect(question.raw.toString()).toMatch(
      /^List-Unsubscribe:\s+<https:\/\/news\.example\.test\/unsubscribe\//m,
    );
    const en = mailsTo(mails, email('scanned'));
    expect(en[en.length - 1]!.parsed.subject).toBe(`Do you still want ${ctx.publication.name.en}?`);
  });

  it('the keep link answers: a GET only shows the button, the POST records it', async () => {
    const idle = mailsTo(mails, email('idle'));
    const path = keepPath(idle[idle.length - 1]!);
    const page = await ctx.app.inject({ url: path });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('نعم، استمروا في الإرسال');
    const open = await ctx.db.query('SELECT 1 FROM repermissions WHERE answered_at IS NOT NULL');
    expect(open.rows).toHaveLength(0);
    const kept = await ctx.app.inject({ method: 'POST', url: path, payload: '', headers: form });
    expect(kept.statusCode).toBe(200);
    expect(kept.body).toContain('شكراً، سنواصل الإرسال');
    const { rows } = await ctx.db.query<{ answered_by: string }>(
      'SELECT answered_by FROM repermissions WHERE subscriber_id = $1',
      [r.idle],
    );
    expect(rows[0]!.answered_by).toBe('reader');
    // a forged token names nobody
    expect((await ctx.app.inject({ url: `${path}x` })).statusCode).toBe(404);
  });

  it('without an answer, paused after the grace; no digest reaches them; counted', async () => {
    ctx.clock.set(new Date(ctx.clock.now().getTime() + 13 * DAY));
    await runJob('repermission-run-3');
    expect(await statusOf('scanned')).toBe('confirmed'); // the grace is not over yet

    ctx.clock.set(new Date(ctx.clock.now().getTime() + 2 * DAY));
    await runJob('repermission-run-4');
    for (const name of ['scanned', 'quiet2', 'quiet3']) expect(await statusOf(name)).toBe('paused');
    expect(await statusOf('idle')).toBe('confirmed');
    expect((await asks()).length).toBe(4); // nobody asked a second time

    const counts = await ctx.app.inject({
      url: '/api/v1/engagement/repermission',
      headers: ctx.adminHeaders,
    });
    expect(counts.json()).toEqual({ waiting: 0, paused: 3, keptByReader: 1, resumedByOperator: 0 });
    expect((await ctx.app.inject('/metrics')).body).toMatch(/^gazette_readers_paused 3$/m);
    const view = await ctx.app.inject({ url: `/api/v1/subscribers/${r.scanned}`, headers: ctx.adminHeaders });
    expect(view.json().status).toBe('paused');

    await addArticle(ctx, { title: 'Rain expected', at: ctx.clock.now() });
    await addArticle(ctx, { title: 'توقع هطول أمطار', language: 'ar', at: ctx.clock.now() });
    await sendDigest();
    sent += 4; // idle, clicker, optout, fresh
    mails = await ctx.sink.waitFor(sent);
    await eventually(async () => {
      const { rows } = await ctx.db.query("SELECT 1 FROM deliveries WHERE state = 'pending'");
      return rows.length === 0;
    });
    const late = mails.slice(sent - 4).flatMap((m) => m.to);
    expect(late.sort()).toEqual(['clicker', 'fresh', 'idle', 'optout'].map(email).sort());
    const { rows } = await ctx.db.query(
      `SELECT 1 FROM deliveries WHERE subscriber_id = ANY($1::uuid[]) AND kind IN ('digest', 'alert')
          AND created_at > $2`,
      [[r.scanned, r.quiet2, r.quiet3], new Date(ctx.clock.now().getTime() - DAY)],
    );
    expect(rows).toHaveLength(0);
  });

  it('a paused reader resumes by the keep link or the preference centre, or an operator resumes them', async () => {
    const scanned = mailsTo(mails, email('scanned')).filter((m) => KEEP_LINK.test(htmlOf(m)));
    const keep = await ctx.app.inject({
      method: 'POST',
      url: keepPath(scanned[0]!),
      payload: '',
      headers: form,
    });
    expect(keep.statusCode).toBe(200);
    expect(await statusOf('scanned')).toBe('confirmed');

    const prefs = `/preferences/${ctx.container.tokens.preferences(r.quiet3!)}`;
    const save = await ctx.app.inject({
      method: 'POST',
      url: prefs,
      payload: 'topicsMode=all&frequency=daily&language=ar&timezone=UTC&sendHour=7',
      headers: form,
    });
    expect(save.statusCode).toBeLessThan(400);
    expect(await statusOf('quiet3')).toBe('confirmed');

    const notPaused = await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/subscribers/${r.idle}/resume`,
      headers: ctx.adminHeaders,
    });
    expect(notPaused.statusCode).toBe(409);
    expect(notPaused.json().error).toBeTruthy();
    const resumed = await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/subscribers/${r.quiet2}/resume`,
      headers: ctx.adminHeaders,
    });
    expect(resumed.statusCode).toBe(200);
    expect(resumed.json().status).toBe('confirmed');

    const counts = await ctx.app.inject({
      url: '/api/v1/engagement/repermission',
      headers: ctx.adminHeaders,
    });
    expect(counts.json()).toEqual({ waiting: 0, paused: 0, keptByReader: 3, resumedByOperator: 1 });
    // answered less than the period ago: not asked again
    await runJob('repermission-run-5');
    expect((await asks()).length).toBe(4);
  });
});
