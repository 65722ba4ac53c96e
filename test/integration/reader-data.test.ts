import { randomUUID } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertBounceEvent } from '../../src/bounces/bounce-store.js';
import { createDelivery } from '../../src/delivery/delivery-store.js';
import { jobId } from '../../src/queues/definitions.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { addReader } from '../helpers/digest-fixtures.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ADDRESS = 'Rania.Haddad@Example.org';
const KEY = ADDRESS.toLowerCase();

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

const subscribe = (email: string) =>
  ctx.app.inject({
    method: 'POST',
    url: '/api/v1/subscriptions',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ email, name: 'رانيا حداد', language: 'ar' }),
  });

async function runImport(csv: string) {
  const res = await ctx.app.inject({
    method: 'POST',
    url: '/api/v1/subscribers/import?mode=attested&attestation=Signed%20up%20at%20the%20book%20fair',
    headers: { ...ctx.adminHeaders, 'content-type': 'text/csv' },
    payload: csv,
  });
  expect(res.statusCode, res.body).toBe(202);
  const id = res.json().id as string;
  await eventually(async () => {
    const v = await ctx.app.inject({ url: `/api/v1/subscribers/imports/${id}`, headers: ctx.adminHeaders });
    return v.json().state === 'done';
  });
  const report = await ctx.app.inject({
    url: `/api/v1/subscribers/imports/${id}/report`,
    headers: ctx.adminHeaders,
  });
  return parse(report.body, { columns: true }) as Array<Record<string, string>>;
}

/** Every row of every table whose text form holds the address, and bytea columns that hold it. */
async function traces(needle: string): Promise<string[]> {
  const found: string[] = [];
  const { rows: tables } = await ctx.db.query(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
  );
  for (const { table_name } of tables) {
    const t = `"${table_name}"`;
    const { rows } = await ctx.db.query(
      `SELECT count(*)::int AS n FROM ${t} x WHERE strpos(lower(x::text), $1) > 0`,
      [needle],
    );
    if (rows[0].n > 0) found.push(`${table_name}: ${rows[0].n} row(s)`);
    const { rows: bytea } = await ctx.db.query(
      `SELECT column_name FROM information_schema.columns WHERE table_name = $1 AND data_type = 'bytea'`,
      [table_name],
    );
    for (const { column_name } of bytea) {
      const { rows: b } = await ctx.db.query(
        `SELECT count(*)::int AS n FROM ${t} WHERE position(convert_to($1, 'UTF8') in lower(encode("${column_name}", 'escape'))::bytea) > 0`,
        [needle],
      );
      if (b[0].n > 0) found.push(`${table_name}.${column_name}: ${b[0].n} row(s)`);
    }
  }
  return found;
}

/** Every key under the test's prefix whose name or value holds the needle. */
async function redisTraces(prefix: string, needle: string): Promise<string[]> {
  const redis = new Redis(REDIS_URL);
  const found: string[] = [];
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      for (const key of keys) {
        const type = await redis.type(key);
        const value =
          type === 'string'
            ? await redis.get(key)
            : type === 'hash'
              ? Object.entries(await redis.hgetall(key))
                  .flat()
                  .join(' ')
              : type === 'list'
                ? (await redis.lrange(key, 0, -1)).join(' ')
                : type === 'set'
                  ? (await redis.smembers(key)).join(' ')
                  : type === 'zset'
                    ? (await redis.zrange(key, 0, -1)).join(' ')
                    : type === 'stream'
                      ? (await redis.xrange(key, '-', '+')).flat(3).join(' ')
                      : '';
        if (`${key} ${value}`.toLowerCase().includes(needle)) found.push(key);
      }
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return found;
}

describe("the reader's data rights", () => {
  let id: string;
  let prefsPath: string;

  beforeAll(async () => {
    expect((await subscribe(ADDRESS)).statusCode).toBe(202);
    const [confirmation] = await ctx.sink.waitFor(1);
    const confirm = /https:\/\/news\.example\.test(\/confirm\/[A-Za-z0-9_.-]+)/.exec(
      confirmation!.parsed.text ?? '',
    );
    expect((await ctx.app.inject({ method: 'POST', url: confirm![1]! })).statusCode).toBe(200);
    const [, welcome] = await ctx.sink.waitFor(2);
    prefsPath = /https:\/\/news\.example\.test(\/preferences\/[A-Za-z0-9_.-]+)/.exec(
      welcome!.parsed.text ?? '',
    )![1]!;
    id = (await ctx.db.query('SELECT id FROM subscribers WHERE email_key = $1', [KEY])).rows[0].id;
    // the address also sits in an import's rows (a duplicate, and a row refused as invalid) and in
    // a mail the development mailbox caught
    const rows = await runImport(`email,name\n${ADDRESS},Rania\n"${KEY}, someone@example.org",Two\n`);
    expect(rows.map((r) => r.outcome)).toEqual(['duplicate', 'invalid']);
    await ctx.db.query(
      `INSERT INTO dev_mailbox (id, received_at, envelope_from, envelope_to, subject, raw)
       VALUES ($1, now(), 'news@example.test', $2, 'hello', convert_to($3, 'UTF8'))`,
      [randomUUID(), [KEY], `To: ${ADDRESS}\r\n\r\nhello`],
    );
  });

  it("exports the reader's data as JSON to operators", async () => {
    const res = await ctx.app.inject({ url: `/api/v1/subscribers/${id}/data`, headers: ctx.adminHeaders });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-disposition']).toMatch(/attachment/);
    const data = res.json();
    expect(data.subscriber).toMatchObject({
      id,
      email: ADDRESS.replace('Example.org', 'example.org'),
      status: 'confirmed',
    });
    expect(data.preferences).toMatchObject({ language: 'ar', frequency: 'daily' });
    expect(data.consent.map((c: { event: string }) => c.event)).toEqual(['subscribe_requested', 'confirmed']);
    expect(data.deliveries.map((d: { kind: string; state: string }) => [d.kind, d.state])).toEqual([
      ['confirmation', 'sent'],
      ['welcome', 'sent'],
    ]);
    expect(data.bounces).toEqual([]);
  });

  it('links the download from the preference centre, authenticated by the preferences link', async () => {
    const page = await ctx.app.inject(prefsPath);
    expect(page.body).toContain(`href="${prefsPath}/data"`);
    const res = await ctx.app.inject(`${prefsPath}/data`);
    expect(res.statusCode).toBe(200);
    expect(res.json().subscriber.id).toBe(id);
    expect((await ctx.app.inject(`${prefsPath.slice(0, -3)}xyz/data`)).statusCode).toBe(404);
    expect((await ctx.app.inject(`/api/v1/subscribers/${id}/data`)).statusCode).toBe(401);
  });

  it('erases the reader: nothing of the address is left in PostgreSQL or Redis, and it is refused later', async () => {
    const deliveryIds = (
      await ctx.db.query('SELECT id FROM deliveries WHERE subscriber_id = $1', [id])
    ).rows.map((r) => Number(r.id));
    const queue = ctx.container.queues.get('transactional');
    await eventually(async () => (await queue.getJob(jobId('delivery', deliveryIds[1]!)))?.isCompleted());
    // the scans do find what they look for: the address in tables, the reader's jobs in Redis
    expect((await traces(KEY)).length).toBeGreaterThan(0);
    const jobTrace = `"deliveryid":${deliveryIds[0]}`;
    expect(await redisTraces(ctx.config.QUEUE_PREFIX, jobTrace)).not.toEqual([]);

    const res = await ctx.app.inject({
      method: 'DELETE',
      url: `/api/v1/subscribers/${id}?by=admin@news.example`,
      headers: ctx.adminHeaders,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      subscriberId: id,
      erasedBy: 'admin@news.example',
      alreadyErased: false,
      details: { consentEvents: 2, deliveries: 2, importRows: 2, devMailbox: 1, jobsRemoved: 2 },
    });

    expect(await traces(KEY)).toEqual([]);
    expect(await redisTraces(ctx.config.QUEUE_PREFIX, KEY)).toEqual([]);
    expect(await redisTraces(ctx.config.QUEUE_PREFIX, jobTrace)).toEqual([]);
    for (const d of deliveryIds) expect(await queue.getJob(jobId('delivery', d))).toBeUndefined();
    const { rows: erasures } = await ctx.db.query('SELECT * FROM erasures');
    expect(erasures).toMatchObject([{ subscriber_id: id, erased_by: 'admin@news.example' }]);
    const { rows: ledger } = await ctx.db.query(
      `SELECT recipient, state FROM deliveries WHERE id = ANY($1)`,
      [deliveryIds],
    );
    expect(ledger).toEqual([
      { recipient: 'erased', state: 'sent' },
      { recipient: 'erased', state: 'sent' },
    ]);

    const again = await ctx.app.inject({
      method: 'DELETE',
      url: `/api/v1/subscribers/${id}`,
      headers: ctx.adminHeaders,
    });
    expect(again.json()).toMatchObject({ alreadyErased: true, erasedBy: 'admin@news.example' });
    expect(
      (await ctx.app.inject({ url: `/api/v1/subscribers/${id}`, headers: ctx.adminHeaders })).statusCode,
    ).toBe(404);

    // a later subscribe (any case) is answered as usual and stores nothing; an import reports it
    const mailsBefore = ctx.sink.received.length;
    expect((await subscribe(ADDRESS.toUpperCase())).statusCode).toBe(202);
    const { rows: subs } = await ctx.db.query('SELECT count(*)::int AS n FROM subscribers');
    expect(subs[0].n).toBe(0);
    const rows = await runImport(`email\n${ADDRESS}\n`);
    expect(rows).toMatchObject([
      { outcome: 'suppressed', reason: 'address erased earlier: on the suppression list' },
    ]);
    expect(ctx.sink.received.length).toBe(mailsBefore);
    // the refused row keeps its number and reason in the report, not the address
    expect(await traces(KEY)).toEqual([]);
  });

  it('answers 404 for a reader that never existed', async () => {
    const res = await ctx.app.inject({
      method: 'DELETE',
      url: `/api/v1/subscribers/${randomUUID()}`,
      headers: ctx.adminHeaders,
    });
    expect(res.statusCode).toBe(404);
  });

  // after the erasure test, which counts every reader left
  it('lists the bounce and complaint reports received about the reader, not their failed deliveries', async () => {
    const other = await addReader(ctx, { email: 'bounced.reader@example.org', language: 'ar' });
    const at = new Date('2026-11-02T08:00:00Z');
    // a delivery that failed for a reason of Gazette's own (never reported by the receiver)
    const failed = await createDelivery(ctx.db, {
      kind: 'welcome',
      dedupeKey: `welcome-${other}`,
      subscriberId: other,
      recipient: 'bounced.reader@example.org',
      at,
    });
    await ctx.db.query(`UPDATE deliveries SET state = 'failed', error = 'render failed' WHERE id = $1`, [
      failed.id,
    ]);
    const sent = await createDelivery(ctx.db, {
      kind: 'confirmation',
      dedupeKey: `confirmation-${other}-x`,
      subscriberId: other,
      recipient: 'bounced.reader@example.org',
      at,
    });
    const event = (cls: 'soft' | 'complaint', n: number, deliveryId: number | null) =>
      insertBounceEvent(ctx.db, {
        source: cls === 'soft' ? 'inbound' : 'postmark',
        eventId: `evt-${n}`,
        class: cls,
        rule: null,
        recipient: 'bounced.reader@example.org',
        subscriberId: other,
        deliveryId,
        editionId: null,
        messageId: null,
        status: cls === 'soft' ? '4.2.2' : null,
        diagnostic: cls === 'soft' ? '452 4.2.2 mailbox full' : null,
        raw: null,
        occurredAt: new Date(at.getTime() + n * 60_000),
        receivedAt: new Date(at.getTime() + n * 60_000),
      });
    await event('soft', 1, sent.id);
    await event('complaint', 2, null);
    const data = (
      await ctx.app.inject({ url: `/api/v1/subscribers/${other}/data`, headers: ctx.adminHeaders })
    ).json();
    expect(data.bounces).toEqual([
      expect.objectContaining({
        class: 'soft',
        source: 'inbound',
        deliveryId: sent.id,
        status: '4.2.2',
        diagnostic: '452 4.2.2 mailbox full',
        at: '2026-11-02T08:01:00.000Z',
      }),
      expect.objectContaining({
        class: 'complaint',
        source: 'postmark',
        deliveryId: null,
        at: '2026-11-02T08:02:00.000Z',
      }),
    ]);
    expect(data.bounces.some((b: { deliveryId: number }) => b.deliveryId === failed.id)).toBe(false);
  });
});
