import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickTokens } from '../../src/clicks/index.js';
import { getCompileCount } from '../../src/render/index.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { addArticle, addReader, htmlOf, mailsTo } from '../helpers/digest-fixtures.js';
import { publicationFile } from '../helpers/publication-file.js';
import type { ReceivedMail } from '../helpers/smtp-sink.js';

const BROWSER =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const CLICK_LINK = /https:\/\/news\.example\.test\/c\/([A-Za-z0-9_-]{60})/g;

/** Click tracking end to end: the digest's links, the redirect, batched writes, statistics, opt-out. */
describe('click tracking', () => {
  let ctx: TestContext;
  const readers: Record<string, string> = {};
  const articles: Record<string, string> = {};
  const mails: Record<string, ReceivedMail> = {};

  const follow = (token: string, method: 'GET' | 'HEAD' = 'GET', userAgent = BROWSER) =>
    ctx.app.inject({ method, url: `/c/${token}`, headers: { 'user-agent': userAgent } });
  const stats = async (editionId: string) =>
    (
      await ctx.app.inject({
        method: 'GET',
        url: `/api/v1/clicks/editions/${editionId}`,
        headers: ctx.adminHeaders,
      })
    ).json();
  const tokensIn = (mail: ReceivedMail) => [
    ...new Set([...htmlOf(mail).matchAll(CLICK_LINK)].map((m) => m[1]!)),
  ];
  const editionOf = async (email: string) =>
    (
      await ctx.db.query<{ edition_id: string }>(
        'SELECT edition_id FROM deliveries WHERE recipient = $1 ORDER BY id',
        [email],
      )
    ).rows[0]!.edition_id;

  beforeAll(async () => {
    ctx = await createTestContext({
      now: '2026-11-29T10:00:00Z',
      env: {
        PUBLICATION_CONFIG: publicationFile({
          engagement: {
            clickTracking: true,
            utm: { source: 'gazette', medium: 'email', campaign: '{kind}-{date}' },
          },
        }),
        // the test flushes by hand; the timer must not race it
        CLICK_FLUSH_INTERVAL_MS: '3600000',
      },
    });
    readers.tracked = await addReader(ctx, { email: 'tracked@example.org', language: 'ar' });
    readers.optout = await addReader(ctx, { email: 'optout@example.org', language: 'ar' });
    readers.scanned = await addReader(ctx, { email: 'scanned@example.org', language: 'en' });
    const at = '2026-11-29T09:00:00Z';
    articles.ar1 = await addArticle(ctx, { title: 'الحكومة تقرّ موازنة العام المقبل', language: 'ar', at });
    articles.ar2 = await addArticle(ctx, { title: 'افتتاح معرض الكتاب في دمشق', language: 'ar', at });
    articles.en1 = await addArticle(ctx, { title: 'Budget passed', at });
    articles.en2 = await addArticle(ctx, { title: 'Book fair opens', at });
    articles.en3 = await addArticle(ctx, { title: 'Rain expected', at });

    // the opt-out reader turns tracking off in the preference centre before the digest
    const prefs = `/preferences/${ctx.container.tokens.preferences(readers.optout)}`;
    const page = await ctx.app.inject({ method: 'GET', url: prefs });
    expect(page.body).toContain('إحصاء النقرات');
    const off = await ctx.app.inject({
      method: 'POST',
      url: `${prefs}/tracking`,
      payload: 'tracking=off',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(off.statusCode).toBe(303);
    expect((await ctx.app.inject({ method: 'GET', url: prefs })).body).toContain('السماح بإحصاء النقرات');

    const send = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/digests/send',
      payload: {},
      headers: ctx.adminHeaders,
    });
    expect(send.statusCode).toBe(202);
    const received = await ctx.sink.waitFor(3);
    for (const email of ['tracked@example.org', 'optout@example.org', 'scanned@example.org']) {
      mails[email] = mailsTo(received, email)[0]!;
    }
    await eventually(async () => {
      const { rows } = await ctx.db.query("SELECT 1 FROM deliveries WHERE state = 'sent'");
      return rows.length === 3;
    });
  });

  afterAll(async () => {
    await ctx?.close();
  });

  it('article links go through signed redirects; a reader who turned tracking off gets plain links', async () => {
    const tracked = mails['tracked@example.org']!;
    expect(tokensIn(tracked)).toHaveLength(2);
    expect(htmlOf(tracked)).not.toContain('https://almadar.example/news/');
    expect(tracked.parsed.text).toMatch(CLICK_LINK);
    // the footer's links are not redirected
    expect(htmlOf(tracked)).toContain('https://news.example.test/preferences/');

    const plain = mails['optout@example.org']!;
    expect(tokensIn(plain)).toHaveLength(0);
    expect(htmlOf(plain)).toMatch(
      /href="https:\/\/almadar\.example\/news\/\d+\?utm_source=gazette&amp;utm_medium=email&amp;utm_campaign=daily-2026-11-29"/,
    );
    expect(plain.parsed.text).toMatch(/https:\/\/almadar\.example\/news\/\d+\?utm_source=gazette/);
  });

  it('a click counts once per reader, and HEAD or scanner user agents are counted apart', async () => {
    ctx.clock.set('2026-11-29T10:30:00Z'); // long after delivery: no burst
    const [first, second] = tokensIn(mails['tracked@example.org']!);
    const res = await follow(first!);
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toMatch(/^https:\/\/almadar\.example\/news\/\d+\?utm_source=gazette&/);
    await follow(first!);
    await follow(second!);
    expect((await follow(first!, 'HEAD')).statusCode).toBe(302);
    await follow(second!, 'GET', 'python-requests/2.31.0');
    await ctx.container.clicks.flush();

    const s = await stats(await editionOf('tracked@example.org'));
    expect(s.language).toBe('ar');
    expect(s.humanClickers).toBe(1);
    expect(s.scannerClicks).toEqual({ head: 1, userAgent: 1, burst: 0 });
    expect(s.articles.map((a: { humanClickers: number }) => a.humanClickers)).toEqual([1, 1]);

    const article = await ctx.app.inject({
      method: 'GET',
      url: `/api/v1/clicks/articles/${s.articles[0].articleId}`,
      headers: ctx.adminHeaders,
    });
    expect(article.json()).toMatchObject({ humanClickers: { ar: 1, en: 0 }, editions: 1 });
  });

  it('many links of one message within seconds of delivery are a scanner, not a reader', async () => {
    const tokens = tokensIn(mails['scanned@example.org']!);
    expect(tokens).toHaveLength(3);
    const { rows } = await ctx.db.query<{ sent_at: Date }>(
      "SELECT sent_at FROM deliveries WHERE recipient = 'scanned@example.org'",
    );
    ctx.clock.set(new Date(rows[0]!.sent_at.getTime() + 2000));
    for (const token of tokens) expect((await follow(token)).statusCode).toBe(302);
    await ctx.container.clicks.flush();
    const s = await stats(await editionOf('scanned@example.org'));
    expect(s.humanClickers).toBe(0);
    expect(s.scannerClicks.burst).toBe(3);
    expect(s.articles).toEqual([]);
  });

  it('a forged or tampered token leads to the home page and counts nothing', async () => {
    ctx.clock.set('2026-11-29T11:00:00Z');
    const [token] = tokensIn(mails['tracked@example.org']!);
    const flip = token!.slice(0, 20) + (token![20] === 'A' ? 'B' : 'A') + token!.slice(21);
    const other = createClickTokens({ secretKey: 'attacker-secret-0123456789abcdef0123' });
    const forged = other.sign({
      editionId: await editionOf('tracked@example.org'),
      slot: 0,
      subscriberId: readers.tracked!,
    });
    for (const bad of [flip, forged, 'x', `${token}A`, '../../etc/passwd']) {
      const res = await follow(encodeURIComponent(bad));
      expect(res.statusCode).toBe(302);
      expect(res.headers.location).toBe('https://almadar.example');
    }
    await ctx.container.clicks.flush();
    const { rows } = await ctx.db.query(
      "SELECT count(*)::int AS n FROM clicks WHERE clicked_at >= '2026-11-29T11:00:00Z'",
    );
    expect(rows[0].n).toBe(0);
  });

  it('the next digest lists the most read articles of its language, rendered once per edition', async () => {
    ctx.clock.set('2026-11-30T07:00:00Z');
    const fresh = {
      ar: await addArticle(ctx, { title: 'انطلاق موسم قطاف الزيتون', language: 'ar' as const }),
      en: await addArticle(ctx, { title: 'Olive harvest begins' }),
    };
    const before = getCompileCount();
    const count = ctx.sink.received.length;
    for (const language of ['ar', 'en'] as const) {
      const res = await ctx.app.inject({
        method: 'POST',
        url: '/api/v1/digests/send',
        payload: { articleIds: [fresh[language]], language, frequency: 'daily' },
        headers: ctx.adminHeaders,
      });
      expect(res.statusCode).toBe(202);
    }
    const received = (await ctx.sink.waitFor(count + 3)).slice(count);
    expect(getCompileCount() - before).toBe(2);

    const ar = mailsTo(received, 'tracked@example.org')[0]!;
    expect(htmlOf(ar)).toContain('الأكثر قراءة');
    expect(ar.parsed.text).toContain('== الأكثر قراءة ==');
    for (const title of ['الحكومة تقرّ موازنة العام المقبل', 'افتتاح معرض الكتاب في دمشق']) {
      expect(htmlOf(ar)).toContain(title);
    }
    // its own article and the two most read, each through a redirect of its own slot
    expect(tokensIn(ar)).toHaveLength(3);
    const opted = mailsTo(received, 'optout@example.org')[0]!;
    expect(htmlOf(opted)).toContain('الأكثر قراءة');
    expect(tokensIn(opted)).toHaveLength(0);

    // the English clicks were a scanner's: nothing is most read in English
    const en = mailsTo(received, 'scanned@example.org')[0]!;
    expect(htmlOf(en)).toContain('Olive harvest begins');
    expect(htmlOf(en)).not.toContain('Most read');
    expect(htmlOf(en)).not.toContain('Budget passed');
  });

  it('an opted-out reader’s old tracked link still leads to the article but is not counted', async () => {
    const editionId = await editionOf('optout@example.org');
    const token = createClickTokens({ secretKey: ctx.config.SECRET_KEY }).sign({
      editionId,
      slot: 0,
      subscriberId: readers.optout!,
    });
    const res = await follow(token);
    expect(res.headers.location).toMatch(/^https:\/\/almadar\.example\/news\/\d+\?utm_/);
    await ctx.container.clicks.flush();
    const { rows } = await ctx.db.query('SELECT count(*)::int AS n FROM clicks WHERE subscriber_id = $1', [
      readers.optout,
    ]);
    expect(rows[0].n).toBe(0);
    // the same edition as the tracked reader's: still only that reader counted
    expect((await stats(editionId)).humanClickers).toBe(1);
  });
});
