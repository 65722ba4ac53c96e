import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signStandardWebhook } from '../../src/articles/signatures.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { genericPayload, HOSTILE_SIZE, strapiPayload } from '../helpers/hostile-inputs.js';
import { publicationFile } from '../helpers/publication-file.js';

const GENERIC_SECRET = `whsec_${Buffer.from('generic-hostile-secret-0123456789').toString('base64')}`;
const STRAPI_TOKEN = 'strapi-hostile-token-2718';
const sample = JSON.parse(readFileSync('config/publication.sample.json', 'utf8'));

/**
 * Issue 12 through the real routes: megabyte bodies that froze the process (quadratic patterns)
 * are normalized off the event loop (the normalize pool's thread) and stored; what the caps
 * refuse there comes back as the same 400, naming the field, with nothing stored.
 */
describe('hostile webhook bodies', () => {
  let ctx: TestContext;

  beforeAll(async () => {
    ctx = await createTestContext({
      now: new Date().toISOString(),
      env: {
        WEBHOOK_SECRET_GENERIC: GENERIC_SECRET,
        WEBHOOK_SECRET_STRAPI: STRAPI_TOKEN,
        WEBHOOK_BODY_LIMIT_BYTES: String(2 * 1024 * 1024),
        PUBLICATION_CONFIG: publicationFile({ sources: sample.sources }),
      },
    });
  });
  afterAll(async () => {
    await ctx?.close();
  });
  beforeEach(() => {
    ctx.clock.set(new Date());
  });

  const article = async (source: string, externalId: string) =>
    (
      await ctx.db.query('SELECT * FROM articles WHERE source = $1 AND external_id = $2', [
        source,
        externalId,
      ])
    ).rows[0];

  function generic(event: unknown) {
    const body = JSON.stringify(event);
    const id = `msg_${randomUUID()}`;
    const ts = Math.floor(Date.now() / 1000);
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
  }

  it('stores a generic article whose body is a megabyte of "<p<p<p…" and one of "</p</p…"', async () => {
    for (const [id, unit] of [
      ['h-p', '<p'],
      ['h-close', '</p'],
    ] as const) {
      const html = `<p>بداية</p>${unit.repeat(Math.floor((HOSTILE_SIZE - 20) / unit.length))}`;
      const res = await generic({ ...genericPayload(html, { id }), id: `evt-${id}` });
      expect(res.statusCode).toBe(202);
      const row = await eventually(() => article('generic', id));
      expect(row.title).toBe('عنوان الخبر');
      expect(row.summary).toBe('بداية');
    }
  });

  it('stores a Strapi article whose Markdown is 80 KB of "[" and of "![" ', async () => {
    for (const [id, unit] of [
      ['h-brackets', '['],
      ['h-images', '!['],
    ] as const) {
      const body = JSON.stringify(
        strapiPayload(`مقدمة ${unit.repeat(40_000)}`, { documentId: id, slug: id, title: 'عنوان الخبر' }),
      );
      const res = await ctx.app.inject({
        method: 'POST',
        url: '/webhooks/strapi',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${STRAPI_TOKEN}` },
        payload: body,
      });
      expect(res.statusCode).toBe(202);
      const row = await eventually(() => article('strapi', `${id}:ar`));
      // cut after the last word that fits: the run of "[" is no word
      expect(row.summary).toBe('مقدمة…');
    }
  });

  it('refuses too deep a large body with 400 naming the field, from the thread, and stores nothing', async () => {
    const events = async () =>
      (await ctx.db.query("SELECT count(*)::int AS n FROM article_events WHERE provider = 'generic'")).rows[0]
        .n as number;
    const before = await events();
    const html = `${'<div>'.repeat(600)}${'نص '.repeat(20_000)}`;
    const res = await generic(genericPayload(html, { id: 'h-deep' }));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      error: 'GZ_INVALID_PAYLOAD',
      message: 'data.html: elements nested deeper than 512 levels',
    });
    expect(await events()).toBe(before);
    expect(await article('generic', 'h-deep')).toBeUndefined();
  });
});
