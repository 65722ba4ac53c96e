import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { signStandardWebhook } from '../../src/articles/signatures.js';
import { type Container, createContainer } from '../../src/container.js';
import { createLogger } from '../../src/logger.js';
import { loadPublication } from '../../src/publication.js';
import { type RunningWorkers, setupSchedulers, startWorkers } from '../../workers/index.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { publicationFile } from '../helpers/publication-file.js';

const GENERIC_SECRET = `whsec_${Buffer.from('generic-held-secret-0123456789ab').toString('base64')}`;
const STRAPI_TOKEN = 'strapi-held-token-4411';
const WP_SECRET = 'wp-held-secret-5309';
const fixture = (path: string) => readFileSync(new URL(`../fixtures/cms/${path}`, import.meta.url), 'utf8');
const sample = JSON.parse(readFileSync('config/publication.sample.json', 'utf8'));

/**
 * A publication file that cannot make these events articles (no Strapi URL template, no mapping for
 * French), then the same database booted with the setting fixed.
 */
describe('events held for a configuration reason', () => {
  let ctx: TestContext;
  let wpSite: Server;
  let siteUrl: string;
  let wpAsked78 = 0;
  const others: { container: Container; workers?: RunningWorkers; app?: { close(): Promise<unknown> } }[] =
    [];

  beforeAll(async () => {
    // the WordPress site a post announced by id only is fetched from, once the file names it
    wpSite = createServer((req, res) => {
      // post 78: the site is down the first time it is asked
      if (req.url?.startsWith('/wp-json/wp/v2/posts/78') && wpAsked78++ === 0)
        return res.writeHead(503).end();
      const id = /\/wp-json\/wp\/v2\/posts\/(77|78)\b/.exec(req.url ?? '')?.[1];
      if (id) {
        const post = JSON.parse(fixture('wordpress/rest-post-embed.json'));
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ ...post, id: Number(id) }));
      }
      if (req.url?.startsWith('/wp-json/wp/v2/posts/77')) {
        const post = JSON.parse(fixture('wordpress/rest-post-embed.json'));
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ ...post, id: 77 }));
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => wpSite.listen(0, '127.0.0.1', () => r()));
    siteUrl = `http://127.0.0.1:${(wpSite.address() as AddressInfo).port}`;
    ctx = await createTestContext({
      workers: false,
      env: {
        WEBHOOK_SECRET_GENERIC: GENERIC_SECRET,
        WEBHOOK_SECRET_STRAPI: STRAPI_TOKEN,
        WEBHOOK_SECRET_WORDPRESS: WP_SECRET,
        PUBLICATION_CONFIG: publicationFile({
          sources: {
            ...sample.sources,
            strapi: { language: 'ar', timezone: 'Asia/Damascus' },
            wordpress: { language: 'ar', timezone: 'Asia/Damascus' },
          },
        }),
      },
    });
  });
  afterAll(async () => {
    for (const o of others) {
      await o.app?.close();
      await o.workers?.close();
      await o.container.close();
    }
    await ctx?.close();
    wpSite?.close();
  });
  beforeEach(() => {
    ctx.clock.set(new Date());
  });

  /** Gazette started again on the same database and queues, with another publication file. */
  async function reboot(publication: Record<string, unknown>, opts: { workers: boolean }) {
    const container = await createContainer({
      config: ctx.config,
      publication: loadPublication(publicationFile(publication)),
      clock: ctx.clock,
      log: createLogger(ctx.config),
    });
    const workers = opts.workers ? startWorkers(container) : undefined;
    const app = await buildApp(container);
    others.push({ container, workers, app });
    if (workers) await setupSchedulers(container);
    await app.ready();
    return app;
  }

  const strapi = (body: string) =>
    ctx.app.inject({
      method: 'POST',
      url: '/webhooks/strapi',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${STRAPI_TOKEN}` },
      payload: body,
    });
  const generic = (data: Record<string, unknown>) => {
    const body = JSON.stringify({ type: 'article.published', data });
    const id = `msg_${randomUUID()}`;
    const ts = Math.floor(ctx.clock.now().getTime() / 1000);
    return ctx.app.inject({
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
  };
  type Listed = {
    externalId: string;
    state: string;
    heldReason: string | null;
    language: string | null;
    url: string;
  };
  const listed = async (app = ctx.app) =>
    (await app.inject({ url: '/api/v1/articles?limit=50', headers: ctx.adminHeaders })).json()
      .items as Listed[];
  const strapiId = 'r3k8v1n6q9w2e5t7y0u4i2o8:ar';

  it('stores a Strapi entry without url field raw, answers 202 held, lists it held and counts it', async () => {
    const body = fixture('strapi/v5-default-entry.json');
    const res = await strapi(body);
    expect(res.statusCode).toBe(202);
    const reason =
      'the entry has no url field and sources.strapi.urlTemplate is not set (e.g. "https://example.com/{locale}/news/{slug}")';
    expect(res.json()).toMatchObject({
      status: 'held',
      events: [{ action: 'upsert', externalId: strapiId, duplicate: false, held: reason }],
    });
    // Strapi retries the same body: a replay, nothing new
    const again = await strapi(body);
    expect(again.json()).toMatchObject({ status: 'held', events: [{ duplicate: true }] });

    expect((await listed()).find((a) => a.externalId === strapiId)).toMatchObject({
      state: 'held',
      heldReason: reason,
      language: null,
      url: '',
    });
    const { rows } = await ctx.db.query(
      'SELECT held_reason, payload FROM article_events WHERE external_id = $1',
      [strapiId],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].payload.body.entry.slug).toBe('aleppo-old-souq-restoration');
    const metrics = await ctx.app.inject('/metrics');
    expect(metrics.body).toMatch(/^gazette_articles_held 1$/m);
  });

  it('holds an event whose declared language maps to neither; a malformed body is still a 400', async () => {
    const res = await generic({
      id: 'fr-1',
      url: 'https://almadar.example/fr/budget',
      title: 'Le gouvernement adopte le budget 2027',
      language: 'fr',
      publishedAt: ctx.clock.now().toISOString(),
    });
    expect(res.statusCode).toBe(202);
    expect(res.json().events[0].held).toBe(
      'language "fr" (data.language) is neither Arabic nor English: map it in the publication file\'s languageMap',
    );
    const bad = await strapi(JSON.stringify({ event: 'entry.publish', model: 'article', entry: 'nope' }));
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toBe('entry: must be an object');
    expect((await ctx.app.inject('/metrics')).body).toMatch(/^gazette_articles_held 2$/m);
  });

  it('holds a WordPress post announced by id only while no siteUrl says where to fetch it', async () => {
    const res = await ctx.app.inject({
      method: 'POST',
      url: `/webhooks/wordpress?token=${WP_SECRET}`,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ post_id: 77 }),
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({
      status: 'held',
      events: [
        {
          externalId: '77',
          held: 'only the id of post 77 arrived and sources.wordpress.siteUrl is not set, so Gazette cannot fetch it',
        },
      ],
    });
  });

  it('a removal supersedes what is held for the same article: it is not brought back later', async () => {
    const entry = JSON.parse(fixture('strapi/v5-default-entry.json'));
    entry.entry.documentId = 'gone0000000000000000000a';
    entry.entry.slug = 'withdrawn-story';
    expect((await strapi(JSON.stringify(entry))).json().status).toBe('held');
    const unpublish = { ...entry, event: 'entry.unpublish', createdAt: '2026-11-29T08:00:00.000Z' };
    expect((await strapi(JSON.stringify(unpublish))).statusCode).toBe(202);
    const { rows: queued } = await ctx.db.query(
      "SELECT id FROM article_events WHERE external_id = 'gone0000000000000000000a:ar' AND processed_at IS NULL",
    );
    for (const r of queued) await ctx.container.ingest.process(r.id);
    expect((await listed()).find((a) => a.externalId === 'gone0000000000000000000a:ar')).toBeUndefined();
    const { rows } = await ctx.db.query(
      "SELECT held_reason, error FROM article_events WHERE external_id = 'gone0000000000000000000a:ar' ORDER BY id",
    );
    expect(rows).toEqual([
      { held_reason: null, error: 'superseded: the CMS removed the article first' },
      { held_reason: null, error: 'removed before its held event was applied' },
    ]);
  });

  it('applies the held Strapi entry at the next boot once the publication file has the URL template', async () => {
    // the sample file: urlTemplate set, no French; siteUrl for WordPress pointing at the stand-in site
    const app = await reboot(
      { sources: { ...sample.sources, wordpress: { ...sample.sources.wordpress, siteUrl } } },
      { workers: true },
    );
    const article = await eventually(async () =>
      (await listed(app)).find((a) => a.externalId === strapiId && a.state === 'published'),
    );
    expect(article).toMatchObject({
      url: 'https://almadar.example/ar/news/aleppo-old-souq-restoration',
      language: 'ar',
      heldReason: null,
    });
    const { rows } = await ctx.db.query(
      `SELECT e.held_reason, e.processed_at IS NOT NULL AS processed, e.lifecycle, a.first_published_at IS NOT NULL AS live
         FROM article_events e JOIN articles a ON a.id = e.article_id WHERE e.external_id = $1`,
      [strapiId],
    );
    expect(rows).toEqual([{ held_reason: null, processed: true, lifecycle: 'published', live: true }]);
    // French is still unmapped there: still held, with its reason
    expect((await listed(app)).find((a) => a.externalId === 'fr-1')).toMatchObject({ state: 'held' });
    // the id-only WordPress post was fetched from the site the file now names
    const wp = await eventually(async () =>
      (await listed(app)).find((a) => a.externalId === '77' && a.state === 'published'),
    );
    expect(wp).toMatchObject({ language: 'ar', heldReason: null });
    const onlyHeld = await app.inject({ url: '/api/v1/articles?held=true', headers: ctx.adminHeaders });
    expect(onlyHeld.json().items.map((a: Listed) => a.externalId)).toEqual(['fr-1']);
  });

  it('POST /api/v1/articles/reprocess applies what the loaded file now allows, and says what became of each', async () => {
    // another post announced by id only, held by the first file
    const held78 = await ctx.app.inject({
      method: 'POST',
      url: `/webhooks/wordpress?token=${WP_SECRET}`,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ post_id: 78 }),
    });
    expect(held78.json().status).toBe('held');
    const app = await reboot(
      {
        languageMap: { fr: 'en' },
        sources: { ...sample.sources, wordpress: { ...sample.sources.wordpress, siteUrl } },
      },
      { workers: false },
    );
    expect((await app.inject({ method: 'POST', url: '/api/v1/articles/reprocess' })).statusCode).toBe(401);
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/articles/reprocess',
      headers: ctx.adminHeaders,
    });
    expect(res.statusCode).toBe(200);
    // post 78's fetch failed (503): queued and retried by the running workers, not a 500 here
    expect(res.json()).toEqual({ applied: 2, held: 0, ignored: 0, failed: 0 });
    await eventually(async () =>
      (await listed(app)).find((a) => a.externalId === '78' && a.state === 'published'),
    );
    expect(wpAsked78).toBe(2);
    expect((await listed(app)).find((a) => a.externalId === 'fr-1')).toMatchObject({
      state: 'published',
      language: 'en',
      heldReason: null,
    });
    expect((await app.inject('/metrics')).body).toMatch(/^gazette_articles_held 0$/m);
    const doc = (await app.inject('/docs/json')).json();
    const op = doc.paths['/api/v1/articles/reprocess'].post;
    expect(op).toMatchObject({ tags: ['articles'], security: [{ adminToken: [] }] });
    expect(Object.keys(op.responses['200'].content['application/json'].schema.properties)).toEqual([
      'applied',
      'held',
      'ignored',
      'failed',
    ]);
    const again = await app.inject({
      method: 'POST',
      url: '/api/v1/articles/reprocess',
      headers: ctx.adminHeaders,
    });
    expect(again.json()).toEqual({ applied: 0, held: 0, ignored: 0, failed: 0 });
  });
});
