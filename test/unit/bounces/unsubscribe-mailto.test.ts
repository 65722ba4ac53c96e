import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readUnsubscribeMailto, unsubscribeMailto } from '../../../src/bounces/unsubscribe-mailto.js';

const KEY = 'test-secret-key-0123456789abcdef0123456789';
const OLD = 'previous-secret-key-0123456789abcdef012345';
const BASE = 'unsubscribe@news.example.org';

describe('per-reader List-Unsubscribe mailto', () => {
  it('round-trips the reader, in lower case, within 64 octets of local part', () => {
    for (let i = 0; i < 50; i++) {
      const id = randomUUID();
      const address = unsubscribeMailto(BASE, id, KEY);
      expect(address).toMatch(/^unsubscribe\+[a-z2-7]{26}-[a-z2-7]{16}@news\.example\.org$/);
      expect(address.split('@')[0]!.length).toBeLessThanOrEqual(64);
      expect(readUnsubscribeMailto(address, BASE, [KEY])).toEqual({ kind: 'reader', subscriberId: id });
      // an MTA that upper-cases the address changes nothing
      expect(readUnsubscribeMailto(address.toUpperCase(), BASE, [KEY])).toEqual({
        kind: 'reader',
        subscriberId: id,
      });
    }
  });

  it('a key rotation keeps addresses already in inboxes working', () => {
    const id = randomUUID();
    expect(readUnsubscribeMailto(unsubscribeMailto(BASE, id, OLD), BASE, [KEY, OLD])).toMatchObject({
      kind: 'reader',
    });
    expect(readUnsubscribeMailto(unsubscribeMailto(BASE, id, OLD), BASE, [KEY]).kind).toBe('forged');
  });

  it("a made-up, altered or other reader's tag does not verify", () => {
    const a = unsubscribeMailto(BASE, randomUUID(), KEY);
    const b = unsubscribeMailto(BASE, randomUUID(), KEY);
    const mixed = `${a.slice(0, a.indexOf('-'))}${b.slice(b.indexOf('-'))}`;
    expect(readUnsubscribeMailto(mixed, BASE, [KEY]).kind).toBe('forged');
    const flipped = a.replace(/-(.)/, (_, c: string) => `-${c === 'a' ? 'b' : 'a'}`);
    expect(readUnsubscribeMailto(flipped, BASE, [KEY]).kind).toBe('forged');
    expect(readUnsubscribeMailto('unsubscribe+nothing@news.example.org', BASE, [KEY]).kind).toBe('forged');
    expect(readUnsubscribeMailto(BASE, BASE, [KEY]).kind).toBe('bare');
    expect(readUnsubscribeMailto('editor@news.example.org', BASE, [KEY]).kind).toBe('other');
    expect(readUnsubscribeMailto(a.replace('news.example.org', 'evil.example'), BASE, [KEY]).kind).toBe(
      'other',
    );
    expect(readUnsubscribeMailto(a, undefined, [KEY]).kind).toBe('other');
  });
});
