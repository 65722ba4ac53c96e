import { describe, expect, it } from 'vitest';
import { cleanText, stripBidiControls } from '../../../src/render/safe-text.js';

describe('bidi controls in content', () => {
  it('removes overrides, embeddings and isolates that reorder what a reader sees', () => {
    expect(stripBidiControls('فاتورة\u202Egnp.exe')).toBe('فاتورةgnp.exe');
    for (const cp of [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]) {
      expect(stripBidiControls(`a${String.fromCodePoint(cp)}b`)).toBe('ab');
    }
  });

  it('a name cannot close the isolate Gazette wraps around it', () => {
    expect(cleanText('\u2069 سارة \u2066')).toBe('سارة');
  });

  it('keeps the Arabic letter mark inside text and trims it at the edges', () => {
    expect(stripBidiControls('\u061cالعدد\u061c 5\u061c')).toBe('العدد\u061c 5');
  });

  it('leaves ordinary Arabic and English text untouched', () => {
    const text = 'وزارة المالية تعلن موازنة 2027 — Budget';
    expect(cleanText(text)).toBe(text);
  });
});
