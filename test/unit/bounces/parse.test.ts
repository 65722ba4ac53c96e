import { describe, expect, it } from 'vitest';
import { parseReport } from '../../../src/bounces/parse.js';
import { bounceFixture } from '../../helpers/bounce-fixtures.js';

const values = {
  verp: 'b-7ps-a1b2c3d4e5@bounces.almadar.example',
  recipient: 'reader@example.net',
  messageId: '<abc123@almadar.example>',
};

describe('parsing received reports', () => {
  it.each([
    ['postfix-user-unknown', 'dsn', 'hard', '5.1.1'],
    ['exim-unrouteable', 'dsn', 'hard', '5.0.0'],
    ['office365-not-found', 'dsn', 'hard', '5.1.10'],
    ['gmail-no-such-user', 'dsn', 'hard', '5.1.1'],
    ['gmail-over-quota', 'dsn', 'soft', '5.2.2'],
    ['postfix-spam-block', 'dsn', 'block', '5.7.1'],
    ['yahoo-failure-notice', 'text-bounce', 'hard', null],
    ['qmail-failure', 'text-bounce', 'hard', '5.1.1'],
  ])('%s is a %s, class %s, status %s', async (name, kind, cls, status) => {
    const r = await parseReport(bounceFixture(name, values));
    expect(r.kind).toBe(kind);
    expect(r.classification.class).toBe(cls);
    expect(r.recipients).toHaveLength(1);
    expect(r.recipients[0]!.recipient).toBe('reader@example.net');
    expect(r.recipients[0]!.status).toBe(status);
    // the spam refusal returns no copy of the message
    if (name !== 'postfix-spam-block') expect(r.originalMessageId).toBe('<abc123@almadar.example>');
  });

  it('reads the DSN fields of a Postfix report, the folded diagnostic included', async () => {
    const r = await parseReport(bounceFixture('postfix-user-unknown', values));
    expect(r.recipients[0]).toMatchObject({
      originalRecipient: 'reader@example.net',
      action: 'failed',
      remoteMta: 'mail.example.net',
      diagnostic:
        '550 5.1.1 <reader@example.net>: Recipient address rejected: User unknown in virtual mailbox table',
      classification: { class: 'hard', rule: 'text-no-such-user' },
    });
    expect(r.originalMailFrom).toBe(values.verp);
  });

  it('a delay notice is no bounce', async () => {
    const r = await parseReport(bounceFixture('postfix-delayed', values));
    expect(r.kind).toBe('dsn');
    expect(r.classification).toEqual({ class: 'unknown', rule: 'dsn-action-delayed' });
  });

  it.each([
    ['yahoo-arf-complaint', 'reader@example.net'],
    ['microsoft-jmrp-complaint', 'redacted@outlook.example'],
  ])('%s is an ARF complaint naming the VERP sender', async (name, rcpt) => {
    const r = await parseReport(bounceFixture(name, values));
    expect(r.kind).toBe('arf');
    expect(r.feedbackType).toBe('abuse');
    expect(r.classification.class).toBe('complaint');
    expect(r.originalMailFrom).toBe(values.verp);
    expect(r.originalMessageId).toBe(values.messageId);
    expect(r.recipients[0]!.recipient).toBe(rcpt);
  });

  it.each(['auto-reply-ar', 'auto-reply-exchange'])('%s is an auto-reply', async (name) => {
    const r = await parseReport(bounceFixture(name, values));
    expect(r.kind).toBe('auto-reply');
    expect(r.classification.class).toBe('auto-reply');
    expect(r.originalMessageId).toBe(values.messageId);
  });

  it('a DSN is not mistaken for an auto-reply although it carries Auto-Submitted', async () => {
    const r = await parseReport(bounceFixture('gmail-no-such-user', values));
    expect(r.kind).toBe('dsn');
  });

  it('garbage and a plain letter are "other", never a throw', async () => {
    expect((await parseReport(Buffer.from('\u0000\u0001 not mail at all'))).kind).toBe('other');
    const letter = Buffer.from('From: a@b.example\r\nSubject: hello\r\n\r\nJust writing to say hi.\r\n');
    expect((await parseReport(letter)).kind).toBe('other');
  });
});
