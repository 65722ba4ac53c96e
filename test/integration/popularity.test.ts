import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStandardWebhook } from '../../src/articles/signatures.js';
import { getCompileCount } from '../../src/render/index.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { addArticle, addReader, htmlOf, mailsTo } from '../helpers/digest-fixtures.js';

const SECRET = `whsec_${Buffer.from('popularity-test-secret-0123456789').toString('base64')}`;

/** Where clicks are not counted (the default), "most read" comes from the CMS's signed popularity list. */
describe('most read from the CMS popularity list', () => {
  let ctx: TestContext;
  const art: Record<string, string> = {};
  let n = 0;

  const post = (body: unknown, secret = SECRET) => {
    const raw = JSON.stringify(body);
    const id = `msg_pop_${++n}`;
    const ts = Math.floor(ctx.clock.now().getTime() / 1000);
    return ctx.app.inject({
      method: 'POST',
      url: '/webhooks/popularity',
      payload: raw,
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(ts),
        'webhook-signature': signStandardWebhook(secret, id, ts, raw),
      },
    });
  };

  beforeAll(async () => {
    ctx = await createTestContext({
      now: '2026-11-29T10:00:00Z',
      env: { WEBHOOK_SECRET_POPULARITY: SECRET },
    });
    await addReader(ctx, { email: 'ar@example.org', language: 'ar' });
    await addReader(ctx, { email: 'en@example.org', language: 'en' });
    const old = '2026-11-27T09:00:00Z';
    art.arOld = await addArticle(ctx, { title: 'مهرجان المسرح يختتم دورته', language: 'ar', at: old });
    art.arOld2 = await addArticle(ctx, { title: 'افتتاح جسر جديد فوق النهر', language: 'ar', at: old });
    art.enOld = await addArticle(ctx, { title: 'Theatre festival closes', at: old });
    art.arNew = await addArticle(ctx, { title: 'الأمطار تعود إلى الساحل', language: 'ar' });
    art.enNew = await addArticle(ctx, { title: 'Rain returns to the coast', at: '2026-11-29T09:30:00Z' });
  });

  afterAll(async () => {
    await ctx?.close();
  });

  it('refuses a list that is not signed with the secret, and a malformed one', async () => {
    const forged = await post(
      { articles: [{ id: art.arOld, score: 9 }] },
      `whsec_${Buffer.from('other-secret-0123456789abcdef').toString('base64')}`,
    );
    expect(forged.statusCode).toBe(401);
    const bad = await post({ articles: [{ id: art.arOld, score: -1 }] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'GZ_VALIDATION' });
    const { rows } = await ctx.db.query('SELECT count(*)::int AS n FROM article_popularity');
    expect(rows[0].n).toBe(0);
  });

  it('stores the list and reports the ids it does not know', async () => {
    const res = await post({
      articles: [
        { id: art.arOld2, score: 10 },
        { id: art.arOld, score: 50 },
        { id: art.enOld, score: 30 },
        { id: art.arNew, score: 99 },
        { id: 'not-an-article', score: 5 },
      ],
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ stored: 4, unknown: ['not-an-article'] });
  });

  it('daily digests list the popular articles of their language, not the ones they carry, in one compile', async () => {
    const before = getCompileCount();
    const send = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/digests/send',
      payload: { articleIds: [art.arNew, art.enNew], frequency: 'daily' },
      headers: ctx.adminHeaders,
    });
    expect(send.statusCode).toBe(202);
    const received = await ctx.sink.waitFor(2);
    expect(getCompileCount() - before).toBe(2);

    const ar = htmlOf(mailsTo(received, 'ar@example.org')[0]!);
    expect(ar).toContain('الأكثر قراءة');
    const section = ar.slice(ar.indexOf('الأكثر قراءة'));
    // by score, the edition's own article (score 99) left out, English ones never
    expect(section.indexOf('مهرجان المسرح يختتم دورته')).toBeGreaterThan(0);
    expect(section.indexOf('افتتاح جسر جديد فوق النهر')).toBeGreaterThan(
      section.indexOf('مهرجان المسرح يختتم دورته'),
    );
    expect(section).not.toContain('الأمطار تعود إلى الساحل');
    expect(section).not.toContain('Theatre festival closes');

    const en = mailsTo(received, 'en@example.org')[0]!;
    expect(htmlOf(en)).toContain('Most read');
    expect(htmlOf(en)).toContain('Theatre festival closes');
    expect(en.parsed.text).toContain('== Most read ==');
    // tracking is off: plain links
    expect(htmlOf(en)).not.toContain('/c/');
  });
});
