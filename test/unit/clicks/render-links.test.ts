import { describe, expect, it } from 'vitest';
import { prepareEditionMessage } from '../../../src/mail/mime/index.js';
import { getCompileCount, personalize, renderEdition } from '../../../src/render/index.js';
import { arabicArticles, SAMPLE_DATE, samplePublication } from '../../fixtures/sample-articles.js';
import { hrefs } from '../render/render-helpers.js';

const base = samplePublication();
const tracked = {
  ...base,
  engagement: {
    ...base.engagement,
    clickTracking: true,
    utm: { source: 'gazette', medium: 'email', campaign: '{kind}-{date}' },
  },
};

const values = {
  greeting_name: '',
  preferences_url: 'https://news.example/preferences/x',
  unsubscribe_url: 'https://news.example/unsubscribe/x',
  archive_url: 'https://news.example/archive/e',
};

describe('article links at render time', () => {
  it('with tracking on, one token per article slot, filled per reader, in one compile', async () => {
    const before = getCompileCount();
    const rendered = await renderEdition({
      template: 'digest',
      language: 'ar',
      articles: arabicArticles,
      publication: tracked,
      editionId: 'e1',
      date: SAMPLE_DATE,
      frequency: 'daily',
    });
    expect(getCompileCount() - before).toBe(1);
    expect(rendered.links.map((l) => l.articleId)).toEqual(rendered.included);
    for (const link of rendered.links) expect(link.url).toMatch(/[?&]utm_campaign=daily-\d{4}-\d{2}-\d{2}/);
    expect(rendered.html).toContain('{{link_0}}');
    expect(rendered.text).toContain('{{link_0}}');
    for (const link of rendered.links) expect(rendered.html).not.toContain(link.url.replaceAll('&', '&amp;'));

    const reader = personalize(rendered, {
      ...values,
      links: rendered.links.map((_, slot) => `https://news.example/c/token-${slot}`),
    });
    expect(reader.html).not.toMatch(/\{\{link_\d+\}\}/);
    expect(hrefs(reader.html)).toContain('https://news.example/c/token-0');
    expect(reader.text).toContain('https://news.example/c/token-0');
    // a copy without link values is refused, never sent with dead links
    expect(() => personalize(rendered, values)).toThrow(/link_0/);
  });

  it('with tracking off, the UTM links are in the html and text directly', async () => {
    const rendered = await renderEdition({
      template: 'alert',
      language: 'ar',
      articles: [arabicArticles[0]!],
      publication: { ...tracked, engagement: { ...tracked.engagement, clickTracking: false } },
      editionId: 'e2',
      date: SAMPLE_DATE,
      frequency: 'immediate',
    });
    expect(rendered.html).not.toContain('{{link_');
    const url = rendered.links[0]!.url;
    expect(url).toMatch(/utm_source=gazette&utm_medium=email&utm_campaign=alert-/);
    expect(hrefs(rendered.html)).toContain(url.replaceAll('&', '&amp;'));
    expect(rendered.text).toContain(url);
  });

  it('a prepared edition says whether it has link tokens, so links are signed per reader only then', async () => {
    const prepare = async (clickTracking: boolean) => {
      const rendered = await renderEdition({
        template: 'digest',
        language: 'en',
        articles: arabicArticles,
        publication: { ...tracked, engagement: { ...tracked.engagement, clickTracking } },
        editionId: 'e3',
        date: SAMPLE_DATE,
        frequency: 'daily',
      });
      expect(rendered.links.length).toBeGreaterThan(0);
      return prepareEditionMessage({
        from: 'news@news.example',
        subject: rendered.subject,
        html: rendered.html,
        text: rendered.text,
        headers: {},
        language: 'en',
      });
    };
    expect((await prepare(true)).usesLinks).toBe(true);
    expect((await prepare(false)).usesLinks).toBe(false);
  });
});
