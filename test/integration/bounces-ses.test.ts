import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { type SnsMessage, snsStringToSign } from '../../src/bounces/ses-sns.js';
import { readerState } from '../helpers/bounce-checks.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { addReader } from '../helpers/digest-fixtures.js';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:gazette-ses-feedback';
const CERT_URL =
  'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem';
const signer = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingCert = signer.publicKey.export({ type: 'spki', format: 'pem' }).toString();

/** An SNS message as SNS signs it (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA). */
function snsEnvelope(
  fields: Partial<SnsMessage> & Pick<SnsMessage, 'Type' | 'Message'>,
  version: '1' | '2' = '1',
) {
  const m = {
    MessageId: randomUUID(),
    TopicArn: TOPIC,
    Timestamp: '2026-11-29T08:00:00.000Z',
    SignatureVersion: version,
    SigningCertURL: CERT_URL,
    Signature: '',
    ...fields,
  } as SnsMessage;
  m.Signature = sign(
    version === '1' ? 'sha1' : 'sha256',
    Buffer.from(snsStringToSign(m)),
    signer.privateKey,
  ).toString('base64');
  return m;
}

/** An SES bounce notification as documented (https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html). */
function sesBounce(
  email: string,
  o: { type?: string; subType?: string; status?: string; diagnostic?: string; messageId?: string } = {},
) {
  return JSON.stringify({
    notificationType: 'Bounce',
    bounce: {
      bounceType: o.type ?? 'Permanent',
      bounceSubType: o.subType ?? 'General',
      bouncedRecipients: [
        {
          emailAddress: email,
          action: 'failed',
          status: o.status ?? '5.1.1',
          diagnosticCode: o.diagnostic ?? 'smtp; 550 5.1.1 user unknown',
        },
      ],
      timestamp: '2026-11-29T07:59:38.237Z',
      feedbackId: `0100018c-${randomUUID()}-000000`,
      remoteMtaIp: '198.51.100.7',
      reportingMTA: 'dsn; a8-70.smtp-out.amazonses.com',
    },
    mail: {
      timestamp: '2026-11-29T07:59:37.000Z',
      source: 'newsletter@news.example.test',
      sourceArn: 'arn:aws:ses:eu-west-1:123456789012:identity/news.example.test',
      sendingAccountId: '123456789012',
      messageId: '0100018c2f7c1e2a-5d2c3b4a-1111-2222-3333-444455556666-000000',
      destination: [email],
      headersTruncated: false,
      headers: o.messageId ? [{ name: 'Message-ID', value: o.messageId }] : [],
      commonHeaders: { from: ['newsletter@news.example.test'], to: [email], subject: 'Digest' },
    },
  });
}

describe('Amazon SES through SNS', () => {
  let ctx: TestContext;
  let app: Awaited<ReturnType<typeof buildApp>>;
  const confirmed: string[] = [];
  const fetched: string[] = [];
  const post = (body: object | string) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/bounces/ses',
      headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'Notification' },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    });

  beforeAll(async () => {
    ctx = await createTestContext({ workers: false, env: { BOUNCE_SES_TOPIC_ARNS: TOPIC } });
    // the one seam: what SNS hosts on amazonaws.com would answer (no network in tests)
    app = await buildApp({
      ...ctx.container,
      sns: {
        certificate: async (url) => {
          fetched.push(url);
          return signingCert;
        },
        confirm: async (url) => {
          confirmed.push(url);
        },
      },
    });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await ctx?.close();
  });

  it('confirms a SubscriptionConfirmation by fetching its SubscribeURL', async () => {
    const subscribeUrl = `https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=2336412f37fb6`;
    const res = await post(
      snsEnvelope({
        Type: 'SubscriptionConfirmation',
        Message: `You have chosen to subscribe to the topic ${TOPIC}. To confirm the subscription, visit the SubscribeURL included in this message.`,
        Token: '2336412f37fb6',
        SubscribeURL: subscribeUrl,
      }),
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'confirmed', events: [] });
    expect(confirmed).toEqual([subscribeUrl]);
    expect(fetched.at(-1)).toBe(CERT_URL);
  });

  it('a Permanent bounce (SignatureVersion 1 and 2) suppresses; a Transient one counts as soft', async () => {
    await addReader(ctx, { email: 'ses-hard@example.org' });
    await addReader(ctx, { email: 'ses-soft@example.org' });
    const hard = await post(
      snsEnvelope({ Type: 'Notification', Message: sesBounce('ses-hard@example.org') }, '2'),
    );
    expect(hard.statusCode).toBe(200);
    expect(hard.json().events[0]).toMatchObject({ class: 'hard', suppressed: true, duplicate: false });
    expect((await readerState(ctx, 'ses-hard@example.org')).status).toBe('suppressed');
    const soft = await post(
      snsEnvelope({
        Type: 'Notification',
        Message: sesBounce('ses-soft@example.org', {
          type: 'Transient',
          subType: 'MailboxFull',
          status: '4.2.2',
          diagnostic: 'smtp; 452 4.2.2 mailbox full',
        }),
      }),
    );
    expect(soft.json().events[0]).toMatchObject({ class: 'soft', suppressed: false });
  });

  it('a complaint suppresses; the same SNS message redelivered is a duplicate', async () => {
    await addReader(ctx, { email: 'ses-spam@example.org' });
    const complaint = JSON.stringify({
      notificationType: 'Complaint',
      complaint: {
        userAgent: 'Yahoo!-Mail-Feedback/2.0',
        complainedRecipients: [{ emailAddress: 'ses-spam@example.org' }],
        complaintFeedbackType: 'abuse',
        arrivalDate: '2026-11-29T07:58:00.000Z',
        timestamp: '2026-11-29T07:59:00.000Z',
        feedbackId: '0100018c-complaint-1',
      },
      mail: { messageId: 'x', destination: ['ses-spam@example.org'], headers: [] },
    });
    const envelope = snsEnvelope({ Type: 'Notification', Message: complaint });
    expect((await post(envelope)).json().events[0]).toMatchObject({ class: 'complaint', suppressed: true });
    expect((await post(envelope)).json().events[0]).toMatchObject({ duplicate: true });
  });

  it('refuses a forged signature, another topic, and a certificate off amazonaws.com; 400 names a missing field', async () => {
    const good = snsEnvelope({ Type: 'Notification', Message: sesBounce('nobody@example.org') });
    const forged = { ...good, Message: sesBounce('victim@example.org') };
    expect((await post(forged)).statusCode).toBe(401);
    const otherTopic = snsEnvelope({
      Type: 'Notification',
      Message: sesBounce('victim@example.org'),
      TopicArn: 'arn:aws:sns:eu-west-1:999999999999:attacker',
    });
    const topicRes = await post(otherTopic);
    expect(topicRes.statusCode).toBe(401);
    expect(topicRes.json().message).toContain('TopicArn');
    const evilCert = snsEnvelope({
      Type: 'Notification',
      Message: sesBounce('victim@example.org'),
      SigningCertURL: 'https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem',
    });
    expect((await post(evilCert)).json().message).toContain('SigningCertURL');
    const { Signature: _s, ...unsigned } = good;
    const missing = await post(unsigned);
    expect(missing.statusCode).toBe(400);
    expect(missing.json().message).toBe('Signature: missing');
  });

  it('a Delivery notification is acknowledged and ignored', async () => {
    const delivery = JSON.stringify({
      notificationType: 'Delivery',
      mail: {},
      delivery: { recipients: ['a@example.org'] },
    });
    expect((await post(snsEnvelope({ Type: 'Notification', Message: delivery }))).json()).toEqual({
      status: 'ignored',
      events: [],
    });
  });
});
