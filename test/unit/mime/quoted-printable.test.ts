import { describe, expect, it } from 'vitest';
import { encodeQp, encodeQpLine, MAX_QP_LINE } from '../../../src/mail/mime/quoted-printable.js';

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
});
