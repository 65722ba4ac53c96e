import { describe, expect, it } from 'vitest';
import {
  jsonDepthError,
  parseGuardedJson,
  UnsafeJsonError,
  unstorableStringError,
} from '../../../src/security/json-guard.js';

describe('jsonDepthError', () => {
  it('counts arrays and objects, not brackets inside strings or escaped quotes', () => {
    expect(jsonDepthError('{"a":[{"b":1}]}', 3)).toBeNull();
    expect(jsonDepthError('{"a":[{"b":[1]}]}', 3)).toEqual({
      field: 'body',
      message: 'body: nested deeper than 3 levels',
    });
    expect(jsonDepthError(`{"t":"${'[{'.repeat(500)}"}`, 2)).toBeNull();
    expect(jsonDepthError(`{"t":"\\"${'['.repeat(10)}"}`, 2)).toBeNull();
    expect(jsonDepthError(`{"t":"\\\\"${',['.repeat(3)}1]]]}`, 3)).not.toBeNull();
  });

  it('scans a megabyte of brackets in one linear pass without recursion', () => {
    expect(jsonDepthError('['.repeat(1_000_000))?.message).toBe('body: nested deeper than 64 levels');
    expect(jsonDepthError(`[${'[],'.repeat(300_000)}[]]`)).toBeNull();
  });
});

describe('unstorableStringError', () => {
  it('names the path of the first string or key with a NUL or a lone surrogate', () => {
    expect(unstorableStringError({ data: { tags: ['ok', 'a\u0000'] } })?.message).toBe(
      'body.data.tags[1] contains a NUL character (\\u0000)',
    );
    expect(unstorableStringError({ 'مفتاح غريب': '\ud800' })?.field).toBe('body["مفتاح غريب"]');
    expect(unstorableStringError({ 'k\u0000': 1 })?.message).toMatch(/field name contains a NUL/);
    expect(unstorableStringError({ s: '\udc00x' })?.message).toMatch(/lone UTF-16 surrogate/);
  });

  it('passes valid text, surrogate pairs, numbers and raw buffers', () => {
    expect(unstorableStringError({ t: 'خبر 📰 عاجل', n: 1, b: null, x: [true] })).toBeNull();
    expect(unstorableStringError(Buffer.from([0, 0xd8, 0]))).toBeNull();
  });
});

describe('parseGuardedJson', () => {
  it('throws UnsafeJsonError for depth and bad strings, SyntaxError for bad JSON', () => {
    expect(() => parseGuardedJson('[[[[1]]]]', 'body', 3)).toThrow(UnsafeJsonError);
    expect(() => parseGuardedJson('{"a":"\\u0000"}')).toThrow('body.a contains a NUL character');
    expect(() => parseGuardedJson('{"a":')).toThrow(SyntaxError);
    expect(parseGuardedJson('{"a":"\\ud83d\\udcf0"}')).toEqual({ a: '📰' });
  });
});
