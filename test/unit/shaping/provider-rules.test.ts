import { describe, expect, it } from 'vitest';
import { isThrottleReply } from '../../../src/mail/smtp-errors.js';
import { createProviderRules, isLimited } from '../../../src/shaping/provider-rules.js';
import { warmupCap } from '../../../src/shaping/warmup.js';

describe('provider rules', () => {
  const rules = createProviderRules(
    {
      mx: [{ pattern: '*.mx.example-isp.net', provider: 'example-isp' }],
      domains: { 'News.Example': 'gmail' },
      providers: { gmail: { perSecond: 300 }, default: { maxConnections: 20 }, microsoft: { perHour: 1000 } },
    },
    { gmail: { perHour: 50_000 }, default: { perSecond: 100 } },
  );

  it('maps MX hosts through the published patterns, most preferred host first', () => {
    expect(rules.byMx('acme.test', ['aspmx.l.google.com.'])).toBe('gmail');
    expect(rules.byMx('acme.test', ['acme-test.mail.protection.outlook.com'])).toBe('microsoft');
    expect(rules.byMx('acme.test', ['mta5.am0.yahoodns.net'])).toBe('yahoo');
    expect(rules.byMx('acme.test', ['in1.mx.example-isp.net'])).toBe('example-isp');
    expect(rules.byMx('acme.test', ['mail.acme.test', 'aspmx.l.google.com'])).toBe('gmail');
  });

  it('falls back to the domain itself, and never matches a look-alike host', () => {
    expect(rules.byMx('Acme.Test.', ['mail.acme.test'])).toBe('acme.test');
    expect(rules.byMx('acme.test', ['evilgoogle.com'])).toBe('acme.test');
    expect(rules.byMx('acme.test', [])).toBe('acme.test');
  });

  it('knows the big consumer domains and the file’s domains without DNS', () => {
    expect(rules.byDomain('GMAIL.com')).toBe('gmail');
    expect(rules.byDomain('hotmail.com')).toBe('microsoft');
    expect(rules.byDomain('news.example')).toBe('gmail');
    expect(rules.byDomain('acme.test')).toBeUndefined();
  });

  it('layers limits: a provider’s own entries beat every default, env beats the file', () => {
    expect(rules.limits('gmail')).toEqual({ perSecond: 300, perHour: 50_000, maxConnections: 20 });
    // the published microsoft default (10 connections) beats the file's default of 20
    expect(rules.limits('microsoft')).toEqual({ perSecond: 100, perHour: 1000, maxConnections: 10 });
    expect(rules.limits('acme.test')).toEqual({ perSecond: 100, maxConnections: 20 });
    expect(isLimited(createProviderRules({ mx: [], domains: {}, providers: {} }).limits('acme.test'))).toBe(
      false,
    );
  });
});

describe('throttling replies', () => {
  it('tells a provider asking to slow down from other temporary failures', () => {
    const rcpt = (responseCode: number, response: string) => ({ responseCode, response, command: 'RCPT TO' });
    expect(isThrottleReply(rcpt(421, '421 4.7.28 Our system has detected an unusual rate'))).toBe(true);
    expect(isThrottleReply(rcpt(451, '451 4.7.0 [TSS04] Messages temporarily deferred'))).toBe(true);
    expect(isThrottleReply(rcpt(421, '421 4.7.0 [TS04] Messages from 1.2.3.4 temporarily deferred'))).toBe(
      true,
    );
    expect(isThrottleReply(rcpt(452, '452 4.5.3 Too many recipients'))).toBe(true);
    expect(
      isThrottleReply(rcpt(450, '450 4.2.1 The user you are trying to contact is receiving mail at a rate')),
    ).toBe(true);
    // a full mailbox, a greylisting, a relay's own greeting, a permanent refusal: not the provider's pace
    expect(isThrottleReply(rcpt(452, '452 4.2.2 Mailbox full'))).toBe(false);
    expect(isThrottleReply(rcpt(451, '451 4.3.0 Temporary lookup failure'))).toBe(false);
    expect(isThrottleReply(rcpt(451, '451 4.7.1 Greylisted, try again later'))).toBe(false);
    expect(isThrottleReply(rcpt(451, '451 4.7.500 Server busy. Please try again later'))).toBe(true);
    expect(isThrottleReply({ responseCode: 421, response: '421 shutting down', command: 'CONN' })).toBe(
      false,
    );
    expect(isThrottleReply(rcpt(550, '550 5.7.1 rate limit'))).toBe(false);
    expect(isThrottleReply({ code: 'ECONNRESET' })).toBe(false);
  });
});

describe('warm-up cap', () => {
  const warmup = { since: '2026-12-01', start: 1000, growth: 2, max: 50_000 };
  it('starts small and grows by day up to its maximum', () => {
    const day = (n: number) => Date.parse('2026-12-01T12:00:00Z') + n * 86_400_000;
    expect(warmupCap(warmup, day(-3))).toBe(1000);
    expect(warmupCap(warmup, day(0))).toBe(1000);
    expect(warmupCap(warmup, day(1))).toBe(2000);
    expect(warmupCap(warmup, day(5))).toBe(32_000);
    expect(warmupCap(warmup, day(6))).toBe(50_000);
    expect(warmupCap(warmup, day(400))).toBe(50_000);
  });
});
