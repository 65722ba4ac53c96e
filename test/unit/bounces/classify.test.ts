import { describe, expect, it } from 'vitest';
import {
  basicCode,
  CLASSIFICATION_RULES,
  classifyDiagnosis,
  classifySmtpRefusal,
  enhancedStatus,
} from '../../../src/bounces/classify.js';
import { classifySmtpError } from '../../../src/mail/smtp-errors.js';

describe('bounce classification table', () => {
  it('has unique rule ids and at least one example per rule', () => {
    const ids = CLASSIFICATION_RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const rule of CLASSIFICATION_RULES) expect(rule.examples.length, rule.id).toBeGreaterThan(0);
  });

  // every row, with each of its examples: the row itself must be the one that decides
  for (const rule of CLASSIFICATION_RULES) {
    it.each(rule.examples)(`${rule.id} → ${rule.class}: %o`, (example) => {
      expect(classifyDiagnosis(example)).toEqual({ class: rule.class, rule: rule.id });
    });
  }

  it('reads the codes out of the text when no separate status is given', () => {
    expect(enhancedStatus('smtp; 550 5.1.1 <a@b>: user unknown')).toBe('5.1.1');
    expect(enhancedStatus('550-5.1.10 RESOLVER')).toBe('5.1.10');
    expect(basicCode('smtp; 550 5.1.1 whatever')).toBe(550);
    expect(basicCode('x-postfix; 452-4.2.2 full')).toBe(452);
    expect(classifyDiagnosis({ text: 'smtp; 550 5.1.1 go away' }).class).toBe('hard');
  });

  it('treats success and unmatched diagnostics as no bounce', () => {
    expect(classifyDiagnosis({ status: '2.0.0', text: 'delivered' })).toEqual({
      class: 'unknown',
      rule: 'status-success',
    });
    expect(classifyDiagnosis({ text: 'something odd happened' })).toEqual({
      class: 'unknown',
      rule: 'no-rule',
    });
  });
});

describe('one taxonomy at SMTP time and afterwards', () => {
  const refusals = [
    { responseCode: 550, response: '550 5.1.1 <x@example.com>: user unknown', command: 'RCPT TO' },
    {
      responseCode: 550,
      response: '550 5.5.0 Requested action not taken: mailbox unavailable',
      command: 'RCPT TO',
    },
    { responseCode: 552, response: '552 5.2.2 mailbox full', command: 'RCPT TO' },
    {
      responseCode: 554,
      response: '554 5.7.1 Client host [203.0.113.9] blocked using zen.spamhaus.org',
      command: 'RCPT TO',
    },
    { responseCode: 550, response: '550 5.7.26 unauthenticated sender', command: 'DATA' },
  ];
  it.each(refusals)('%o: a hard class fails the row, a block pauses sending', (err) => {
    const verdict = classifySmtpRefusal(err)!.class;
    const outcome = classifySmtpError(err);
    if (verdict === 'hard' || verdict === 'soft') expect(outcome).toBe('recipient');
    if (verdict === 'block') expect(outcome).toBe('pause');
  });

  it('a refusal of the mailbox by Outlook (5.5.0) fails only that row instead of pausing everything', () => {
    expect(classifySmtpError(refusals[1]!)).toBe('recipient');
  });

  it('a connection error is no verdict on the address', () => {
    expect(classifySmtpRefusal({ message: 'ECONNRESET' })).toBeUndefined();
  });
});
