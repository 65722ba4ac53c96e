import { describe, expect, it } from 'vitest';
import { SafeHtml } from '../../../src/render/safe-text.js';
import {
  type PartialResolver,
  parseTemplate,
  renderTemplate,
  TemplateError,
} from '../../../src/render/template-engine.js';

const noPartials: PartialResolver = (name) => {
  throw new Error(`unexpected partial ${name}`);
};
const render = (source: string, data: object, partials = noPartials) =>
  renderTemplate(parseTemplate('t', source), data, partials);

describe('template engine', () => {
  it('escapes strings and inserts SafeHtml verbatim', () => {
    const out = render('<p title="{{a}}">{{a}} {{b}}</p>', {
      a: '"><mj-include path="/etc/passwd"/>{{x}}',
      b: new SafeHtml('<bdi>ok</bdi>'),
    });
    expect(out).toBe(
      '<p title="&quot;&gt;&lt;mj-include path=&quot;/etc/passwd&quot;/&gt;&#123;&#123;x&#125;&#125;">&quot;&gt;&lt;mj-include path=&quot;/etc/passwd&quot;/&gt;&#123;&#123;x&#125;&#125; <bdi>ok</bdi></p>',
    );
  });

  it('does not interpret template syntax that arrives in values', () => {
    expect(render('{{a}}', { a: '{{#each x}}{{> secret}}' })).toBe(
      '&#123;&#123;#each x&#125;&#125;&#123;&#123;&gt; secret&#125;&#125;',
    );
  });

  it('supports if/else, each with outward lookup, dotted paths and partials', () => {
    const partial = parseTemplate('p', '[{{name}}/{{dir}}]');
    const out = render(
      '{{#if items}}{{#each items}}{{> item}}{{/each}}{{else}}none{{/if}} {{meta.x}}',
      { dir: 'rtl', items: [{ name: 'a' }, { name: 'b' }], meta: { x: 1 } },
      () => partial,
    );
    expect(out).toBe('[a/rtl][b/rtl] 1');
    expect(render('{{#if items}}yes{{else}}no{{/if}}', { items: [] })).toBe('no');
  });

  it('fails loudly on unknown names and malformed templates', () => {
    expect(() => render('{{missing}}', {})).toThrow(TemplateError);
    expect(() => render('{{obj}}', { obj: {} })).toThrow(/not text/);
    expect(() => parseTemplate('t', '{{#if a}}x')).toThrow(/unclosed/);
    expect(() => parseTemplate('t', '{{#each a}}x{{/if}}')).toThrow(/unexpected/);
    expect(() => parseTemplate('t', '{{> ../etc/passwd}}')).toThrow(TemplateError);
  });

  it('stops a partial that includes itself', () => {
    const self = parseTemplate('loop', 'x{{> loop}}');
    expect(() => render('{{> loop}}', {}, () => self)).toThrow(/nested too deep/);
  });
});
