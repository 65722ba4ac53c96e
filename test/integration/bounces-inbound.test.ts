import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readerState } from '../helpers/bounce-checks.js';
import { bounceFixture } from '../helpers/bounce-fixtures.js';
import { inboundSettled, mailBounce } from '../helpers/bounce-mail.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import { addArticle, addReader, mailsTo } from '../helpers/digest-fixtures.js';

const DOMAIN = 'bounces.news.example.test';

describe('inbound bounce mail (VERP return paths and the SMTP listener)', () => {
  let ctx: TestContext;
  let port: number;
  const post = (url: string, payload: object) =>
    ctx.app.inject({ method: 'POST', url, payload, headers: ctx.adminHeaders });
  const edition = (id: string) =>
    ctx.app.inject({ url: `/api/v1/editions/${id}`, headers: ctx.adminHeaders }).then((r) => r.json());
  async function sendDigest(title: string) {
    const before = ctx.sink.received.length;
    const a = await addArticle(ctx, { title });
    const res = (await post('/api/v1/digests/send', { articleIds: [a], frequency: 'daily' })).json();
    const id = res.editions[0].id as string;
    const e = await eventually(async () => {
      const v = await edition(id);
      return v.state === 'sent' ? v : undefined;
    });
    return { edition: e, mails: ctx.sink.received.slice(before) };
  }

  beforeAll(async () => {
    ctx = await createTestContext({
      now: '2026-11-29T10:00:00Z',
      env: { BOUNCE_DOMAIN: DOMAIN, INBOUND_SMTP_PORT: '0' },
      bounceListener: true,
    });
    port = ctx.container.inboundListener!.port;
    for (const email of ['dead@example.org', 'angry@example.org', 'away@example.org', 'fine@example.org'])
      await addReader(ctx, { email });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  let first: Awaited<ReturnType<typeof sendDigest>>;

  it('every message leaves with a signed VERP return path of its own ledger row', async () => {
    first = await sendDigest('Morning story');
    expect(first.mails).toHaveLength(4);
    const { rows } = await ctx.db.query<{ id: string; recipient: string }>(
      'SELECT id, recipient FROM deliveries WHERE edition_id = $1',
      [first.edition.id],
    );
    for (const row of rows) {
      const [mail] = mailsTo(first.mails, row.recipient);
      expect(mail!.from).toMatch(
        new RegExp(`^bounce\\+${row.id}-[0-9a-f]{12}@${DOMAIN.replace(/\./g, '\\.')}$`),
      );
    }
  });

  it('full loop: a Postfix DSN to the VERP address suppresses the reader, the edition counts it, the next digest skips them', async () => {
    const [mail] = mailsTo(first.mails, 'dead@example.org');
    const dsn = bounceFixture('postfix-user-unknown', {
      verp: mail!.from,
      recipient: 'dead@example.org',
      messageId: mail!.parsed.messageId!,
    });
    expect((await mailBounce(port, mail!.from, dsn)).response).toMatch(/^250/);
    await inboundSettled(ctx);
    const dead = await readerState(ctx, 'dead@example.org');
    expect(dead.status).toBe('suppressed');
    expect(dead.events).toEqual([
      expect.objectContaining({
        source: 'inbound',
        class: 'hard',
        suppressed: true,
        edition_id: first.edition.id,
      }),
    ]);
    // the report itself is kept as evidence
    const evidence = await ctx.db.query<{ raw: Buffer }>(
      `SELECT raw FROM bounce_events WHERE source = 'inbound' AND recipient = 'dead@example.org'`,
    );
    expect(evidence.rows[0]!.raw.toString()).toContain('Final-Recipient: rfc822; dead@example.org');
    // the same DSN delivered again (the MTA did not see our 250): nothing new
    await mailBounce(port, mail!.from, dsn);
    await inboundSettled(ctx);
    expect((await readerState(ctx, 'dead@example.org')).events).toHaveLength(1);
    expect((await edition(first.edition.id)).counts).toMatchObject({ sent: 4, bounced: 1 });

    const next = await sendDigest('Evening story');
    expect(next.mails).toHaveLength(3);
    expect(mailsTo(next.mails, 'dead@example.org')).toHaveLength(0);
  });

  it('a Yahoo ARF complaint to a plain bounce address, matched by our Message-ID, suppresses', async () => {
    const [mail] = mailsTo(first.mails, 'angry@example.org');
    const arf = bounceFixture('yahoo-arf-complaint', {
      verp: mail!.from,
      recipient: 'angry@example.org',
      messageId: mail!.parsed.messageId!,
    });
    await mailBounce(port, `fbl@${DOMAIN}`, arf);
    await inboundSettled(ctx);
    const angry = await readerState(ctx, 'angry@example.org');
    expect(angry.status).toBe('suppressed');
    expect(angry.events[0]).toMatchObject({ class: 'complaint', suppressed: true });
    expect((await edition(first.edition.id)).counts).toMatchObject({ complained: 1 });
  });

  it('an auto-reply is counted for the edition and changes nothing', async () => {
    const [mail] = mailsTo(first.mails, 'away@example.org');
    const ooo = bounceFixture('auto-reply-ar', {
      verp: mail!.from,
      recipient: 'away@example.org',
      messageId: mail!.parsed.messageId!,
    });
    await mailBounce(port, mail!.from, ooo);
    await inboundSettled(ctx);
    expect((await edition(first.edition.id)).counts).toMatchObject({ autoReplied: 1 });
    expect((await readerState(ctx, 'away@example.org')).status).toBe('confirmed');
  });

  it('a forged VERP address, or a report naming only an address, suppresses nobody', async () => {
    const forged = bounceFixture('postfix-user-unknown', {
      verp: `bounce+1-000000000000@${DOMAIN}`,
      recipient: 'fine@example.org',
      messageId: '<made-up@news.example.test>',
    });
    expect((await mailBounce(port, `bounce+1-000000000000@${DOMAIN}`, forged)).response).toMatch(/^250/);
    // a plain bounce address and an unknown Message-ID: stored, but the address alone proves nothing
    await mailBounce(port, `postmaster@${DOMAIN}`, forged);
    await inboundSettled(ctx);
    const fine = await readerState(ctx, 'fine@example.org');
    expect(fine.status).toBe('confirmed');
    expect(fine.events).toHaveLength(0);
    const { rows } = await ctx.db.query(
      `SELECT class, subscriber_id FROM bounce_events WHERE source = 'inbound' AND recipient = 'fine@example.org'`,
    );
    expect(rows).toEqual([{ class: 'hard', subscriber_id: null }]);
  });

  it('refuses mail for other domains (no relaying) and mail over INBOUND_SMTP_MAX_BYTES', async () => {
    await expect(
      mailBounce(port, 'someone@example.org', Buffer.from('Subject: x\r\n\r\nhi\r\n')),
    ).rejects.toMatchObject({
      responseCode: 550,
    });
    const big = Buffer.concat([
      Buffer.from(`Subject: big\r\nTo: x@${DOMAIN}\r\n\r\n`),
      Buffer.alloc(ctx.config.INBOUND_SMTP_MAX_BYTES + 1024, 'a'),
    ]);
    await expect(mailBounce(port, `x@${DOMAIN}`, big)).rejects.toMatchObject({ responseCode: 552 });
  });
});
