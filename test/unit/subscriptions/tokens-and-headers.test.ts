import { describe, expect, it } from 'vitest';
import { parseMultipart } from '../../../src/http/multipart-lite.js';
import { buildListHeaders } from '../../../src/mail/list-headers.js';
import { messageIdFor, sendingDomain } from '../../../src/mail/message-id.js';
import { createTokens, newNonce } from '../../../src/security/tokens.js';
import { normalizeEmail } from '../../../src/subscriptions/validate.js';

const KEY = 'k'.repeat(40);
const OLD = 'o'.repeat(40);
const ID = '2f1b7c7e-5a4d-4c3b-9a8e-1234567890ab';

describe('tokens', () => {
  const tokens = createTokens({ secretKey: KEY, previousKey: OLD });

  it('are compact, url-safe and bound to their purpose', () => {
    const t = tokens.unsubscribe(ID);
    expect(t).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$/);
    expect(tokens.verifyUnsubscribe(t)).toBe(ID);
    expect(tokens.verifyPreferences(t)).toBeNull();
    expect(tokens.verifyPreferences(tokens.preferences(ID))).toBe(ID);
  });

  it('reject any change to payload or tag', () => {
    const t = tokens.preferences(ID);
    const [payload, tag] = t.split('.') as [string, string];
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    expect(tokens.verifyPreferences(`${flip(payload)}.${tag}`)).toBeNull();
    expect(tokens.verifyPreferences(`${payload}.${flip(tag)}`)).toBeNull();
    expect(tokens.verifyPreferences(`${payload}.${tag.slice(0, -1)}`)).toBeNull();
    expect(tokens.verifyPreferences('')).toBeNull();
    expect(tokens.verifyPreferences('a.b.c')).toBeNull();
  });

  it('accept the previous key, and only the keys they know', () => {
    const old = createTokens({ secretKey: OLD });
    expect(tokens.verifyUnsubscribe(old.unsubscribe(ID))).toBe(ID);
    const withoutPrevious = createTokens({ secretKey: KEY });
    expect(withoutPrevious.verifyUnsubscribe(old.unsubscribe(ID))).toBeNull();
  });

  it('carry the confirmation nonce and expiry', () => {
    const nonce = newNonce();
    const expiresAt = new Date('2026-12-06T08:00:00Z');
    const claims = tokens.verifyConfirm(tokens.confirm({ subscriberId: ID, nonce, expiresAt }));
    expect(claims).toEqual({ subscriberId: ID, nonce, expiresAt });
    expect(tokens.verifyUnsubscribe(tokens.confirm({ subscriberId: ID, nonce, expiresAt }))).toBeNull();
  });

  it('sign the form render time to the millisecond', () => {
    const at = new Date('2026-11-29T08:00:00.123Z');
    expect(tokens.verifyFormRender(tokens.formRender(at))).toEqual(at);
  });
});

describe('list headers and Message-ID', () => {
  it('builds RFC 2369 and RFC 8058 headers, https first', () => {
    expect(buildListHeaders({ unsubscribeUrl: 'https://n.example/unsubscribe/abc.def' })).toEqual({
      'List-Unsubscribe': '<https://n.example/unsubscribe/abc.def>',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
    expect(
      buildListHeaders({ unsubscribeUrl: 'https://n.example/u/x', mailto: 'unsub@n.example' })[
        'List-Unsubscribe'
      ],
    ).toBe('<https://n.example/u/x>, <mailto:unsub@n.example?subject=unsubscribe>');
    expect(() => buildListHeaders({ unsubscribeUrl: 'https://n.example/u/x>\r\nBcc: a@b' })).toThrow();
  });

  it('derives a stable, keyed Message-ID on the sending domain', () => {
    const a = messageIdFor(42, KEY, 'almadar.example');
    expect(a).toMatch(/^<[A-Za-z0-9_-]{24}@almadar\.example>$/);
    expect(messageIdFor(42, KEY, 'almadar.example')).toBe(a);
    expect(messageIdFor(43, KEY, 'almadar.example')).not.toBe(a);
    expect(messageIdFor(42, OLD, 'almadar.example')).not.toBe(a);
    expect(sendingDomain('"Al-Madar" <News@Mail.Almadar.example>', 'x@y.example')).toBe(
      'mail.almadar.example',
    );
    expect(sendingDomain(undefined, 'newsletter@almadar.example')).toBe('almadar.example');
  });
});

describe('multipart one-click body', () => {
  it('reads text fields and ignores files', () => {
    const b = 'XyZ';
    const body = `--${b}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--${b}\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nignored\r\n--${b}--\r\n`;
    expect(parseMultipart(body, `multipart/form-data; boundary=${b}`)).toEqual({
      'List-Unsubscribe': 'One-Click',
    });
    expect(parseMultipart(body, `multipart/form-data; boundary="${b}"`)).toEqual({
      'List-Unsubscribe': 'One-Click',
    });
    expect(() => parseMultipart(body, 'multipart/form-data')).toThrow(/boundary/);
  });
});

describe('normalizeEmail', () => {
  it('keeps the local part, lower-cases and punycodes the domain', () => {
    expect(normalizeEmail(' Ali.Hassan+news@Example.COM ')).toEqual({
      email: 'Ali.Hassan+news@example.com',
      key: 'ali.hassan+news@example.com',
    });
    expect(normalizeEmail('user@مثال.إختبار').email).toBe('user@xn--mgbh0fb.xn--kgbechtv');
    expect(normalizeEmail(`${'a'.repeat(64)}@example.com`).email).toHaveLength(76);
  });
  it('names the field in what it refuses', () => {
    for (const bad of [
      'a@-x.com',
      'a@x..com',
      '.a@x.com',
      'a.@x.com',
      '"a b"@x.com',
      'a@x.123',
      'a@[127.0.0.1]',
    ]) {
      expect(() => normalizeEmail(bad), bad).toThrow(/^email: /);
    }
  });
});
