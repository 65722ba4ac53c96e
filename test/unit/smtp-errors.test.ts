import { describe, expect, it } from 'vitest';
import { classifySmtpError } from '../../src/mail/smtp-errors.js';

describe('SMTP outcome classifier', () => {
  it.each([
    [
      { responseCode: 550, response: '550 5.1.1 <x@example.com>: user unknown', command: 'RCPT TO' },
      'recipient',
    ],
    [{ responseCode: 552, response: '552 5.2.2 mailbox full', command: 'RCPT TO' }, 'recipient'],
    [{ responseCode: 550, response: '550 no such user', command: 'RCPT TO' }, 'recipient'],
    [{ responseCode: 550, response: '550 5.7.1 relaying denied', command: 'RCPT TO' }, 'pause'],
    [{ responseCode: 554, response: '554 5.7.1 message rejected as spam', command: 'DATA' }, 'pause'],
    [{ responseCode: 535, response: '535 5.7.8 authentication failed', command: 'AUTH PLAIN' }, 'pause'],
    [{ code: 'EAUTH', message: 'Invalid login' }, 'pause'],
    [{ code: 'ETLS', message: 'certificate' }, 'pause'],
    [{ responseCode: 451, response: '451 4.3.0 try again later', command: 'DATA' }, 'retry'],
    [{ responseCode: 421, response: '421 4.7.0 too many connections', command: 'CONN' }, 'retry'],
    [{ code: 'ECONNECTION', originalCode: 'ECONNREFUSED', command: 'CONN' }, 'retry'],
    [{ code: 'ETIMEDOUT', timeoutType: 'GREETING_TIMEOUT', command: 'CONN' }, 'retry'],
    // nodemailer says "CONN" for a connection lost at any stage: the body may have been accepted
    [{ code: 'ECONNECTION', message: 'Connection closed unexpectedly', command: 'CONN' }, 'ambiguous'],
    [{ code: 'ETIMEDOUT', timeoutType: 'SOCKET_TIMEOUT', command: 'CONN' }, 'ambiguous'],
    [{ code: 'ESOCKET', originalCode: 'ECONNRESET', command: 'CONN' }, 'ambiguous'],
    // raw-pool.ts knows the body never started: nothing reached the server
    [{ code: 'ECONNECTION', command: 'CONN', messageUnsent: true }, 'retry'],
    [{ code: 'ETIMEDOUT', timeoutType: 'SOCKET_TIMEOUT', command: 'CONN', messageUnsent: true }, 'retry'],
    // ...but a reply still decides, and so does our own configuration
    [
      { responseCode: 550, response: '550 5.1.1 unknown', command: 'RCPT TO', messageUnsent: true },
      'recipient',
    ],
    [{ code: 'EAUTH', message: 'Invalid login', messageUnsent: true }, 'pause'],
  ])('%j is %s', (err, outcome) => {
    expect(classifySmtpError(err)).toBe(outcome);
  });
});
