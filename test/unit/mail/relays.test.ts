import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { isRelayFailure, redactRelayUrl, relayUrlsFor } from '../../../src/mail/relays.js';
import type { SmtpLikeError } from '../../../src/mail/smtp-errors.js';

describe('a failure about the relay itself, before the message left', () => {
  it.each<[SmtpLikeError, boolean]>([
    // cannot connect, or the session fails: no message was on this connection
    [{ code: 'ESOCKET', originalCode: 'ECONNREFUSED', command: 'CONN' }, true],
    [{ code: 'ETIMEDOUT', timeoutType: 'GREETING_TIMEOUT', command: 'CONN' }, true],
    [
      {
        code: 'EPROTOCOL',
        responseCode: 421,
        response: '421 4.3.2 Service not available',
        command: 'CONN',
        messageUnsent: true,
      },
      true,
    ],
    [
      {
        code: 'EAUTH',
        responseCode: 535,
        response: '535 5.7.8 authentication failed',
        command: 'AUTH PLAIN',
      },
      true,
    ],
    [{ code: 'ETLS', message: 'certificate has expired' }, true],
    [{ code: 'ECONNECTION', command: 'CONN', messageUnsent: true }, true],
    // the relay's own trouble during the envelope, before DATA's 354 (raw-pool says unsent)
    [
      {
        code: 'EENVELOPE',
        responseCode: 451,
        response: '451 4.3.0 Local error in processing',
        command: 'MAIL FROM',
        messageUnsent: true,
      },
      true,
    ],
    [
      {
        code: 'EENVELOPE',
        responseCode: 530,
        response: '530 5.7.0 Authentication required',
        command: 'MAIL FROM',
        messageUnsent: true,
      },
      true,
    ],
    [
      {
        code: 'EMESSAGE',
        responseCode: 452,
        response: '452 4.3.1 Insufficient system storage',
        command: 'DATA',
        messageUnsent: true,
      },
      true,
    ],
    // a provider's throttling reply is shaping's, not the relay's
    [
      {
        code: 'EENVELOPE',
        responseCode: 421,
        response: '421 4.7.28 unusual rate of unsolicited mail',
        command: 'RCPT TO',
        messageUnsent: true,
      },
      false,
    ],
    [
      {
        code: 'EPROTOCOL',
        responseCode: 421,
        response: '421 4.7.0 [TS04] Messages from x temporarily deferred',
        command: 'CONN',
        messageUnsent: true,
      },
      false,
    ],
    [
      {
        code: 'EENVELOPE',
        responseCode: 451,
        response: '451 4.7.1 rate limit exceeded',
        command: 'MAIL FROM',
        messageUnsent: true,
      },
      false,
    ],
    // about one recipient or its domain, or the message itself
    [
      {
        code: 'EENVELOPE',
        responseCode: 451,
        response: '451 4.3.0 domain lookup failed',
        command: 'RCPT TO',
        messageUnsent: true,
      },
      false,
    ],
    [
      {
        code: 'EENVELOPE',
        responseCode: 550,
        response: '550 5.1.1 user unknown',
        command: 'RCPT TO',
        messageUnsent: true,
      },
      false,
    ],
    [
      {
        code: 'EENVELOPE',
        responseCode: 452,
        response: '452 4.2.2 mailbox full',
        command: 'MAIL FROM',
        messageUnsent: true,
      },
      false,
    ],
    // the body may have left: ambiguous, never sent again (to this relay or another)
    [{ code: 'ECONNECTION', message: 'Connection closed unexpectedly', command: 'CONN' }, false],
    [{ code: 'ESOCKET', originalCode: 'ECONNRESET', command: 'CONN' }, false],
    [{ code: 'ETIMEDOUT', timeoutType: 'SOCKET_TIMEOUT', command: 'CONN' }, false],
    [
      { code: 'EMESSAGE', responseCode: 451, response: '451 4.3.0 queue write error', command: 'DATA_END' },
      false,
    ],
    // the body's own stream failed (the hand-off log): Gazette's trouble, not the relay's
    [{ code: 'ESTREAM', command: 'API', message: 'hand-off log unavailable', messageUnsent: true }, false],
  ])('%o -> %s', (err, expected) => {
    expect(isRelayFailure(err)).toBe(expected);
  });
});

describe('relay URLs', () => {
  it('are named without user, password, path or query', () => {
    expect(redactRelayUrl('smtps://apikey:SG.secret@smtp.sendgrid.net:465/?pool=true')).toBe(
      'smtps://smtp.sendgrid.net:465',
    );
    expect(redactRelayUrl('not a url')).not.toContain('not a url');
  });

  it('are SMTP_URL then SMTP_FALLBACK_URLS in order; one SMTP_URL is one relay', () => {
    const one = loadConfig({ NODE_ENV: 'test', SMTP_URL: 'smtp://a.example:25' });
    expect(relayUrlsFor(one)).toEqual(['smtp://a.example:25']);
    const three = loadConfig({
      NODE_ENV: 'test',
      SMTP_URL: 'smtp://a.example:25',
      SMTP_FALLBACK_URLS: ' smtps://u:p@b.example:465 , smtp://c.example:587 ',
    });
    expect(relayUrlsFor(three)).toEqual([
      'smtp://a.example:25',
      'smtps://u:p@b.example:465',
      'smtp://c.example:587',
    ]);
  });

  it.each([
    [
      'http://user:hunter2@b.example',
      /entry 1 \(http:\/\/b\.example\) is not an smtp:\/\/ or smtps:\/\/ URL/,
    ],
    ['smtp://b.example:25,smtp://x:hunter2@[::1', /entry 2 is not a URL/],
    [
      'smtp://b.example:25, smtp://other:hunter2@a.example:25',
      /entry 2 \(smtp:\/\/a\.example:25\) names a relay already listed/,
    ],
  ])('a bad SMTP_FALLBACK_URLS entry (%s) is named without its credentials', (value, message) => {
    const run = () =>
      loadConfig({ NODE_ENV: 'test', SMTP_URL: 'smtp://a.example:25', SMTP_FALLBACK_URLS: value });
    expect(run).toThrow(message);
    expect(run).not.toThrow(/hunter2/);
  });

  it('fallbacks need a primary', () => {
    expect(() => loadConfig({ NODE_ENV: 'test', SMTP_FALLBACK_URLS: 'smtp://b.example:25' })).toThrow(
      /SMTP_FALLBACK_URLS: needs SMTP_URL/,
    );
  });
});
