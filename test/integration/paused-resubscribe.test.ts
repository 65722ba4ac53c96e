import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { addReader, mailsTo } from '../helpers/digest-fixtures.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const KEEP_LINK = /https:\/\/news\.example\.test(\/keep\/[A-Za-z0-9_.-]+)/;

/**
 * A reader paused by re-permission who subscribes again: the request is anonymous, so it resumes
 * nobody; the address gets the "already subscribed" mail saying it is paused, with the keep link
 * that resumes it (and records the consent). The answer is the one any address gets.
 */
describe('a paused reader who subscribes again', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(async () => ctx?.close());

  const statusOf = async (id: string) =>
    (await ctx.db.query('SELECT status FROM subscribers WHERE id = $1', [id])).rows[0].status as string;
  const paused = (email: string, language: 'ar' | 'en') =>
    addReader(ctx, { email, language, status: 'paused', confirmedAt: '2025-01-01T00:00:00Z' });
  const drained = () =>
    eventually(async () => {
      const { rows } = await ctx.db.query(
        `SELECT count(*)::int AS n FROM deliveries WHERE state IN ('pending', 'sending')`,
      );
      return rows[0].n === 0;
    });
  const formPost = async (email: string) => {
    const page = await ctx.app.inject('/subscribe?lang=ar');
    const stamp = /name="rendered" value="([^"]+)"/.exec(page.body)![1]!;
    ctx.clock.advance(5_000);
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/subscribe?lang=ar',
      headers: FORM,
      payload: new URLSearchParams({
        language: 'ar',
        email,
        topicsMode: 'all',
        frequency: 'daily',
        rendered: stamp,
      }).toString(),
    });
    return { status: res.statusCode, location: res.headers.location };
  };
  const apiPost = async (email: string) => {
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/subscriptions',
      headers: { 'content-type': 'application/json' },
      payload: { email, language: 'en' },
    });
    return { status: res.statusCode, body: res.json() };
  };
  /** follows the mail's keep link like a person: the page, then its button */
  const resume = async (mail: ParsedMail) => {
    const path = KEEP_LINK.exec(mail.text ?? '')![1]!;
    const page = await ctx.app.inject(path);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(`action="${path}"`);
    const kept = await ctx.app.inject({
      method: 'POST',
      url: path,
      headers: { ...FORM, 'user-agent': 'Reader Browser/1.0' },
      payload: '',
    });
    expect(kept.statusCode).toBe(200);
  };
  const resumedEvents = async (id: string) =>
    (
      await ctx.db.query(
        `SELECT event, source, consent_version, user_agent, details FROM consent_events
          WHERE subscriber_id = $1 AND event = 'resumed'`,
        [id],
      )
    ).rows;

  it('from the form (Arabic): mailed the keep link, resumed only by following it', async () => {
    const email = 'paused-ar@example.com';
    const id = await paused(email, 'ar');
    // the answer is the one a new address gets
    const fresh = await formPost('new-ar@example.com');
    const answer = await formPost(email);
    expect(answer).toEqual(fresh);
    expect(answer.status).toBe(303);

    await eventually(async () => mailsTo(ctx.sink.received, email).length === 1);
    const mail = mailsTo(ctx.sink.received, email)[0]!.parsed;
    expect(mail.subject).toBe('اشتراكك في نشرة صحيفة المدار متوقف مؤقتاً');
    expect(mail.html).toMatch(/dir="rtl"/);
    expect(mail.text).toContain('استئناف اشتراكي');
    // the anonymous request resumed nobody, and a second one inside the interval mails nothing
    expect(await statusOf(id)).toBe('paused');
    await formPost(email);
    await drained();
    expect(mailsTo(ctx.sink.received, email)).toHaveLength(1);
    expect(await resumedEvents(id)).toEqual([]);

    await resume(mail);
    expect(await statusOf(id)).toBe('confirmed');
    expect(await resumedEvents(id)).toEqual([
      {
        event: 'resumed',
        source: 'keep-link',
        consent_version: ctx.publication.consent.version,
        user_agent: 'Reader Browser/1.0',
        details: { by: 'reader', previousStatus: 'paused' },
      },
    ]);
  });

  it('from the JSON API (English): the same answer as for any address, the English mail, resumed by its link', async () => {
    const email = 'paused-en@example.com';
    const id = await paused(email, 'en');
    const fresh = await apiPost('new-en@example.com');
    const answer = await apiPost(email);
    expect(answer).toEqual(fresh);

    await eventually(async () => mailsTo(ctx.sink.received, email).length === 1);
    const mail = mailsTo(ctx.sink.received, email)[0]!.parsed;
    expect(mail.subject).toBe('Your subscription to Al-Madar Daily is paused');
    expect(mail.text).toContain('Resume my subscription');
    expect(await statusOf(id)).toBe('paused');
    await resume(mail);
    expect(await statusOf(id)).toBe('confirmed');
    expect(await resumedEvents(id)).toMatchObject([{ source: 'keep-link' }]);
    // a confirmed reader asking again (after the interval) gets the plain mail: no keep link
    ctx.clock.advance(ctx.config.CONFIRMATION_RESEND_INTERVAL_SECONDS * 1000 + 1000);
    await apiPost(email);
    await eventually(async () => mailsTo(ctx.sink.received, email).length === 2);
    const plain = mailsTo(ctx.sink.received, email)[1]!.parsed;
    expect(plain.subject).toBe('You are already subscribed to Al-Madar Daily');
    expect(plain.text).not.toMatch(KEEP_LINK);
  });
});
