import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const JSON_HEADERS = { 'content-type': 'application/json' };

function urlencoded(fields: Record<string, string | string[]>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const x of ([] as string[]).concat(v)) p.append(k, x);
  return p.toString();
}

const pathOf = (url: string) => {
  const u = new URL(url);
  return u.pathname + u.search;
};

function linkIn(mail: ParsedMail, kind: 'confirm' | 'preferences' | 'unsubscribe'): string {
  const m = new RegExp(`https://news\\.example\\.test/${kind}/[A-Za-z0-9_.-]+`).exec(mail.text ?? '');
  if (!m) throw new Error(`no ${kind} link in the text part:\n${mail.text}`);
  return m[0];
}

async function subscriber(ctx: TestContext, email: string) {
  const { rows } = await ctx.db.query('SELECT * FROM subscribers WHERE email_key = lower($1)', [email]);
  return rows[0];
}

async function consentOf(ctx: TestContext, id: string) {
  const { rows } = await ctx.db.query('SELECT * FROM consent_events WHERE subscriber_id = $1 ORDER BY id', [
    id,
  ]);
  return rows;
}

async function drained(ctx: TestContext) {
  await eventually(async () => {
    const { rows } = await ctx.db.query(
      `SELECT count(*)::int AS n FROM deliveries WHERE state IN ('pending', 'sending')`,
    );
    return rows[0].n === 0;
  });
}

const mailsTo = (ctx: TestContext, address: string) =>
  ctx.sink.received.filter((m) => m.to.some((to) => to.toLowerCase() === address.toLowerCase()));

async function apiSubscribe(ctx: TestContext, body: Record<string, unknown>) {
  return ctx.app.inject({
    method: 'POST',
    url: '/api/v1/subscriptions',
    headers: JSON_HEADERS,
    payload: JSON.stringify(body),
  });
}

/** Subscribes through the API and confirms: a confirmed reader, its mails drained. */
async function confirmedReader(ctx: TestContext, email: string, body: Record<string, unknown> = {}) {
  await apiSubscribe(ctx, { email, ...body });
  await eventually(async () => mailsTo(ctx, email).length === 1);
  const confirm = pathOf(linkIn(mailsTo(ctx, email)[0]!.parsed, 'confirm'));
  expect((await ctx.app.inject({ method: 'POST', url: confirm })).statusCode).toBe(200);
  await drained(ctx);
  return subscriber(ctx, email);
}

async function oneClick(ctx: TestContext, id: string) {
  return ctx.app.inject({
    method: 'POST',
    url: `/unsubscribe/${ctx.container.tokens.unsubscribe(id)}`,
    headers: FORM,
    payload: 'List-Unsubscribe=One-Click',
  });
}

describe("the reader's journey: no dead ends", () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ env: { RATE_LIMIT_MAX: '100000' } });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('mails a fresh confirmation at once to a reader who unsubscribed and asks again', async () => {
    const email = 'return@example.com';
    const sub = await confirmedReader(ctx, email, { language: 'en' });
    expect(mailsTo(ctx, email)).toHaveLength(2); // confirmation, welcome
    expect((await oneClick(ctx, sub.id)).statusCode).toBe(200);

    ctx.clock.advance(60_000); // well inside CONFIRMATION_RESEND_INTERVAL_SECONDS of the first mail
    expect((await apiSubscribe(ctx, { email, language: 'en', frequency: 'weekly' })).statusCode).toBe(202);
    await eventually(async () => mailsTo(ctx, email).length === 3);
    const fresh = mailsTo(ctx, email)[2]!.parsed;
    expect(fresh.subject).toContain('Confirm');
    const events = await consentOf(ctx, sub.id);
    expect(events.at(-1)).toMatchObject({
      event: 'subscribe_requested',
      details: { previousStatus: 'unsubscribed', confirmationMailed: true },
    });
    // the new link confirms, with the new choices
    expect((await ctx.app.inject({ method: 'POST', url: pathOf(linkIn(fresh, 'confirm')) })).statusCode).toBe(
      200,
    );
    expect(await subscriber(ctx, email)).toMatchObject({ status: 'confirmed', frequency: 'weekly' });
    await drained(ctx);

    // asking again while pending is still held to the interval
    const other = 'pending-again@example.com';
    await apiSubscribe(ctx, { email: other });
    await apiSubscribe(ctx, { email: other });
    await drained(ctx);
    expect(mailsTo(ctx, other)).toHaveLength(1);
  });

  it('still applies the per-mailbox budget to a reader who comes back', async () => {
    const local = await createTestContext({ env: { RATE_LIMIT_MAX: '100000', SUBSCRIBE_MAILBOX_MAX: '2' } });
    try {
      const email = 'budget@example.com';
      const sub = await confirmedReader(local, email); // the first of two requests in the window
      await oneClick(local, sub.id);
      await apiSubscribe(local, { email }); // the second: mailed
      await apiSubscribe(local, { email: 'budget+x@example.com' }); // same mailbox, over budget
      await drained(local);
      const confirmations = mailsTo(local, email).filter((m) => m.parsed.text?.includes('/confirm/'));
      expect(confirmations).toHaveLength(2);
      expect(mailsTo(local, 'budget+x@example.com')).toHaveLength(0);
    } finally {
      await local.close();
    }
  });

  it('offers undo on the unsubscribe page and restores the previous choices, as consent evidence', async () => {
    const email = 'undo@example.com';
    const sub = await confirmedReader(ctx, email, {
      language: 'ar',
      topics: ['politics', 'culture'],
      frequency: 'weekly',
      alerts: true,
      timezone: 'Asia/Beirut',
      sendHour: 9,
    });
    const token = ctx.container.tokens.unsubscribe(sub.id);
    const page = await ctx.app.inject(`/unsubscribe/${token}`);
    expect(page.body).not.toContain('/undo'); // not before unsubscribing
    const done = await ctx.app.inject({
      method: 'POST',
      url: `/unsubscribe/${token}`,
      headers: FORM,
      payload: '',
    });
    expect(done.statusCode).toBe(200);
    expect(done.body).toContain('تم إلغاء اشتراكك');
    expect(done.body).toContain(`<form method="post" action="/unsubscribe/${token}/undo" class="way-back">`);
    expect(done.body).toContain('تراجع: أبقِ اشتراكي');
    // the same page when the link is opened again later
    expect((await ctx.app.inject(`/unsubscribe/${token}`)).body).toContain(`/unsubscribe/${token}/undo`);
    expect((await subscriber(ctx, email)).status).toBe('unsubscribed');

    ctx.clock.advance(30_000);
    const undo = await ctx.app.inject({
      method: 'POST',
      url: `/unsubscribe/${token}/undo`,
      headers: { ...FORM, 'user-agent': 'UndoBrowser/1.0' },
      payload: '',
    });
    expect(undo.statusCode).toBe(200);
    expect(undo.body).toContain('عاد اشتراكك فعّالاً');
    expect(undo.body).toContain(`/preferences/${ctx.container.tokens.preferences(sub.id)}`);
    expect(await subscriber(ctx, email)).toMatchObject({
      status: 'confirmed',
      unsubscribed_at: null,
      topics: ['politics', 'culture'],
      frequency: 'weekly',
      alerts: true,
      timezone: 'Asia/Beirut',
      send_hour: 9,
      next_digest_at: null,
    });
    const last = (await consentOf(ctx, sub.id)).at(-1);
    expect(last).toMatchObject({
      event: 'resubscribed',
      source: 'unsubscribe-undo',
      user_agent: 'UndoBrowser/1.0',
      consent_version: ctx.publication.consent.version,
      details: { previousStatus: 'unsubscribed', frequency: 'weekly', topics: ['politics', 'culture'] },
    });
    // a second press changes nothing and says it is active
    const again = await ctx.app.inject({
      method: 'POST',
      url: `/unsubscribe/${token}/undo`,
      headers: FORM,
      payload: '',
    });
    expect(again.statusCode).toBe(200);
    expect((await consentOf(ctx, sub.id)).filter((e) => e.event === 'resubscribed')).toHaveLength(1);
  });

  it('never restores a blocked address or one that never confirmed, nor from a forged link', async () => {
    const email = 'blocked@example.com';
    const sub = await confirmedReader(ctx, email);
    await oneClick(ctx, sub.id);
    await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/subscribers/${sub.id}/suppress`,
      headers: { ...ctx.adminHeaders, ...JSON_HEADERS },
      payload: JSON.stringify({ reason: 'complaint' }),
    });
    const token = ctx.container.tokens.unsubscribe(sub.id);
    expect((await ctx.app.inject(`/unsubscribe/${token}`)).body).not.toContain('/undo');
    const refused = await ctx.app.inject({
      method: 'POST',
      url: `/unsubscribe/${token}/undo`,
      headers: FORM,
      payload: '',
    });
    expect(refused.statusCode).toBe(409);
    expect((await subscriber(ctx, email)).status).toBe('suppressed');

    await apiSubscribe(ctx, { email: 'never@example.com' });
    const pending = await subscriber(ctx, 'never@example.com');
    const pendingToken = ctx.container.tokens.unsubscribe(pending.id);
    const left = await ctx.app.inject({
      method: 'POST',
      url: `/unsubscribe/${pendingToken}`,
      headers: FORM,
      payload: '',
    });
    expect(left.body).not.toContain('/undo');
    const r = await ctx.app.inject({
      method: 'POST',
      url: `/unsubscribe/${pendingToken}/undo`,
      headers: FORM,
      payload: '',
    });
    expect(r.statusCode).toBe(409);
    expect((await subscriber(ctx, 'never@example.com')).status).toBe('unsubscribed');

    const forged = await ctx.app.inject({
      method: 'POST',
      url: `/unsubscribe/${token.slice(0, -3)}abc/undo`,
      headers: FORM,
      payload: '',
    });
    expect(forged.statusCode).toBe(404);
    await drained(ctx);
  });

  it('mails a confirmed reader who submits again their preference link, once per interval', async () => {
    const email = 'forgetful@example.com';
    const sub = await confirmedReader(ctx, email, { language: 'ar', frequency: 'weekly' });
    const before = mailsTo(ctx, email).length;
    const rendered = await ctx.app.inject('/subscribe?lang=ar');
    const stamp = /name="rendered" value="([^"]+)"/.exec(rendered.body)![1]!;
    ctx.clock.advance(5_000);
    const posted = await ctx.app.inject({
      method: 'POST',
      url: '/subscribe?lang=ar',
      headers: FORM,
      payload: urlencoded({ language: 'ar', email, topics: 'economy', frequency: 'daily', rendered: stamp }),
    });
    expect(posted.statusCode).toBe(303);
    await eventually(async () => mailsTo(ctx, email).length === before + 1);
    const mail = mailsTo(ctx, email).at(-1)!.parsed;
    expect(mail.subject).toBe('أنت مشترك مسبقاً في نشرة صحيفة المدار');
    expect(mail.html).toMatch(/dir="rtl"/);
    const prefs = linkIn(mail, 'preferences');
    expect((await ctx.app.inject(pathOf(prefs))).statusCode).toBe(200);
    expect(mailsTo(ctx, email).at(-1)!.raw.toString('utf8')).toMatch(/^List-Unsubscribe:/m);
    // the anonymous request changed nothing
    expect(await subscriber(ctx, email)).toMatchObject({ status: 'confirmed', frequency: 'weekly' });

    // a second and third request inside the interval send nothing more
    await apiSubscribe(ctx, { email });
    ctx.clock.advance(3600_000);
    await apiSubscribe(ctx, { email });
    await drained(ctx);
    expect(mailsTo(ctx, email)).toHaveLength(before + 1);
    const { rows } = await ctx.db.query(
      `SELECT kind, state FROM deliveries WHERE subscriber_id = $1 AND kind = 'already_subscribed'`,
      [sub.id],
    );
    expect(rows).toEqual([{ kind: 'already_subscribed', state: 'sent' }]);
    // after the interval, another one
    ctx.clock.advance(ctx.config.CONFIRMATION_RESEND_INTERVAL_SECONDS * 1000);
    await apiSubscribe(ctx, { email });
    await eventually(async () => mailsTo(ctx, email).length === before + 2);
    await drained(ctx);
  });

  it('makes "all topics" an explicit choice, refuses none ticked, and says what was saved', async () => {
    const page = await ctx.app.inject('/subscribe?lang=ar');
    expect(page.body).toContain('name="topicsMode" value="all"');
    expect(page.body).toContain('كل المواضيع، ومنها ما يُضاف لاحقاً');
    const stamp = /name="rendered" value="([^"]+)"/.exec(page.body)![1]!;
    ctx.clock.advance(5_000);
    const post = (fields: Record<string, string | string[]>) =>
      ctx.app.inject({
        method: 'POST',
        url: '/subscribe?lang=ar',
        headers: FORM,
        payload: urlencoded({ language: 'ar', rendered: stamp, frequency: 'daily', ...fields }),
      });

    // nothing ticked, "only these" chosen: a 400 naming the topics, nothing stored
    const none = await post({ email: 'none@example.com', topicsMode: 'chosen' });
    expect(none.statusCode).toBe(400);
    expect(none.body).toContain('حدّد موضوعاً واحداً على الأقل');
    expect(none.body).toMatch(/<fieldset aria-invalid="true"/);
    expect(await subscriber(ctx, 'none@example.com')).toBeUndefined();

    const all = await post({ email: 'all@example.com', topicsMode: 'all', topics: 'sport' });
    expect(all.statusCode).toBe(303);
    expect(all.headers.location).toBe('/subscribe/check-inbox?lang=ar&topics=all');
    expect((await subscriber(ctx, 'all@example.com')).topics).toEqual([]);
    const inbox = await ctx.app.inject(all.headers.location as string);
    expect(inbox.body).toContain('اخترت: كل المواضيع، ومنها ما يُضاف لاحقاً');

    const some = await post({
      email: 'some@example.com',
      topicsMode: 'chosen',
      topics: ['culture', 'politics'],
    });
    expect(some.headers.location).toBe('/subscribe/check-inbox?lang=ar&topics=culture%2Cpolitics');
    expect((await subscriber(ctx, 'some@example.com')).topics).toEqual(['politics', 'culture']);
    expect((await ctx.app.inject(some.headers.location as string)).body).toContain('اخترت: سياسة وثقافة');
    await drained(ctx);

    // the preference page: the same explicit choice
    const sub = await confirmedReader(ctx, 'prefs-topics@example.com', {
      language: 'en',
      topics: ['economy'],
    });
    const prefs = `/preferences/${ctx.container.tokens.preferences(sub.id)}`;
    const save = (fields: Record<string, string | string[]>) =>
      ctx.app.inject({
        method: 'POST',
        url: prefs,
        headers: FORM,
        payload: urlencoded({ frequency: 'daily', ...fields }),
      });
    const empty = await save({ topicsMode: 'chosen' });
    expect(empty.statusCode).toBe(400);
    expect(empty.body).toContain('Tick at least one topic');
    expect(empty.body).toContain('role="alert"');
    expect(await subscriber(ctx, 'prefs-topics@example.com')).toMatchObject({ topics: ['economy'] });
    const noMode = await save({}); // an old page without the choice: not a silent "all"
    expect(noMode.statusCode).toBe(400);

    expect((await save({ topicsMode: 'all' })).headers.location).toBe(`${prefs}?saved=1`);
    expect((await subscriber(ctx, 'prefs-topics@example.com')).topics).toEqual([]);
    const saved = await ctx.app.inject(`${prefs}?saved=1`);
    expect(saved.body).toContain('Your preferences are saved. Topics: all topics, including new ones.');
    expect(saved.body).toContain('name="topicsMode" value="all" checked');
    await save({ topicsMode: 'chosen', topics: ['sport', 'economy'] });
    expect((await ctx.app.inject(`${prefs}?saved=1`)).body).toContain('Topics: Economy and Sport.');
    await drained(ctx);
  });

  it("after the confirm button says when the first digest comes, in the reader's zone and digits, with the next places to go", async () => {
    ctx.clock.set('2026-12-10T08:00:00Z'); // a Thursday, 11:00 in Riyadh (ahead of the earlier tests)
    await apiSubscribe(ctx, {
      email: 'next-steps@example.com',
      language: 'ar',
      timezone: 'Asia/Riyadh',
      sendHour: 7,
    });
    await eventually(async () => mailsTo(ctx, 'next-steps@example.com').length === 1);
    const confirm = pathOf(linkIn(mailsTo(ctx, 'next-steps@example.com')[0]!.parsed, 'confirm'));
    const done = await ctx.app.inject({ method: 'POST', url: confirm });
    expect(done.statusCode).toBe(200);
    // past 07:00 in Riyadh today: the first slot is Friday 07:00 there (ar-SY names the months)
    expect(done.body).toContain('تصلك أول نشرة يومية يوم الجمعة، ١١ كانون الأول');
    expect(done.body).toContain('٠٧:٠٠');
    const sub = await subscriber(ctx, 'next-steps@example.com');
    expect(done.body).toContain(`href="/preferences/${ctx.container.tokens.preferences(sub.id)}"`);
    expect(done.body).toContain(`href="${ctx.publication.website}"`);
    await drained(ctx);
  });

  it('tells a pending reader on their preference page that the address is not confirmed, and mails the link again', async () => {
    await apiSubscribe(ctx, { email: 'pending-page@example.com', language: 'en' });
    await eventually(async () => mailsTo(ctx, 'pending-page@example.com').length === 1);
    const sub = await subscriber(ctx, 'pending-page@example.com');
    const url = `/preferences/${ctx.container.tokens.preferences(sub.id)}`;
    const page = await ctx.app.inject(url);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('This address is not confirmed yet');
    expect(page.body).toContain(`action="${url}/resend"`);

    // within the resend interval: nothing new goes out, and the page says why
    const within = await ctx.app.inject({ method: 'POST', url: `${url}/resend` });
    expect(within.statusCode).toBe(303);
    expect(within.headers.location).toBe(`${url}?resent=1`);
    const after = await ctx.app.inject(within.headers.location as string);
    expect(after.body).toContain('We send at most one confirmation mail per 1 day');
    await drained(ctx);
    expect(mailsTo(ctx, 'pending-page@example.com')).toHaveLength(1);

    // a day later the button sends a fresh link, and the first one no longer confirms
    ctx.clock.advance(ctx.config.CONFIRMATION_RESEND_INTERVAL_SECONDS * 1000 + 1000);
    await ctx.app.inject({ method: 'POST', url: `${url}/resend` });
    await eventually(async () => mailsTo(ctx, 'pending-page@example.com').length === 2);
    const mails = mailsTo(ctx, 'pending-page@example.com');
    const fresh = pathOf(linkIn(mails[1]!.parsed, 'confirm'));
    expect(fresh).not.toBe(pathOf(linkIn(mails[0]!.parsed, 'confirm')));
    expect((await ctx.app.inject({ method: 'POST', url: fresh })).statusCode).toBe(200);
    // confirmed: the notice and its button are gone
    const confirmed = await ctx.app.inject(url);
    expect(confirmed.body).not.toContain('This address is not confirmed yet');
    expect((await ctx.app.inject({ method: 'POST', url: `${url}/resend` })).headers.location).toBe(url);
    await drained(ctx);
  });

  it('lets the reader set their name and pick a time zone from a list in the preference centre', async () => {
    const sub = await confirmedReader(ctx, 'prefs-name@example.com', { language: 'ar' });
    const url = `/preferences/${ctx.container.tokens.preferences(sub.id)}`;
    const page = await ctx.app.inject(url);
    expect(page.body).toContain('<select id="timezone" name="timezone" dir="ltr"');
    expect(page.body).toContain('<optgroup label="Europe">');
    expect(page.body).toMatch(/<option value="Asia\/Damascus" selected>Asia\/Damascus<\/option>/);
    const saved = await ctx.app.inject({
      method: 'POST',
      url,
      headers: FORM,
      payload: urlencoded({
        name: 'سلمى الحلبي',
        topicsMode: 'all',
        frequency: 'daily',
        language: 'ar',
        sendHour: '8',
        timezone: 'America/Argentina/Buenos_Aires',
      }),
    });
    expect(saved.statusCode).toBe(303);
    const after = await subscriber(ctx, 'prefs-name@example.com');
    expect(after.name).toBe('سلمى الحلبي');
    // an alias is stored under the name the picker lists
    expect(after.timezone).toBe('America/Buenos_Aires');
    const shown = await ctx.app.inject(url);
    expect(shown.body).toContain('value="سلمى الحلبي"');
    expect(shown.body).toContain('<option value="America/Buenos_Aires" selected>');
    // a name with a line break is refused, naming the field; nothing changes
    const bad = await ctx.app.inject({
      method: 'POST',
      url,
      headers: FORM,
      payload: urlencoded({ name: 'a\nb', topicsMode: 'all', frequency: 'daily', language: 'ar' }),
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('aria-invalid="true"');
    expect((await subscriber(ctx, 'prefs-name@example.com')).name).toBe('سلمى الحلبي');
    const events = await consentOf(ctx, sub.id);
    const change = events.filter((e) => e.event === 'preferences_changed').at(-1);
    expect(change.details.before.name).toBeNull();
    expect(change.details.after.name).toBe('سلمى الحلبي');
  });
});
