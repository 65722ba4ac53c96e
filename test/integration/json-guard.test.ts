import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signGhostWebhook, signStandardWebhook, signWpWebhook } from '../../src/articles/signatures.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

const GENERIC_SECRET = `whsec_${Buffer.from('json-guard-secret-0123456789abcd').toString('base64')}`;
const WP_SECRET = 'wp-secret-json-guard';
const GHOST_SECRET = 'ghost-secret-json-guard';
const STRAPI_TOKEN = 'strapi-token-json-guard';
const fixture = (path: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/cms/${path}`, import.meta.url), 'utf8'));

/** `[[[…"x"…]]]` nested `depth` deep, as raw JSON text (JSON.stringify itself would overflow). */
const nested = (depth: number) => `${'['.repeat(depth)}"عمق"${']'.repeat(depth)}`;

/**
 * Validly signed bodies that PostgreSQL cannot store (NUL, lone surrogates) or that nest deep enough
 * to overflow a recursive walk used to answer 500, so the CMS retried forever. They get a 400 naming
 * the field, and nothing is stored; signatures are still checked on the raw bytes first.
 */
describe('hostile JSON gets 400, never 500', () => {
  let ctx: TestContext;

  beforeAll(async () => {
    ctx = await createTestContext({
      workers: false,
      now: new Date().toISOString(),
      env: {
        WEBHOOK_SECRET_GENERIC: GENERIC_SECRET,
        WEBHOOK_SECRET_WORDPRESS: WP_SECRET,
        WEBHOOK_SECRET_GHOST: GHOST_SECRET,
        WEBHOOK_SECRET_STRAPI: STRAPI_TOKEN,
      },
    });
  });
  afterAll(async () => {
    await ctx?.close();
  });
  beforeEach(() => {
    ctx.clock.set(new Date());
  });

  const count = async (table: string) =>
    (await ctx.db.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n as number;

  function send(
    provider: 'generic' | 'wordpress' | 'ghost' | 'strapi',
    body: string,
    opts: { badSignature?: boolean } = {},
  ) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const secret = (s: string) => (opts.badSignature ? `${s}-wrong` : s);
    if (provider === 'generic') {
      const id = `msg_${randomUUID()}`;
      const ts = Math.floor(ctx.clock.now().getTime() / 1000);
      headers['webhook-id'] = id;
      headers['webhook-timestamp'] = String(ts);
      headers['webhook-signature'] = signStandardWebhook(
        opts.badSignature
          ? `whsec_${Buffer.from('another-secret-entirely-0123456').toString('base64')}`
          : GENERIC_SECRET,
        id,
        ts,
        body,
      );
    } else if (provider === 'wordpress') {
      headers['x-wp-webhook-signature'] = signWpWebhook(secret(WP_SECRET), body);
    } else if (provider === 'ghost') {
      headers['x-ghost-signature'] = signGhostWebhook(secret(GHOST_SECRET), body, ctx.clock.now().getTime());
    } else {
      headers.authorization = `Bearer ${secret(STRAPI_TOKEN)}`;
    }
    const query = provider === 'ghost' ? '?event=post.published' : '';
    return ctx.app.inject({ method: 'POST', url: `/webhooks/${provider}${query}`, headers, payload: body });
  }

  /** Each provider's sample with its title replaced; `\u0000` etc. go in as JSON escapes, as a CMS sends them. */
  const withTitle = (provider: string, escapedTitle: string): { body: string; field: string } => {
    const marker = '__TITLE__';
    // biome-ignore lint/suspicious/noExplicitAny: fixture documents of four shapes, edited by path
    let doc: Record<string, any>;
    let field: string;
    if (provider === 'generic') {
      doc = fixture('generic/article-published.json');
      doc.data.title = marker;
      field = 'body.data.title';
    } else if (provider === 'wordpress') {
      doc = fixture('wordpress/wp-webhooks-post-create.json');
      doc.post.post_title = marker;
      field = 'body.post.post_title';
    } else if (provider === 'ghost') {
      doc = fixture('ghost/post-published.json');
      doc.post.current.title = marker;
      field = 'body.post.current.title';
    } else {
      doc = fixture('strapi/v5-entry-publish.json');
      doc.entry.title = marker;
      field = 'body.entry.title';
    }
    return { body: JSON.stringify(doc).replace(marker, escapedTitle), field };
  };

  const providers = ['generic', 'wordpress', 'ghost', 'strapi'] as const;

  it.each(providers)('%s: a NUL in the title is a 400 naming the field; nothing stored', async (provider) => {
    const before = await count('article_events');
    const { body, field } = withTitle(provider, 'خبر\\u0000عاجل');
    const res = await send(provider, body);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      error: 'GZ_INVALID_PAYLOAD',
      message: `${field} contains a NUL character (\\u0000)`,
    });
    expect(await count('article_events')).toBe(before);
  });

  it.each(providers)('%s: a lone surrogate in the title is a 400 naming the field', async (provider) => {
    const { body, field } = withTitle(provider, 'خبر \\ud800 عاجل');
    const res = await send(provider, body);
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toBe(`${field} contains a lone UTF-16 surrogate (invalid Unicode)`);
  });

  it.each(providers)('%s: JSON nested 5000 deep is a 400, not a stack overflow', async (provider) => {
    const before = await count('article_events');
    const { body } = withTitle(provider, 'عنوان');
    const deep = body.replace(/}$/, `,"extra":${nested(5000)}}`);
    const res = await send(provider, deep);
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toBe('body: nested deeper than 64 levels');
    expect(await count('article_events')).toBe(before);
  });

  it('form-encoded WordPress bodies: %00 names its field, bracket keys are capped like JSON', async () => {
    const form = (body: string) =>
      ctx.app.inject({
        method: 'POST',
        url: '/webhooks/wordpress',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-wp-webhook-signature': signWpWebhook(WP_SECRET, body),
        },
        payload: body,
      });
    const before = await count('article_events');
    const nul = await form('post_id=4821&post%5BID%5D=4821&post%5Bpost_title%5D=%D8%AE%D8%A8%D8%B1%00');
    expect(nul.statusCode).toBe(400);
    expect(nul.json().message).toBe('body.post.post_title contains a NUL character (\\u0000)');
    const deep = await form(`post_id=4821&x${'%5Ba%5D'.repeat(5000)}=1`);
    expect(deep.statusCode).toBe(400);
    expect(deep.json().message).toBe('body: field x nested deeper than 64 levels');
    expect(await count('article_events')).toBe(before);
  });

  it('checks the signature on the raw bytes before looking inside', async () => {
    const { body } = withTitle('generic', 'خبر\\u0000عاجل');
    expect((await send('generic', body, { badSignature: true })).statusCode).toBe(401);
    expect(
      (await send('wordpress', withTitle('wordpress', 'x\\u0000').body, { badSignature: true })).statusCode,
    ).toBe(401);
  });

  it('keeps ordinary escapes and valid surrogate pairs (emoji) working', async () => {
    const { body } = withTitle('generic', 'خبر \\"عاجل\\" \\ud83d\\udcf0 [تحديث] {مباشر}');
    const res = await send('generic', body);
    expect(res.statusCode).toBe(202);
  });

  const subscribe = (payload: string) =>
    ctx.app.inject({
      method: 'POST',
      url: '/api/v1/subscriptions',
      headers: { 'content-type': 'application/json' },
      payload,
    });

  it('public JSON API: NUL or a lone surrogate in a field is a 400 naming it; nothing stored', async () => {
    const before = await count('subscribers');
    const nul = await subscribe('{"email":"salma@example.org","name":"سلمى\\u0000"}');
    expect(nul.statusCode).toBe(400);
    expect(nul.json()).toMatchObject({
      error: 'GZ_VALIDATION',
      field: 'name',
      message: 'name contains a NUL character (\\u0000)',
    });
    const lone = await subscribe('{"email":"salma@example.org","name":"\\udfff سلمى"}');
    expect(lone.statusCode).toBe(400);
    expect(lone.json().field).toBe('name');
    expect(await count('subscribers')).toBe(before);
  });

  it('public JSON API: deep nesting is a 400 before parsing', async () => {
    const res = await subscribe(`{"email":"salma@example.org","topics":${nested(5000)}}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      error: 'GZ_VALIDATION',
      message: 'body: nested deeper than 64 levels',
    });
  });
});
