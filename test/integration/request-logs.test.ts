import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../helpers/context.js';

const PERSONAL = 'v1.PersonalToken-4f9c2e7a1b-do-not-log';
const WP_SECRET = 'wp-shared-secret-7d41c9a0e2';

/** The request completion lines of the real app, read from the logger's own destination. */
describe('request logs never carry a token', () => {
  let ctx: TestContext;
  const lines: string[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        cb();
      },
    });
    ctx = await createTestContext({
      workers: false,
      logDestination: sink,
      env: { LOG_LEVEL: 'info', WEBHOOK_SECRET_WORDPRESS: WP_SECRET },
    });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const requests: Array<{ method: 'GET' | 'POST'; url: string; logged: string; payload?: string }> = [
    { method: 'GET', url: `/confirm/${PERSONAL}`, logged: '/confirm/[redacted]' },
    { method: 'POST', url: `/confirm/${PERSONAL}`, logged: '/confirm/[redacted]', payload: '' },
    { method: 'GET', url: `/preferences/${PERSONAL}?lang=en`, logged: '/preferences/[redacted]?lang=en' },
    {
      method: 'POST',
      url: `/preferences/${PERSONAL}`,
      logged: '/preferences/[redacted]',
      payload: 'frequency=daily',
    },
    { method: 'GET', url: `/unsubscribe/${PERSONAL}`, logged: '/unsubscribe/[redacted]' },
    // RFC 8058 one-click, as Gmail and Yahoo send it
    {
      method: 'POST',
      url: `/unsubscribe/${PERSONAL}`,
      logged: '/unsubscribe/[redacted]',
      payload: 'List-Unsubscribe=One-Click',
    },
    // a mangled link matches no route and is logged all the same
    { method: 'GET', url: `/confirm/${PERSONAL}/extra`, logged: '/confirm/[redacted]/extra' },
    { method: 'GET', url: `/%75nsubscribe/${PERSONAL}`, logged: '/%75nsubscribe/[redacted]' },
    {
      method: 'POST',
      url: `/webhooks/wordpress?trigger=post_update&token=${WP_SECRET}`,
      logged: '/webhooks/wordpress?trigger=post_update&token=[redacted]',
      payload: '{}',
    },
    // the query parser decodes names, so ?%74oken= is ?token= to the route: the log must agree
    {
      method: 'POST',
      url: `/webhooks/wordpress?%74oken=${WP_SECRET}`,
      logged: '/webhooks/wordpress?%74oken=[redacted]',
      payload: '{}',
    },
    {
      method: 'POST',
      url: `/webhooks/wordpress?%74%6F%6B%65%6E=${encodeURIComponent(WP_SECRET)}&x=1`,
      logged: '/webhooks/wordpress?%74%6F%6B%65%6E=[redacted]&x=1',
      payload: '{}',
    },
  ];

  it('redacts path tokens and decoded query names, and keeps the rest of the URL', async () => {
    for (const r of requests) {
      const json = r.url.startsWith('/webhooks/');
      await ctx.app.inject({
        method: r.method,
        url: r.url,
        headers: json ? { 'content-type': 'application/json' } : form,
        ...(r.payload !== undefined ? { payload: r.payload } : {}),
      });
    }
    const adminToken = ctx.config.ADMIN_TOKEN;
    await ctx.app.inject(`/api/v1/digests/preview?language=ar&token=${adminToken}`);

    const completed = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request completed');
    expect(completed.map((l) => l.req.url)).toEqual([
      ...requests.map((r) => r.logged),
      '/api/v1/digests/preview?language=ar&token=[redacted]',
    ]);
    const all = lines.join('\n');
    for (const secret of [PERSONAL, WP_SECRET, encodeURIComponent(WP_SECRET), adminToken])
      expect(all).not.toContain(secret);
  });
});
