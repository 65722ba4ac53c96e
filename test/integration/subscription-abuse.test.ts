import { solveChallenge } from 'altcha-lib/v1';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSubscribeBudgets } from '../../src/subscriptions/budgets.js';
import type { PowChallenge } from '../../src/subscriptions/proof-of-work.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';

/**
 * Issue 12: the subscription endpoints are not a spam relay and cannot bomb an inbox. Anonymous
 * requests never change what a reader chose; budgets per client, mailbox and domain hold across
 * the form and the API.
 */

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const JSON_HEADERS = { 'content-type': 'application/json' };
const SPAM_NAME = 'مرحباً WIN $5000 NOW: https://evil.example/claim';

function urlencoded(fields: Record<string, string | string[]>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const x of ([] as string[]).concat(v)) p.append(k, x);
  return p.toString();
}

const mailsTo = (ctx: TestContext, address: string) =>
  ctx.sink.received.filter((m) => m.to.some((to) => to.toLowerCase() === address.toLowerCase()));

async function subscriber(ctx: TestContext, email: string) {
  const { rows } = await ctx.db.query('SELECT * FROM subscribers WHERE email_key = lower($1)', [email]);
  return rows[0];
}

async function drained(ctx: TestContext) {
  await eventually(async () => {
    const { rows } = await ctx.db.query(
      `SELECT count(*)::int AS n FROM deliveries WHERE state IN ('pending', 'sending')`,
    );
    return rows[0].n === 0;
  });
}

function apiSubscribe(ctx: TestContext, body: Record<string, unknown>, ip = '192.0.2.10') {
  return ctx.app.inject({
    method: 'POST',
    url: '/api/v1/subscriptions',
    headers: JSON_HEADERS,
    remoteAddress: ip,
    payload: JSON.stringify(body),
  });
}

/** The hosted form as a person sends it: rendered, then submitted a few seconds later. */
async function formSubscribe(ctx: TestContext, fields: Record<string, string | string[]>, ip = '192.0.2.11') {
  const page = await ctx.app.inject({ url: '/subscribe?lang=ar', remoteAddress: ip });
  const rendered = /name="rendered" value="([^"]+)"/.exec(page.body)?.[1];
  if (!rendered) throw new Error('no rendered field');
  ctx.clock.advance(5_000);
  return ctx.app.inject({
    method: 'POST',
    url: '/subscribe?lang=ar',
    headers: FORM,
    remoteAddress: ip,
    payload: urlencoded({ ...fields, rendered }),
  });
}

const choicesOf = (row: Record<string, unknown>) => ({
  name: row.name,
  language: row.language,
  topics: row.topics,
  frequency: row.frequency,
  alerts: row.alerts,
  timezone: row.timezone,
  send_hour: row.send_hour,
});

describe('spoofing through the subscription endpoints', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ env: { RATE_LIMIT_MAX: '100000' } });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('sends the confirmation without the attacker-chosen name, in either part', async () => {
    const email = 'target@example.com';
    expect((await apiSubscribe(ctx, { email, name: SPAM_NAME })).statusCode).toBe(202);
    await eventually(async () => mailsTo(ctx, email).length === 1);
    const mail = mailsTo(ctx, email)[0]!.parsed;
    for (const part of [mail.subject ?? '', mail.text ?? '', String(mail.html)]) {
      expect(part).not.toContain('evil.example');
      expect(part).not.toContain('5000');
    }
    expect(mail.text).toContain('https://news.example.test/confirm/');
    await drained(ctx);
  });

  it('never changes a pending reader’s name, language or choices from an anonymous request', async () => {
    const email = 'layla@example.com';
    const own = {
      email,
      name: 'ليلى',
      language: 'ar',
      topics: ['culture'],
      frequency: 'weekly',
      sendHour: 9,
    };
    expect((await apiSubscribe(ctx, own)).statusCode).toBe(202);
    await eventually(async () => mailsTo(ctx, email).length === 1);
    const before = choicesOf(await subscriber(ctx, email));
    expect(before).toMatchObject({ name: 'ليلى', language: 'ar', topics: ['culture'], frequency: 'weekly' });

    const hostile = {
      email: 'Layla@Example.com',
      name: SPAM_NAME,
      language: 'en',
      topics: ['sport'],
      frequency: 'immediate',
      alerts: true,
      timezone: 'America/New_York',
      sendHour: 3,
    };
    expect((await apiSubscribe(ctx, hostile, '203.0.113.66')).statusCode).toBe(202);
    const form = await formSubscribe(
      ctx,
      { ...hostile, alerts: 'true', sendHour: '3', language: 'en' },
      '203.0.113.67',
    );
    expect(form.statusCode).toBe(303);
    expect(choicesOf(await subscriber(ctx, email))).toEqual(before);

    // after the resend interval the pending reader may get the link again: in the language and
    // with the choices stored, not those of the request
    ctx.clock.advance(ctx.config.CONFIRMATION_RESEND_INTERVAL_SECONDS * 1000);
    expect((await apiSubscribe(ctx, hostile, '203.0.113.68')).statusCode).toBe(202);
    await eventually(async () => mailsTo(ctx, email).length === 2);
    const resent = mailsTo(ctx, email)[1]!.parsed;
    expect(resent.subject).toContain('أكِّد اشتراكك');
    expect(resent.text).not.toContain('evil.example');
    expect(choicesOf(await subscriber(ctx, email))).toEqual(before);

    // the reader confirms: still their own choices
    const link = /https:\/\/news\.example\.test(\/confirm\/[A-Za-z0-9_.-]+)/.exec(resent.text ?? '')![1]!;
    expect((await ctx.app.inject({ method: 'POST', url: link })).statusCode).toBe(200);
    const confirmed = await subscriber(ctx, email);
    expect(confirmed.status).toBe('confirmed');
    expect(choicesOf(confirmed)).toEqual(before);
    await drained(ctx);

    // and a confirmed reader is not changed either, from the API or the form
    await apiSubscribe(ctx, hostile, '203.0.113.69');
    await formSubscribe(ctx, { ...hostile, alerts: 'true', sendHour: '3' }, '203.0.113.70');
    expect(choicesOf(await subscriber(ctx, email))).toEqual(before);
    // the requests are still kept as evidence, marked as not applied
    const { rows } = await ctx.db.query(
      `SELECT details->>'choicesApplied' AS applied FROM consent_events
        WHERE subscriber_id = $1 AND event = 'subscribe_requested' ORDER BY id`,
      [confirmed.id],
    );
    expect(rows.map((r) => r.applied)).toEqual([null, 'false', 'false', 'false']);
    await drained(ctx);
  });
});

describe('subscription bombing budgets', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({
      env: {
        RATE_LIMIT_MAX: '4',
        SUBSCRIBE_MAILBOX_MAX: '3',
        SUBSCRIBE_DOMAIN_MAX: '10',
      },
    });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('sends at most SUBSCRIBE_MAILBOX_MAX confirmations to one inbox from 15 plus-addressed variants and 15 IPs', async () => {
    const variants = Array.from({ length: 15 }, (_, i) =>
      i % 3 === 0
        ? `victim+${i}@gmail.com`
        : i % 3 === 1
          ? `vic.tim+n${i}@googlemail.com`
          : `V.ictim+${i}@Gmail.com`,
    );
    for (const [i, email] of variants.entries()) {
      const ip = `198.51.100.${i + 1}`;
      // the form and the API alternate: one budget for both
      const res = i % 2 ? await apiSubscribe(ctx, { email }, ip) : await formSubscribe(ctx, { email }, ip);
      expect(res.statusCode).toBe(i % 2 ? 202 : 303);
    }
    await drained(ctx);
    const toVictim = ctx.sink.received.filter((m) =>
      m.to.some((to) => /^v\.?ic\.?tim\+/i.test(to) && /@(gmail|googlemail)\.com$/i.test(to)),
    );
    expect(toVictim).toHaveLength(ctx.config.SUBSCRIBE_MAILBOX_MAX);
    // the refused requests left nothing behind
    const { rows } = await ctx.db.query(
      `SELECT count(*)::int AS n FROM subscribers WHERE email_key ~ '@(gmail|googlemail).com$'`,
    );
    expect(rows[0].n).toBe(3);

    // the counters live in Redis: another API process (its own connection and budgets) sees them
    const otherProcess = new Redis(ctx.config.REDIS_URL);
    try {
      const budgets = createSubscribeBudgets({ redis: otherProcess, clock: ctx.clock, config: ctx.config });
      expect(await budgets.takeRecipient('victim+other-process@gmail.com')).toEqual({
        allowed: false,
        budget: 'mailbox',
      });
      expect(await budgets.takeRecipient('someone-new@gmail.com')).toEqual({ allowed: true });
    } finally {
      otherProcess.disconnect();
    }

    // the budget is per window: a day later the mailbox may be asked again
    ctx.clock.advance(ctx.config.SUBSCRIBE_MAILBOX_WINDOW_SECONDS * 1000);
    expect((await apiSubscribe(ctx, { email: 'victim+later@gmail.com' }, '198.51.100.99')).statusCode).toBe(
      202,
    );
    await eventually(async () => ctx.sink.received.some((m) => m.to.includes('victim+later@gmail.com')));
    await drained(ctx);
  });

  it('sends at most SUBSCRIBE_DOMAIN_MAX confirmations to one recipient domain per window', async () => {
    const before = ctx.sink.received.length;
    for (let i = 0; i < 14; i++) {
      const res = await apiSubscribe(ctx, { email: `reader${i}@bombed.example` }, `198.18.0.${i + 1}`);
      expect(res.statusCode).toBe(202);
    }
    await drained(ctx);
    const toDomain = ctx.sink.received
      .slice(before)
      .filter((m) => m.to.some((t) => t.endsWith('@bombed.example')));
    expect(toDomain).toHaveLength(ctx.config.SUBSCRIBE_DOMAIN_MAX);
    // other domains are not affected
    expect((await apiSubscribe(ctx, { email: 'someone@elsewhere.example' }, '198.18.1.1')).statusCode).toBe(
      202,
    );
    await eventually(async () => ctx.sink.received.some((m) => m.to.includes('someone@elsewhere.example')));
    await drained(ctx);
  });

  it('counts one per-IP budget for the form and the API together', async () => {
    const ip = '203.0.113.200';
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) {
      codes.push((await apiSubscribe(ctx, { email: `shared${i}@example.org` }, ip)).statusCode);
      codes.push((await formSubscribe(ctx, { email: `shared-form${i}@example.org` }, ip)).statusCode);
    }
    // RATE_LIMIT_MAX = 4 across both paths, not 4 on each
    expect(codes).toEqual([202, 303, 202, 303, 429, 429]);
    const limited = await apiSubscribe(ctx, { email: 'shared9@example.org' }, ip);
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ error: 'GZ_RATE_LIMITED' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // the next window takes the client again
    ctx.clock.advance(ctx.config.RATE_LIMIT_WINDOW_SECONDS * 1000);
    expect((await apiSubscribe(ctx, { email: 'shared10@example.org' }, ip)).statusCode).toBe(202);
    await drained(ctx);
  });
});

async function challenge(ctx: TestContext, origin?: string) {
  const res = await ctx.app.inject({
    url: '/api/v1/subscriptions/challenge',
    headers: origin ? { origin } : {},
  });
  expect(res.statusCode).toBe(200);
  return { res, body: res.json() as { rendered: string; altcha: PowChallenge | null } };
}

/** What the browser does with a challenge: the ALTCHA client algorithm (altcha-lib's own solver). */
async function solved(ctx: TestContext): Promise<string> {
  const c = (await challenge(ctx)).body.altcha!;
  const solution = await solveChallenge(c.challenge, c.salt, c.algorithm, c.maxnumber).promise;
  if (!solution) throw new Error('challenge not solvable');
  return Buffer.from(JSON.stringify({ ...c, number: solution.number, maxnumber: undefined })).toString(
    'base64',
  );
}

describe('proof-of-work, ALTCHA_MODE=always', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({
      env: { RATE_LIMIT_MAX: '100000', ALTCHA_MODE: 'always', ALTCHA_MAX_NUMBER: '2000' },
    });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('hands out signed challenges, readable cross-origin only from the publication origins', async () => {
    const { res, body } = await challenge(ctx, 'https://almadar.example');
    expect(res.headers['access-control-allow-origin']).toBe('https://almadar.example');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(body.altcha).toMatchObject({ algorithm: 'SHA-256', maxnumber: 2000 });
    expect(body.altcha!.salt).toMatch(/[?&]expires=\d+&$/);
    expect(typeof body.rendered).toBe('string');
    const evil = await challenge(ctx, 'https://evil.example');
    expect(evil.res.headers['access-control-allow-origin']).toBeUndefined();
    // public: no admin token needed, and it is in the OpenAPI document
    const docs = await ctx.app.inject('/docs/json');
    expect(Object.keys(docs.json().paths)).toContain('/api/v1/subscriptions/challenge');
  });

  it('requires a solved challenge on the API, each accepted once and only before it expires', async () => {
    const missing = await apiSubscribe(ctx, { email: 'pow-none@example.com' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ error: 'GZ_VALIDATION', field: 'altcha' });
    const garbage = await apiSubscribe(ctx, { email: 'pow-bad@example.com', altcha: 'bm90IGEgc29sdXRpb24=' });
    expect(garbage.json()).toMatchObject({ field: 'altcha' });

    const altcha = await solved(ctx);
    // a solution for another challenge's numbers, or a forged easier puzzle, is refused
    const forged = JSON.parse(Buffer.from(altcha, 'base64').toString());
    forged.number = (forged.number + 1) % 2000;
    const wrong = await apiSubscribe(ctx, {
      email: 'pow-wrong@example.com',
      altcha: Buffer.from(JSON.stringify(forged)).toString('base64'),
    });
    expect(wrong.json()).toMatchObject({ field: 'altcha' });
    for (const easier of [{ algorithm: 'SHA-1' }, { number: 1e9 }]) {
      const res = await apiSubscribe(ctx, {
        email: 'pow-easier@example.com',
        altcha: Buffer.from(JSON.stringify({ ...forged, ...easier })).toString('base64'),
      });
      expect(res.json()).toMatchObject({ field: 'altcha' });
    }

    expect((await apiSubscribe(ctx, { email: 'pow-ok@example.com', altcha })).statusCode).toBe(202);
    const replay = await apiSubscribe(ctx, { email: 'pow-replay@example.com', altcha });
    expect(replay.statusCode).toBe(400);
    expect(replay.json().message).toContain('already used');

    const late = await solved(ctx);
    ctx.clock.advance(ctx.config.ALTCHA_CHALLENGE_TTL_SECONDS * 1000 + 1000);
    const expired = await apiSubscribe(ctx, { email: 'pow-late@example.com', altcha: late });
    expect(expired.statusCode).toBe(400);
    expect(expired.json().message).toContain('expired');

    const { rows } = await ctx.db.query(
      `SELECT email FROM subscribers WHERE email LIKE 'pow-%' ORDER BY email`,
    );
    expect(rows.map((r) => r.email)).toEqual(['pow-ok@example.com']);
    await drained(ctx);
  });

  it('requires it on the hosted form: without it the form comes back with the error, nothing stored', async () => {
    const res = await formSubscribe(ctx, { email: 'form-nopow@example.com', language: 'ar' });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('لم يتمكّن متصفحك من إكمال التحقق');
    expect(await subscriber(ctx, 'form-nopow@example.com')).toBeUndefined();
    const ok = await formSubscribe(ctx, { email: 'form-pow@example.com', altcha: await solved(ctx) });
    expect(ok.statusCode).toBe(303);
    expect((await subscriber(ctx, 'form-pow@example.com')).status).toBe('pending');
    await drained(ctx);
  });
});

describe('embedded forms need a timing proof (ALTCHA_MODE=off)', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ env: { RATE_LIMIT_MAX: '100000', ALTCHA_MODE: 'off' } });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  const embedPost = (fields: Record<string, string>) =>
    ctx.app.inject({
      method: 'POST',
      url: '/subscribe?redirect=https%3A%2F%2Falmadar.example%2Fthanks',
      headers: { ...FORM, origin: 'https://almadar.example' },
      payload: urlencoded(fields),
    });

  it('asks a post with no render time to send again, and takes one timed by the challenge endpoint', async () => {
    const { body } = await challenge(ctx, 'https://almadar.example');
    expect(body.altcha).toBeNull(); // off: only the timing proof

    // each gets our form back, with the address and a render time of its own, to send again
    const untimed = await embedPost({ email: 'embed-bot@example.com' });
    const fast = await embedPost({ email: 'embed-fast@example.com', embed_rendered: body.rendered });
    const forged = await embedPost({ email: 'embed-forged@example.com', embed_rendered: 'AAAA.AAAA' });
    for (const r of [untimed, fast, forged]) {
      expect(r.statusCode).toBe(400);
      expect(r.body).toMatch(/name="rendered" value="[^"]+"/);
    }
    expect(untimed.body).toContain('value="embed-bot@example.com"');
    ctx.clock.advance(ctx.config.FORM_MIN_SUBMIT_SECONDS * 1000 + 500);
    const person = await embedPost({ email: 'embed-person@example.com', embed_rendered: body.rendered });
    expect(person.statusCode).toBe(303);

    const { rows } = await ctx.db.query(`SELECT email FROM subscribers WHERE email LIKE 'embed-%'`);
    expect(rows.map((r) => r.email)).toEqual(['embed-person@example.com']);
    const sub = await subscriber(ctx, 'embed-person@example.com');
    expect(sub.topics).toEqual(ctx.publication.topics.map((t) => t.id)); // still an embed: every topic
    await drained(ctx);
  });
});

describe('proof-of-work, ALTCHA_MODE=high-volume', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({
      env: {
        RATE_LIMIT_MAX: '100000',
        ALTCHA_MODE: 'high-volume',
        ALTCHA_VOLUME_THRESHOLD: '3',
        ALTCHA_MAX_NUMBER: '2000',
      },
    });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('asks for it only while the recent volume is over the threshold; an embed with a solution needs no render time', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 4; i++)
      codes.push((await apiSubscribe(ctx, { email: `calm${i}@example.com` })).statusCode);
    expect(codes).toEqual([202, 202, 202, 400]);
    expect(
      (await apiSubscribe(ctx, { email: 'busy@example.com', altcha: await solved(ctx) })).statusCode,
    ).toBe(202);
    // requests turned away for want of a proof count too: a flood keeps the proof required
    for (let i = 0; i < 5; i++) await apiSubscribe(ctx, { email: `flood${i}@example.com` });
    ctx.clock.advance(ctx.config.ALTCHA_VOLUME_WINDOW_SECONDS * 1000);
    expect((await apiSubscribe(ctx, { email: 'still-busy@example.com' })).statusCode).toBe(400);

    // an embedded form that solved the challenge passes without embed_rendered (the work took its time)
    const embed = await ctx.app.inject({
      method: 'POST',
      url: '/subscribe',
      headers: FORM,
      payload: urlencoded({ email: 'embed-pow@example.com', altcha: await solved(ctx) }),
    });
    expect(embed.statusCode).toBe(303);
    expect((await subscriber(ctx, 'embed-pow@example.com')).status).toBe('pending');

    // two quiet windows later the volume has gone down and no proof is asked for
    ctx.clock.advance(2 * ctx.config.ALTCHA_VOLUME_WINDOW_SECONDS * 1000);
    expect((await apiSubscribe(ctx, { email: 'calm-again@example.com' })).statusCode).toBe(202);
    await drained(ctx);
  });
});
