import { describe, expect, it } from 'vitest';
import {
  encodeQp,
  encodeQpLine,
  encodeQpLineBytes,
  MAX_QP_LINE,
  qpLineEncoder,
} from '../../../src/mail/mime/quoted-printable.js';

/** Minimal RFC 2045 decoder, independent of the encoder under test. */
function decodeQp(encoded: string): string {
  const bytes: number[] = [];
  const joined = encoded.replace(/=\r\n/g, '');
  for (let i = 0; i < joined.length; i++) {
    const ch = joined[i]!;
    if (ch === '=') {
      bytes.push(Number.parseInt(joined.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (ch === '\r' && joined[i + 1] === '\n') {
      bytes.push(10);
      i += 1;
    } else bytes.push(ch.charCodeAt(0));
  }
  return Buffer.from(bytes).toString('utf8');
}

const samples = [
  '',
  'plain ascii',
  'صحيفة المدار، شارع بغداد 12، دمشق، سوريا',
  `<a href="https://almadar.example/u?token=${'a='.repeat(60)}">إلغاء الاشتراك</a>`,
  'trailing space ',
  'trailing tab\t',
  `${'x'.repeat(75)}=`,
  `${'y'.repeat(74)}é`,
  '😀 emoji and عربي mixed with = signs and\ttabs',
  '.mj-outlook-group-fix { width:100% !important; }',
  '.',
  `${'z'.repeat(75)}.after a soft break`,
];

describe('quoted-printable', () => {
  it.each(samples)('round-trips and keeps lines within 76 characters: %s', (line) => {
    const encoded = encodeQpLine(line);
    for (const l of encoded.split('\r\n')) expect(l.length).toBeLessThanOrEqual(MAX_QP_LINE);
    expect(encoded).toMatch(/^[\t\x20-\x7e\r\n]*$/);
    expect(decodeQp(encoded)).toBe(line);
  });

  it('never ends an encoded line with whitespace', () => {
    const encoded = encodeQp(`a ${' '.repeat(100)}\nb\t`);
    for (const l of encoded.split('\r\n')) expect(l).not.toMatch(/[ \t]$/);
  });

  it('never splits an escape across a soft break', () => {
    const encoded = encodeQpLine('ع'.repeat(200));
    for (const l of encoded.split('\r\n')) expect(l).toMatch(/^(=[0-9A-F]{2})*=?$/);
  });

  it('never starts an encoded line with a dot, at a source line or after a soft break', () => {
    expect(encodeQpLine('.')).toBe('=2E');
    expect(encodeQpLine('.mj-column { width:100% }')).toBe('=2Emj-column { width:100% }');
    expect(encodeQpLine('a.b')).toBe('a.b');
    const encoded = encodeQp(`${'.'.repeat(200)}\n${'w'.repeat(75)}.x\n.\n`);
    const lines = encoded.split('\r\n');
    expect(lines.filter((l) => l.startsWith('.'))).toEqual([]);
    expect(lines).toContain('=2Ex');
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(MAX_QP_LINE);
    expect(decodeQp(encoded)).toBe(`${'.'.repeat(200)}\n${'w'.repeat(75)}.x\n.\n`);
  });

  it('uses CRLF hard breaks at the source newlines', () => {
    expect(encodeQp('a\nb\r\nc')).toBe('a\r\nb\r\nc');
  });

  it('writes the same bytes as the string encoder it replaced, with or without the CRLF', () => {
    // deterministic lines of ASCII, "=", dots, spaces, tabs, Arabic and emoji, 0-400 characters
    const alphabet = ['a', 'Z', '7', '=', '.', ' ', '\t', '"', '{', 'ع', 'ب', 'é', '😀', '/', '?', '&'];
    let seed = 20;
    const next = () => {
      // a 32-bit LCG, its high bits (its low bits repeat with short periods)
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed >>> 8;
    };
    const lines = [...samples];
    for (let k = 0; k < 500; k++) {
      const length = next() % 400;
      lines.push(Array.from({ length }, () => alphabet[next() % alphabet.length]).join(''));
    }
    for (const line of lines) {
      expect(encodeQpLine(line)).toBe(stringEncoder(line));
      expect(encodeQpLineBytes(line, true).toString('latin1')).toBe(`${stringEncoder(line)}\r\n`);
    }
  });

  it('encodes a line of pieces and values as the whole line at once, for values of every length', () => {
    const alphabet = ['a', '=', '.', ' ', '\t', 'ع', '😀', '/'];
    let seed = 7;
    const next = () => {
      // a 32-bit LCG, its high bits (its low bits repeat with short periods)
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed >>> 8;
    };
    const text = (max: number) =>
      Array.from({ length: next() % max }, () => alphabet[next() % alphabet.length]).join('');
    for (let k = 0; k < 60; k++) {
      // some pieces empty (a token at the start or end of the line), some long
      const pieces = Array.from({ length: 1 + (next() % 4) }, () => (next() % 3 === 0 ? '' : text(160)));
      const encode = qpLineEncoder(pieces);
      // the same line for many readers: the pieces' encodings are reused at each starting column
      for (let reader = 0; reader < 40; reader++) {
        const values = pieces.slice(1).map(() => (next() % 5 === 0 ? '' : text(120)));
        const line = pieces.map((p, i) => (i === 0 ? p : values[i - 1] + p)).join('');
        expect(encode(values).toString('latin1')).toBe(`${stringEncoder(line)}\r\n`);
      }
    }
    // a piece that ends the line only when the values after it are empty: its trailing space escaped then
    const trailing = qpLineEncoder(['ab ', '']);
    expect(trailing(['q']).toString('latin1')).toBe('ab q\r\n');
    expect(trailing(['']).toString('latin1')).toBe('ab=20\r\n');
    expect(trailing(['q']).toString('latin1')).toBe('ab q\r\n');
    expect(() => qpLineEncoder(['a', 'b'])([])).toThrow(/1 values expected/);
  });
});

/** The previous encodeQpLine, string by string: the reference the buffer encoder must match. */
function stringEncoder(line: string): string {
  const bytes = Buffer.from(line, 'utf8');
  const last = bytes.length - 1;
  let out = '';
  let width = 0;
  for (let i = 0; i <= last; i++) {
    const byte = bytes[i]!;
    const literal = (byte >= 33 && byte <= 126 && byte !== 61) || byte === 32 || byte === 9;
    let piece = literal ? String.fromCharCode(byte) : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    if (i === last && (byte === 32 || byte === 9)) piece = byte === 32 ? '=20' : '=09';
    const room = i === last ? MAX_QP_LINE : MAX_QP_LINE - 1;
    if (width + piece.length > room) {
      out += '=\r\n';
      width = 0;
    }
    if (width === 0 && byte === 0x2e) piece = '=2E';
    out += piece;
    width += piece.length;
  }
  return out;
}
