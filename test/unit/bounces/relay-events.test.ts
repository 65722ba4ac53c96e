import { describe, expect, it } from 'vitest';
import {
  mailgunReports,
  postmarkReports,
  sendgridReports,
  standardReports,
} from '../../../src/bounces/relay-events.js';
import { sesReports } from '../../../src/bounces/ses-sns.js';

describe('relay events into the one taxonomy', () => {
  it.each([
    ['HardBounce', 'hard'],
    ['SoftBounce', 'soft'],
    ['DnsError', 'soft'],
    ['Blocked', 'block'],
    ['DMARCPolicy', 'block'],
    ['AutoResponder', 'auto-reply'],
  ])('Postmark %s is %s', (type, cls) => {
    const [r] = postmarkReports({ RecordType: 'Bounce', ID: 1, Type: type, Email: 'a@example.org' });
    expect(r!.class).toBe(cls);
  });

  it('Postmark Unknown bounces are decided by their words', () => {
    const [r] = postmarkReports({
      RecordType: 'Bounce',
      ID: 2,
      Type: 'Unknown',
      Email: 'a@example.org',
      Details: '550 5.7.1 blocked using zen.spamhaus.org',
    });
    expect(r).toMatchObject({ class: 'block', rule: 'postmark-Unknown/text-spam-or-reputation' });
  });

  it('Mailgun: permanent reasons, and a permanent failure without words is hard', () => {
    const base = { id: 'e', event: 'failed', severity: 'permanent', recipient: 'a@example.org' };
    expect(mailgunReports({ ...base, reason: 'espblock' })[0]!.class).toBe('block');
    expect(mailgunReports({ ...base, reason: 'old' })[0]!.class).toBe('soft');
    expect(mailgunReports({ ...base, reason: 'suppress-complaint' })[0]!.class).toBe('complaint');
    expect(mailgunReports({ ...base, reason: 'suppress-unsubscribe' })).toEqual([]);
    expect(
      mailgunReports({ ...base, reason: 'bounce', 'delivery-status': { code: 550, message: '' } })[0]!.class,
    ).toBe('hard');
    expect(
      mailgunReports({
        ...base,
        reason: 'bounce',
        'delivery-status': { code: 552, message: '5.2.2 over quota' },
      })[0]!.class,
    ).toBe('soft');
    expect(mailgunReports({ ...base, event: 'delivered' })).toEqual([]);
  });

  it('SendGrid: dropped reasons; a bounce with a reputation classification is a block', () => {
    const e = { email: 'a@example.org', sg_event_id: 'x', timestamp: 1 };
    expect(sendgridReports([{ ...e, event: 'dropped', reason: 'Bounced Address' }])[0]!.class).toBe('hard');
    expect(sendgridReports([{ ...e, event: 'dropped', reason: 'Spam Reporting Address' }])[0]!.class).toBe(
      'complaint',
    );
    expect(sendgridReports([{ ...e, event: 'dropped', reason: 'Unsubscribed Address' }])).toEqual([]);
    expect(
      sendgridReports([
        { ...e, event: 'bounce', type: 'bounce', bounce_classification: 'Reputation', reason: '550' },
      ])[0]!.class,
    ).toBe('block');
    expect(sendgridReports([{ ...e, event: 'deferred' }])).toEqual([]);
  });

  it('Standard Webhooks: the words decide without a class; a complaint is a complaint', () => {
    const [r] = standardReports(
      { type: 'email.bounced', data: { recipient: 'a@example.org', diagnostic: '552 5.2.2 mailbox full' } },
      'id',
    );
    expect(r!.class).toBe('soft');
    expect(
      standardReports({ type: 'email.complained', data: { recipient: 'a@example.org' } }, 'c')[0]!.class,
    ).toBe('complaint');
  });

  it('SES: Permanent/Suppressed is hard, a Transient block stays a block, not-spam is no complaint', () => {
    const bounce = (bounceType: string, bounceSubType: string, diagnosticCode: string) =>
      JSON.stringify({
        notificationType: 'Bounce',
        bounce: {
          bounceType,
          bounceSubType,
          bouncedRecipients: [{ emailAddress: 'a@example.org', diagnosticCode }],
        },
        mail: { headers: [{ name: 'Message-ID', value: '<m@news.example>' }] },
      });
    expect(
      sesReports('s', bounce('Permanent', 'Suppressed', 'Amazon SES has suppressed sending'))[0],
    ).toMatchObject({
      class: 'hard',
      messageId: '<m@news.example>',
    });
    expect(
      sesReports('s', bounce('Transient', 'General', '421 4.7.0 [TSS04] unexpected volume'))[0]!.class,
    ).toBe('block');
    const notSpam = JSON.stringify({
      notificationType: 'Complaint',
      complaint: {
        complainedRecipients: [{ emailAddress: 'a@example.org' }],
        complaintFeedbackType: 'not-spam',
      },
      mail: {},
    });
    expect(sesReports('s', notSpam)).toEqual([]);
  });
});
