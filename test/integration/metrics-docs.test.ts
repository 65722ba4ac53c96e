import { afterEach, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from '../helpers/context.js';

const PRODUCTION = {
  NODE_ENV: 'production',
  SECRET_KEY: 'n0Qe3xR9Lk2vTz7bWm4pYc8sHf1dGj6uAo5iKq0tZr3wEy7x',
  ADMIN_TOKEN: 'Vb8Nz1Kp6Rs3Hd5Fg0JaUYt7Qm2Lw9Xc4eT1',
  SESSION_SECRET: 'Zp1Wq6Lx3Nc9Vb2Hs7Jd5Gf0YaMt4Rk8',
};
const METRICS_TOKEN = 'Mt4Rk8Zp1Wq6Lx3Nc9Vb2Hs7Jd5Gf0Ya';

describe('/metrics and /docs in production', () => {
  let ctx: TestContext | undefined;
  afterEach(async () => {
    await ctx?.close();
    ctx = undefined;
  });
  const get = (url: string, authorization?: string) =>
    (ctx as TestContext).app.inject({ url, headers: authorization ? { authorization } : {} });

  it('without METRICS_TOKEN: no /metrics, /docs only with the admin token, health stays public', async () => {
    ctx = await createTestContext({ workers: false, env: PRODUCTION });
    expect((await get('/metrics')).statusCode).toBe(404);
    expect((await get('/metrics', `Bearer ${PRODUCTION.ADMIN_TOKEN}`)).statusCode).toBe(404);
    for (const url of ['/docs', '/docs/json', '/docs/static/index.html']) {
      expect((await get(url)).statusCode, url).toBe(401);
      expect((await get(url, 'Bearer wrong-token-0123456789012345678')).statusCode, url).toBe(401);
    }
    const doc = await get('/docs/json', `Bearer ${PRODUCTION.ADMIN_TOKEN}`);
    expect(doc.statusCode).toBe(200);
    expect(doc.json().openapi).toMatch(/^3\./);
    expect((await get('/healthz')).statusCode).toBe(200);
    expect((await get('/readyz')).statusCode).toBe(200);
  });

  it('with METRICS_TOKEN: /metrics needs that bearer token; DOCS_PUBLIC=true opens /docs', async () => {
    ctx = await createTestContext({
      workers: false,
      env: { ...PRODUCTION, METRICS_TOKEN, DOCS_PUBLIC: 'true' },
    });
    expect((await get('/metrics')).statusCode).toBe(401);
    expect((await get('/metrics', `Bearer ${PRODUCTION.ADMIN_TOKEN}`)).statusCode).toBe(401);
    const metrics = await get('/metrics', `Bearer ${METRICS_TOKEN}`);
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('gazette_http_request_duration_seconds');
    expect((await get('/docs/json')).statusCode).toBe(200);
  });

  it('outside production a METRICS_TOKEN, once set, is required too', async () => {
    ctx = await createTestContext({ workers: false, env: { METRICS_TOKEN } });
    expect((await get('/metrics')).statusCode).toBe(401);
    expect((await get('/metrics', `Bearer ${METRICS_TOKEN}`)).statusCode).toBe(200);
    expect((await get('/docs/json')).statusCode).toBe(200);
  });
});
