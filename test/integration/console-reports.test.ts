import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertBounceEvent, markEventSuppressed } from '../../src/bounces/bounce-store.js';
import type { BounceClass } from '../../src/bounces/classify.js';
import { createProviderOverview } from '../../src/overview/provider-overview.js';
import { createProviderRules } from '../../src/shaping/provider-rules.js';
import { type ConsoleAgent, consoleAgent } from '../helpers/console-agent.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { seedEdition } from '../helpers/delivery-fixtures.js';
import { addReader } from '../helpers/digest-fixtures.js';

const ADMIN = { email: 'chief@almadar.example', password: 'correct horse battery 42' };
const EDITOR = { email: 'desk@almadar.example', password: 'another long passphrase 7' };

/** The cells of each body row of the first table after `marker` (tags stripped). */
function rowsAfter(body: string, marker: string): string[][] {
  const from = body.indexOf(marker);
  expect(from, marker).toBeGreaterThan(-1);
  const tbody = /<tbody>([\s\S]*?)<\/tbody>/.exec(body.slice(from))?.[1] ?? '';
  return [...tbody.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) =>
    [...m[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) =>
      c[1]!
        .replace(/<br>/g, ' | ')
        .replace(/<[^>]+>/g, '')
        .trim(),
    ),
  );
}

describe('console: providers, a reader’s bounce reports, import reasons in the operator’s language', () => {
  let ctx: TestContext;
  let admin: ConsoleAgent;
  let editor: ConsoleAgent;
  const language = async (agent: ConsoleAgent, lang: 'ar' | 'en') => {
    await agent.get('/admin');
    await agent.post('/admin/language', { lang, back: '/admin' });
  };

  beforeAll(async () => {
    ctx = await createTestContext({
      workers: false,
      env: {
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        PROVIDER_LIMITS: '{"gmail":{"perSecond":50,"perHour":2000,"messagesPerConnection":100}}',
      },
    });
    await ctx.container.operators.create({ ...EDITOR, role: 'editor', createdBy: 'test' });
    admin = consoleAgent(ctx);
    await admin.signIn(ADMIN.email, ADMIN.password);
    editor = consoleAgent(ctx);
    await editor.signIn(EDITOR.email, EDITOR.password);
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('shows each provider’s limits, backoff, throttles, last reply and rows waiting, to an editor too', async () => {
    const { editionId } = await seedEdition(ctx, { readers: 8, batchSize: 4 });
    const { rows: ids } = await ctx.db.query<{ id: string }>(
      'SELECT id FROM deliveries WHERE edition_id = $1 ORDER BY id',
      [editionId],
    );
    const to = [
      'a@gmail.com',
      'b@Gmail.com',
      'c@googlemail.com',
      'd@corp.example',
      'e@yahoo.com',
      'f@ymail.com',
    ];
    for (const [i, r] of to.entries())
      await ctx.db.query('UPDATE deliveries SET recipient = $2 WHERE id = $1', [ids[i]!.id, r]);
    // a sent row and a sending row wait for nobody
    await ctx.db.query(`UPDATE deliveries SET recipient = 'g@yahoo.com', state = 'sent' WHERE id = $1`, [
      ids[6]!.id,
    ]);
    await ctx.db.query(`UPDATE deliveries SET recipient = 'h@yahoo.com', state = 'sending' WHERE id = $1`, [
      ids[7]!.id,
    ]);
    // corp.example is hosted by Google: the MX cache says so
    await ctx.db.query(
      `INSERT INTO provider_domains (domain, provider, mx_hosts, error, resolved_at, expires_at)
       VALUES ('corp.example', 'gmail', '{aspmx.l.google.com}', NULL, now(), now() + interval '1 day')`,
    );
    const now = ctx.clock.now().getTime();
    const reply = '421 4.7.0 [TS04] Messages from 192.0.2.1 temporarily deferred';
    await ctx.container.providerGate.throttled('yahoo', reply, now);
    ctx.clock.advance(1);
    await ctx.container.providerGate.throttled('yahoo', reply, ctx.clock.now().getTime() + 10 * 60_000);

    const page = await editor.get('/admin');
    expect(page.statusCode).toBe(200);
    const section =
      /<section class="card" aria-labelledby="providers">[\s\S]*?<\/section>/.exec(page.body)?.[0] ?? '';
    expect(section).toContain('مزوّدو البريد المستقبِلون');
    expect(section).not.toContain('<form');
    const rows = rowsAfter(section, 'id="providers"');
    // backing off first; then by rows waiting
    expect(rows.map((r) => r[0])).toEqual(['yahoo', 'gmail', 'microsoft']);
    const [yahoo, gmail, microsoft] = rows;
    expect(yahoo![1]).toBe('١٠ اتصالات في آن واحد');
    expect(yahoo![2]).toMatch(/^متريّث \| حتى .+ \| المستوى ٢: المعدّل مقسوم على ٤$/);
    expect(yahoo!.slice(3)).toEqual(['٢', reply, '٢']);
    expect(section).toContain(`<bdi dir="ltr" class="muted">${reply}</bdi>`);
    expect(gmail!.slice(1)).toEqual([
      '٥٠ في الثانية | ٢٬٠٠٠ في الساعة | ١٠٠ رسالة في كل اتصال',
      'بالسرعة الكاملة',
      '٠',
      '—',
      '٤',
    ]);
    expect(microsoft!.slice(1)).toEqual(['١٠ اتصالات في آن واحد', 'بالسرعة الكاملة', '٠', '—', '٠']);

    await language(editor, 'en');
    const en = await editor.get('/admin');
    expect(en.statusCode, en.body.slice(0, 3000)).toBe(200);
    const enRows = rowsAfter(en.body, 'id="providers"');
    expect(enRows[0]![2]).toMatch(/^Backing off \| until .+ \| Level 2: rate divided by 4$/);
    expect(enRows[1]!.slice(1, 3)).toEqual([
      '50/second | 2,000/hour | 100 messages per connection',
      'Full speed',
    ]);
    await language(editor, 'ar');

    // the backoff over, the level stays until successes lower it
    ctx.clock.advance(12 * 60_000);
    const later = rowsAfter((await admin.get('/admin')).body, 'id="providers"');
    expect(later.find((r) => r[0] === 'yahoo')![2]).toBe('يتعافى | المستوى ٢: المعدّل مقسوم على ٤');

    // the scan is bounded: past the cap every figure is a lower bound, and said so
    const capped = await createProviderOverview({
      db: ctx.db,
      clock: ctx.clock,
      gate: ctx.container.providerGate,
      rules: createProviderRules(ctx.container.publication.shaping, ctx.container.config.PROVIDER_LIMITS),
      named: ['gmail'],
      scanLimit: 3,
    }).get();
    expect(capped.capped).toBe(true);
    expect(capped.providers.reduce((a, p) => a + p.waiting, 0) + capped.otherWaiting).toBe(3);
    await ctx.db.query('DELETE FROM deliveries WHERE edition_id = $1', [editionId]);
    expect(rowsAfter((await admin.get('/admin')).body, 'id="providers"').map((r) => r.at(-1))).toEqual([
      '٠',
      '٠',
      '٠',
    ]);
  });

  it('lists a reader’s bounce reports, newest first, paged, with the edition and what suppressed them', async () => {
    const id = await addReader(ctx, { email: 'bouncy@example.org' });
    const { editionId } = await seedEdition(ctx, { readers: 1, batchSize: 10 });
    const subject = (await ctx.db.query('SELECT subject FROM editions WHERE id = $1', [editionId])).rows[0]
      .subject as string;
    const start = ctx.clock.now().getTime();
    const classes: BounceClass[] = ['soft', 'auto-reply', 'block', 'soft', 'unknown'];
    for (let n = 0; n < 24; n++)
      await insertBounceEvent(ctx.db, {
        source: n % 2 ? 'inbound' : 'smtp',
        eventId: `reader-${n}`,
        class: classes[n % classes.length]!,
        rule: null,
        recipient: 'bouncy@example.org',
        subscriberId: id,
        deliveryId: null,
        editionId: n % 2 ? editionId : null,
        messageId: null,
        status: '4.2.2',
        diagnostic: `mailbox full (${n})`,
        raw: null,
        occurredAt: new Date(start + n * 60_000),
        receivedAt: new Date(start + n * 60_000),
      });
    const last = await insertBounceEvent(ctx.db, {
      source: 'smtp',
      eventId: 'reader-hard',
      class: 'hard',
      rule: null,
      recipient: 'bouncy@example.org',
      subscriberId: id,
      deliveryId: null,
      editionId,
      messageId: null,
      status: '5.1.1',
      diagnostic: '550 5.1.1 <bouncy@example.org>: user unknown',
      raw: null,
      occurredAt: new Date(start + 30 * 60_000),
      receivedAt: new Date(start + 30 * 60_000),
    });
    await markEventSuppressed(ctx.db, last!);

    const page = await editor.get(`/admin/subscribers/${id}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('تقارير الارتداد والشكاوى');
    const rows = rowsAfter(page.body, 'id="bounces"');
    expect(rows).toHaveLength(20);
    expect(rows[0]).toEqual([
      'ارتداد دائم | رُفض عند الإرسال',
      expect.any(String),
      subject,
      '550 5.1.1 &lt;bouncy@example.org&gt;: user unknown',
      'حُظر: العنوان غير موجود',
    ]);
    expect(page.body).toContain(`<a href="/admin/editions/${editionId}"><bdi>`);
    // newest first: the 24 reports count down from (23)
    expect(rows[1]).toEqual([
      'ارتداد مؤقت | تقرير بالبريد',
      expect.any(String),
      subject,
      '4.2.2 mailbox full (23)',
      'لم يُحظر بسببه',
    ]);
    expect(rows[2]![2]).toBe('رسالة خدمية');
    expect(page.body).toContain('الصفحة ١ من ٢، والمجموع ٢٥');
    const second = rowsAfter((await editor.get(`/admin/subscribers/${id}?offset=20`)).body, 'id="bounces"');
    expect(second.map((r) => r[3])).toEqual([4, 3, 2, 1, 0].map((n) => `4.2.2 mailbox full (${n})`));

    await language(editor, 'en');
    const en = rowsAfter((await editor.get(`/admin/subscribers/${id}`)).body, 'id="bounces"');
    expect(en[0]![0]).toBe('Hard bounce | refused at sending');
    expect(en[0]![4]).toBe('Suppressed: the address does not exist');
    await language(editor, 'ar');

    const quiet = await addReader(ctx, { email: 'quiet@example.org' });
    expect((await editor.get(`/admin/subscribers/${quiet}`)).body).toContain(
      'لم يصل أي تقرير عن هذا القارئ.',
    );
  });

  it('says import row reasons in the operator’s language; the API keeps its sentence and adds a code', async () => {
    const importId = '00000000-0000-4000-8000-000000000043';
    await ctx.db.query(
      `INSERT INTO imports (id, state, mode, mapping, delimiter, operator, source, total_rows, cursor, created_at)
       VALUES ($1, 'done', 'confirm', '{"email":"email"}', ',', 'x', 'list.csv', 5, 5, now())`,
      [importId],
    );
    const reasons: Array<[string, string, string | null]> = [
      ['a@example.org', 'imported', null],
      ['bad', 'invalid', 'send_hour must be 0-23, got 25'],
      ['A@example.org', 'duplicate', 'same address as row 1'],
      ['c@example.org', 'duplicate', 'already a reader (confirmed)'],
      ['d@example.org', 'skipped', 'status "unsubscribed" in the file'],
    ];
    for (const [i, [email, outcome, reason]] of reasons.entries())
      await ctx.db.query(
        'INSERT INTO import_rows (import_id, row_no, email, outcome, reason) VALUES ($1, $2, $3, $4, $5)',
        [importId, i + 1, email, outcome, reason],
      );
    const ar = rowsAfter((await editor.get(`/admin/imports/${importId}/progress`)).body, 'import-status');
    expect(ar.map((r) => r[3])).toEqual([
      'ساعة الإرسال «25» ليست من ٠ إلى ٢٣',
      'العنوان نفسه في الصف ١',
      'قارئ من قبل (مؤكَّد)',
      'يقول الملف «unsubscribed»: غادر القارئ',
    ]);
    const csv = parse((await editor.get(`/admin/imports/${importId}/report.csv`)).body, { columns: true });
    expect(csv[1]).toEqual({
      row: '2',
      email: 'bad',
      outcome: 'invalid',
      code: 'send_hour',
      reason: 'ساعة الإرسال «25» ليست من ٠ إلى ٢٣',
    });
    await language(editor, 'en');
    const en = rowsAfter((await editor.get(`/admin/imports/${importId}/progress`)).body, 'import-status');
    expect(en[0]![3]).toBe('Send hour “25” is not 0–23');
    await language(editor, 'ar');

    const api = await ctx.app.inject({
      url: `/api/v1/subscribers/imports/${importId}/report`,
      headers: ctx.adminHeaders,
    });
    const rows = parse(api.body, { columns: true }) as Array<Record<string, string>>;
    expect(Object.keys(rows[0]!)).toEqual(['row', 'email', 'outcome', 'reason', 'code']);
    expect(rows.slice(1).map((r) => [r.reason, r.code])).toEqual([
      ['send_hour must be 0-23, got 25', 'send_hour'],
      ['same address as row 1', 'duplicate_in_file'],
      ['already a reader (confirmed)', 'already_reader'],
      ['status "unsubscribed" in the file', 'status_left'],
    ]);

    // the preview's reasons too, in the page and as codes in the API
    const file = 'email,send_hour,weekly_day\nok@example.org,7,friday\nx@example.org,7,someday\n';
    await editor.get('/admin/imports');
    const preview = await editor.upload(
      '/admin/imports/preview',
      {},
      { name: 'p.csv', content: file },
      { 'hx-request': 'true' },
    );
    expect(preview.body).toContain('اليوم الأسبوعي «<bdi>someday</bdi>» ليس اسم يوم ولا رقماً من ٠ إلى ٦');
    expect(preview.body).not.toContain('weekly_day must be');
    const apiPreview = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/subscribers/import?preview=true',
      headers: { ...ctx.adminHeaders, 'content-type': 'text/csv' },
      payload: file,
    });
    expect(apiPreview.json().rows[1]).toMatchObject({
      outcome: 'invalid',
      reason: expect.stringMatching(/^weekly_day must be a day name .* got someday$/),
      code: 'weekly_day',
    });
  });

  it('a preview without JavaScript keeps the chosen columns and says to choose the same file again', async () => {
    await editor.get('/admin/imports');
    const page = await editor.upload(
      '/admin/imports/preview',
      { map_email: 'mail', mode: 'attested', attestation: 'signed at the fair' },
      { name: 'p.csv', content: 'mail,الاسم\nhuda@example.org,هدى\n' },
    );
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<html');
    expect(page.body).toContain('الأعمدة أعلاه محفوظة: اختر الملف نفسه مرة أخرى لاستيراده.');
    expect(page.body).toMatch(/name="map_email">[\s\S]*?<option value="mail" selected>/);
    expect(page.body).toMatch(/value="attested" checked/);
    expect((await editor.get('/admin/imports')).body).not.toContain('اختر الملف نفسه مرة أخرى');
  });
});
