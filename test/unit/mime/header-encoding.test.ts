import { describe, expect, it } from 'vitest';
import {
  addressHeader,
  encodedWords,
  HeaderError,
  unstructuredHeader,
} from '../../../src/mail/mime/header-encoding.js';

const ARABIC_SUBJECT = 'صحيفة المدار: نشرة الأحد، ١ تشرين الثاني ٢٠٢٦ — أبرز الأخبار السياسية والاقتصادية 😀';

function decodeWord(word: string): string {
  const match = /^=\?UTF-8\?B\?([A-Za-z0-9+/=]+)\?=$/.exec(word);
  expect(match, word).not.toBeNull();
  return Buffer.from(match![1]!, 'base64').toString('utf8');
}

describe('RFC 2047 encoded-words', () => {
  it('splits between characters, never inside a UTF-8 sequence', () => {
    const words = encodedWords(ARABIC_SUBJECT);
    expect(words.length).toBeGreaterThan(1);
    for (const word of words) {
      expect(word.length).toBeLessThanOrEqual(75);
      // Each word must decode on its own: a split multi-byte character would give U+FFFD.
      expect(decodeWord(word)).not.toContain('\ufffd');
    }
    expect(words.map(decodeWord).join('')).toBe(ARABIC_SUBJECT);
  });

  it('folds an Arabic subject into lines of at most 78 characters', () => {
    const header = unstructuredHeader('Subject', ARABIC_SUBJECT);
    expect(header.endsWith('\r\n')).toBe(true);
    const lines = header.slice(0, -2).split('\r\n');
    expect(lines[0]!.startsWith('Subject: =?UTF-8?B?')).toBe(true);
    for (const [i, line] of lines.entries()) {
      expect(line.length).toBeLessThanOrEqual(78);
      if (i > 0) expect(line.startsWith(' ')).toBe(true);
    }
  });

  it('folds long ASCII values at whitespace and keeps a long URL whole', () => {
    const url = `<https://almadar.example/u?t=${'x'.repeat(200)}>`;
    const header = unstructuredHeader('List-Unsubscribe', `${url}, <mailto:u@almadar.example>`);
    const lines = header.slice(0, -2).split('\r\n');
    expect(lines).toEqual([`List-Unsubscribe: ${url},`, ' <mailto:u@almadar.example>']);
  });

  it('refuses header injection', () => {
    expect(() => unstructuredHeader('X-Test', 'a\r\nBcc: victim@example.org')).toThrow(HeaderError);
    expect(() => unstructuredHeader('Bad Name', 'a')).toThrow(HeaderError);
    expect(() => addressHeader('To', 'a@b.example>\r\nBcc: c@d.example')).toThrow(HeaderError);
  });

  it('encodes Arabic display names and quotes ASCII ones with specials', () => {
    const arabic = addressHeader('From', { name: 'نشرة المدار', address: 'newsletter@almadar.example' });
    expect(arabic).toMatch(/^From: =\?UTF-8\?B\?[^?]+\?= <newsletter@almadar\.example>\r\n$/);
    expect(addressHeader('To', { name: 'Doe, "Jo"', address: 'jo@example.org' })).toBe(
      'To: "Doe, \\"Jo\\"" <jo@example.org>\r\n',
    );
  });
});
