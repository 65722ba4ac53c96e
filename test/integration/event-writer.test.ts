import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventWriter } from '../../src/articles/event-writer.js';
import type { ArticleEvent } from '../../src/articles/types.js';
import type { Db } from '../../src/db/pool.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';

/**
 * The group-committed event store against real PostgreSQL and BullMQ: deliveries that arrive
 * together share one INSERT, keep their own all-or-nothing outcome, and replays change nothing.
 */
const event = (eventId: string, action: ArticleEvent['action'] = 'delete'): ArticleEvent => ({
  provider: 'generic',
  eventId,
  action,
  externalId: `post-${eventId}`,
  article: null,
});

describe('event writer (group commit)', () => {
  let ctx: TestContext;
  let statements: string[];
  let writer: ReturnType<typeof createEventWriter>;
  beforeAll(async () => {
    ctx = await createTestContext({ workers: false });
    statements = [];
    // the real pool, with every statement it runs written down
    const db = {
      query: (text: string, values?: unknown[]) => {
        statements.push(text.trim().split(/\s+/)[0]!);
        return ctx.db.query(text, values);
      },
    } as unknown as Db;
    writer = createEventWriter({ db, queues: ctx.container.queues });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  const rows = async (provider: string) =>
    (
      await ctx.db.query<{ id: string; event_key: string }>(
        'SELECT id, event_key FROM article_events WHERE provider = $1 ORDER BY id',
        [provider],
      )
    ).rows;

  it('stores concurrent deliveries in fewer statements than deliveries, each once, with a job each', async () => {
    statements.length = 0;
    const deliveries = Array.from({ length: 40 }, (_, i) =>
      writer.store({ provider: 'group', events: [event(`e-${i}`)], rawBody: { i }, receivedAt: new Date() }),
    );
    const stored = await Promise.all(deliveries);
    const stored1 = stored.map((s) => s[0]!);
    expect(stored1.every((s) => !s.duplicate && s.id > 0)).toBe(true);
    expect(new Set(stored1.map((s) => s.id)).size).toBe(40);
    const inDb = await rows('group');
    expect(inDb.map((r) => r.event_key).sort()).toEqual(stored1.map((s) => s.eventKey).sort());
    // the first deliveries take the two write slots; the rest, arrived meanwhile, share the next write
    expect(statements.filter((s) => s === 'INSERT').length).toBeLessThanOrEqual(3);
    // the jobs follow the commit, off the answer's path
    const queue = ctx.container.queues.get('article-events');
    await eventually(async () => {
      const jobIds = new Set((await queue.getJobs(['waiting', 'delayed', 'prioritized'])).map((j) => j.id));
      return stored1.every((s) => jobIds.has(`article-event-${s.id}`));
    });
  });

  it('answers replays and a key sent twice in one write with the stored id, inserting nothing', async () => {
    const [first] = await writer.store({
      provider: 'replay',
      events: [event('r-1')],
      rawBody: {},
      receivedAt: new Date(),
    });
    const store = (key: string) =>
      writer.store({ provider: 'replay', events: [event(key)], rawBody: {}, receivedAt: new Date() });
    statements.length = 0;
    // fillers take the write slots, so the three that follow share a statement
    const [, , a, b, c] = await Promise.all([
      store('f-1'),
      store('f-2'),
      store('r-2'),
      store('r-1'),
      store('r-2'),
    ]);
    expect(statements.filter((s) => s === 'INSERT').length).toBeLessThan(5);
    expect(b![0]).toMatchObject({ id: first!.id, duplicate: true });
    expect(a![0]!.duplicate).toBe(false);
    expect(c![0]).toMatchObject({ id: a![0]!.id, duplicate: true });
    expect((await rows('replay')).map((r) => r.event_key).sort()).toEqual(['f-1', 'f-2', 'r-1', 'r-2']);
  });

  it('fails only the bad delivery of a shared write, and stores none of its events', async () => {
    const results = await Promise.allSettled([
      writer.store({ provider: 'mixed', events: [event('m-0')], rawBody: {}, receivedAt: new Date() }),
      writer.store({ provider: 'mixed', events: [event('m-1')], rawBody: {}, receivedAt: new Date() }),
      // a second event the database refuses (CHECK on action): the whole delivery must fail
      writer.store({
        provider: 'mixed',
        events: [event('m-2'), event('m-3', 'bogus' as ArticleEvent['action'])],
        rawBody: {},
        receivedAt: new Date(),
      }),
      writer.store({ provider: 'mixed', events: [event('m-4')], rawBody: {}, receivedAt: new Date() }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[2] as PromiseRejectedResult).reason)).toMatch(/check constraint/);
    expect((await rows('mixed')).map((r) => r.event_key).sort()).toEqual(['m-0', 'm-1', 'm-4']);
  });
});
