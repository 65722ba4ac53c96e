import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeGeneric } from '../../src/articles/normalize/generic.js';
import { createTestContext, type TestContext } from '../helpers/context.js';

const PRODUCTION = {
  NODE_ENV: 'production',
  SECRET_KEY: 'n0Qe3xR9Lk2vTz7bWm4pYc8sHf1dGj6uAo5iKq0tZr3wEy7x',
  ADMIN_TOKEN: 'Vb8Nz1Kp6Rs3Hd5Fg0JaUYt7Qm2Lw9Xc4eT1',
  SESSION_SECRET: 'Zp1Wq6Lx3Nc9Vb2Hs7Jd5Gf0YaMt4Rk8',
};
const ADMIN = { authorization: `Bearer ${PRODUCTION.ADMIN_TOKEN}` };

type Schema = Record<string, unknown>;
interface Doc {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}
interface Media {
  schema: Schema;
  example?: unknown;
  examples?: Record<string, { value: unknown }>;
}
interface Operation {
  requestBody?: { content: Record<string, Media> };
  responses?: Record<string, { content?: Record<string, Media> }>;
}

/**
 * /docs is something a publisher's developer can copy from: schemas are named components (not
 * def-0), the public, webhook and operator endpoints carry real examples (an Arabic reader, an
 * Arabic article, a dry run), and every example validates against its own schema in the document
 * and is accepted by the API itself.
 */
describe('the OpenAPI document at /docs/json', () => {
  let ctx: TestContext;
  let doc: Doc;
  beforeAll(async () => {
    ctx = await createTestContext({ workers: false, env: PRODUCTION });
    const res = await ctx.app.inject({ url: '/docs/json', headers: ADMIN });
    expect(res.statusCode).toBe(200);
    doc = res.json();
  });
  afterAll(async () => {
    await ctx?.close();
  });

  /** Every example in the document with the schema it illustrates. */
  function examples(): Array<{ where: string; schema: Schema; value: unknown }> {
    const out: Array<{ where: string; schema: Schema; value: unknown }> = [];
    const fromMedia = (where: string, content: Record<string, Media> | undefined) => {
      for (const [type, media] of Object.entries(content ?? {})) {
        if (media.example !== undefined)
          out.push({ where: `${where} ${type}`, schema: media.schema, value: media.example });
        for (const [name, ex] of Object.entries(media.examples ?? {}))
          out.push({ where: `${where} ${type} ${name}`, schema: media.schema, value: ex.value });
      }
    };
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(ops)) {
        fromMedia(`${method} ${path} request`, op.requestBody?.content);
        for (const [status, r] of Object.entries(op.responses ?? {}))
          fromMedia(`${method} ${path} ${status}`, r.content);
      }
    for (const [name, schema] of Object.entries(doc.components.schemas))
      if (schema.example !== undefined)
        out.push({
          where: `component ${name}`,
          schema: { $ref: `#/components/schemas/${name}` },
          value: schema.example,
        });
    return out;
  }

  const requestExample = (method: string, path: string): unknown => {
    const media = doc.paths[path]?.[method]?.requestBody?.content['application/json'];
    return media?.example ?? Object.values(media?.examples ?? {})[0]?.value;
  };

  it('names its schemas as components, with no def-N left', () => {
    const names = Object.keys(doc.components.schemas);
    expect(names.filter((n) => /^def-\d+$/.test(n))).toEqual([]);
    for (const name of [
      'SubscribeRequest',
      'SubscribeAccepted',
      'Subscriber',
      'SubscriberDetail',
      'SubscriberPage',
      'Preferences',
      'GenericArticleEvent',
      'DigestSendRequest',
      'DigestDryRun',
      'TestSendRequest',
      'Edition',
      'EditionList',
      'SuppressRequest',
      'OperatorConfirmRequest',
    ])
      expect(names, name).toContain(name);
    expect(
      doc.paths['/api/v1/subscriptions']!.post!.requestBody!.content['application/json']!.schema,
    ).toEqual({
      $ref: '#/components/schemas/SubscribeRequest',
    });
    expect(JSON.stringify(doc)).not.toContain('#/components/schemas/def-');
  });

  it('carries examples for the public, webhook and operator endpoints, each valid against its schema', () => {
    const all = examples();
    const where = all.map((e) => e.where);
    for (const expected of [
      'post /api/v1/subscriptions request',
      'patch /api/v1/subscriptions/preferences/{token} request',
      'post /api/v1/digests/send request',
      'post /api/v1/digests/test request',
      'post /api/v1/subscribers/{id}/suppress request',
      'post /api/v1/subscribers/{id}/suppress 200',
      'post /api/v1/subscribers/{id}/confirm request',
      'post /api/v1/webhook-endpoints/{id}/enable 200',
      'delete /api/v1/webhook-endpoints/{id} 409',
      'component GenericArticleEvent',
    ])
      expect(
        where.some((w) => w.startsWith(expected)),
        expected,
      ).toBe(true);

    const ajv = new Ajv.default({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema({ $id: 'doc', components: doc.components });
    const local = (s: Schema) =>
      JSON.parse(
        JSON.stringify(s).replaceAll('"#/components/schemas/', '"doc#/components/schemas/'),
      ) as Schema;
    for (const e of all) {
      const validate = ajv.compile(local(e.schema));
      expect(validate(e.value) ? [] : validate.errors, e.where).toEqual([]);
    }
    // no generated junk ("stringstri"), and the send example is a dry run
    expect(JSON.stringify(all.map((e) => e.value))).not.toMatch(/stringstri|string"/);
    expect(requestExample('post', '/api/v1/digests/send')).toMatchObject({ dryRun: true });
  });

  it('the examples are accepted by the API itself', async () => {
    const subscribe = requestExample('post', '/api/v1/subscriptions') as { email: string };
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/subscriptions',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(subscribe),
    });
    expect(res.statusCode).toBe(202);
    const { rows } = await ctx.db.query('SELECT id, weekly_day FROM subscribers WHERE email_key = $1', [
      subscribe.email.toLowerCase(),
    ]);
    expect(rows[0].weekly_day).toBe(6);

    const token = ctx.container.tokens.preferences(rows[0].id);
    const prefs = await ctx.app.inject({
      method: 'PATCH',
      url: `/api/v1/subscriptions/preferences/${token}`,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify(requestExample('patch', '/api/v1/subscriptions/preferences/{token}')),
    });
    expect(prefs.statusCode, prefs.body).toBe(200);
    expect(prefs.json()).toMatchObject({
      frequency: 'daily',
      topics: ['economy', 'culture'],
      timezone: 'Europe/Berlin',
    });

    const dry = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/digests/send',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      payload: JSON.stringify(requestExample('post', '/api/v1/digests/send')),
    });
    expect(dry.statusCode, dry.body).toBe(200);
    expect(dry.json().dryRun).toBe(true);

    const component = doc.components.schemas.GenericArticleEvent!;
    const [event] = normalizeGeneric(component.example, ctx.publication);
    expect(event).toMatchObject({ action: 'upsert' });
  });

  it('the JSON preferences endpoint names what is wrong, and refuses bad links and former readers', async () => {
    const patch = (token: string, body: unknown) =>
      ctx.app.inject({
        method: 'PATCH',
        url: `/api/v1/subscriptions/preferences/${token}`,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify(body),
      });
    const { rows } = await ctx.db.query(
      `INSERT INTO subscribers (email, email_key, status, language, frequency, timezone, unsubscribed_at)
       VALUES ('gone@example.org', 'gone@example.org', 'unsubscribed', 'ar', 'daily', 'UTC', now()) RETURNING id`,
    );
    const gone = ctx.container.tokens.preferences(rows[0].id);
    expect((await patch('not-a-token', { frequency: 'daily' })).statusCode).toBe(404);
    expect((await patch(gone, { frequency: 'daily' })).statusCode).toBe(409);
    const bad = await patch(gone, { weeklyDay: 9 });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'GZ_VALIDATION', field: 'weeklyDay' });
  });
});
