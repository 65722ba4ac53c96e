import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { addArticle, addReader, digests, htmlOf, ledger, mailsTo } from '../helpers/digest-fixtures.js';
import { smtpError } from '../helpers/smtp-sink.js';

/** The operator API through the real app: send now (and dry run), test copy, edition controls, previews, archive. */
describe('digest operator API', () => {
  let ctx: TestContext;
  const refuse = new Set<string>();
  const art: Record<string, string> = {};

  const post = (url: string, payload?: object, headers: Record<string, string> = ctx.adminHeaders) =>
    ctx.app.inject({ method: 'POST', url, payload: payload ?? {}, headers });
  const get = (url: string, headers: Record<string, string> = ctx.adminHeaders) =>
    ctx.app.inject({ method: 'GET', url, headers });
  const editionState = async (id: string) => (await get(`/api/v1/editions/${id}`)).json();

  beforeAll(async () => {
    ctx = await createTestContext({
      now: '2026-11-29T10:00:00Z',
      smtp: {
        // a full mailbox fails the row but does not suppress the reader (one soft bounce of
        // BOUNCE_SOFT_LIMIT), so the reader can be sent the resend copy once it has room
        onRcpt: (address) =>
          refuse.has(address) ? smtpError(552, '5.2.2 <reader>: mailbox full, over quota') : undefined,
      },
    });
    await addReader(ctx, { email: 'all@example.org' });
    await addReader(ctx, { email: 'econ@example.org', topics: ['economy'] });
    await addReader(ctx, { email: 'politics@example.org', topics: ['politics'] });
    await addReader(ctx, { email: 'weekly@example.org', frequency: 'weekly' });
    await addReader(ctx, { email: 'ar1@example.org', language: 'ar' });
    await addReader(ctx, { email: 'ar2@example.org', language: 'ar' });
    await addReader(ctx, { email: 'gone@example.org', status: 'unsubscribed' });
    const at = '2026-11-29T09:00:00Z';
    art.a1 = await addArticle(ctx, { title: 'Cabinet reshuffle', topics: ['politics'], at });
    art.a2 = await addArticle(ctx, { title: 'Inflation eases', topics: ['economy'], at });
    art.b1 = await addArticle(ctx, {
      title: 'الحكومة تعلن تعديلاً وزارياً',
      language: 'ar',
      topics: ['politics'],
      at,
    });
  });

  afterAll(async () => {
    await ctx?.close();
  });

  it('refuses without the admin token', async () => {
    const res = await post('/api/v1/digests/send', {}, {});
    expect(res.statusCode).toBe(401);
    expect((await get('/api/v1/digests/preview?language=en', {})).statusCode).toBe(401);
    expect(
      (await get('/api/v1/digests/preview?language=en&token=wrong-token-0123456789', {})).statusCode,
    ).toBe(401);
  });

  it('dry run: who would get what, and nothing is created', async () => {
    const res = await post('/api/v1/digests/send', { dryRun: true });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.recipients).toBe(6);
    expect(body.articles).toBe(3);
    const summary = body.editions
      .map(
        (e: { language: string; frequency: string; recipients: number; articles: { title: string }[] }) =>
          `${e.language}/${e.frequency}/${e.recipients}: ${e.articles
            .map((a) => a.title)
            .sort()
            .join(' + ')}`,
      )
      .sort();
    expect(summary).toEqual([
      'ar/daily/2: الحكومة تعلن تعديلاً وزارياً',
      'en/daily/1: Cabinet reshuffle',
      'en/daily/1: Cabinet reshuffle + Inflation eases',
      'en/daily/1: Inflation eases',
      'en/weekly/1: Cabinet reshuffle + Inflation eases',
    ]);
    const ar = body.editions.find((e: { language: string }) => e.language === 'ar');
    expect(ar.sample.sort()).toEqual(['ar1@example.org', 'ar2@example.org']);
    const { rows } = await ctx.db.query('SELECT 1 FROM editions UNION ALL SELECT 1 FROM deliveries');
    expect(rows).toHaveLength(0);
  });

  it('a test copy goes to one address and counts as received by nobody', async () => {
    const res = await post('/api/v1/digests/test', {
      email: 'ar1@example.org',
      language: 'ar',
      articleIds: [art.b1],
    });
    expect(res.statusCode).toBe(202);
    const [mail] = await ctx.sink.waitFor(1);
    expect(mail!.to).toEqual(['ar1@example.org']);
    expect(htmlOf(mail!)).toContain('الحكومة تعلن تعديلاً وزارياً');
    expect(htmlOf(mail!)).toMatch(/dir="rtl"/);
    // marked as a test, with no link that would unsubscribe anyone
    expect(mail!.parsed.subject).toMatch(/^\[تجربة\] /);
    expect(mail!.parsed.headers.has('list-unsubscribe')).toBe(false);
    expect(htmlOf(mail!)).not.toContain('/unsubscribe/');
    expect(mail!.parsed.text).not.toContain('/unsubscribe/');
    const rows = await ledger(ctx);
    expect(rows.map((r) => [r.kind, r.subscriber_id])).toEqual([['test', null]]);
    const dry = (await post('/api/v1/digests/send', { dryRun: true, language: 'ar' })).json();
    expect(dry.recipients).toBe(2);
  });

  it('send now: one edition per article set, each reader only what they follow', async () => {
    const res = await post('/api/v1/digests/send', { language: 'en', topics: ['economy'] });
    expect(res.statusCode).toBe(202);
    const { editions } = res.json();
    expect(editions).toHaveLength(2); // daily and weekly readers get differently titled mails
    await ctx.sink.waitFor(4);
    const mails = ctx.sink.received.slice(1);
    expect(mails.map((m) => m.to[0]).sort()).toEqual([
      'all@example.org',
      'econ@example.org',
      'weekly@example.org',
    ]);
    for (const m of mails) {
      expect(htmlOf(m)).toContain('Inflation eases');
      expect(htmlOf(m)).not.toContain('Cabinet reshuffle');
    }
    await eventually(async () => (await editionState(editions[0].id)).state === 'sent');
    const counts = (await editionState(editions[0].id)).counts;
    expect(counts.sent + (await editionState(editions[1].id)).counts.sent).toBe(3);
    expect(counts.failed).toBe(0);

    // the same again: nobody has anything new
    const again = await post('/api/v1/digests/send', { language: 'en', topics: ['economy'] });
    expect(again.json().editions).toEqual([]);
  });

  it('send everything: what each reader has not received yet', async () => {
    const res = await post('/api/v1/digests/send', {});
    expect(res.statusCode).toBe(202);
    await ctx.sink.waitFor(9);
    const mails = ctx.sink.received.slice(4);
    expect(mails.map((m) => m.to[0]).sort()).toEqual([
      'all@example.org',
      'ar1@example.org', // the test copy did not count
      'ar2@example.org',
      'politics@example.org',
      'weekly@example.org',
    ]);
    for (const m of mails.filter((m) => !m.to[0]!.startsWith('ar'))) {
      expect(htmlOf(m)).toContain('Cabinet reshuffle');
      expect(htmlOf(m)).not.toContain('Inflation eases');
    }
    expect(mailsTo(ctx.sink.received, 'gone@example.org')).toEqual([]);
  });

  it('pause leaves rows pending; resume sends them; cancel cancels them', async () => {
    art.a3 = await addArticle(ctx, { title: 'Rail strike called off' });
    art.a4 = await addArticle(ctx, { title: 'Storm warning lifted' });
    const sendQueue = ctx.container.queues.get('send');
    await sendQueue.pause();
    const first = (await post('/api/v1/digests/send', { articleIds: [art.a3], frequency: 'daily' })).json();
    expect(first.editions).toHaveLength(1);
    const id = first.editions[0].id as string;
    await eventually(async () => (await editionState(id)).counts.pending === 1);
    const paused = await post(`/api/v1/editions/${id}/pause`);
    expect(paused.statusCode).toBe(200);
    expect(paused.json().state).toBe('paused');

    const second = (await post('/api/v1/digests/send', { articleIds: [art.a4], frequency: 'daily' })).json();
    const cancelId = second.editions[0].id as string;
    await eventually(async () => (await editionState(cancelId)).counts.pending === 1);
    const cancelled = await post(`/api/v1/editions/${cancelId}/cancel`);
    expect(cancelled.json().state).toBe('cancelled');
    expect(cancelled.json().counts.cancelled).toBe(1);

    await sendQueue.resume();
    await eventually(async () => (await sendQueue.getJobCounts('waiting', 'active')).waiting === 0);
    await eventually(async () => (await sendQueue.getJobCounts('active')).active === 0);
    expect(ctx.sink.received).toHaveLength(9);
    expect((await editionState(id)).counts.pending).toBe(1);

    const resumed = await post(`/api/v1/editions/${id}/resume`);
    expect(resumed.json().state).toBe('sending');
    await ctx.sink.waitFor(10);
    expect(ctx.sink.received.at(-1)!.to).toEqual(['all@example.org']);
    expect(htmlOf(ctx.sink.received.at(-1)!)).toContain('Rail strike called off');
    await eventually(async () => (await editionState(id)).state === 'sent');
    expect(ctx.sink.received.some((m) => htmlOf(m).includes('Storm warning lifted'))).toBe(false);

    expect((await post(`/api/v1/editions/${id}/cancel`)).statusCode).toBe(409);
    expect((await post(`/api/v1/editions/${id}/resume`)).statusCode).toBe(409);
    expect((await post('/api/v1/editions/00000000-0000-4000-8000-000000000000/pause')).statusCode).toBe(404);
  });

  it('resend-failed: only readers whose row failed, with new rows', async () => {
    refuse.add('econ@example.org');
    art.a5 = await addArticle(ctx, { title: 'Budget surplus reported', topics: ['economy'] });
    const res = (await post('/api/v1/digests/send', { articleIds: [art.a5], frequency: 'daily' })).json();
    const id = res.editions[0].id as string;
    await eventually(async () => (await editionState(id)).state === 'sent');
    const before = await editionState(id);
    expect(before.counts).toMatchObject({ planned: 2, sent: 1, failed: 1 });
    refuse.clear();
    const count = ctx.sink.received.length;
    const resent = await post(`/api/v1/editions/${id}/resend-failed`);
    expect(resent.statusCode).toBe(202);
    expect(resent.json().recipients).toBe(1);
    const copyId = resent.json().editions[0].id as string;
    await ctx.sink.waitFor(count + 1);
    expect(ctx.sink.received.at(-1)!.to).toEqual(['econ@example.org']);
    expect(htmlOf(ctx.sink.received.at(-1)!)).toContain('Budget surplus reported');
    const copy = await editionState(copyId);
    expect(copy.resendOf).toBe(id);
    expect(copy.articleIds).toEqual([art.a5]);
    // nothing failed any more: a second resend has nobody to send to
    await eventually(async () => (await editionState(copyId)).state === 'sent');
    expect((await post(`/api/v1/editions/${id}/resend-failed`)).json().recipients).toBe(0);
    const { rows } = await ctx.db.query<{ dedupe_key: string; subscriber_id: string }>(
      `SELECT dedupe_key, subscriber_id FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
       WHERE s.email = 'econ@example.org' AND d.edition_id IN ($1, $2) ORDER BY d.id`,
      [id, copyId],
    );
    const sid = rows[0]!.subscriber_id;
    expect(rows.map((r) => r.dedupe_key)).toEqual([`${id}-${sid}`, `${copyId}-${sid}`]);
  });

  it('an article changed before its edition started is re-rendered', async () => {
    const digestsQueue = ctx.container.queues.get('digests');
    await digestsQueue.pause();
    art.a6 = await addArticle(ctx, { title: 'Early headline', topics: ['politics'] });
    const res = (await post('/api/v1/digests/send', { articleIds: [art.a6], language: 'en' })).json();
    const ids = res.editions.map((e: { id: string }) => e.id);
    for (const id of ids) expect((await editionState(id)).state).toBe('planned');
    await ctx.db.query(
      `UPDATE articles SET title = 'Corrected headline', summary = 'Corrected summary', revision = 1 WHERE id = $1`,
      [art.a6],
    );
    const changed = await digests(ctx).lifecycle.changed(art.a6!);
    expect(changed.rerendered?.sort()).toEqual([...ids].sort());
    const count = ctx.sink.received.length;
    await digestsQueue.resume();
    await ctx.sink.waitFor(count + 3); // all, politics, weekly
    const mails = ctx.sink.received.slice(count);
    for (const m of mails) {
      expect(htmlOf(m)).toContain('Corrected headline');
      expect(htmlOf(m)).not.toContain('Early headline');
    }
  });

  it('previews and the public web copy', async () => {
    const { rows } = await ctx.db.query<{ id: string; kind: string }>(
      `SELECT id, kind FROM editions WHERE state = 'sent' AND (kind = 'test' OR article_ids = ARRAY[$1::uuid])
       ORDER BY frequency`,
      [art.a2],
    );
    const digest = rows.find((r) => r.kind === 'digest')!.id;
    const test = rows.find((r) => r.kind === 'test')!.id;
    const preview = await get(`/api/v1/editions/${digest}/preview`);
    expect(preview.statusCode).toBe(200);
    expect(preview.headers['content-type']).toMatch(/text\/html/);
    expect(preview.body).toContain('Inflation eases');
    expect(preview.body).not.toMatch(/\{\{\w+\}\}/);
    const viaQuery = await get(`/api/v1/editions/${digest}/preview?token=${ctx.config.ADMIN_TOKEN}`, {});
    expect(viaQuery.statusCode).toBe(200);
    // the query token is for previews only
    expect((await get(`/api/v1/editions/${digest}?token=${ctx.config.ADMIN_TOKEN}`, {})).statusCode).toBe(
      401,
    );

    const live = await get(
      `/api/v1/digests/preview?language=ar&frequency=daily&topics=politics&token=${ctx.config.ADMIN_TOKEN}`,
      {},
    );
    expect(live.statusCode).toBe(200);
    expect(live.body).toContain('الحكومة تعلن تعديلاً وزارياً');
    expect(live.body).toMatch(/dir="rtl"/);
    expect((await get('/api/v1/digests/preview?language=en&topics=nonsense')).statusCode).toBe(400);

    const archive = await get(`/archive/${digest}`, {});
    expect(archive.statusCode).toBe(200);
    expect(archive.body).toContain('Inflation eases');
    expect(archive.body).not.toMatch(/\{\{\w+\}\}/);
    expect(archive.body).not.toMatch(/unsubscribe\/|token=/);
    // the mail links to that copy
    const mail = ctx.sink.received.find((m) => htmlOf(m).includes(`/archive/${digest}`));
    expect(mail).toBeDefined();
    expect((await get(`/archive/${test}`, {})).statusCode).toBe(404);
    expect((await get('/archive/00000000-0000-4000-8000-000000000000', {})).statusCode).toBe(404);
  });

  it('the web copy is a public page: a subscribe link, only articles still published, an index', async () => {
    const first = await addArticle(ctx, { title: 'Harbour reopens', topics: ['politics'] });
    const second = await addArticle(ctx, { title: 'Wheat prices fall', topics: ['economy'] });
    const count = ctx.sink.received.length;
    const sent = (await post('/api/v1/digests/send', { articleIds: [first, second], language: 'en' })).json();
    await ctx.sink.waitFor(count + 4); // all, econ, politics, weekly
    const { rows } = await ctx.db.query<{ id: string }>(
      `SELECT id FROM editions WHERE id = ANY($1::uuid[]) AND article_ids @> ARRAY[$2::uuid, $3::uuid] LIMIT 1`,
      [sent.editions.map((e: { id: string }) => e.id), first, second],
    );
    const both = rows[0]!.id;
    await eventually(async () => (await editionState(both)).state === 'sent');
    const copy = await get(`/archive/${both}`, {});
    expect(copy.statusCode).toBe(200);
    expect(copy.body).toContain('Harbour reopens');
    expect(copy.body).toContain('Wheat prices fall');
    // no personal links and no "you subscribed": one subscribe link instead
    expect(copy.body).toContain(`href="${ctx.config.PUBLIC_URL}/subscribe?lang=en"`);
    expect(copy.body).toContain('Subscribe to ');
    expect(copy.body).toContain('This is the web copy of a newsletter from');
    expect(copy.body).not.toContain('because you subscribed');
    expect(copy.body).not.toMatch(/web-copy\.invalid|\/preferences\/|\/unsubscribe\//);

    // the index lists it, in the page's language
    const index = await get('/archive?lang=en', {});
    expect(index.statusCode).toBe(200);
    expect(index.body).toContain('<html lang="en" dir="ltr">');
    expect(index.body).toContain(`href="/archive/${both}"`);
    const arIndex = await get('/archive?lang=ar', {});
    expect(arIndex.body).toContain('أرشيف النشرة');
    expect(arIndex.body).not.toContain(`href="/archive/${both}"`);
    expect((await get('/archive?lang=en&before=not-a-date', {})).statusCode).toBe(400);

    // an article withdrawn after the send leaves the web copy
    await ctx.db.query(`UPDATE articles SET status = 'unpublished' WHERE id = $1`, [first]);
    const without = await get(`/archive/${both}`, {});
    expect(without.statusCode).toBe(200);
    expect(without.body).not.toContain('Harbour reopens');
    expect(without.body).toContain('Wheat prices fall');
    expect(without.body).toContain(`href="${ctx.config.PUBLIC_URL}/subscribe?lang=en"`);
    // with none left the edition is gone, and the index leaves it out
    await ctx.db.query(`UPDATE articles SET status = 'unpublished' WHERE id = $1`, [second]);
    const gone = await get(`/archive/${both}`, {});
    expect(gone.statusCode).toBe(410);
    expect(gone.body).toContain('This edition is no longer available');
    expect((await get('/archive?lang=en', {})).body).not.toContain(`href="/archive/${both}"`);
    await ctx.db.query(`UPDATE articles SET status = 'published' WHERE id = ANY($1::uuid[])`, [
      [art.a1, art.a2],
    ]);
  });
});
