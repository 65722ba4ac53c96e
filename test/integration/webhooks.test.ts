import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signGhostWebhook, signStandardWebhook, signWpWebhook } from '../../src/articles/signatures.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { publicationFile } from '../helpers/publication-file.js';

const GENERIC_SECRET = `whsec_${Buffer.from('generic-secret-0123456789abcdef').toString('base64')}`;
const OLD_GENERIC_KEY = `whsec_${Buffer.from('an-older-key-that-is-being-rotated').toString('base64')}`;
const WP_SECRET = 'wp-secret-7d3f9a';
const GHOST_SECRET = 'ghost-secret-51c2';
const STRAPI_TOKEN = 'strapi-token-93ab';
const fixture = (path: string) => readFileSync(new URL(`../fixtures/cms/${path}`, import.meta.url), 'utf8');

describe('CMS webhooks through the real routes', () => {
  let ctx: TestContext;
  let wpSite: Server;
  let wpRequests: string[];

  beforeAll(async () => {
    // A stand-in WordPress site for payloads that carry only an id (wp/v2 without _embed).
    wpRequests = [];
    wpSite = createServer((req, res) => {
      wpRequests.push(req.url ?? '');
      if (req.url?.startsWith('/wp-json/wp/v2/posts/6231')) {
        const post = JSON.parse(fixture('wordpress/rest-post-embed.json'));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ...post, id: 6231 }));
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => wpSite.listen(0, '127.0.0.1', () => r()));
    const siteUrl = `http://127.0.0.1:${(wpSite.address() as AddressInfo).port}`;
    const sample = JSON.parse(readFileSync('config/publication.sample.json', 'utf8'));
    ctx = await createTestContext({
      now: new Date().toISOString(),
      env: {
        WEBHOOK_SECRET_GENERIC: GENERIC_SECRET,
        WEBHOOK_SECRET_WORDPRESS: WP_SECRET,
        WEBHOOK_SECRET_GHOST: GHOST_SECRET,
        WEBHOOK_SECRET_STRAPI: STRAPI_TOKEN,
        WEBHOOK_BODY_LIMIT_BYTES: '16384',
        PUBLICATION_CONFIG: publicationFile({
          sources: { ...sample.sources, wordpress: { ...sample.sources.wordpress, siteUrl } },
        }),
      },
    });
  });
  afterAll(async () => {
    await ctx?.close();
    wpSite?.close();
  });
  beforeEach(() => {
    // signatures carry a timestamp: keep the injected clock on real time for these
    ctx.clock.set(new Date());
  });

  const count = async (table: string) =>
    (await ctx.db.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n as number;
  const article = async (source: string, externalId: string) =>
    (
      await ctx.db.query('SELECT * FROM articles WHERE source = $1 AND external_id = $2', [
        source,
        externalId,
      ])
    ).rows[0];

  function generic(
    body: string,
    opts: { id?: string; ts?: number; secret?: string; signature?: string } = {},
  ) {
    const id = opts.id ?? `msg_${randomUUID()}`;
    const ts = opts.ts ?? Math.floor(ctx.clock.now().getTime() / 1000);
    return ctx.app.inject({
      method: 'POST',
      url: '/webhooks/generic',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(ts),
        'webhook-signature':
          opts.signature ?? signStandardWebhook(opts.secret ?? GENERIC_SECRET, id, ts, body),
      },
      payload: body,
    });
  }

  function genericEvent(externalId: string, over: Record<string, unknown> = {}, type = 'article.published') {
    return JSON.stringify({
      type,
      data: {
        id: externalId,
        url: `https://almadar.example/ar/news/${encodeURIComponent('خبر-عاجل')}-${externalId}`,
        title: 'وزارة الاقتصاد تعلن خطة دعم المزارعين &#8211; تفاصيل',
        summary: 'أعلنت وزارة الاقتصاد اليوم خطة لدعم المزارعين في المحافظات الشرقية.',
        html: '<p>أعلنت الوزارة <strong>خطة</strong> جديدة.</p><script>alert(1)</script>',
        image: { url: '/media/farm.jpg', alt: 'حقل قمح' },
        author: 'Sami Haddad',
        categories: ['اقتصاد'],
        tags: ['زراعة'],
        language: 'ar',
        publishedAt: '2026-11-29 09:15:00',
        modifiedAt: '2026-11-29T07:15:00Z',
        ...over,
      },
    });
  }

  it('stores a signed generic event, answers 202 and normalizes the article field by field', async () => {
    const res = await generic(genericEvent('g-1'));
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({
      status: 'accepted',
      events: [{ action: 'upsert', externalId: 'g-1', duplicate: false }],
    });
    const row = await eventually(() => article('generic', 'g-1'));
    expect(row).toMatchObject({
      source: 'generic',
      external_id: 'g-1',
      url: 'https://almadar.example/ar/news/خبر-عاجل-g-1',
      title: 'وزارة الاقتصاد تعلن خطة دعم المزارعين – تفاصيل',
      summary: 'أعلنت وزارة الاقتصاد اليوم خطة لدعم المزارعين في المحافظات الشرقية.',
      image_url: 'https://almadar.example/media/farm.jpg',
      image_alt: 'حقل قمح',
      author: 'Sami Haddad',
      categories: ['اقتصاد'],
      tags: ['زراعة'],
      topics: ['economy'],
      language: 'ar',
      breaking: false,
      status: 'published',
    });
    expect(row.body_html).toContain('<strong>خطة</strong>');
    expect(row.body_html).not.toContain('script');
    // 09:15 without a zone is read in the source's zone (Asia/Damascus, UTC+3)
    expect(row.published_at.toISOString()).toBe('2026-11-29T06:15:00.000Z');
    const ev = await eventually(async () => {
      const r = (await ctx.db.query("SELECT * FROM article_events WHERE external_id = 'g-1'")).rows[0];
      return r?.lifecycle_enqueued_at ? r : null;
    });
    expect(ev.lifecycle).toBe('published');
  });

  it('answers a replayed delivery with 2xx and changes nothing more, sequentially and concurrently', async () => {
    const body = genericEvent('g-replay');
    const id = `msg_${randomUUID()}`;
    const ts = Math.floor(ctx.clock.now().getTime() / 1000);
    const first = await generic(body, { id, ts });
    expect(first.statusCode).toBe(202);
    const again = await generic(body, { id, ts });
    expect(again.statusCode).toBe(202);
    expect(again.json().events[0].duplicate).toBe(true);
    const burstBody = genericEvent('g-burst');
    const burstId = `msg_${randomUUID()}`;
    const burst = await Promise.all(Array.from({ length: 8 }, () => generic(burstBody, { id: burstId, ts })));
    expect(burst.map((r) => r.statusCode)).toEqual(Array(8).fill(202));
    await eventually(() => article('generic', 'g-burst'));
    const events = await ctx.db.query(
      "SELECT count(*)::int AS n FROM article_events WHERE external_id IN ('g-replay', 'g-burst') GROUP BY external_id",
    );
    expect(events.rows.map((r) => r.n)).toEqual([1, 1]);
    expect(
      (
        await ctx.db.query(
          "SELECT count(*)::int AS n FROM articles WHERE external_id IN ('g-replay','g-burst')",
        )
      ).rows[0].n,
    ).toBe(2);
  });

  it('refuses bad signatures with 401 and stores nothing', async () => {
    const before = await count('article_events');
    const body = genericEvent('g-sig');
    const id = 'msg_sig';
    const ts = Math.floor(ctx.clock.now().getTime() / 1000);
    const good = signStandardWebhook(GENERIC_SECRET, id, ts, body);
    const tampered = `${body.slice(0, -2)} }`;
    const cases = [
      generic(tampered, { id, ts, signature: good }), // one byte changed
      generic(body, { id, ts, secret: `whsec_${Buffer.from('wrong').toString('base64')}` }),
      generic(body, { id, ts: ts - 301 }), // stale
      generic(JSON.stringify(JSON.parse(body), null, 2), { id, ts, signature: good }), // re-serialized
      ctx.app.inject({
        method: 'POST',
        url: '/webhooks/generic',
        headers: { 'content-type': 'application/json' },
        payload: body,
      }),
    ];
    for (const res of await Promise.all(cases)) {
      expect(res.statusCode).toBe(401);
      expect(res.json().error).toBe('GZ_BAD_SIGNATURE');
      expect(res.body).not.toContain('generic-secret');
    }
    expect(await count('article_events')).toBe(before);
  });

  it('accepts any one valid signature while a key is rotated', async () => {
    const body = genericEvent('g-rotated');
    const id = `msg_${randomUUID()}`;
    const ts = Math.floor(ctx.clock.now().getTime() / 1000);
    const both = `${signStandardWebhook(OLD_GENERIC_KEY, id, ts, body)} ${signStandardWebhook(GENERIC_SECRET, id, ts, body)}`;
    expect((await generic(body, { id, ts, signature: both })).statusCode).toBe(202);
  });

  it('names the missing field with 400, rejects oversized bodies with 413, and stores nothing', async () => {
    const before = await count('article_events');
    const missing = await generic(
      JSON.stringify({ type: 'article.published', data: { id: 'x', url: 'https://almadar.example/x' } }),
    );
    expect(missing.statusCode).toBe(400);
    expect(missing.json().message).toMatch(/title/);
    const unknown = await generic(JSON.stringify({ hello: 'world' }));
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().message).toMatch(/^type: /);
    const notJson = await generic('{"type": "article.published",');
    expect(notJson.statusCode).toBe(400);
    const big = await generic(genericEvent('g-big', { html: `<p>${'ن'.repeat(20_000)}</p>` }));
    expect(big.statusCode).toBe(413);
    expect(await count('article_events')).toBe(before);
  });

  it('refuses an over-cap title or too deep a body with 400 naming the field and the limit, and stores nothing', async () => {
    // the queue may still be applying earlier tests' events: count this test's providers only
    const events = async () =>
      (
        await ctx.db.query(
          "SELECT count(*)::int AS n FROM article_events WHERE provider IN ('ghost', 'wordpress')",
        )
      ).rows[0].n as number;
    const before = await events();
    const ghost = JSON.parse(fixture('ghost/post-published.json'));
    ghost.post.current.title = 'ع'.repeat(2_001);
    const ghostBody = JSON.stringify(ghost);
    const overTitle = await ctx.app.inject({
      method: 'POST',
      url: '/webhooks/ghost?event=post.published',
      headers: {
        'content-type': 'application/json',
        'x-ghost-signature': signGhostWebhook(GHOST_SECRET, ghostBody, ctx.clock.now().getTime()),
      },
      payload: ghostBody,
    });
    expect(overTitle.statusCode).toBe(400);
    expect(overTitle.json()).toMatchObject({
      error: 'GZ_INVALID_PAYLOAD',
      message: 'post.current.title: 2,001 characters, over the limit of 2,000 for a title',
    });

    const wp = JSON.parse(fixture('wordpress/wp-webhooks-post-create.json'));
    wp.post.post_content = `${'<div>'.repeat(513)}نص${'</div>'.repeat(513)}`;
    const wpBody = JSON.stringify(wp);
    const tooDeep = await ctx.app.inject({
      method: 'POST',
      url: '/webhooks/wordpress',
      headers: {
        'content-type': 'application/json',
        'x-wp-webhook-signature': signWpWebhook(WP_SECRET, wpBody),
      },
      payload: wpBody,
    });
    expect(tooDeep.statusCode).toBe(400);
    expect(tooDeep.json().message).toBe('post.post_content: elements nested deeper than 512 levels');
    expect(await events()).toBe(before);
    expect(await article('ghost', ghost.post.current.id)).toBeUndefined();
    expect(await article('wordpress', String(wp.post_id))).toBeUndefined();
  });

  it('answers 404 for a provider without a secret', async () => {
    const bare = await createTestContext({ workers: false });
    try {
      const res = await bare.app.inject({
        method: 'POST',
        url: '/webhooks/strapi',
        payload: { event: 'entry.publish' },
      });
      expect(res.statusCode).toBe(404);
      expect(
        (await bare.app.inject({ method: 'POST', url: '/webhooks/generic', payload: {} })).statusCode,
      ).toBe(404);
    } finally {
      await bare.close();
    }
  });

  it('takes Strapi v5 publish and unpublish with the configured bearer token', async () => {
    const send = (body: string, token = STRAPI_TOKEN) =>
      ctx.app.inject({
        method: 'POST',
        url: '/webhooks/strapi',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        payload: body,
      });
    expect((await send(fixture('strapi/v5-entry-publish.json'), 'wrong-token')).statusCode).toBe(401);
    expect((await send(fixture('strapi/v5-entry-publish.json'))).statusCode).toBe(202);
    const row = await eventually(() => article('strapi', 'h7q2m9x4k1z8c3v6b5n0p2l4:ar'));
    expect(row).toMatchObject({
      url: 'https://almadar.example/ar/news/coast-road-closed',
      title: 'عاجل: إغلاق طريق الساحل بسبب الانهيارات',
      tags: ['عاجل', 'طرق'],
      breaking: true,
      status: 'published',
      language: 'ar',
    });
    expect(row.body_html).toContain('<strong>طريق الساحل</strong>');
    expect((await send(fixture('strapi/v5-entry-unpublish.json'))).statusCode).toBe(202);
    await eventually(
      async () => (await article('strapi', 'h7q2m9x4k1z8c3v6b5n0p2l4:ar')).status === 'unpublished',
    );
  });

  it('takes WP Webhooks payloads signed with X-WP-Webhook-Signature', async () => {
    const body = fixture('wordpress/wp-webhooks-post-create.json');
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/webhooks/wordpress',
      headers: {
        'content-type': 'application/json',
        'x-wp-webhook-signature': signWpWebhook(WP_SECRET, body),
      },
      payload: body,
    });
    expect(res.statusCode).toBe(202);
    const row = await eventually(() => article('wordpress', '4821'));
    expect(row.title).toBe('بدء موسم حصاد القمح في ريف حمص – توقعات بإنتاج وفير');
    expect(row.body_html).not.toMatch(/onclick|script/);
    expect(row.status).toBe('published');
    expect(row.published_at.toISOString()).toBe('2024-05-14T06:30:00.000Z');
    // a wrong signature is refused
    const bad = await ctx.app.inject({
      method: 'POST',
      url: '/webhooks/wordpress',
      headers: { 'content-type': 'application/json', 'x-wp-webhook-signature': signWpWebhook('nope', body) },
      payload: body,
    });
    expect(bad.statusCode).toBe(401);
  });

  it('takes a form-encoded WP Webhooks delivery, signed over the raw body, as an article', async () => {
    const post = JSON.parse(fixture('wordpress/wp-webhooks-post-create.json'));
    post.post_id = 4822;
    post.post.ID = 4822;
    post.post.post_title = 'افتتاح معرض الكتاب في دمشق';
    post.sticky = '1';
    // WP Webhooks' "form" request type is PHP's http_build_query: nested keys in brackets, strings only
    const pairs: string[] = [];
    const walk = (value: unknown, key: string) => {
      if (value !== null && typeof value === 'object') {
        for (const [k, v] of Object.entries(value)) walk(v, key ? `${key}[${k}]` : k);
      } else pairs.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(value ?? ''))}`);
    };
    walk(post, '');
    const body = pairs.join('&');
    const send = (signature: string) =>
      ctx.app.inject({
        method: 'POST',
        url: '/webhooks/wordpress?trigger=post_create',
        headers: {
          'content-type': 'application/x-www-form-urlencoded; charset=UTF-8',
          'x-wp-webhook-signature': signature,
        },
        payload: body,
      });
    const before = await count('article_events');
    expect((await send(signWpWebhook('nope', body))).statusCode).toBe(401);
    expect(await count('article_events')).toBe(before);
    const res = await send(signWpWebhook(WP_SECRET, body));
    expect(res.statusCode).toBe(202);
    expect(res.json().events).toMatchObject([{ action: 'upsert', externalId: '4822', duplicate: false }]);
    const row = await eventually(() => article('wordpress', '4822'));
    expect(row).toMatchObject({
      title: 'افتتاح معرض الكتاب في دمشق',
      url: 'https://almadar.example/2024/05/14/بدء-موسم-الحصاد/',
      topics: ['economy'],
      breaking: true,
      featured: true,
      language: 'ar',
      status: 'published',
    });
  });

  it('tells a WP Webhooks site sending multipart or XML to switch to JSON or form, and stores nothing', async () => {
    const before = await count('article_events');
    const res = await ctx.app.inject({
      method: 'POST',
      url: `/webhooks/wordpress?token=${WP_SECRET}`,
      headers: { 'content-type': 'application/xml' },
      payload: '<post><ID>4821</ID></post>',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toBe(
      'body: Content-Type application/xml is not accepted; send JSON or form-encoded (WP Webhooks: set "Change the data request type" to JSON or form for this webhook)',
    );
    expect(await count('article_events')).toBe(before);
  });

  it('takes the New Post Webhook payload authenticated by ?token=', async () => {
    const body = fixture('wordpress/new-post-webhook.json');
    const res = await ctx.app.inject({
      method: 'POST',
      url: `/webhooks/wordpress?token=${WP_SECRET}`,
      headers: { 'content-type': 'application/json' },
      payload: body,
    });
    expect(res.statusCode).toBe(202);
    const row = await eventually(() => article('wordpress', '5102'));
    expect(row).toMatchObject({
      title: 'افتتاح معرض الكتاب في دمشق بمشاركة “ثلاثين” دار نشر',
      url: 'https://almadar.example/culture/book-fair-opens/',
      author: 'ريم الحسن',
      topics: ['culture'],
      categories: ['ثقافة'],
      tags: ['كتب', 'معارض'],
    });
    // "2022-03-25 00:30:00" is site-local (Damascus, UTC+2 before that spring's change)
    expect(row.published_at.toISOString()).toBe('2022-03-24T22:30:00.000Z');
    const wrong = await ctx.app.inject({
      method: 'POST',
      url: '/webhooks/wordpress?token=guess',
      headers: { 'content-type': 'application/json' },
      payload: body,
    });
    expect(wrong.statusCode).toBe(401);
  });

  it('fetches a wp/v2 post that arrived without _embed from the configured site', async () => {
    const body = fixture('wordpress/rest-post-no-embed.json');
    const res = await ctx.app.inject({
      method: 'POST',
      url: `/webhooks/wordpress?token=${WP_SECRET}`,
      headers: { 'content-type': 'application/json' },
      payload: body,
    });
    expect(res.statusCode).toBe(202);
    const row = await eventually(() => article('wordpress', '6231'));
    expect(wpRequests.some((u) => u.startsWith('/wp-json/wp/v2/posts/6231') && u.includes('_embed'))).toBe(
      true,
    );
    expect(row.status).toBe('published');
    expect(row.categories.length).toBeGreaterThan(0);
  });

  it('follows a Ghost post through publish, edit and delete with lifecycle events', async () => {
    const send = (body: string, event: string) => {
      const t = ctx.clock.now().getTime();
      return ctx.app.inject({
        method: 'POST',
        url: `/webhooks/ghost?event=${event}`,
        headers: {
          'content-type': 'application/json',
          'x-ghost-signature': signGhostWebhook(GHOST_SECRET, body, t),
        },
        payload: body,
      });
    };
    const published = fixture('ghost/post-published.json');
    expect((await send(published, 'post.published')).statusCode).toBe(202);
    const row = await eventually(() => article('ghost', '6650f0c2a1b2c3d4e5f60718'));
    expect(row).toMatchObject({
      title: 'Aid convoy reaches the northern villages',
      language: 'en',
      breaking: true,
      topics: ['politics'],
    });

    const edited = JSON.parse(published);
    edited.post.current.title = 'Aid convoy reaches the last northern villages';
    edited.post.current.updated_at = '2024-05-17T09:00:00.000Z';
    expect((await send(JSON.stringify(edited), 'post.published.edited')).statusCode).toBe(202);
    await eventually(async () => (await article('ghost', '6650f0c2a1b2c3d4e5f60718')).title.includes('last'));

    const stale = await ctx.app.inject({
      method: 'POST',
      url: '/webhooks/ghost',
      headers: {
        'content-type': 'application/json',
        'x-ghost-signature': signGhostWebhook(
          GHOST_SECRET,
          published,
          ctx.clock.now().getTime() - 6 * 60_000,
        ),
      },
      payload: published,
    });
    expect(stale.statusCode).toBe(401);

    expect((await send(fixture('ghost/post-deleted.json'), 'post.deleted')).statusCode).toBe(202);
    await eventually(async () => (await article('ghost', '6650f0c2a1b2c3d4e5f60718')).status === 'deleted');
    const lifecycles = await eventually(async () => {
      const { rows } = await ctx.db.query(
        "SELECT lifecycle FROM article_events WHERE provider = 'ghost' AND lifecycle IS NOT NULL AND lifecycle_enqueued_at IS NOT NULL ORDER BY id",
      );
      return rows.length === 3 ? rows.map((r) => r.lifecycle) : null;
    });
    expect(lifecycles).toEqual(['published', 'changed', 'withdrawn']);
  });

  it('lists articles for operators, newest first, with state and source', async () => {
    expect((await ctx.app.inject('/api/v1/articles')).statusCode).toBe(401);
    await generic(
      genericEvent('g-list-old', { publishedAt: '2026-11-20T08:00:00Z', modifiedAt: '2026-11-20T08:00:00Z' }),
    );
    await generic(
      genericEvent('g-list-new', { publishedAt: '2026-11-28T08:00:00Z', modifiedAt: '2026-11-28T08:00:00Z' }),
    );
    await eventually(() => article('generic', 'g-list-new'));
    await generic(genericEvent('g-list-new', { modifiedAt: '2026-11-28T09:00:00Z' }, 'article.unpublished'));
    await eventually(async () => (await article('generic', 'g-list-new')).status === 'unpublished');
    const res = await ctx.app.inject({ url: '/api/v1/articles?limit=100', headers: ctx.adminHeaders });
    expect(res.statusCode).toBe(200);
    const items = res.json().items as Array<{
      externalId: string;
      state: string;
      source: string;
      publishedAt: string;
    }>;
    const times = items.map((i) => i.publishedAt ?? '').filter(Boolean);
    expect(times).toEqual([...times].sort().reverse());
    expect(items.find((i) => i.externalId === 'g-list-new')).toMatchObject({
      state: 'unpublished',
      source: 'generic',
    });
    expect(items.find((i) => i.externalId === 'g-list-old')).toMatchObject({ state: 'published' });
    const page = await ctx.app.inject({ url: '/api/v1/articles?limit=1', headers: ctx.adminHeaders });
    const next = await ctx.app.inject({
      url: `/api/v1/articles?limit=1&cursor=${page.json().nextCursor}`,
      headers: ctx.adminHeaders,
    });
    expect(next.json().items[0].id).not.toBe(page.json().items[0].id);
  });

  it('publishes the generic event JSON Schema in the OpenAPI document', async () => {
    const doc = (await ctx.app.inject('/docs/json')).json();
    expect(doc.paths['/webhooks/generic'].post).toBeDefined();
    expect(JSON.stringify(doc)).toContain('article.published');
  });
});
