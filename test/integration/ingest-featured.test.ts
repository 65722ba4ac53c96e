import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signGhostWebhook, signStandardWebhook } from '../../src/articles/signatures.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { addReader, htmlOf, ledger } from '../helpers/digest-fixtures.js';

const GENERIC_SECRET = `whsec_${Buffer.from('generic-featured-secret-01234567').toString('base64')}`;
const GHOST_SECRET = 'ghost-featured-secret-19';
const fixture = (path: string) => readFileSync(new URL(`../fixtures/cms/${path}`, import.meta.url), 'utf8');

describe("the editor's lead story", () => {
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
    ctx.clock.set(new Date());
  });

  it('a featured Ghost post leads its digest over a newer sport item of the same minute', async () => {
    await addReader(ctx, { email: 'desk@example.org', language: 'en' });
    const minute = new Date(Math.floor(ctx.clock.now().getTime() / 60_000) * 60_000);
    const at = (seconds: number) => new Date(minute.getTime() + seconds * 1000).toISOString();

    const post = JSON.parse(fixture('ghost/post-published.json'));
    Object.assign(post.post.current, {
      id: '6760aa01b2c3d4e5f6a70811',
      title: 'Cabinet approves the 2027 budget',
      html: '<p>The cabinet approved the state budget after a long session.</p>',
      url: 'https://almadar.example/cabinet-approves-2027-budget/',
      tags: [{ id: 't5', name: 'Economy', slug: 'economy' }],
      featured: true,
      published_at: at(1),
      updated_at: at(1),
    });
    const ghostBody = JSON.stringify(post);
    const t = ctx.clock.now().getTime();
    const ghost = await ctx.app.inject({
      method: 'POST',
      url: '/webhooks/ghost?event=post.published',
      headers: {
        'content-type': 'application/json',
        'x-ghost-signature': signGhostWebhook(GHOST_SECRET, ghostBody, t),
      },
      payload: ghostBody,
    });
    expect(ghost.statusCode).toBe(202);

    const sportBody = JSON.stringify({
      type: 'article.published',
      data: {
        id: 'sport-1',
        url: 'https://almadar.example/en/sport/cup-final',
        title: 'Cup final moved to Saturday',
        html: '<p>The football federation moved the cup final to Saturday.</p>',
        categories: ['Sport'],
        publishedAt: at(40),
      },
    });
    const id = `msg_${randomUUID()}`;
    const ts = Math.floor(t / 1000);
    const generic = await ctx.app.inject({
      method: 'POST',
      url: '/webhooks/generic',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(ts),
        'webhook-signature': signStandardWebhook(GENERIC_SECRET, id, ts, sportBody),
      },
      payload: sportBody,
    });
    expect(generic.statusCode).toBe(202);
    const rows = await eventually(async () => {
      const { rows } = await ctx.db.query<{ id: string; title: string; featured: boolean }>(
        "SELECT id, title, featured FROM articles WHERE status = 'published' ORDER BY title",
      );
      return rows.length === 2 ? rows : null;
    });
    expect(rows.map((r) => [r.title, r.featured])).toEqual([
      ['Cabinet approves the 2027 budget', true],
      ['Cup final moved to Saturday', false],
    ]);

    expect(
      (
        await ctx.app.inject({
          method: 'POST',
          url: '/api/v1/digests/send',
          headers: ctx.adminHeaders,
          payload: {},
        })
      ).statusCode,
    ).toBe(202);
    await ctx.sink.waitFor(1);
    const [row] = await ledger(ctx);
    const budget = rows.find((r) => r.featured)!.id;
    expect(row?.article_ids[0]).toBe(budget);
    const html = htmlOf(ctx.sink.received[0]!);
    expect(html.indexOf('Cabinet approves the 2027 budget')).toBeGreaterThan(-1);
    expect(html.indexOf('Cabinet approves the 2027 budget')).toBeLessThan(
      html.indexOf('Cup final moved to Saturday'),
    );
  });
});
