import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readerState } from '../helpers/bounce-checks.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { addReader } from '../helpers/digest-fixtures.js';
import {
  mailgunFailed,
  mailgunRequest,
  otherSendgridKey,
  postmarkBounce,
  postmarkRequest,
  RELAY_ENV,
  type SignedRequest,
  sendgridRequest,
  standardRequest,
} from '../helpers/relay-webhooks.js';

describe('relay bounce webhooks', () => {
  let ctx: TestContext;
  const hit = (relay: string, r: SignedRequest) =>
    ctx.app.inject({
      method: 'POST',
      url: `/api/v1/bounces/${relay}`,
      headers: r.headers,
      payload: r.payload,
    });
  const now = () => ctx.clock.now();

  /** a reader with one sent digest row, so a report can name its Message-ID */
  async function readerWithMessage(email: string): Promise<{ deliveryId: string; messageId: string }> {
    const id = await addReader(ctx, { email });
    const messageId = `<${email.split('@')[0]}-m1@news.example.test>`;
    const { rows } = await ctx.db.query<{ id: string }>(
      `INSERT INTO deliveries (kind, dedupe_key, subscriber_id, recipient, state, message_id, sent_at)
       VALUES ('welcome', $1, $2, $3, 'sent', $4, now()) RETURNING id`,
      [`welcome-${id}`, id, email, messageId],
    );
    return { deliveryId: rows[0]!.id, messageId };
  }

  beforeAll(async () => {
    ctx = await createTestContext({ workers: false, env: RELAY_ENV });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('Postmark: a HardBounce with Basic auth suppresses; the same event again is a duplicate', async () => {
    await addReader(ctx, { email: 'pm-hard@example.org' });
    const body = postmarkBounce({ id: 4323372036854775, email: 'pm-hard@example.org', at: now() });
    const res = await hit('postmark', postmarkRequest(body));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      status: 'accepted',
      events: [{ eventId: 'Bounce-4323372036854775', class: 'hard', duplicate: false, suppressed: true }],
    });
    expect((await readerState(ctx, 'pm-hard@example.org')).status).toBe('suppressed');
    const again = await hit('postmark', postmarkRequest(body));
    expect(again.json().events[0]).toMatchObject({ duplicate: true, suppressed: false });
    expect((await readerState(ctx, 'pm-hard@example.org')).events).toHaveLength(1);
  });

  it('Postmark: a SoftBounce does not suppress; SpamComplaint and broadcast SubscriptionChange do', async () => {
    await addReader(ctx, { email: 'pm-soft@example.org' });
    await addReader(ctx, { email: 'pm-spam@example.org' });
    await addReader(ctx, { email: 'pm-broadcast@example.org' });
    const soft = postmarkBounce({
      id: 11,
      email: 'pm-soft@example.org',
      type: 'SoftBounce',
      details: '452 4.2.2 mailbox full',
      at: now(),
    });
    expect((await hit('postmark', postmarkRequest(soft))).json().events[0]).toMatchObject({
      class: 'soft',
      suppressed: false,
    });
    const spam = {
      RecordType: 'SpamComplaint',
      MessageStream: 'outbound',
      ID: 12,
      Type: 'SpamComplaint',
      TypeCode: 512,
      Name: 'Spam complaint',
      MessageID: '00000000-0000-0000-0000-000000000012',
      Email: 'pm-spam@example.org',
      BouncedAt: now().toISOString(),
      Details: 'Test spam complaint details',
      Inactive: true,
      CanActivate: false,
    };
    expect((await hit('postmark', postmarkRequest(spam))).json().events[0]).toMatchObject({
      class: 'complaint',
      suppressed: true,
    });
    const change = {
      RecordType: 'SubscriptionChange',
      MessageID: '883953f4-6105-42a2-a16a-77a8eac79483',
      ServerID: 123456,
      MessageStream: 'broadcast',
      ChangedAt: now().toISOString(),
      Recipient: 'pm-broadcast@example.org',
      Origin: 'Recipient',
      SuppressSending: true,
      SuppressionReason: 'HardBounce',
      Tag: 'digest',
      Metadata: {},
    };
    expect((await hit('postmark', postmarkRequest(change))).json().events[0]).toMatchObject({
      class: 'hard',
      suppressed: true,
    });
    expect((await readerState(ctx, 'pm-soft@example.org')).status).toBe('confirmed');
  });

  it('Postmark: wrong or missing credentials are 401; a Delivery record is acknowledged and ignored', async () => {
    const body = postmarkBounce({ id: 99, email: 'pm-hard@example.org', at: now() });
    expect(
      (await hit('postmark', postmarkRequest(body, 'gazette:wrong-password-0123456789'))).statusCode,
    ).toBe(401);
    const bare = await hit('postmark', { headers: { 'content-type': 'application/json' }, payload: '{}' });
    expect(bare.statusCode).toBe(401);
    expect(bare.json().message).toContain('Authorization');
    const delivery = {
      RecordType: 'Delivery',
      MessageID: 'x',
      Recipient: 'a@example.org',
      DeliveredAt: now(),
    };
    expect((await hit('postmark', postmarkRequest(delivery))).json()).toEqual({
      status: 'ignored',
      events: [],
    });
    const malformed = await hit('postmark', postmarkRequest({ RecordType: 'Bounce', ID: 5 }));
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().message).toBe('Email: missing');
  });

  it('Mailgun: a permanent failure, matched by Message-ID to its ledger row, suppresses', async () => {
    const { deliveryId, messageId } = await readerWithMessage('mg-hard@example.org');
    const event = mailgunFailed({
      id: 'G9Bn5sl1TC6bwzpQ6m1VQw',
      recipient: 'mg-hard@example.org',
      messageId: messageId.slice(1, -1), // Mailgun sends it without the angle brackets
      at: now(),
    });
    const res = await hit('mailgun', mailgunRequest(event, now()));
    expect(res.statusCode).toBe(200);
    expect(res.json().events).toEqual([
      { eventId: 'G9Bn5sl1TC6bwzpQ6m1VQw', class: 'hard', duplicate: false, suppressed: true },
    ]);
    const r = await readerState(ctx, 'mg-hard@example.org');
    expect(r.status).toBe('suppressed');
    expect(r.events[0]).toMatchObject({ source: 'mailgun', delivery_id: deliveryId });
    const evidence = await ctx.db.query<{ raw: Buffer }>(
      `SELECT raw FROM bounce_events WHERE source = 'mailgun' AND event_id = 'G9Bn5sl1TC6bwzpQ6m1VQw'`,
    );
    expect(JSON.parse(evidence.rows[0]!.raw.toString())['event-data'].recipient).toBe('mg-hard@example.org');
    // redelivered (new token and timestamp, same event id): a duplicate
    expect((await hit('mailgun', mailgunRequest(event, now()))).json().events[0].duplicate).toBe(true);
  });

  it('Mailgun: a temporary failure is ignored; bad or stale signatures are 401; a missing event-data is 400', async () => {
    await addReader(ctx, { email: 'mg-temp@example.org' });
    const temp = mailgunFailed({
      id: 'temp-1',
      recipient: 'mg-temp@example.org',
      messageId: 'x@news.example.test',
      at: now(),
      severity: 'temporary',
      code: 452,
      message: '4.2.2 mailbox full',
    });
    expect((await hit('mailgun', mailgunRequest(temp, now()))).json()).toEqual({
      status: 'ignored',
      events: [],
    });
    const forged = mailgunRequest(temp, now(), 'key-0000000000000000000000000000000');
    expect((await hit('mailgun', forged)).statusCode).toBe(401);
    const stale = mailgunRequest(temp, new Date(now().getTime() - 3600_000));
    const staleRes = await hit('mailgun', stale);
    expect(staleRes.statusCode).toBe(401);
    expect(staleRes.json().message).toContain('signature.timestamp');
    const noEvent = await hit('mailgun', {
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ signature: { timestamp: '1', token: 't', signature: 's' } }),
    });
    expect(noEvent.statusCode).toBe(400);
    expect(noEvent.json().message).toBe('event-data: not an object');
    const notJson = await hit('mailgun', {
      headers: { 'content-type': 'application/json' },
      payload: '{oops',
    });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().message).toBe('body: not JSON');
  });

  it('SendGrid: a signed batch (bounce, blocked, spamreport, delivered) maps each event', async () => {
    const { messageId } = await readerWithMessage('sg-hard@example.org');
    await addReader(ctx, { email: 'sg-blocked@example.org' });
    await addReader(ctx, { email: 'sg-spam@example.org' });
    const ts = Math.floor(now().getTime() / 1000);
    const common = {
      timestamp: ts,
      category: ['digest'],
      sg_message_id: '14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0',
    };
    const events = [
      {
        ...common,
        email: 'sg-hard@example.org',
        'smtp-id': messageId,
        event: 'bounce',
        sg_event_id: 'sg-bounce-1',
        reason: '550 5.1.1 The email account that you tried to reach does not exist.',
        status: '5.1.1',
        type: 'bounce',
        bounce_classification: 'Invalid Address',
      },
      {
        ...common,
        email: 'sg-blocked@example.org',
        event: 'bounce',
        sg_event_id: 'sg-blocked-1',
        reason: '554 5.7.1 Service unavailable; Client host [203.0.113.9] blocked using zen.spamhaus.org',
        status: '5.7.1',
        type: 'blocked',
        bounce_classification: 'Reputation',
      },
      { ...common, email: 'sg-spam@example.org', event: 'spamreport', sg_event_id: 'sg-spam-1' },
      {
        ...common,
        email: 'sg-spam@example.org',
        event: 'delivered',
        sg_event_id: 'sg-delivered-1',
        response: '250 OK',
      },
    ];
    const res = await hit('sendgrid', sendgridRequest(events, now()));
    expect(res.statusCode).toBe(200);
    expect(res.json().events).toEqual([
      { eventId: 'sg-bounce-1', class: 'hard', duplicate: false, suppressed: true },
      { eventId: 'sg-blocked-1', class: 'block', duplicate: false, suppressed: false },
      { eventId: 'sg-spam-1', class: 'complaint', duplicate: false, suppressed: true },
    ]);
    expect((await readerState(ctx, 'sg-blocked@example.org')).status).toBe('confirmed');
    expect((await readerState(ctx, 'sg-hard@example.org')).events[0]!.delivery_id).not.toBeNull();
  });

  it('SendGrid: a signature by another key, or over another body, is 401', async () => {
    const events = [{ email: 'a@example.org', event: 'spamreport', sg_event_id: 'x', timestamp: 1 }];
    expect((await hit('sendgrid', sendgridRequest(events, now(), otherSendgridKey()))).statusCode).toBe(401);
    const signed = sendgridRequest(events, now());
    const tampered = { ...signed, payload: signed.payload.replace('a@example.org', 'b@example.org') };
    expect((await hit('sendgrid', tampered)).statusCode).toBe(401);
    const unsigned = await hit('sendgrid', {
      headers: { 'content-type': 'application/json' },
      payload: '[]',
    });
    expect(unsigned.json().message).toContain('X-Twilio-Email-Event-Webhook-Signature');
    const notArray = await hit(
      'sendgrid',
      sendgridRequest({ event: 'bounce' } as unknown as object[], now()),
    );
    expect(notArray.statusCode).toBe(400);
  });

  it('Standard Webhooks: email.bounced and email.complained; idempotent on webhook-id; bad signature 401', async () => {
    await addReader(ctx, { email: 'std@example.org' });
    const body = {
      type: 'email.bounced',
      timestamp: now().toISOString(),
      data: { recipient: 'std@example.org', status: '5.1.1', diagnostic: '550 5.1.1 user unknown' },
    };
    const first = await hit('standard', standardRequest(body, now(), 'msg_2b9f1c'));
    expect(first.json().events).toEqual([
      { eventId: 'msg_2b9f1c', class: 'hard', duplicate: false, suppressed: true },
    ]);
    expect(
      (await hit('standard', standardRequest(body, now(), 'msg_2b9f1c'))).json().events[0].duplicate,
    ).toBe(true);
    const forged = standardRequest(body, now(), 'msg_x', `whsec_${Buffer.alloc(32, 1).toString('base64')}`);
    expect((await hit('standard', forged)).statusCode).toBe(401);
    const badClass = standardRequest(
      { ...body, data: { recipient: 'std@example.org', class: 'maybe' } },
      now(),
      'm2',
    );
    const bad = await hit('standard', badClass);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toBe('data.class: must be hard, soft or block');
    const other = standardRequest({ type: 'email.opened', data: {} }, now(), 'm3');
    expect((await hit('standard', other)).json().status).toBe('ignored');
  });

  it('needs no admin token, and an unconfigured relay is 404', async () => {
    const plain = await createTestContext({ workers: false });
    try {
      const res = await plain.app.inject({ method: 'POST', url: '/api/v1/bounces/postmark', payload: {} });
      expect(res.statusCode).toBe(404);
      expect(res.json().message).toContain('not configured');
    } finally {
      await plain.close();
    }
    // configured: no Bearer token, yet not refused as an admin route (401 names the relay's check)
    const res = await hit('postmark', { headers: { 'content-type': 'application/json' }, payload: '{}' });
    expect(res.json().message).not.toContain('ADMIN_TOKEN');
  });
});
