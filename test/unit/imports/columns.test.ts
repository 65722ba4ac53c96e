import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { recognizeFormat, resolveMapping, suggestMapping } from '../../../src/imports/columns.js';
import { sniffDelimiter } from '../../../src/imports/csv-source.js';
import { parseConsentDate } from '../../../src/imports/row-parser.js';
import { createAddressHasher } from '../../../src/subscriptions/suppression-store.js';

describe('import columns', () => {
  it('sniffs the separator of the header line, ignoring quoted ones', () => {
    expect(sniffDelimiter('\uFEFFemail;name;lang\r\na,b;c')).toBe(';');
    expect(sniffDelimiter('"a;b;c",name\n')).toBe(',');
    expect(sniffDelimiter('email\tname\n')).toBe('\t');
    expect(sniffDelimiter('email\n')).toBe(',');
  });

  it('suggests a mapping from header names in English and Arabic, a full name over first and last', () => {
    expect(suggestMapping(['E-Mail', 'First Name', 'Last Name', 'Time Zone'])).toEqual({
      email: 'E-Mail',
      firstName: 'First Name',
      lastName: 'Last Name',
      timezone: 'Time Zone',
    });
    expect(suggestMapping(['البريد الإلكتروني', 'الاسم', 'الاسم الأول'])).toEqual({
      email: 'البريد الإلكتروني',
      name: 'الاسم',
    });
  });

  it('prefers the double opt-in time of a Mailchimp export as the consent date', () => {
    const m = suggestMapping(['Email Address', 'OPTIN_TIME', 'CONFIRM_TIME', 'MEMBER_RATING']);
    expect(m.consentDate).toBe('CONFIRM_TIME');
    expect(recognizeFormat(['Email Address', 'OPTIN_TIME', 'CONFIRM_TIME', 'MEMBER_RATING'])).toBe(
      'mailchimp',
    );
    expect(recognizeFormat(['uuid', 'email', 'name', 'attributes', 'status'])).toBe('listmonk');
    expect(recognizeFormat(['email', 'active_subscription', 'expiry'])).toBe('substack');
    expect(recognizeFormat(['email'])).toBeNull();
  });

  it('refuses a mapping without email, or naming a column the file lacks', () => {
    expect(() => resolveMapping(['name'], {})).toThrow(/no email column/);
    expect(() => resolveMapping(['email'], { email: 'email', name: 'Name' })).toThrow(/no column "Name"/);
    expect(resolveMapping(['x', 'email'], { email: 'email' })).toEqual({ email: 1 });
  });

  it('reads the dates the exports write', () => {
    expect(parseConsentDate('2024-11-03 10:12:44.519871 +0000 UTC')?.toISOString()).toBe(
      '2024-11-03T10:12:44.519Z',
    );
    expect(parseConsentDate('2025-03-02 08:20:11')?.toISOString()).toBe('2025-03-02T08:20:11.000Z');
    expect(parseConsentDate('2025-01-05T09:00:00.000Z')?.toISOString()).toBe('2025-01-05T09:00:00.000Z');
    expect(parseConsentDate('2025-01-05')?.toISOString()).toBe('2025-01-05T00:00:00.000Z');
    expect(parseConsentDate('yesterday')).toBeNull();
  });

  it('hashes addresses with HMAC-SHA256 under a key derived from the secret, and the previous one', () => {
    const h = createAddressHasher('current-secret', 'old-secret');
    const key = createHmac('sha256', 'current-secret').update('gazette-suppression-v1').digest();
    expect(h.hash('a@example.org')).toEqual(createHmac('sha256', key).update('a@example.org').digest());
    const [current, previous] = h.candidates('a@example.org');
    expect(current).toEqual(h.hash('a@example.org'));
    expect(previous).toEqual(createAddressHasher('old-secret').hash('a@example.org'));
    expect(h.hash('a@example.org')).not.toEqual(h.hash('b@example.org'));
  });
});
