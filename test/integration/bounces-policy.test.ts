import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDelivery } from '../../src/delivery/delivery-store.js';
import { bounceMetric, readerState } from '../helpers/bounce-checks.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { addArticle, addReader, mailsTo } from '../helpers/digest-fixtures.js';
import { smtpError } from '../helpers/smtp-sink.js';

const DAY = 24 * 3600_000;

describe('bounce policy', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ workers: false });
  });
  afterAll(async () => {
    await ctx?.close();
  });
  const record = (email: string, eventId: string, cls: 'hard' | 'soft' | 'block' | 'complaint', at?: Date) =>
    ctx.container.bounces.record({
      source: 'standard',
      eventId,
      class: cls,
      recipient: email,
      diagnostic: `test ${cls}`,
      occurredAt: at,
    });

  it('a hard bounce suppresses the reader at once, with a consent event and the evidence', async () => {
    await addReader(ctx, { email: 'Hard@Example.org' });
    const out = await record('hard@example.org', 'h1', 'hard');
    expect(out).toMatchObject({ duplicate: false, suppressed: true, class: 'hard' });
    const r = await readerState(ctx, 'hard@example.org');
    expect(r.status).toBe('suppressed');
    expect(r.suppressed_reason).toBe('hard bounce');
    expect(r.suppressions).toHaveLength(1);
    expect(r.suppressions[0]).toMatchObject({
      source: 'bounce-hard',
      details: { previousStatus: 'confirmed', relay: 'standard' },
    });
    expect(r.events).toEqual([expect.objectContaining({ class: 'hard', suppressed: true })]);
    expect(await bounceMetric(ctx)).toContain('gazette_bounces_total{class="hard",source="standard"} 1');
  });

  it('the same event again changes nothing (idempotent on source and event id)', async () => {
    const again = await record('hard@example.org', 'h1', 'hard');
    expect(again).toMatchObject({ duplicate: true, suppressed: false });
    const r = await readerState(ctx, 'hard@example.org');
    expect(r.events).toHaveLength(1);
    expect(r.suppressions).toHaveLength(1);
    expect(await bounceMetric(ctx)).toContain('gazette_bounces_total{class="hard",source="standard"} 1');
  });

  it('a complaint suppresses at once', async () => {
    await addReader(ctx, { email: 'spam@example.org' });
    expect((await record('spam@example.org', 'c1', 'complaint')).suppressed).toBe(true);
    const r = await readerState(ctx, 'spam@example.org');
    expect(r.status).toBe('suppressed');
    expect(r.suppressions[0]!.source).toBe('complaint');
  });

  it('soft bounces suppress at BOUNCE_SOFT_LIMIT (3) within BOUNCE_SOFT_WINDOW_DAYS (15), not before', async () => {
    await addReader(ctx, { email: 'full@example.org' });
    const now = ctx.clock.now().getTime();
    // one long ago, outside the window: it does not count
    expect((await record('full@example.org', 's0', 'soft', new Date(now - 20 * DAY))).suppressed).toBe(false);
    expect((await record('full@example.org', 's1', 'soft', new Date(now - 10 * DAY))).suppressed).toBe(false);
    expect((await record('full@example.org', 's2', 'soft', new Date(now - 2 * DAY))).suppressed).toBe(false);
    expect((await readerState(ctx, 'full@example.org')).status).toBe('confirmed');
    expect((await record('full@example.org', 's3', 'soft')).suppressed).toBe(true);
    const r = await readerState(ctx, 'full@example.org');
    expect(r.status).toBe('suppressed');
    expect(r.suppressed_reason).toBe('3 soft bounces within 15 days');
  });

  it('a success between soft bounces starts the count afresh', async () => {
    const id = await addReader(ctx, { email: 'sometimes@example.org' });
    const now = ctx.clock.now().getTime();
    expect((await record('sometimes@example.org', 'm1', 'soft', new Date(now - 6 * DAY))).suppressed).toBe(
      false,
    );
    expect((await record('sometimes@example.org', 'm2', 'soft', new Date(now - 5 * DAY))).suppressed).toBe(
      false,
    );
    // a mail accepted for them four days ago that no report came back about: the mailbox took it
    const ok = await createDelivery(ctx.db, {
      kind: 'welcome',
      dedupeKey: `welcome-${id}`,
      subscriberId: id,
      recipient: 'sometimes@example.org',
      at: new Date(now - 4 * DAY),
    });
    await ctx.db.query(`UPDATE deliveries SET state = 'sent', sent_at = $2 WHERE id = $1`, [
      ok.id,
      new Date(now - 4 * DAY),
    ]);
    expect((await record('sometimes@example.org', 'm3', 'soft', new Date(now - 2 * DAY))).suppressed).toBe(
      false,
    );
    expect((await record('sometimes@example.org', 'm4', 'soft', new Date(now - DAY))).suppressed).toBe(false);
    expect((await readerState(ctx, 'sometimes@example.org')).status).toBe('confirmed');
    // the third since the success suppresses
    expect((await record('sometimes@example.org', 'm5', 'soft')).suppressed).toBe(true);
  });

  it('a block (the sender refused, e.g. a block-listed IP) never suppresses the reader', async () => {
    await addReader(ctx, { email: 'blocked@example.org' });
    for (let i = 0; i < 5; i++)
      expect((await record('blocked@example.org', `b${i}`, 'block')).suppressed).toBe(false);
    const r = await readerState(ctx, 'blocked@example.org');
    expect(r.status).toBe('confirmed');
    expect(r.events).toHaveLength(5);
    expect(await bounceMetric(ctx)).toContain('gazette_bounces_total{class="block",source="standard"} 5');
  });

  it('a report about an unknown address is stored, counted, and touches nobody', async () => {
    const out = await record('stranger@example.org', 'u1', 'hard');
    expect(out).toMatchObject({ duplicate: false, suppressed: false, subscriberId: null });
  });
});

describe('refusals at send time', () => {
  let ctx: TestContext;
  const refuse = new Map<string, Error>();
  const post = (url: string, payload: object) =>
    ctx.app.inject({ method: 'POST', url, payload, headers: ctx.adminHeaders });
  const editionDone = (id: string) =>
    eventually(async () => {
      const e = (await ctx.app.inject({ url: `/api/v1/editions/${id}`, headers: ctx.adminHeaders })).json();
      return e.state === 'sent' ? e : undefined;
    });

  beforeAll(async () => {
    ctx = await createTestContext({
      now: '2026-11-29T10:00:00Z',
      smtp: { onRcpt: (address) => refuse.get(address) },
    });
    await addReader(ctx, { email: 'ok@example.org' });
    await addReader(ctx, { email: 'gone@example.org' });
    await addReader(ctx, { email: 'full@example.org' });
    await addReader(ctx, { email: 'listed@example.org' });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('a 5.1.1 refusal during a bulk send suppresses the reader; the next edition skips them', async () => {
    refuse.set(
      'gone@example.org',
      smtpError(550, '5.1.1 <gone@example.org>: Recipient address rejected: User unknown'),
    );
    refuse.set('full@example.org', smtpError(552, '5.2.2 <full@example.org>: mailbox full'));
    const a1 = await addArticle(ctx, { title: 'First story' });
    const first = (await post('/api/v1/digests/send', { articleIds: [a1], frequency: 'daily' })).json();
    const e1 = await editionDone(first.editions[0].id);
    expect(e1.counts).toMatchObject({ planned: 4, sent: 2, failed: 2, bounced: 2, complained: 0 });

    const gone = await readerState(ctx, 'gone@example.org');
    expect(gone.status).toBe('suppressed');
    expect(gone.events).toEqual([
      expect.objectContaining({ source: 'smtp', class: 'hard', suppressed: true, edition_id: e1.id }),
    ]);
    expect(gone.events[0]!.diagnostic).toContain('User unknown');
    // one full mailbox is not a dead one
    const full = await readerState(ctx, 'full@example.org');
    expect(full.status).toBe('confirmed');
    expect(full.events).toEqual([expect.objectContaining({ class: 'soft', suppressed: false })]);
    expect(await bounceMetric(ctx)).toContain('gazette_bounces_total{class="hard",source="smtp"} 1');

    refuse.clear();
    const before = ctx.sink.received.length;
    const a2 = await addArticle(ctx, { title: 'Second story' });
    const second = (await post('/api/v1/digests/send', { articleIds: [a2], frequency: 'daily' })).json();
    const e2 = await editionDone(second.editions[0].id);
    expect(e2.counts).toMatchObject({ planned: 3, sent: 3, failed: 0, bounced: 0 });
    const after = ctx.sink.received.slice(before);
    expect(mailsTo(after, 'gone@example.org')).toHaveLength(0);
    expect(mailsTo(after, 'full@example.org')).toHaveLength(1);
  });

  it('a refusal about the sender (block list) pauses sending and never suppresses the reader', async () => {
    refuse.set(
      'listed@example.org',
      smtpError(554, '5.7.1 Service unavailable; Client host [203.0.113.9] blocked using zen.spamhaus.org'),
    );
    const a3 = await addArticle(ctx, { title: 'Third story' });
    await post('/api/v1/digests/send', { articleIds: [a3], frequency: 'daily' });
    const listed = await eventually(async () => {
      const r = await readerState(ctx, 'listed@example.org');
      return r.events.length > 0 ? r : undefined;
    });
    expect(listed.status).toBe('confirmed');
    expect(listed.events[0]).toMatchObject({ source: 'smtp', class: 'block', suppressed: false });
    refuse.clear();
    await post('/api/v1/sending/resume', {});
  });

  it('a 5.1.1 refusal of a transactional mail suppresses the reader', async () => {
    refuse.set('newbie@example.org', smtpError(550, '5.1.1 <newbie@example.org>: no such user'));
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/subscriptions',
      payload: { email: 'newbie@example.org' },
    });
    expect(res.statusCode).toBeLessThan(300);
    const r = await eventually(async () => {
      const s = await readerState(ctx, 'newbie@example.org');
      return s.status === 'suppressed' ? s : undefined;
    });
    expect(r.events).toEqual([expect.objectContaining({ source: 'smtp', class: 'hard', suppressed: true })]);
    expect(r.suppressions[0]!.details).toMatchObject({ previousStatus: 'pending' });
  });
});
