import { describe, expect, it } from 'vitest';
import { readVerp, verpAddress } from '../../../src/bounces/verp.js';

const KEY = 'unit-secret-key-0123456789abcdef0123456789';
const OLD = 'old-secret-key-0123456789abcdef0123456789ab';

describe('VERP return paths', () => {
  it('names the delivery row and verifies, whatever case an MTA gives it', () => {
    const a = verpAddress(4217, KEY, 'Bounces.News.Example');
    expect(a).toMatch(/^bounce\+4217-[0-9a-f]{12}@bounces\.news\.example$/);
    expect(readVerp(a, [KEY])).toEqual({ kind: 'verp', deliveryId: 4217 });
    expect(readVerp(a.toUpperCase(), [KEY])).toEqual({ kind: 'verp', deliveryId: 4217 });
  });

  it('refuses a forged or mangled tag, and another row id under the same tag', () => {
    const a = verpAddress(10, KEY, 'b.example');
    const tag = a.slice(a.indexOf('-') + 1, a.indexOf('@'));
    expect(readVerp(`bounce+11-${tag}@b.example`, [KEY])).toEqual({ kind: 'forged' });
    expect(readVerp(`bounce+10-${tag.slice(0, -1)}@b.example`, [KEY])).toEqual({ kind: 'forged' });
    expect(readVerp('bounce+10@b.example', [KEY])).toEqual({ kind: 'forged' });
    expect(readVerp(a, [OLD])).toEqual({ kind: 'forged' });
  });

  it('verifies addresses made with the previous key during a rotation; a plain address is plain', () => {
    expect(readVerp(verpAddress(7, OLD, 'b.example'), [KEY, OLD])).toEqual({ kind: 'verp', deliveryId: 7 });
    expect(readVerp('postmaster@b.example', [KEY])).toEqual({ kind: 'plain' });
  });
});
