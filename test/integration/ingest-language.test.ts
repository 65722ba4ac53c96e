import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signGhostWebhook, signStandardWebhook } from '../../src/articles/signatures.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { addReader, htmlOf, mailsTo } from '../helpers/digest-fixtures.js';

const GENERIC_SECRET = `whsec_${Buffer.from('generic-language-secret-0123456').toString('base64')}`;
const GHOST_SECRET = 'ghost-language-secret-77';
const fixture = (path: string) => readFileSync(new URL(`../fixtures/cms/${path}`, import.meta.url), 'utf8');

/** The sample publication file as shipped: every source defaults to Arabic, Ghost included. */
describe('article language with the sample publication file', () => {
  let ctx: TestContext;

  beforeAll(async () => {
    ctx = await createTestContext({
      env: { WEBHOOK_SECRET_GENERIC: GENERIC_SECRET, WEBHOOK_SECRET_GHOST: GHOST_SECRET },
    });
  });
  afterAll(async () => {
    await ctx?.close();
  });
  beforeEach(() => {
    ctx.clock.set(new Date()); // signatures carry a timestamp
  });

  const ghost = (body: string) => {
    const t = ctx.clock.now().getTime();
    return ctx.app.inject({
      method: 'POST',
      url: '/webhooks/ghost?event=post.published',
      headers: {
        'content-type': 'application/json',
        'x-ghost-signature': signGhostWebhook(GHOST_SECRET, body, t),
      },
      payload: body,
    });
  };
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
  const listed = async () =>
    (await ctx.app.inject({ url: '/api/v1/articles?limit=50', headers: ctx.adminHeaders })).json().items as {
      title: string;
      language: string;
      languageOrigin: string;
    }[];
  const send = (body: Record<string, unknown>) =>
    ctx.app.inject({ method: 'POST', url: '/api/v1/digests/send', headers: ctx.adminHeaders, payload: body });

  it('an Arabic Ghost post reaches Arabic readers, and the dry run says why English readers get nothing', async () => {
    await addReader(ctx, { email: 'reader-ar@example.org', language: 'ar' });
    await addReader(ctx, { email: 'reader-en@example.org', language: 'en' });
    expect((await ghost(fixture('ghost/post-published-ar.json'))).statusCode).toBe(202);
    const title = 'افتتاح مكتبة عامة جديدة في حي الميدان';
    await eventually(async () => (await listed()).find((a) => a.title === title));
    expect((await listed()).find((a) => a.title === title)).toMatchObject({
      language: 'ar',
      languageOrigin: 'script',
    });

    const dry = (await send({ dryRun: true })).json();
    expect(dry.recipients).toBe(1);
    expect(dry.languageGaps).toEqual([
      {
        language: 'en',
        readers: 1,
        articlesByLanguage: { ar: 1 },
        message: '1 en readers get nothing: no selected article is in en (1 in ar)',
      },
    ]);

    expect((await send({})).statusCode).toBe(202);
    await ctx.sink.waitFor(1);
    const [mail] = mailsTo(ctx.sink.received, 'reader-ar@example.org');
    expect(htmlOf(mail!)).toContain(title);
    expect(htmlOf(mail!)).toMatch(/dir="rtl"/);
    expect(mailsTo(ctx.sink.received, 'reader-en@example.org')).toEqual([]);
  });

  it('an English post in an Arabic-default source reaches English readers; a Latin brand keeps a title Arabic', async () => {
    const at = ctx.clock.now().toISOString();
    expect(
      (
        await generic({
          id: 'en-1',
          url: 'https://almadar.example/en/news/budget-2027',
          title: 'Cabinet approves the 2027 budget',
          html: '<p>The cabinet approved the state budget for 2027 after a long session.</p>',
          publishedAt: at,
        })
      ).statusCode,
    ).toBe(202);
    expect(
      (
        await generic({
          id: 'ar-brand-1',
          url: 'https://almadar.example/ar/news/apple-pay',
          title: 'Apple Pay متاحة في سوريا',
          publishedAt: at,
        })
      ).statusCode,
    ).toBe(202);
    await eventually(async () => (await listed()).length === 3);
    const byTitle = new Map((await listed()).map((a) => [a.title, [a.language, a.languageOrigin]]));
    expect(byTitle.get('Cabinet approves the 2027 budget')).toEqual(['en', 'script']);
    expect(byTitle.get('Apple Pay متاحة في سوريا')).toEqual(['ar', 'script']);

    const before = ctx.sink.received.length;
    expect((await send({})).statusCode).toBe(202);
    await ctx.sink.waitFor(before + 2);
    const [en] = mailsTo(ctx.sink.received.slice(before), 'reader-en@example.org');
    expect(htmlOf(en!)).toContain('Cabinet approves the 2027 budget');
    expect(htmlOf(en!)).not.toContain('Apple Pay');
    const [ar] = mailsTo(ctx.sink.received.slice(before), 'reader-ar@example.org');
    expect(htmlOf(ar!)).toContain('Apple Pay متاحة في سوريا');
  });
});
