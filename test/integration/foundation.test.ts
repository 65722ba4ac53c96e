import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { migrate } from '../../src/db/migrate.js';
import { parsePublication } from '../../src/publication.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

describe('foundation', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ workers: false });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('reports health and readiness against real PostgreSQL and Redis', async () => {
    expect((await ctx.app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await ctx.app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    // the shared test Redis runs without persistence: ready, with that warning (readiness.test.ts)
    expect(ready.json()).toMatchObject({ status: 'ready' });
  });

  it('sends the security headers on every response, pages and JSON alike', async () => {
    for (const url of ['/healthz', '/subscribe', '/api/v1/nothing-here']) {
      const res = await ctx.app.inject(url);
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
      expect(res.headers['content-security-policy'], url).toContain("default-src 'self'");
      expect(res.headers['strict-transport-security'], url).toMatch(/max-age=\d+/);
    }
  });

  it('sends a reader who opens the service address to the subscription form', async () => {
    const home = await ctx.app.inject({ method: 'GET', url: '/' });
    expect(home.statusCode).toBe(302);
    expect(home.headers.location).toBe('/subscribe');
    const english = await ctx.app.inject({ method: 'GET', url: '/?lang=en' });
    expect(english.headers.location).toBe('/subscribe?lang=en');
    const form = await ctx.app.inject({ method: 'GET', url: english.headers.location as string });
    expect(form.statusCode).toBe(200);
    expect(form.body).toContain('lang="en"');
  });

  it('serves Prometheus metrics with queue depths', async () => {
    const res = await ctx.app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('gazette_queue_jobs{queue="transactional",state="waiting"} 0');
    expect(res.body).toContain('gazette_http_request_duration_seconds');
  });

  it('serves the OpenAPI document', async () => {
    const res = await ctx.app.inject('/docs/json');
    expect(res.statusCode).toBe(200);
    expect(res.json().openapi).toMatch(/^3\./);
  });

  it('applies migrations once when several processes migrate at the same time', async () => {
    const results = await Promise.all([migrate(ctx.db), migrate(ctx.db), migrate(ctx.db)]);
    expect(results.flat()).toEqual([]);
    const { rows } = await ctx.db.query('SELECT count(*)::int AS n FROM schema_migrations');
    expect(rows[0].n).toBeGreaterThan(0);
  });

  it('keeps consent evidence append-only', async () => {
    const { rows } = await ctx.db.query(
      `INSERT INTO subscribers (email, email_key, status, language, frequency, timezone)
       VALUES ('a@example.com', 'a@example.com', 'pending', 'ar', 'daily', 'UTC') RETURNING id`,
    );
    await ctx.db.query(
      `INSERT INTO consent_events (subscriber_id, email, event, source, occurred_at) VALUES ($1, 'a@example.com', 'subscribe_requested', 'api', now())`,
      [rows[0].id],
    );
    await expect(ctx.db.query('UPDATE consent_events SET source = $1', ['x'])).rejects.toThrow(/append-only/);
    await expect(ctx.db.query('DELETE FROM consent_events')).rejects.toThrow(/append-only/);
  });
});

describe('config', () => {
  it('derives an unset PUBLIC_URL from PORT, and keeps a given one', () => {
    expect(loadConfig({ PORT: '3999' }).PUBLIC_URL).toBe('http://localhost:3999');
    expect(loadConfig({}).PUBLIC_URL).toBe('http://localhost:3000');
    expect(loadConfig({ PORT: '3999', PUBLIC_URL: 'https://news.example' }).PUBLIC_URL).toBe(
      'https://news.example',
    );
  });

  it('names the bad variable in one line', () => {
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(/^environment variable PORT: /);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
    expect(() =>
      loadConfig({ NODE_ENV: 'production', SECRET_KEY: 'x'.repeat(40), ADMIN_TOKEN: 'y'.repeat(20) }),
    ).toThrow(/SMTP_URL: required when NODE_ENV=production/);
  });

  it('accepts a complete production configuration and warns on http PUBLIC_URL', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      SMTP_URL: 'smtp://relay.example:587',
      SECRET_KEY: 'kq3V0xN8pZ1rT6yB2mW9cL4hF7sJ5dG0aE',
      ADMIN_TOKEN: 'Yt7Qm2Lw9Xc4Vb8Nz1Kp6Rs3Hd5Fg0JaU',
      SESSION_SECRET: 'Hs3Jd7Mf5Gc0YaBn4Kq8Wz2Lp6Xv1Rt9',
      TRUST_PROXY: '10.0.0.0/8,127.0.0.1',
    });
    expect(config.TRUST_PROXY).toEqual(['10.0.0.0/8', '127.0.0.1']);
    expect(config.warnings.join()).toMatch(/PUBLIC_URL is not https/);
  });

  it('names the bad field of the publication file', () => {
    const sample = JSON.parse(readFileSync('config/publication.sample.json', 'utf8'));
    expect(() => parsePublication({ ...sample, name: { ar: 'x' } })).toThrow(
      /^PUBLICATION_CONFIG field name.en: /,
    );
    expect(() => parsePublication({ ...sample, categoryMap: { سياسة: 'nope' } })).toThrow(
      /categoryMap.سياسة: unknown topic "nope"/,
    );
    expect(() => parsePublication({ ...sample, timezone: 'Mars/Olympus' })).toThrow(
      /unknown time zone "Mars\/Olympus"/,
    );
  });
});
