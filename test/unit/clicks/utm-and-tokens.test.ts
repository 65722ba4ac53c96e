import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createClickTokens } from '../../../src/clicks/index.js';
import { requestScanner } from '../../../src/clicks/scanners.js';
import { withParams } from '../../../src/render/utm.js';

const UTM: [string, string][] = [
  ['utm_source', 'gazette'],
  ['utm_medium', 'email'],
  ['utm_campaign', 'daily-2026-11-29'],
];

describe('UTM parameters', () => {
  it('are added to a URL without a query, before its fragment', () => {
    expect(withParams('https://a.example/news/1', UTM)).toBe(
      'https://a.example/news/1?utm_source=gazette&utm_medium=email&utm_campaign=daily-2026-11-29',
    );
    expect(withParams('https://a.example/news/1#comments', UTM.slice(0, 1))).toBe(
      'https://a.example/news/1?utm_source=gazette#comments',
    );
  });

  it("keep the CMS's query string as written and never override its own utm values", () => {
    expect(withParams('https://a.example/p?id=5&q=a%20b#top', UTM.slice(0, 2))).toBe(
      'https://a.example/p?id=5&q=a%20b&utm_source=gazette&utm_medium=email#top',
    );
    expect(withParams('https://a.example/p?utm_source=cms', UTM.slice(0, 2))).toBe(
      'https://a.example/p?utm_source=cms&utm_medium=email',
    );
    expect(withParams('https://a.example/p?', UTM.slice(0, 1))).toBe(
      'https://a.example/p?utm_source=gazette',
    );
    expect(withParams('https://a.example/p?%zz=1', UTM.slice(0, 1))).toBe(
      'https://a.example/p?%zz=1&utm_source=gazette',
    );
  });

  it('encode the values', () => {
    expect(withParams('https://a.example/', [['utm_campaign', 'نشرة يومية&x']])).toBe(
      `https://a.example/?utm_campaign=${encodeURIComponent('نشرة يومية&x')}`,
    );
  });

  it('leave the URL untouched when the publication sets none', () => {
    expect(withParams('https://a.example/p?x=1#y', null)).toBe('https://a.example/p?x=1#y');
  });
});

describe('click tokens', () => {
  const claims = {
    editionId: '0b9a3c8e-6f1d-4c1a-9d2e-3f4a5b6c7d8e',
    slot: 7,
    subscriberId: 'f0e1d2c3-b4a5-4968-8776-655443322110',
  };
  const tokens = createClickTokens({ secretKey: 'k'.repeat(40) });

  it('round-trip edition, slot and reader', () => {
    const token = tokens.sign(claims);
    expect(token).toMatch(/^[A-Za-z0-9_-]{60}$/);
    expect(tokens.verify(token)).toEqual(claims);
  });

  it('refuse any change to the edition, slot, reader or tag', () => {
    const token = tokens.sign(claims);
    const bytes = Buffer.from(token, 'base64url');
    for (let i = 0; i < bytes.length; i++) {
      const copy = Buffer.from(bytes);
      copy[i] = copy[i]! ^ 1;
      expect(tokens.verify(copy.toString('base64url'))).toBeNull();
    }
    expect(tokens.verify(`${token}A`)).toBeNull();
    expect(tokens.verify('')).toBeNull();
  });

  it('are the bytes links already in inboxes carry: HMAC-SHA256 over edition, slot and reader', () => {
    // written by the signer before its keys became KeyObjects; a token must never change
    expect(tokens.sign(claims)).toBe('C5o8jm8dTBqdLj9KW2x9jgfw4dLDtKVJaId2ZVRDMiEQ1-HX41vXmxhaiu5y');
    const key = createHmac('sha256', 'k'.repeat(40)).update('gazette-click-key').digest();
    const payload = Buffer.concat([
      Buffer.from(claims.editionId.replace(/-/g, ''), 'hex'),
      Buffer.from([claims.slot]),
      Buffer.from(claims.subscriberId.replace(/-/g, ''), 'hex'),
    ]);
    const tag = createHmac('sha256', key).update(payload).digest().subarray(0, 12);
    expect(tokens.sign(claims)).toBe(Buffer.concat([payload, tag]).toString('base64url'));
    expect(tokens.signSlots(claims.editionId, claims.subscriberId, 8)[7]).toBe(tokens.sign(claims));
  });

  it('verify under the previous key after a rotation, and not under another key', () => {
    const old = tokens.sign(claims);
    const rotated = createClickTokens({ secretKey: 'n'.repeat(40), previousKey: 'k'.repeat(40) });
    expect(rotated.verify(old)).toEqual(claims);
    expect(createClickTokens({ secretKey: 'n'.repeat(40) }).verify(old)).toBeNull();
  });
});

describe('scanner signs in the request', () => {
  it('HEAD, scanner and script user agents, and no user agent at all', () => {
    const browser = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120 Safari/537.36';
    expect(requestScanner('GET', browser)).toBeNull();
    expect(requestScanner('HEAD', browser)).toBe('head');
    expect(requestScanner('GET', 'Mozilla/5.0 (compatible; Proofpoint URL Defense)')).toBe('user-agent');
    expect(requestScanner('GET', 'python-requests/2.31.0')).toBe('user-agent');
    expect(requestScanner('GET', undefined)).toBe('user-agent');
  });
});
