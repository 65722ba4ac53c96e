import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { app as gazetteApp } from '../../src/app.js';
import { isAdminRoute } from '../../src/http/admin-auth.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

/**
 * Every operator route, found by registering the real app and listening to onRoute: a route added
 * later is covered without editing this file.
 */
async function adminRoutes(ctx: TestContext): Promise<Array<{ method: string; url: string }>> {
  const seen: Array<{ method: string; url: string }> = [];
  const probe = Fastify().withTypeProvider<TypeBoxTypeProvider>();
  probe.addHook('onRoute', (route: RouteOptions) => {
    for (const method of [route.method].flat()) seen.push({ method, url: route.url });
  });
  await probe.register(gazetteApp, { container: ctx.container });
  await probe.ready();
  await probe.close();
  return seen.filter((r) => isAdminRoute(r.url));
}

describe('admin authentication', () => {
  let ctx: TestContext;
  let routes: Array<{ method: string; url: string }>;
  beforeAll(async () => {
    ctx = await createTestContext({ workers: false });
    routes = await adminRoutes(ctx);
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('finds the operator routes', () => {
    const urls = routes.map((r) => `${r.method} ${r.url}`);
    for (const expected of [
      'GET /api/v1/articles',
      'HEAD /api/v1/articles',
      'POST /api/v1/digests/send',
      'GET /api/v1/editions/:id/preview',
      'POST /api/v1/sending/resume',
      'POST /api/v1/subscribers/:id/suppress',
    ])
      expect(urls).toContain(expected);
    expect(urls).not.toContain('POST /api/v1/subscriptions');
    // relays cannot send the admin token: each bounce webhook checks its relay's own signature
    expect(urls.filter((u) => u.includes('/api/v1/bounces/'))).toEqual([]);
  });

  it('answers 401 before validation on every admin route, whatever the body, params or query', async () => {
    for (const { method, url } of routes) {
      // every param, query and body is invalid: a route that validated first would answer 400
      const path = `${url.replace(/:\w+/g, 'not-a-uuid')}?limit=abc&language=xx&status=nope`;
      for (const authorization of [undefined, 'Bearer wrong-token-0123456789012345']) {
        const res = await ctx.app.inject({
          method: method as 'GET',
          url: path,
          headers: {
            ...(authorization ? { authorization } : {}),
            ...(method === 'GET' || method === 'HEAD' ? {} : { 'content-type': 'application/json' }),
          },
          ...(method === 'GET' || method === 'HEAD'
            ? {}
            : { payload: '{"dryRun": "maybe", "email": 5, "reason": 7}' }),
        });
        expect(res.statusCode, `${method} ${url} (${authorization ?? 'no token'})`).toBe(401);
        if (method !== 'HEAD') expect(res.json().field, `${method} ${url}`).toBeUndefined();
      }
    }
  });

  it('marks every admin route as needing the token in the OpenAPI document', async () => {
    const doc = (await ctx.app.inject('/docs/json')).json();
    const paths = doc.paths as Record<string, Record<string, { security?: unknown }>>;
    for (const { method, url } of routes) {
      if (method === 'HEAD') continue;
      const openapiPath = url.replace(/:(\w+)/g, '{$1}');
      expect(paths[openapiPath]?.[method.toLowerCase()]?.security, `${method} ${url}`).toEqual([
        { adminToken: [] },
      ]);
    }
  });

  it('still serves the admin routes and the public subscription API', async () => {
    const ok = await ctx.app.inject({ url: '/api/v1/sending', headers: ctx.adminHeaders });
    expect(ok.statusCode).toBe(200);
    const bad = await ctx.app.inject({ url: '/api/v1/articles?limit=abc', headers: ctx.adminHeaders });
    expect(bad.statusCode).toBe(400);
    const pub = await ctx.app.inject({ method: 'POST', url: '/api/v1/subscriptions', payload: {} });
    expect(pub.statusCode).toBe(400);
  });
});
