import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDelivery } from '../../src/delivery/delivery-store.js';
import { createTransactionalSender } from '../../src/delivery/transactional-sender.js';
import { jobId } from '../../src/queues/definitions.js';
import { createTokens } from '../../src/security/tokens.js';
import { startWorkers } from '../../workers/index.js';
import { transactionalProcessor } from '../../workers/transactional-worker.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { smtpError } from '../helpers/smtp-sink.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const JSON_HEADERS = { 'content-type': 'application/json' };
const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) GazetteTest/1.0';

function urlencoded(fields: Record<string, string | string[]>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const x of ([] as string[]).concat(v)) p.append(k, x);
  return p.toString();
}

function pathOf(url: string): string {
  const u = new URL(url);
  return u.pathname + u.search;
}

function linkIn(mail: ParsedMail, kind: 'confirm' | 'preferences' | 'unsubscribe'): string {
  const m = new RegExp(`https://news\\.example\\.test/${kind}/[A-Za-z0-9_.-]+`).exec(mail.text ?? '');
  if (!m) throw new Error(`no ${kind} link in the text part:\n${mail.text}`);
  return m[0];
}

async function counts(ctx: TestContext) {
  const { rows } = await ctx.db.query(`SELECT
     (SELECT count(*) FROM subscribers)::int AS subscribers,
     (SELECT count(*) FROM consent_events)::int AS consent,
     (SELECT count(*) FROM deliveries)::int AS deliveries`);
  return rows[0] as { subscribers: number; consent: number; deliveries: number };
}

async function subscriber(ctx: TestContext, email: string) {
  const { rows } = await ctx.db.query('SELECT * FROM subscribers WHERE email_key = lower($1)', [email]);
  return rows[0];
}

async function deliveriesOf(ctx: TestContext, subscriberId: string) {
  const { rows } = await ctx.db.query('SELECT * FROM deliveries WHERE subscriber_id = $1 ORDER BY id', [
    subscriberId,
  ]);
  return rows;
}

/** Waits until no transactional row is pending or sending: the queue has drained. */
async function drained(ctx: TestContext) {
  await eventually(async () => {
    const { rows } = await ctx.db.query(
      `SELECT count(*)::int AS n FROM deliveries WHERE state IN ('pending', 'sending')`,
    );
    return rows[0].n === 0;
  });
}

/** A header as sent (unfolded), read from the raw message: mailparser merges the List-* headers. */
function rawHeader(raw: Buffer, name: string): string | undefined {
  const head = raw
    .toString('utf8')
    .split('\r\n\r\n')[0]!
    .replace(/\r\n[ \t]+/g, ' ');
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

const mailsTo = (ctx: TestContext, address: string) =>
  ctx.sink.received.filter((m) => m.to.some((to) => to.toLowerCase() === address.toLowerCase()));

async function apiSubscribe(
  ctx: TestContext,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  return ctx.app.inject({
    method: 'POST',
    url: '/api/v1/subscriptions',
    headers: { ...JSON_HEADERS, ...headers },
    payload: JSON.stringify(body),
  });
}

async function renderedToken(ctx: TestContext, lang = 'ar'): Promise<string> {
  const page = await ctx.app.inject(`/subscribe?lang=${lang}`);
  const m = /name="rendered" value="([^"]+)"/.exec(page.body);
  if (!m) throw new Error('no rendered field');
  return m[1]!;
}

describe('subscription flow', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ env: { RATE_LIMIT_MAX: '100000' } });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('serves the hosted form in Arabic, right to left, with every field and no external assets', async () => {
    const res = await ctx.app.inject('/subscribe?lang=ar');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('<html lang="ar" dir="rtl">');
    for (const topic of ctx.publication.topics) {
      expect(res.body).toContain(`name="topics" value="${topic.id}" checked> ${topic.label.ar}`);
    }
    expect(res.body).toMatch(/name="frequency" value="daily" checked/);
    expect(res.body).toContain('name="alerts"');
    expect(res.body).toContain('name="website"'); // honeypot
    expect(res.body).toContain('name="timezone"');
    expect(res.body).toContain(ctx.publication.consent.text.ar);
    expect(res.body).toContain('<script src="/assets/subscribe.js" defer></script>');
    expect(res.body).not.toMatch(/(src|href)="https?:/);
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");

    const en = await ctx.app.inject('/subscribe?lang=en');
    expect(en.body).toContain('<html lang="en" dir="ltr">');
    expect(en.body).toContain('Health &amp; Society');
    const fallback = await ctx.app.inject('/subscribe?lang=fr');
    expect(fallback.body).toContain('<html lang="ar" dir="rtl">'); // DEFAULT_LANGUAGE

    const script = await ctx.app.inject('/assets/subscribe.js');
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toMatch(/javascript/);
    expect(script.body).toContain('resolvedOptions().timeZone');
  });

  it('runs the whole flow from the Arabic form: confirm, welcome, preferences, one-click unsubscribe', async () => {
    const email = 'layla@example.com';
    const rendered = await renderedToken(ctx);
    ctx.clock.advance(5_000);
    const posted = await ctx.app.inject({
      method: 'POST',
      url: '/subscribe?lang=ar',
      headers: { ...FORM, 'user-agent': BROWSER_UA },
      payload: urlencoded({
        language: 'ar',
        email: 'Layla@Example.COM',
        name: 'ليلى',
        topics: ['politics', 'culture'],
        frequency: 'weekly',
        alerts: 'true',
        timezone: 'Asia/Riyadh',
        rendered,
        website: '',
      }),
    });
    expect(posted.statusCode).toBe(303);
    expect(posted.headers.location).toBe('/subscribe/check-inbox?lang=ar&topics=politics%2Cculture');
    const inbox = await ctx.app.inject(posted.headers.location as string);
    expect(inbox.body).toContain('<html lang="ar" dir="rtl">');
    expect(inbox.body).toContain('٧ أيام');

    const sub = await subscriber(ctx, email);
    expect(sub).toMatchObject({
      email: 'Layla@example.com',
      status: 'pending',
      name: 'ليلى',
      language: 'ar',
      topics: ['politics', 'culture'],
      frequency: 'weekly',
      alerts: true,
      timezone: 'Asia/Riyadh',
      send_hour: 7,
    });
    const [requested] = (
      await ctx.db.query('SELECT *, host(ip) AS ip_text FROM consent_events WHERE subscriber_id = $1', [
        sub.id,
      ])
    ).rows;
    expect(requested).toMatchObject({
      event: 'subscribe_requested',
      source: 'form',
      consent_version: ctx.publication.consent.version,
      consent_text: ctx.publication.consent.text.ar,
      ip_text: '127.0.0.1',
      user_agent: BROWSER_UA,
      details: {
        previousStatus: null,
        confirmationMailed: true,
        language: 'ar',
        topics: ['politics', 'culture'],
        frequency: 'weekly',
        alerts: true,
        timezone: 'Asia/Riyadh',
        sendHour: 7,
      },
    });

    const [confirmation] = await ctx.sink.waitFor(1);
    expect(confirmation!.to).toEqual(['Layla@example.com']);
    const mail = confirmation!.parsed;
    expect(mail.subject).toContain(ctx.publication.name.ar);
    expect(mail.html).toMatch(/dir="rtl"/);
    expect(mail.html).toMatch(/lang="ar"/);
    expect(mail.messageId).toMatch(/^<[A-Za-z0-9_-]+@almadar\.example>$/);
    expect(rawHeader(confirmation!.raw, 'List-Unsubscribe')).toBeUndefined(); // not subscribed yet
    const confirmUrl = linkIn(mail, 'confirm');
    expect(mail.html).toContain(confirmUrl);

    // GET shows a button and changes nothing (mail scanners follow links)
    const before = await counts(ctx);
    const page = await ctx.app.inject({ url: pathOf(confirmUrl) });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(`<form method="post" action="${pathOf(confirmUrl)}">`);
    expect(page.body).toContain('<html lang="ar" dir="rtl">');
    expect(page.body).not.toMatch(/\.submit\(|http-equiv="refresh"/);
    expect((await subscriber(ctx, email)).status).toBe('pending');
    expect(await counts(ctx)).toEqual(before);

    ctx.clock.advance(60_000);
    const confirmed = await ctx.app.inject({
      method: 'POST',
      url: pathOf(confirmUrl),
      headers: { 'user-agent': 'ConfirmingBrowser/2.0' },
    });
    expect(confirmed.statusCode).toBe(200);
    expect(confirmed.body).toContain('تم اشتراكك');
    const after = await subscriber(ctx, email);
    expect(after.status).toBe('confirmed');
    expect(after.confirmed_at.toISOString()).toBe(ctx.clock.now().toISOString());
    const { rows: confirmEvents } = await ctx.db.query(
      `SELECT * FROM consent_events WHERE subscriber_id = $1 AND event = 'confirmed'`,
      [sub.id],
    );
    expect(confirmEvents).toHaveLength(1);
    expect(confirmEvents[0]).toMatchObject({
      source: 'email-link',
      user_agent: 'ConfirmingBrowser/2.0',
      consent_version: ctx.publication.consent.version,
      consent_text: ctx.publication.consent.text.ar,
    });
    expect(confirmEvents[0].details).toMatchObject({ requestIp: '127.0.0.1', requestUserAgent: BROWSER_UA });

    // the link is single-use: a second POST changes nothing and says so
    const again = await ctx.app.inject({ method: 'POST', url: pathOf(confirmUrl) });
    expect(again.statusCode).toBe(200);
    expect(again.body).toContain('مؤكَّد مسبقاً');

    const [, welcomeMail] = await ctx.sink.waitFor(2);
    const welcome = welcomeMail!.parsed;
    expect(welcome.html).toMatch(/dir="rtl"/);
    // it says what was chosen and when the first weekly digest comes, in the reader's zone and digits
    expect(welcome.text).toContain('اختياراتك');
    expect(welcome.text).toContain('المواضيع: سياسة وثقافة');
    expect(welcome.text).toContain('تصلك أول نشرة أسبوعية يوم الجمعة، ٤ كانون الأول في ٠٧:٠٠');
    expect(welcome.text).toContain('تنبيهات الأخبار العاجلة: مفعّلة');
    expect(welcome.html).toContain('المواضيع: سياسة وثقافة');
    const unsubscribeUrl = linkIn(welcome, 'unsubscribe');
    const preferencesUrl = linkIn(welcome, 'preferences');
    expect(rawHeader(welcomeMail!.raw, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
    expect(rawHeader(welcomeMail!.raw, 'List-Unsubscribe')).toBe(`<${unsubscribeUrl}>`);
    await drained(ctx); // the SMTP server has it; the ledger row is marked right after
    const welcomeRow = (await deliveriesOf(ctx, sub.id)).find((d) => d.kind === 'welcome');
    expect(welcomeRow).toMatchObject({ state: 'sent', message_id: welcome.messageId, attempts: 1 });
    expect(welcomeRow.smtp_response).toMatch(/^250/);

    // preferences: prefilled, then saved
    const prefs = await ctx.app.inject(pathOf(preferencesUrl));
    expect(prefs.statusCode).toBe(200);
    expect(prefs.body).toContain('<html lang="ar" dir="rtl">');
    expect(prefs.body).toContain('name="topics" value="politics" checked');
    expect(prefs.body).not.toContain('name="topics" value="economy" checked');
    expect(prefs.body).toMatch(/name="frequency" value="weekly" checked/);
    expect(prefs.body).toContain('value="Asia/Riyadh"');
    const saved = await ctx.app.inject({
      method: 'POST',
      url: pathOf(preferencesUrl),
      headers: FORM,
      payload: urlencoded({
        topics: ['economy', 'sport'],
        frequency: 'daily',
        language: 'en',
        timezone: 'Europe/London',
        sendHour: '18',
      }),
    });
    expect(saved.statusCode).toBe(303);
    expect(saved.headers.location).toBe(`${pathOf(preferencesUrl)}?saved=1`);
    expect(await subscriber(ctx, email)).toMatchObject({
      topics: ['economy', 'sport'],
      frequency: 'daily',
      alerts: false, // unticked box
      language: 'en',
      timezone: 'Europe/London',
      send_hour: 18,
      status: 'confirmed',
    });
    const savedPage = await ctx.app.inject(saved.headers.location as string);
    expect(savedPage.body).toContain('<html lang="en" dir="ltr">');
    expect(savedPage.body).toContain('Your preferences are saved.');
    const { rows: prefEvents } = await ctx.db.query(
      `SELECT details FROM consent_events WHERE subscriber_id = $1 AND event = 'preferences_changed'`,
      [sub.id],
    );
    expect(prefEvents).toHaveLength(1);
    expect(prefEvents[0].details.after).toMatchObject({ frequency: 'daily', sendHour: 18 });

    // GET unsubscribe shows one button and changes nothing
    const unsubPage = await ctx.app.inject(pathOf(unsubscribeUrl));
    expect(unsubPage.statusCode).toBe(200);
    expect(unsubPage.body).toContain(`action="${pathOf(unsubscribeUrl)}"`);
    expect((await subscriber(ctx, email)).status).toBe('confirmed');

    // RFC 8058 one-click: urlencoded, no cookie, 200, no redirect
    const oneClick = await ctx.app.inject({
      method: 'POST',
      url: pathOf(unsubscribeUrl),
      headers: FORM,
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(oneClick.statusCode).toBe(200);
    expect(oneClick.headers.location).toBeUndefined();
    expect(oneClick.headers['content-type']).toMatch(/^text\/html/);
    expect(oneClick.body).toContain('You are unsubscribed');
    const gone = await subscriber(ctx, email);
    expect(gone.status).toBe('unsubscribed');

    // the same again as multipart/form-data: idempotent
    const boundary = '----gazette7MA4YWxkTrZu0gW';
    const multipart = await ctx.app.inject({
      method: 'POST',
      url: pathOf(unsubscribeUrl),
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: `--${boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--${boundary}--\r\n`,
    });
    expect(multipart.statusCode).toBe(200);
    expect(multipart.headers.location).toBeUndefined();
    const { rows: unsubEvents } = await ctx.db.query(
      `SELECT source FROM consent_events WHERE subscriber_id = $1 AND event = 'unsubscribed'`,
      [sub.id],
    );
    expect(unsubEvents).toEqual([{ source: 'one-click' }]);

    // a message queued for this reader can no longer be sent
    const sentBefore = ctx.sink.received.length;
    const queued = await createDelivery(ctx.db, {
      kind: 'welcome',
      dedupeKey: `welcome-${sub.id}-late`,
      subscriberId: sub.id,
      recipient: gone.email,
      at: ctx.clock.now(),
    });
    await ctx.container.queues.enqueue(
      'transactional',
      'send',
      { deliveryId: queued.id },
      { jobId: jobId('t', queued.id) },
    );
    await drained(ctx);
    const { rows: lateRows } = await ctx.db.query('SELECT state FROM deliveries WHERE id = $1', [queued.id]);
    expect(lateRows[0].state).toBe('suppressed');
    expect(ctx.sink.received.length).toBe(sentBefore);

    // the preferences page no longer edits an unsubscribed reader
    const stale = await ctx.app.inject({
      method: 'POST',
      url: pathOf(preferencesUrl),
      headers: FORM,
      payload: urlencoded({
        topics: 'politics',
        frequency: 'weekly',
        language: 'ar',
        timezone: 'UTC',
        sendHour: '7',
      }),
    });
    expect(stale.statusCode).toBe(200);
    expect((await subscriber(ctx, email)).frequency).toBe('daily');

    // subscribing again is a fresh double opt-in: old consent never revives, the old link is dead
    ctx.clock.advance(ctx.config.CONFIRMATION_RESEND_INTERVAL_SECONDS * 1000 + 1000);
    const resub = await apiSubscribe(ctx, { email, language: 'en' });
    expect(resub.statusCode).toBe(202);
    const revived = await subscriber(ctx, email);
    expect(revived.status).toBe('pending');
    expect(revived.confirmed_at).toBeNull();
    const mails = await ctx.sink.waitFor(sentBefore + 1);
    const newConfirmUrl = linkIn(mails[sentBefore]!.parsed, 'confirm');
    expect(newConfirmUrl).not.toBe(confirmUrl);
    const old = await ctx.app.inject({ method: 'POST', url: pathOf(confirmUrl) });
    expect(old.statusCode).toBe(404);
    expect((await subscriber(ctx, email)).status).toBe('pending');
    const fresh = await ctx.app.inject({ method: 'POST', url: pathOf(newConfirmUrl) });
    expect(fresh.statusCode).toBe(200);
    expect((await subscriber(ctx, email)).status).toBe('confirmed');
    await drained(ctx);
  });

  it('refuses bad input with a 400 naming the field, and stores nothing', async () => {
    const before = await counts(ctx);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ email: 'not-an-address' }, 'email'],
      [{ email: '' }, 'email'],
      [{}, 'email'],
      [{ email: `${'a'.repeat(65)}@example.com` }, 'email'],
      [{ email: `${'a'.repeat(60)}@${`${'b'.repeat(60)}.`.repeat(4)}com` }, 'email'],
      [{ email: 'a@example.com\r\nBcc: victim@example.org' }, 'email'],
      [{ email: 'a@example.com\n' }, 'email'],
      [{ email: 'a@exam\u0000ple.com' }, 'email'],
      [{ email: 'a@example.com,b@example.com' }, 'email'],
      [{ email: 'a@example.com b@example.com' }, 'email'],
      [{ email: 'a@b@example.com' }, 'email'],
      [{ email: 'a@localhost' }, 'email'],
      [{ email: ['a@example.com', 'b@example.com'] }, 'email'],
      [{ email: 'ok@example.com', topics: ['politics', 'astrology'] }, 'topics'],
      [{ email: 'ok@example.com', frequency: 'hourly' }, 'frequency'],
      [{ email: 'ok@example.com', timezone: 'Mars/Olympus_Mons' }, 'timezone'],
      [{ email: 'ok@example.com', sendHour: 24 }, 'sendHour'],
      [{ email: 'ok@example.com', sendHour: -1 }, 'sendHour'],
      [{ email: 'ok@example.com', sendHour: 7.5 }, 'sendHour'],
      [{ email: 'ok@example.com', language: 'fr' }, 'language'],
      [{ email: 'ok@example.com', name: 'x'.repeat(101) }, 'name'],
      [{ email: 'ok@example.com', name: 'Eve\r\nBcc: x@example.org' }, 'name'],
      [{ email: 'ok@example.com', alerts: 'maybe' }, 'alerts'],
    ];
    for (const [body, field] of cases) {
      const res = await apiSubscribe(ctx, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      const json = res.json();
      expect(json.field, JSON.stringify(body)).toBe(field);
      expect(json.error).toBe('GZ_VALIDATION');
      expect(json.message).toMatch(new RegExp(`^${field}`));
    }
    // JSON only
    const form = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/subscriptions',
      headers: FORM,
      payload: 'email=a%40example.com',
    });
    expect(form.statusCode).toBe(415);

    // the hosted form re-renders with the error in the page's language, values kept
    const rendered = await renderedToken(ctx);
    ctx.clock.advance(10_000);
    const bad = await ctx.app.inject({
      method: 'POST',
      url: '/subscribe?lang=ar',
      headers: FORM,
      payload: urlencoded({
        language: 'ar',
        email: 'sami@example.com, x@example.com',
        name: 'سامي',
        rendered,
      }),
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('<html lang="ar" dir="rtl">');
    expect(bad.body).toContain('role="alert"');
    expect(bad.body).toContain('أدخل عنوان بريد إلكتروني واحداً صحيحاً');
    expect(bad.body).toMatch(/id="email"[^>]*aria-invalid="true"/);
    expect(bad.body).toContain('value="سامي"');
    expect(bad.body).toContain('value="sami@example.com, x@example.com"');
    const badTopic = await ctx.app.inject({
      method: 'POST',
      url: '/subscribe?lang=en',
      headers: FORM,
      payload: urlencoded({ language: 'en', email: 'sami@example.com', topics: 'astrology', rendered }),
    });
    expect(badTopic.statusCode).toBe(400);
    expect(badTopic.body).toContain('Tick at least one topic, or choose “All topics”.');
    const xss = await ctx.app.inject({
      method: 'POST',
      url: '/subscribe?lang=en',
      headers: FORM,
      payload: urlencoded({ language: 'en', email: '"><script>alert(1)</script>', rendered }),
    });
    expect(xss.statusCode).toBe(400);
    expect(xss.body).not.toContain('<script>alert(1)</script>');
    expect(xss.body).toContain('&quot;&gt;&lt;script&gt;');

    expect(await counts(ctx)).toEqual(before);
  });

  it('accepts internationalised domains and stores them in punycode', async () => {
    const res = await apiSubscribe(ctx, { email: 'user@مثال.إختبار', language: 'ar' });
    expect(res.statusCode).toBe(202);
    const sub = await subscriber(ctx, 'user@xn--mgbh0fb.xn--kgbechtv');
    expect(sub.email).toBe('user@xn--mgbh0fb.xn--kgbechtv');
    expect(sub.email_key).toBe('user@xn--mgbh0fb.xn--kgbechtv');
    const mail = await eventually(async () =>
      ctx.sink.received.find((m) => rawHeader(m.raw, 'To') === 'user@xn--mgbh0fb.xn--kgbechtv'),
    );
    // smtp-server shows the envelope domain decoded; it was sent as punycode
    expect(mail.to).toEqual(['user@مثال.إختبار']);
    const found = await ctx.app.inject({
      url: `/api/v1/subscribers?email=${encodeURIComponent('USER@مثال.إختبار')}`,
      headers: ctx.adminHeaders,
    });
    expect(found.json().items.map((i: { id: string }) => i.id)).toEqual([sub.id]);
    await drained(ctx);
  });

  it('answers the API identically for new, pending, confirmed, unsubscribed and suppressed addresses', async () => {
    const addr = (s: string) => `enum-${s}@example.com`;
    // set up each state
    await apiSubscribe(ctx, { email: addr('pending') });
    await apiSubscribe(ctx, { email: addr('confirmed') });
    await apiSubscribe(ctx, { email: addr('unsubscribed') });
    await apiSubscribe(ctx, { email: addr('suppressed') });
    await drained(ctx);
    for (const state of ['confirmed', 'unsubscribed']) {
      const mail = mailsTo(ctx, addr(state))[0]!.parsed;
      await ctx.app.inject({ method: 'POST', url: pathOf(linkIn(mail, 'confirm')) });
    }
    await drained(ctx);
    const unsub = await subscriber(ctx, addr('unsubscribed'));
    await ctx.app.inject({
      method: 'POST',
      url: `/unsubscribe/${ctx.container.tokens.unsubscribe(unsub.id)}`,
      headers: FORM,
      payload: 'List-Unsubscribe=One-Click',
    });
    const supp = await subscriber(ctx, addr('suppressed'));
    const blocked = await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/subscribers/${supp.id}/suppress`,
      headers: { ...ctx.adminHeaders, ...JSON_HEADERS },
      payload: JSON.stringify({ reason: 'complaint' }),
    });
    expect(blocked.json().status).toBe('suppressed');
    const states = ['new', 'pending', 'confirmed', 'unsubscribed', 'suppressed'];
    expect(
      await Promise.all(
        states.filter((s) => s !== 'new').map(async (s) => (await subscriber(ctx, addr(s))).status),
      ),
    ).toEqual(['pending', 'confirmed', 'unsubscribed', 'suppressed']);

    // each from its own client address so the per-IP rate-limit counters are alike too
    const responses = await Promise.all(
      states.map((s, i) =>
        ctx.app.inject({
          method: 'POST',
          url: '/api/v1/subscriptions',
          headers: JSON_HEADERS,
          remoteAddress: `198.51.100.${i + 1}`,
          payload: JSON.stringify({ email: addr(s) }),
        }),
      ),
    );
    const shape = (r: (typeof responses)[number]) => {
      const { date: _d, 'x-request-id': _r, ...headers } = r.headers;
      return { status: r.statusCode, body: r.rawPayload.toString('hex'), headers };
    };
    expect(responses[0]!.statusCode).toBe(202);
    expect(responses[0]!.json()).toEqual({ status: 'pending' });
    for (const r of responses.slice(1)) expect(shape(r)).toEqual(shape(responses[0]!));
    await drained(ctx);

    // the suppressed address got nothing at all, confirmation included
    expect(mailsTo(ctx, addr('suppressed'))).toHaveLength(1); // the one before it was blocked
    expect((await deliveriesOf(ctx, supp.id)).map((d) => d.kind)).toEqual(['confirmation']);
    // the confirmed reader's choices were not touched by an anonymous request
    expect((await subscriber(ctx, addr('confirmed'))).status).toBe('confirmed');
  });

  it('sends at most one confirmation per address per resend interval', async () => {
    const email = 'cap@example.com';
    for (let i = 0; i < 3; i++) {
      expect((await apiSubscribe(ctx, { email })).statusCode).toBe(202);
      ctx.clock.advance(3600_000); // an hour apart: still inside the 24 h interval
    }
    await drained(ctx);
    const sub = await subscriber(ctx, email);
    expect((await deliveriesOf(ctx, sub.id)).map((d) => [d.kind, d.state])).toEqual([
      ['confirmation', 'sent'],
    ]);
    expect(mailsTo(ctx, email)).toHaveLength(1);
    const firstLink = linkIn(mailsTo(ctx, email)[0]!.parsed, 'confirm');
    // every request is evidence, even when no mail follows
    const { rows } = await ctx.db.query(
      `SELECT details->>'confirmationMailed' AS mailed FROM consent_events WHERE subscriber_id = $1 ORDER BY id`,
      [sub.id],
    );
    expect(rows.map((r) => r.mailed)).toEqual(['true', 'false', 'false']);

    ctx.clock.advance(ctx.config.CONFIRMATION_RESEND_INTERVAL_SECONDS * 1000);
    await apiSubscribe(ctx, { email });
    await eventually(async () => mailsTo(ctx, email).length === 2);
    const secondLink = linkIn(mailsTo(ctx, email)[1]!.parsed, 'confirm');
    expect(secondLink).not.toBe(firstLink);
    // only the newest link confirms
    expect((await ctx.app.inject({ method: 'POST', url: pathOf(firstLink) })).statusCode).toBe(404);
    expect((await ctx.app.inject({ method: 'POST', url: pathOf(secondLink) })).statusCode).toBe(200);
    await drained(ctx);
  });

  it('refuses a confirmation link after CONFIRM_TOKEN_TTL_SECONDS', async () => {
    const email = 'late@example.com';
    await apiSubscribe(ctx, { email, language: 'en' });
    await eventually(async () => mailsTo(ctx, email).length === 1);
    const link = pathOf(linkIn(mailsTo(ctx, email)[0]!.parsed, 'confirm'));
    ctx.clock.advance(ctx.config.CONFIRM_TOKEN_TTL_SECONDS * 1000 + 1000);
    const get = await ctx.app.inject(link);
    expect(get.statusCode).toBe(410);
    expect(get.body).toContain('This link has expired');
    const post = await ctx.app.inject({ method: 'POST', url: link });
    expect(post.statusCode).toBe(410);
    expect((await subscriber(ctx, email)).status).toBe('pending');
    // a forged or truncated token is simply invalid
    expect((await ctx.app.inject({ method: 'POST', url: `${link.slice(0, -2)}xx` })).statusCode).toBe(404);
    await drained(ctx);
  });

  it('answers a filled honeypot like success and a too-fast post with the form again, writing and sending nothing', async () => {
    await drained(ctx);
    const before = await counts(ctx);
    const mailsBefore = ctx.sink.received.length;
    const base = { language: 'en', email: 'bot@example.com', topics: 'politics', frequency: 'daily' };

    const rendered = await renderedToken(ctx, 'en');
    ctx.clock.advance(500); // faster than FORM_MIN_SUBMIT_SECONDS (2 s)
    const fast = await ctx.app.inject({
      method: 'POST',
      url: '/subscribe?lang=en',
      headers: FORM,
      payload: urlencoded({ ...base, rendered }),
    });
    ctx.clock.advance(5_000);
    const honeypot = await ctx.app.inject({
      method: 'POST',
      url: '/subscribe?lang=en',
      headers: FORM,
      payload: urlencoded({ ...base, rendered, website: 'http://spam.example' }),
    });
    const embeddedHoneypot = await ctx.app.inject({
      method: 'POST',
      url: '/subscribe',
      headers: FORM,
      payload: urlencoded({ ...base, website: 'http://spam.example' }),
    });
    const forged = await ctx.app.inject({
      method: 'POST',
      url: '/subscribe?lang=en',
      headers: FORM,
      payload: urlencoded({ ...base, rendered: 'AAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA' }),
    });
    // a bot that filled the honeypot learns nothing
    expect(honeypot.statusCode).toBe(303);
    expect(honeypot.headers.location).toBe('/subscribe/check-inbox?lang=en&topics=politics');
    expect(embeddedHoneypot.statusCode).toBe(303);
    // too fast or a tampered render time: said honestly, the typed values kept, a new render time
    for (const r of [fast, forged]) {
      expect(r.statusCode).toBe(400);
      expect(r.body).toContain('quicker than we expect from a person');
      expect(r.body).toContain('value="bot@example.com"');
      expect(r.body).toMatch(/<input type="checkbox" name="topics" value="politics"[^>]* checked/);
    }
    const again = /name="rendered" value="([^"]+)"/.exec(fast.body)?.[1];
    expect(again).toBeDefined();
    expect(again).not.toBe(rendered);
    expect(await counts(ctx)).toEqual(before);

    // the same form from a person, slow enough, is taken
    const human = await ctx.app.inject({
      method: 'POST',
      url: '/subscribe?lang=en',
      headers: FORM,
      payload: urlencoded({ ...base, rendered }),
    });
    expect(human.statusCode).toBe(303);
    expect(human.headers.location).toBe(honeypot.headers.location);
    expect((await counts(ctx)).subscribers).toBe(before.subscribers + 1);
    await drained(ctx);
    expect(ctx.sink.received.length).toBe(mailsBefore + 1);
  });

  it('takes embedded forms cross-site, redirecting only to the publication origins', async () => {
    // subscribe.js fetches the embed's timing proof; a post without one is treated as too fast
    const embed_rendered = (await ctx.app.inject('/api/v1/subscriptions/challenge')).json().rendered;
    ctx.clock.advance(5_000);
    const allowed = await ctx.app.inject({
      method: 'POST',
      url: '/subscribe?redirect=https%3A%2F%2Falmadar.example%2Fthanks%3Fsrc%3Dnl',
      headers: { ...FORM, origin: 'https://almadar.example' },
      payload: urlencoded({ email: 'embed@example.com', embed_rendered }),
    });
    expect(allowed.statusCode).toBe(303);
    expect(allowed.headers.location).toBe('https://almadar.example/thanks?src=nl');
    const sub = await subscriber(ctx, 'embed@example.com');
    expect(sub.topics).toEqual(ctx.publication.topics.map((t) => t.id)); // no boxes: every topic
    expect(sub.timezone).toBe(ctx.publication.timezone);
    const { rows } = await ctx.db.query('SELECT source FROM consent_events WHERE subscriber_id = $1', [
      sub.id,
    ]);
    expect(rows).toEqual([{ source: 'embed' }]);

    const field = await ctx.app.inject({
      method: 'POST',
      url: '/subscribe',
      headers: FORM,
      payload: urlencoded({
        email: 'embed2@example.com',
        embed_rendered,
        redirect: 'https://www.almadar.example/ok',
        language: 'en',
      }),
    });
    expect(field.headers.location).toBe('https://www.almadar.example/ok');
    for (const evil of [
      'https://evil.example/phish',
      'https://almadar.example.evil.example/',
      'javascript:alert(1)',
      '//evil.example',
    ]) {
      const res = await ctx.app.inject({
        method: 'POST',
        url: `/subscribe?redirect=${encodeURIComponent(evil)}`,
        headers: FORM,
        payload: urlencoded({ email: 'embed3@example.com', language: 'en', embed_rendered }),
      });
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe('/subscribe/check-inbox?lang=en');
    }
    await drained(ctx);
  });

  it('gives operators lists, details with consent history, and a block', async () => {
    const unauth = await ctx.app.inject('/api/v1/subscribers');
    expect(unauth.statusCode).toBe(401);
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof ctx.app.inject>> = await ctx.app.inject({
        url: `/api/v1/subscribers?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        headers: ctx.adminHeaders,
      });
      expect(page.statusCode).toBe(200);
      const json: { items: Array<{ id: string }>; nextCursor: string | null } = page.json();
      expect(json.items.length).toBeLessThanOrEqual(2);
      all.push(...json.items.map((i) => i.id));
      cursor = json.nextCursor;
    } while (cursor);
    expect(new Set(all).size).toBe((await counts(ctx)).subscribers);
    expect(all.length).toBe((await counts(ctx)).subscribers);

    const confirmed = await ctx.app.inject({
      url: '/api/v1/subscribers?status=confirmed',
      headers: ctx.adminHeaders,
    });
    expect(confirmed.json().items.every((i: { status: string }) => i.status === 'confirmed')).toBe(true);
    expect(confirmed.json().items.length).toBeGreaterThan(0);

    const layla = await subscriber(ctx, 'layla@example.com');
    const detail = await ctx.app.inject({
      url: `/api/v1/subscribers/${layla.id}`,
      headers: ctx.adminHeaders,
    });
    expect(detail.statusCode).toBe(200);
    expect(detail.json().consent.map((e: { event: string }) => e.event)).toEqual([
      'subscribe_requested',
      'confirmed',
      'preferences_changed',
      'unsubscribed',
      'subscribe_requested',
      'confirmed',
    ]);
    expect(detail.json().consent[0]).toMatchObject({
      source: 'form',
      ip: '127.0.0.1',
      userAgent: BROWSER_UA,
    });

    const missing = await ctx.app.inject({
      url: '/api/v1/subscribers/00000000-0000-4000-8000-000000000000',
      headers: ctx.adminHeaders,
    });
    expect(missing.statusCode).toBe(404);
    const badCursor = await ctx.app.inject({
      url: '/api/v1/subscribers?cursor=zzz',
      headers: ctx.adminHeaders,
    });
    expect(badCursor.json().field).toBe('cursor');

    // an operator block: no mail of any kind afterwards, even a new confirmation
    const block = await ctx.app.inject({
      method: 'POST',
      url: `/api/v1/subscribers/${layla.id}/suppress`,
      headers: ctx.adminHeaders,
    });
    expect(block.statusCode).toBe(200);
    expect(block.json()).toMatchObject({ status: 'suppressed', suppressedReason: 'operator' });
    ctx.clock.advance(2 * ctx.config.CONFIRMATION_RESEND_INTERVAL_SECONDS * 1000);
    const deliveriesBefore = (await deliveriesOf(ctx, layla.id)).length;
    expect((await apiSubscribe(ctx, { email: 'layla@example.com' })).statusCode).toBe(202);
    expect((await deliveriesOf(ctx, layla.id)).length).toBe(deliveriesBefore);
    expect((await subscriber(ctx, 'layla@example.com')).status).toBe('suppressed');
  });

  it('documents the API in OpenAPI with tags and admin security', async () => {
    const doc = (await ctx.app.inject('/docs/json')).json();
    expect(doc.paths['/api/v1/subscriptions'].post.tags).toEqual(['subscriptions']);
    const ref: string =
      doc.paths['/api/v1/subscriptions'].post.requestBody.content['application/json'].schema.$ref;
    expect(doc.components.schemas[ref.replace('#/components/schemas/', '')].properties).toHaveProperty(
      'sendHour',
    );
    expect(doc.paths['/api/v1/subscribers'].get.security).toEqual([{ adminToken: [] }]);
    expect(doc.paths['/unsubscribe/{token}'].post.tags).toEqual(['subscriptions']);
  });
});

describe('transactional sending against SMTP faults', () => {
  let ctx: TestContext;
  const refusals = new Map<string, number>();
  beforeAll(async () => {
    ctx = await createTestContext({
      workers: false,
      env: { RATE_LIMIT_MAX: '100000' },
      smtp: {
        onRcpt(address) {
          if (address.startsWith('nobody@'))
            return smtpError(550, '5.1.1 <nobody@example.com>: no such user');
          const left = refusals.get(address) ?? 0;
          if (left > 0) {
            refusals.set(address, left - 1);
            return smtpError(451, '4.7.1 greylisted, try again later');
          }
          return undefined;
        },
      },
    });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  async function pendingConfirmation(email: string) {
    await apiSubscribe(ctx, { email, language: 'en' });
    const sub = await subscriber(ctx, email);
    const [row] = await deliveriesOf(ctx, sub.id);
    expect(row.state).toBe('pending');
    return Number(row.id);
  }

  const job = (deliveryId: number) => ({ data: { deliveryId }, id: `j${deliveryId}` }) as unknown as Job;

  it('mails once when the same delivery is handled twice at the same time', async () => {
    const id = await pendingConfirmation('twice@example.com');
    const sender = createTransactionalSender(ctx.container);
    const results = await Promise.all([sender.send(id), sender.send(id)]);
    expect(results.filter((r) => r.outcome === 'done' && r.state === 'sent')).toHaveLength(1);
    expect(mailsTo(ctx, 'twice@example.com')).toHaveLength(1);
    const { rows } = await ctx.db.query('SELECT state, attempts FROM deliveries WHERE id = $1', [id]);
    expect(rows[0]).toEqual({ state: 'sent', attempts: 1 });
    // and again, sequentially: nothing to do
    expect(await sender.send(id)).toEqual({ outcome: 'done', state: 'sent' });
    expect(mailsTo(ctx, 'twice@example.com')).toHaveLength(1);
  });

  it('mails once when the same delivery is enqueued twice, through real workers', async () => {
    const id = await pendingConfirmation('dup@example.com');
    await ctx.container.queues.enqueue(
      'transactional',
      'send',
      { deliveryId: id },
      { jobId: jobId('dup-a', id) },
    );
    await ctx.container.queues.enqueue(
      'transactional',
      'send',
      { deliveryId: id },
      { jobId: jobId('dup-b', id) },
    );
    const workers = startWorkers(ctx.container);
    try {
      // the API's own job for this row is in the queue too: three jobs, one mail
      await eventually(async () => {
        const counts = await ctx.container.queues
          .get('transactional')
          .getJobCounts('waiting', 'active', 'delayed');
        return (counts.waiting ?? 0) + (counts.active ?? 0) + (counts.delayed ?? 0) === 0;
      });
    } finally {
      await workers.close();
    }
    expect(mailsTo(ctx, 'dup@example.com')).toHaveLength(1);
    const { rows } = await ctx.db.query('SELECT state, attempts FROM deliveries WHERE id = $1', [id]);
    expect(rows[0]).toEqual({ state: 'sent', attempts: 1 });
  });

  it('puts a 4xx refusal back to pending and retries it to success', async () => {
    const email = 'greylist@example.com';
    refusals.set(email, 1);
    const id = await pendingConfirmation(email);
    const process = transactionalProcessor(ctx.container);
    await expect(process(job(id))).rejects.not.toBeInstanceOf(UnrecoverableError);
    let { rows } = await ctx.db.query('SELECT state, attempts, error FROM deliveries WHERE id = $1', [id]);
    expect(rows[0]).toMatchObject({ state: 'pending', attempts: 1 });
    expect(rows[0].error).toMatch(/451/);
    expect(mailsTo(ctx, email)).toHaveLength(0);
    expect(await process(job(id))).toBe('sent');
    ({ rows } = await ctx.db.query('SELECT state, attempts FROM deliveries WHERE id = $1', [id]));
    expect(rows[0]).toMatchObject({ state: 'sent', attempts: 2 });
    expect(mailsTo(ctx, email)).toHaveLength(1);
    const metrics = await ctx.container.metrics.registry.getSingleMetricAsString(
      'gazette_mails_failed_total',
    );
    expect(metrics).toContain('gazette_mails_failed_total{kind="confirmation",outcome="retry"} 1');
  });

  it('fails the row for good on a 5.1.1 recipient refusal', async () => {
    const id = await pendingConfirmation('nobody@example.com');
    const process = transactionalProcessor(ctx.container);
    await expect(process(job(id))).rejects.toBeInstanceOf(UnrecoverableError);
    const { rows } = await ctx.db.query('SELECT state, error FROM deliveries WHERE id = $1', [id]);
    expect(rows[0].state).toBe('failed');
    expect(rows[0].error).toMatch(/5\.1\.1/);
    // and it is not tried again
    expect(await process(job(id))).toBe('failed');
    const sent = await ctx.container.metrics.registry.getSingleMetricAsString('gazette_mails_sent_total');
    expect(sent).toMatch(/gazette_mails_sent_total\{kind="confirmation"\} \d+/);
  });

  it('marks a row found still sending as ambiguous and never resends it', async () => {
    const id = await pendingConfirmation('crashed@example.com');
    await ctx.db.query(`UPDATE deliveries SET state = 'sending', claim_token = 'dead-worker' WHERE id = $1`, [
      id,
    ]);
    expect(await transactionalProcessor(ctx.container)(job(id))).toBe('ambiguous');
    const { rows } = await ctx.db.query('SELECT state FROM deliveries WHERE id = $1', [id]);
    expect(rows[0].state).toBe('ambiguous');
    expect(mailsTo(ctx, 'crashed@example.com')).toHaveLength(0);
  });
});

describe('behind a proxy, rate limited', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ workers: false, env: { RATE_LIMIT_MAX: '2', TRUST_PROXY: 'true' } });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('records the X-Forwarded-For client as the consent IP', async () => {
    const res = await apiSubscribe(
      ctx,
      { email: 'proxied@example.com' },
      { 'x-forwarded-for': '203.0.113.9' },
    );
    expect(res.statusCode).toBe(202);
    const { rows } = await ctx.db.query(
      `SELECT host(ip) AS ip FROM consent_events e JOIN subscribers s ON s.id = e.subscriber_id
        WHERE s.email_key = 'proxied@example.com'`,
    );
    expect(rows).toEqual([{ ip: '203.0.113.9' }]);
  });

  it('answers 429 past RATE_LIMIT_MAX per client, on the API and on the form', async () => {
    const from = (ip: string) => ({ 'x-forwarded-for': ip });
    const codes: number[] = [];
    for (let i = 0; i < 3; i++)
      codes.push((await apiSubscribe(ctx, { email: `rl${i}@example.com` }, from('203.0.113.50'))).statusCode);
    expect(codes).toEqual([202, 202, 429]);
    // another client is not affected
    expect((await apiSubscribe(ctx, { email: 'other@example.com' }, from('203.0.113.51'))).statusCode).toBe(
      202,
    );
    expect(await subscriber(ctx, 'rl2@example.com')).toBeUndefined();

    const formCodes: number[] = [];
    let last = '';
    for (let i = 0; i < 3; i++) {
      const r = await ctx.app.inject({
        method: 'POST',
        url: '/subscribe?lang=ar',
        headers: { ...FORM, ...from('203.0.113.60') },
        payload: urlencoded({ email: `form${i}@example.com`, language: 'ar' }),
      });
      formCodes.push(r.statusCode);
      last = r.body;
    }
    // untimed posts: the form comes back asking to send again, until the budget runs out
    expect(formCodes).toEqual([400, 400, 429]);
    expect(last).toContain('<html lang="ar" dir="rtl">');
    expect(last).toContain('محاولات كثيرة');
  });
});

describe('SECRET_KEY rotation', () => {
  const OLD_KEY = 'old-secret-key-0123456789abcdef0123456789';
  const NEW_KEY = 'new-secret-key-abcdef0123456789abcdef012345';
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({
      workers: false,
      env: { SECRET_KEY: NEW_KEY, SECRET_KEY_PREVIOUS: OLD_KEY },
    });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('keeps preference and unsubscribe links signed with the previous key working', async () => {
    const { rows } = await ctx.db.query(
      `INSERT INTO subscribers (email, email_key, status, language, frequency, timezone, confirmed_at)
       VALUES ('kept@example.com', 'kept@example.com', 'confirmed', 'en', 'daily', 'UTC', now()) RETURNING id`,
    );
    const id = rows[0].id as string;
    const old = createTokens({ secretKey: OLD_KEY });
    const stranger = createTokens({ secretKey: 'another-secret-key-0123456789abcdef0123' });

    expect((await ctx.app.inject(`/preferences/${old.preferences(id)}`)).statusCode).toBe(200);
    expect((await ctx.app.inject(`/preferences/${stranger.preferences(id)}`)).statusCode).toBe(404);
    // purpose-bound: a preferences token does not unsubscribe
    const wrongPurpose = await ctx.app.inject({
      method: 'POST',
      url: `/unsubscribe/${old.preferences(id)}`,
      headers: FORM,
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(wrongPurpose.statusCode).toBe(404);
    expect((await subscriber(ctx, 'kept@example.com')).status).toBe('confirmed');

    const res = await ctx.app.inject({
      method: 'POST',
      url: `/unsubscribe/${old.unsubscribe(id)}`,
      headers: FORM,
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(res.statusCode).toBe(200);
    expect((await subscriber(ctx, 'kept@example.com')).status).toBe('unsubscribed');
  });
});
