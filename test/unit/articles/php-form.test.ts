import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../../src/articles/index.js';
import { parsePhpForm } from '../../../src/articles/normalize/php-form.js';

describe('form-encoded bodies read as PHP reads them', () => {
  it('nests bracketed keys, appends [] and turns 0..n-1 keys into lists; values stay strings', () => {
    const body =
      'post_id=4821&post%5BID%5D=4821&post%5Bpost_title%5D=%D8%AE%D8%A8%D8%B1' +
      '&taxonomies[category][news][name]=%D8%A3%D8%AE%D8%A8%D8%A7%D8%B1&tags[]=a&tags[]=b' +
      '&post_meta[_thumbnail_id][0]=12&empty=&plus=a+b';
    expect(parsePhpForm(body)).toEqual({
      post_id: '4821',
      post: { ID: '4821', post_title: 'خبر' },
      taxonomies: { category: { news: { name: 'أخبار' } } },
      tags: ['a', 'b'],
      post_meta: { _thumbnail_id: ['12'] },
      empty: '',
      plus: 'a b',
    });
  });

  it('refuses keys that would reach the object prototype, and absurd nesting', () => {
    expect(() => parsePhpForm('post[__proto__][x]=1')).toThrow(PayloadError);
    expect(() => parsePhpForm('constructor[prototype][x]=1')).toThrow(PayloadError);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(() => parsePhpForm(`a${'[b]'.repeat(70)}=1`)).toThrow(/nested deeper than 64/);
  });
});
