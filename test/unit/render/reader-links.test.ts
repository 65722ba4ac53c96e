import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { archiveUrl, confirmUrl, preferencesUrl, unsubscribeUrl } from '../../../src/render/reader-links.js';

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

// A reader link spelled by hand: a path of one of the reader routes followed by an interpolation.
const HAND_BUILT = /\/(?:confirm|preferences|unsubscribe|archive)\/\$\{/;
// batch-sender.ts imports them from mail/newsletter-headers.ts (a re-export) until its split lands
const BUILDER = 'src/render/reader-links.ts';

describe('reader links', () => {
  it('point at the routes that serve them, absolute for mail and relative within pages', () => {
    const base = 'https://news.example';
    expect(confirmUrl(base, 'c.t')).toBe('https://news.example/confirm/c.t');
    expect(preferencesUrl(base, 'p.t')).toBe('https://news.example/preferences/p.t');
    expect(unsubscribeUrl('', 'u.t')).toBe('/unsubscribe/u.t');
    expect(archiveUrl(base, '6f1d0c3e-0000-4000-8000-000000000001')).toBe(
      'https://news.example/archive/6f1d0c3e-0000-4000-8000-000000000001',
    );
  });

  it('are built by reader-links.ts alone', () => {
    const handBuilt = [...tsFiles('src'), ...tsFiles('workers')].filter(
      (f) => f !== BUILDER && HAND_BUILT.test(readFileSync(f, 'utf8')),
    );
    expect(handBuilt).toEqual([]);
  });
});
