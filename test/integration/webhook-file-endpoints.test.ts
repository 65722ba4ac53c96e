import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createContainer } from '../../src/container.js';
import { withTransaction } from '../../src/db/pool.js';
import { resolveFileEndpoints, syncFileEndpoints } from '../../src/outbox/file-endpoints.js';
import { recordSubscriberEvent } from '../../src/outbox/subscriber-events.js';
import { loadPublication, parsePublication } from '../../src/publication.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { addReader } from '../helpers/digest-fixtures.js';
import { publicationFile } from '../helpers/publication-file.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';

const whsec = () => `whsec_${randomBytes(32).toString('base64')}`;
const sample = JSON.parse(readFileSync('config/publication.sample.json', 'utf8'));
const entry = (over: Record<string, unknown> = {}) => ({
  id: 'cms',
  url: 'https://cms.example.com/gazette-events',
  events: ['subscriber.unsubscribed'],
  secretEnv: 'WEBHOOK_OUT_SECRET_CMS',
  ...over,
});

describe('webhook endpoints in the publication file: checked at boot', () => {
  it('names the entry and what is wrong with it', () => {
    const parse = (webhooks: unknown[]) => () => parsePublication({ ...sample, webhooks });
    expect(parse([entry({ url: 'ftp://cms.example/x' })])).toThrow(
      'PUBLICATION_CONFIG field webhooks.0 ("cms").url: "ftp://cms.example/x" must be http or https',
    );
    expect(parse([entry({ url: 'not a url' })])).toThrow(
      /webhooks\.0 \("cms"\)\.url: "not a url" is not a URL/,
    );
    expect(parse([entry({ url: 'https://u:p@cms.example/x' })])).toThrow(/must not carry credentials/);
    expect(parse([entry(), entry({ id: 'wp', events: ['subscriber.confirmed', 'article.read'] })])).toThrow(
      'PUBLICATION_CONFIG field webhooks.1 ("wp").events: unknown event "article.read" (known: subscriber.confirmed,',
    );
    expect(parse([entry(), entry()])).toThrow(/webhooks\.1 \("cms"\)\.id: "cms" is used by an earlier entry/);
    expect(parse([entry({ secretEnv: 'CMS_SECRET' })])).toThrow(
      /webhooks\.0 \("cms"\)\.secretEnv: "CMS_SECRET" must name an environment variable WEBHOOK_OUT_SECRET_<NAME>/,
    );
    // the secret itself is never in the file
    expect(parse([entry({ secret: whsec() })])).toThrow(/webhooks\.0/);
    expect(parsePublication({ ...sample, webhooks: [entry()] }).webhooks[0]).toMatchObject({
      description: '',
    });
  });

  it('refuses a missing or ill-formed secret, naming the entry and the variable', () => {
    const [e] = parsePublication({ ...sample, webhooks: [entry()] }).webhooks;
    const resolve = (env: Record<string, string>) => () =>
      resolveFileEndpoints([e!], loadConfig({ NODE_ENV: 'test', ...env }).WEBHOOK_OUT_SECRETS);
    expect(resolve({})).toThrow(
      'PUBLICATION_CONFIG field webhooks.0 ("cms").secretEnv: environment variable WEBHOOK_OUT_SECRET_CMS is not set',
    );
    for (const bad of ['abc', 'whsec_not base64!', `whsec_${randomBytes(8).toString('base64')}`])
      expect(resolve({ WEBHOOK_OUT_SECRET_CMS: bad })).toThrow(
        /webhooks\.0 \("cms"\)\.secretEnv: environment variable WEBHOOK_OUT_SECRET_CMS is not a whsec_ secret/,
      );
    const secret = whsec();
    expect(resolve({ WEBHOOK_OUT_SECRET_CMS: secret })()).toEqual([
      {
        key: 'cms',
        url: 'https://cms.example.com/gazette-events',
        description: '',
        events: ['subscriber.unsubscribed'],
        secret,
      },
    ]);
  });
});

describe('webhook endpoints in the publication file: synced at start', () => {
  let ctx: TestContext;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let answer = 200;
  const secret = whsec();
  const list = async () =>
    (await ctx.app.inject({ url: '/api/v1/webhook-endpoints', headers: ctx.adminHeaders })).json() as Array<
      Record<string, unknown> & { id: string }
    >;
  /** a process starting on the same database with this file (a restart, or one more worker) */
  const restart = async (webhooks: unknown[]) => {
    const publication = loadPublication(publicationFile({ webhooks }));
    const other = await createContainer({
      config: ctx.config,
      publication,
      clock: ctx.clock,
      log: ctx.container.log,
    });
    await other.close();
  };
  const unsubscribed = async (email: string) => {
    const id = await addReader(ctx, { email });
    await withTransaction(ctx.db, (tx) =>
      recordSubscriberEvent(
        tx,
        'subscriber.unsubscribed',
        { id, email, language: 'en' },
        {},
        ctx.clock.now(),
      ),
    );
    return id;
  };

  beforeAll(async () => {
    receiver = await startWebhookReceiver(() => answer);
    ctx = await createTestContext({
      now: new Date().toISOString(),
      env: {
        FETCH_ALLOWED_HOSTS: '127.0.0.1',
        WEBHOOK_OUT_SWEEP_INTERVAL_MS: '200',
        WEBHOOK_OUT_RETRY_BASE_MS: '100',
        WEBHOOK_OUT_SECRET_CMS: secret,
        PUBLICATION_CONFIG: publicationFile({
          webhooks: [entry({ url: receiver.url('/cms'), description: 'the CMS' })],
        }),
      },
    });
  });
  afterAll(async () => {
    await ctx?.close();
    await receiver?.close();
  });

  it('lists the file endpoint read-only, signs with the secret from the environment, refuses edits with 409', async () => {
    const [ep] = await list();
    expect(ep).toMatchObject({
      url: receiver.url('/cms'),
      description: 'the CMS',
      events: ['subscriber.unsubscribed'],
      enabled: true,
      source: 'file',
      fileId: 'cms',
      readOnly: true,
      removedFromFileAt: null,
    });
    const id = await unsubscribed('file-endpoint@example.com');
    await eventually(async () => receiver.received.length === 1);
    const body = new Webhook(secret).verify(
      receiver.received[0]!.body,
      receiver.received[0]!.headers as Record<string, string>,
    );
    expect(body).toMatchObject({ type: 'subscriber.unsubscribed', data: { subscriberId: id } });

    for (const [method, url, words] of [
      ['POST', `/api/v1/webhook-endpoints/${ep!.id}/rotate-secret`, 'WEBHOOK_OUT_SECRET|secretEnv'],
      ['DELETE', `/api/v1/webhook-endpoints/${ep!.id}`, 'remove its entry'],
    ] as const) {
      const res = await ctx.app.inject({ method, url, headers: ctx.adminHeaders });
      expect(res.statusCode, res.body).toBe(409);
      expect(res.json().message).toMatch(/endpoint "cms" is configured in the publication file/);
      expect(res.json().message).toMatch(new RegExp(words));
    }
    // an endpoint made through the API is the API's to delete
    const made = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/webhook-endpoints',
      headers: ctx.adminHeaders,
      payload: { url: 'https://other.example/hook', events: ['edition.sent'] },
    });
    expect(made.json()).toMatchObject({ source: 'api', readOnly: false, fileId: null });
    const del = await ctx.app.inject({
      method: 'DELETE',
      url: `/api/v1/webhook-endpoints/${made.json().id}`,
      headers: ctx.adminHeaders,
    });
    expect(del.statusCode).toBe(204);
    expect((await list()).map((e) => e.fileId)).toEqual(['cms']);
  });

  it('several processes starting at once make one row', async () => {
    const [e] = resolveFileEndpoints(ctx.publication.webhooks, ctx.config.WEBHOOK_OUT_SECRETS);
    await Promise.all(
      Array.from({ length: 6 }, () => syncFileEndpoints({ db: ctx.db, clock: ctx.clock }, [e!])),
    );
    const changed = { ...e!, key: 'second', url: receiver.url('/second') };
    const results = await Promise.all(
      Array.from({ length: 6 }, () => syncFileEndpoints({ db: ctx.db, clock: ctx.clock }, [e!, changed])),
    );
    expect(results.flatMap((r) => r.inserted)).toEqual(['second']);
    const { rows } = await ctx.db.query(
      'SELECT file_key, count(*)::int AS n FROM webhook_endpoints GROUP BY file_key ORDER BY file_key',
    );
    expect(rows).toEqual([
      { file_key: 'cms', n: 1 },
      { file_key: 'second', n: 1 },
    ]);
    // back to the file as it is: "second" left it
    await restart(ctx.publication.webhooks);
    const second = (await list()).find((x) => x.fileId === 'second')!;
    expect(second).toMatchObject({ readOnly: false, removedFromFileAt: expect.any(String) });
    const gone = await ctx.app.inject({
      method: 'DELETE',
      url: `/api/v1/webhook-endpoints/${second.id}`,
      headers: ctx.adminHeaders,
    });
    expect(gone.statusCode).toBe(204);
  });

  it('a 410 disables it for good: a restart keeps it off until an operator enables it', async () => {
    answer = 410;
    const before = receiver.received.length;
    await unsubscribed('gone@example.com');
    await eventually(async () => (await list())[0]!.enabled === false);
    expect((await list())[0]).toMatchObject({ disabledReason: 'answered 410 Gone' });
    await restart(ctx.publication.webhooks);
    expect((await list())[0]).toMatchObject({ enabled: false, readOnly: true });
    await unsubscribed('while-off@example.com');
    answer = 200;
    const enabled = await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/webhook-endpoints/${(await list())[0]!.id}/enable`,
      headers: ctx.adminHeaders,
    });
    expect(enabled.statusCode, enabled.body).toBe(200);
    expect(enabled.json()).toMatchObject({ enabled: true, disabledReason: null, disabledAt: null });
    const id = await unsubscribed('after-enable@example.com');
    await eventually(async () => receiver.received.length === before + 2);
    // the 410 and the event after enabling; nothing of what happened while it was off
    expect(receiver.received.slice(before).map((r) => JSON.parse(r.body).data.subscriberId)).toEqual([
      expect.any(String),
      id,
    ]);
  });

  it('an entry taken out of the file gets no new events; its rows and log stay', async () => {
    const [ep] = await list();
    // owed to it when it leaves the file: the receiver is paused
    const queue = ctx.container.queues.get('webhooks');
    await queue.pause();
    const owed = await unsubscribed('owed@example.com');
    await restart([]);
    await queue.resume();
    const after = await list();
    expect(after[0]).toMatchObject({ id: ep!.id, readOnly: false, removedFromFileAt: expect.any(String) });
    const newer = await unsubscribed('after-removal@example.com');
    const { rows } = await ctx.db.query(
      `SELECT e.payload->>'subscriberId' AS sub, d.state FROM webhook_deliveries d
         JOIN outbox_events e ON e.id = d.event_id WHERE d.endpoint_id = $1`,
      [ep!.id],
    );
    expect(rows.find((r) => r.sub === owed)).toEqual({ sub: owed, state: 'cancelled' });
    expect(rows.find((r) => r.sub === newer)).toBeUndefined();
    const log = await ctx.app.inject({
      url: `/api/v1/webhook-endpoints/${ep!.id}/deliveries`,
      headers: ctx.adminHeaders,
    });
    expect(log.json().items.length).toBeGreaterThan(0);
    const enable = await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/webhook-endpoints/${ep!.id}/enable`,
      headers: ctx.adminHeaders,
    });
    expect(enable.statusCode).toBe(409);
    expect(enable.json().message).toMatch(/taken out of the publication file/);
    // back in the file: the same endpoint takes events again
    await restart(ctx.publication.webhooks);
    expect((await list())[0]).toMatchObject({ id: ep!.id, readOnly: true, removedFromFileAt: null });
  });
});
