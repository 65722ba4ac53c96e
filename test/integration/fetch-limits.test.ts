import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWpWebhook } from '../../src/articles/signatures.js';
import { articleEventsWorker } from '../../workers/article-events-worker.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { publicationFile } from '../helpers/publication-file.js';

const WP_SECRET = 'wp-secret-fetch-limits';
const STRAPI_TOKEN = 'strapi-token-fetch-limits';
const CAP = 64 * 1024;
const fixture = (path: string) => readFileSync(new URL(`../fixtures/cms/${path}`, import.meta.url), 'utf8');

/**
 * The feed poller and the WordPress id fetch under hostile or broken sources: byte caps, redirects,
 * non-public targets, path tricks in ids, and permanent failures recorded where the operator sees them.
 */
describe('feed and WordPress fetches', () => {
  let ctx: TestContext;
  let site: Server;
  let elsewhere: Server;
  const wpRequests: string[] = [];
  const endless = { bytes: 0 };

  beforeAll(async () => {
    elsewhere = createServer((_req, res) => res.writeHead(200).end('<rss version="2.0"><channel/></rss>'));
    await new Promise<void>((r) => elsewhere.listen(0, '127.0.0.1', () => r()));
    const elsewhereUrl = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
    site = createServer((req, res) => {
      const url = req.url ?? '';
      if (url.startsWith('/wp-json/')) wpRequests.push(url);
      if (url === '/huge.xml') {
        res.writeHead(200, {
          'content-type': 'application/rss+xml',
          'content-length': String(400 * 1024 * 1024),
        });
        res.write('<?xml version="1.0"?><rss version="2.0"><channel>');
        return; // never finishes: the poller must not wait for 400 MB
      }
      if (url === '/endless.xml') {
        res.writeHead(200, { 'content-type': 'application/rss+xml' });
        res.write('<?xml version="1.0"?><rss version="2.0"><channel>');
        const item = Buffer.from(`<item><title>${'خبر '.repeat(200)}</title></item>`);
        const pump = () => {
          while (!res.destroyed && res.write(item)) endless.bytes += item.length;
          if (!res.destroyed) res.once('drain', pump);
        };
        return pump();
      }
      if (url === '/moved.xml') return res.writeHead(301, { location: `${elsewhereUrl}/feed.xml` }).end();
      if (url.startsWith('/wp-json/wp/v2/posts/404'))
        return res.writeHead(404).end('{"code":"rest_post_invalid_id"}');
      if (url.startsWith('/wp-json/wp/v2/posts/410')) return res.writeHead(410).end();
      if (url.startsWith('/wp-json/wp/v2/posts/403')) return res.writeHead(403).end();
      if (url.startsWith('/wp-json/wp/v2/posts/503')) return res.writeHead(503).end('maintenance');
      if (url.startsWith('/wp-json/wp/v2/posts/7001')) {
        // a caching plugin's HTML page instead of the REST answer
        return res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>صيانة</title>');
      }
      if (url.startsWith('/wp-json/wp/v2/posts/7002')) {
        const post = JSON.parse(fixture('wordpress/rest-post-embed.json'));
        return res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ ...post, id: 7002 }));
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    const sample = JSON.parse(readFileSync('config/publication.sample.json', 'utf8'));
    ctx = await createTestContext({
      workers: false,
      now: new Date().toISOString(),
      env: {
        WEBHOOK_SECRET_WORDPRESS: WP_SECRET,
        WEBHOOK_SECRET_STRAPI: STRAPI_TOKEN,
        FETCH_MAX_BYTES: String(CAP),
        PUBLICATION_CONFIG: publicationFile({
          sources: {
            ...sample.sources,
            wordpress: { ...sample.sources.wordpress, siteUrl: base },
            // no urlTemplate: a Strapi entry without a url field is held, not applied
            strapi: { language: 'ar', timezone: 'Asia/Damascus' },
          },
          feeds: [
            { id: 'huge', type: 'rss', url: `${base}/huge.xml` },
            { id: 'endless', type: 'rss', url: `${base}/endless.xml` },
            { id: 'moved', type: 'rss', url: `${base}/moved.xml` },
          ],
        }),
      },
    });
  });
  afterAll(async () => {
    await ctx?.close();
    site?.close();
    elsewhere?.close();
  });

  const feedState = async (id: string) =>
    (await ctx.db.query('SELECT last_status, last_error FROM feed_state WHERE feed_id = $1', [id])).rows[0];

  it('refuses a feed whose Content-Length is over the cap without reading it', async () => {
    const before = process.memoryUsage().rss;
    await expect(ctx.container.feedPoller.poll('huge')).rejects.toThrow(
      /Content-Length 419430400 is over 65536/,
    );
    expect((await feedState('huge')).last_error).toMatch(/Content-Length 419430400/);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('cuts an undeclared feed body off at the cap', async () => {
    await expect(ctx.container.feedPoller.poll('endless')).rejects.toThrow(/body larger than 65536 bytes/);
    expect((await feedState('endless')).last_error).toMatch(/body larger than 65536 bytes/);
    // the server could write a little ahead into socket buffers, never the whole stream
    expect(endless.bytes).toBeLessThan(16 * 1024 * 1024);
  });

  it('does not follow a feed redirect to another origin', async () => {
    await expect(ctx.container.feedPoller.poll('moved')).rejects.toThrow(/redirect to another origin/);
    expect((await feedState('moved')).last_error).toMatch(/redirect to another origin/);
  });

  const wpWebhook = (payload: unknown) => {
    const body = JSON.stringify(payload);
    return ctx.app.inject({
      method: 'POST',
      url: '/webhooks/wordpress',
      headers: {
        'content-type': 'application/json',
        'x-wp-webhook-signature': signWpWebhook(WP_SECRET, body),
      },
      payload: body,
    });
  };
  const eventsCount = async () =>
    (await ctx.db.query('SELECT count(*)::int AS n FROM article_events')).rows[0].n as number;

  it.each([['..'], ['1/../../users'], ['12?x=1'], ['-5'], ['0'], ['1e3']])(
    'answers 400 naming post_id for the non-numeric id %j and fetches nothing',
    async (postId) => {
      const before = await eventsCount();
      const res = await wpWebhook({ post_id: postId });
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toBe('body.post_id: must be a numeric WordPress post id');
      expect(await eventsCount()).toBe(before);
      expect(wpRequests.filter((u) => !/^\/wp-json\/wp\/v2\/posts\/\d+\?/.test(u))).toEqual([]);
    },
  );

  async function announce(postId: number): Promise<number> {
    const res = await wpWebhook({ post_id: postId });
    expect(res.statusCode).toBe(202);
    return res.json().events[0].id as number;
  }
  const eventRow = async (id: number) =>
    (
      await ctx.db.query(
        'SELECT processed_at, failed_at, error, attempts, article_id FROM article_events WHERE id = $1',
        [id],
      )
    ).rows[0];
  const job = (eventId: number) =>
    ({ id: `t-${eventId}`, name: 'process', data: { eventId } }) as unknown as Job;

  it.each([
    [404, /answered 404: the post is missing or not public/],
    [410, /answered 410/],
    [403, /answered 403/],
    [7001, /did not answer JSON \(text\/html\)/],
  ])(
    'records post %s as a permanent failure, stops retrying and shows it to the operator',
    async (postId, reason) => {
      const eventId = await announce(postId);
      // the worker maps it to UnrecoverableError: BullMQ does not try again
      const processor = articleEventsWorker.processor(ctx.container);
      await expect(processor(job(eventId), undefined)).rejects.toThrow(UnrecoverableError);
      const row = await eventRow(eventId);
      expect(row.failed_at).toBeInstanceOf(Date);
      expect(row.processed_at).toBeInstanceOf(Date);
      expect(row.error).toMatch(reason);
      expect(row.attempts).toBe(1);
      // the sweep leaves it alone
      ctx.clock.advance(60_000);
      expect(
        (
          await ctx.db.query('SELECT id FROM article_events WHERE processed_at IS NULL AND id = $1', [
            eventId,
          ])
        ).rows,
      ).toEqual([]);

      const res = await ctx.app.inject({
        method: 'GET',
        url: '/api/v1/article-events?state=failed',
        headers: ctx.adminHeaders,
      });
      expect(res.statusCode).toBe(200);
      const item = res.json().items.find((i: { id: number }) => i.id === eventId);
      expect(item).toMatchObject({
        provider: 'wordpress',
        externalId: String(postId),
        state: 'failed',
        attempts: 1,
        articleId: null,
      });
      expect(item.error).toMatch(reason);
      expect(item.failedAt).toBe(row.failed_at.toISOString());
    },
  );

  it('keeps a 5xx transient: retried, with the last error and attempts recorded', async () => {
    const eventId = await announce(503);
    const processor = articleEventsWorker.processor(ctx.container);
    const err = await processor(job(eventId), undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(UnrecoverableError);
    await expect(ctx.container.ingest.process(eventId)).rejects.toThrow(/answered 503/);
    const row = await eventRow(eventId);
    expect(row).toMatchObject({ processed_at: null, failed_at: null, attempts: 2 });
    expect(row.error).toMatch(/answered 503/);
    const res = await ctx.app.inject({
      method: 'GET',
      url: '/api/v1/article-events?state=pending',
      headers: ctx.adminHeaders,
    });
    expect(res.json().items.find((i: { id: number }) => i.id === eventId)).toMatchObject({
      state: 'pending',
      attempts: 2,
      error: expect.stringMatching(/answered 503/),
    });
  });

  it('still fetches and applies a numeric id from the configured site', async () => {
    const eventId = await announce(7002);
    const result = await ctx.container.ingest.process(eventId);
    expect(result?.articleId).toBeTruthy();
    const res = await ctx.app.inject({
      method: 'GET',
      url: '/api/v1/article-events?state=applied&limit=1',
      headers: ctx.adminHeaders,
    });
    expect(res.json().items[0]).toMatchObject({ id: eventId, state: 'applied', failedAt: null });
  });

  it('shows a held event as held, with the setting that stops it', async () => {
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/webhooks/strapi',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${STRAPI_TOKEN}` },
      payload: fixture('strapi/v5-default-entry.json'),
    });
    expect(res.statusCode).toBe(202);
    const view = await ctx.app.inject({
      method: 'GET',
      url: '/api/v1/article-events?state=held',
      headers: ctx.adminHeaders,
    });
    const [item] = view.json().items;
    expect(item).toMatchObject({ provider: 'strapi', state: 'held', failedAt: null });
    expect(item.heldReason).toMatch(/urlTemplate/);
  });

  it('needs the admin token for the events view', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: '/api/v1/article-events' });
    expect(res.statusCode).toBe(401);
  });
});
