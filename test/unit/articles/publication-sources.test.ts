import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config.js';
import { publication } from './helpers.js';

const strapi = (settings: Record<string, unknown>) => () =>
  publication({ sources: { strapi: { language: 'ar', ...settings } } });

describe('sources.strapi in the publication file', () => {
  it('takes a URL template with the known placeholders, models and ignoredModels', () => {
    const pub = strapi({
      urlTemplate: 'https://almadar.example/{locale}/{model}/{slug}-{id}-{documentId}',
      models: ['article', 'api::story.story'],
      ignoredModels: ['page'],
    })();
    expect(pub.sources.strapi).toMatchObject({
      models: ['article', 'api::story.story'],
      ignoredModels: ['page'],
    });
  });

  it('refuses at boot, with one line naming the field, what cannot work', () => {
    expect(strapi({ urlTemplate: 'https://almadar.example/{lang}/{slug}' })).toThrow(
      new ConfigError(
        'PUBLICATION_CONFIG field sources.strapi.urlTemplate: unknown placeholder {lang} (known: {slug} {id} {documentId} {locale} {model})',
      ),
    );
    expect(strapi({ urlTemplate: '/news/{slug}' })).toThrow(/sources\.strapi\.urlTemplate/);
    expect(strapi({ urlTemplate: 'https://{slug}' })).not.toThrow();
    expect(strapi({ urlTemplate: 'https:// news/{slug}' })).toThrow(
      'PUBLICATION_CONFIG field sources.strapi.urlTemplate: must be an absolute http(s) URL with a host',
    );
    expect(strapi({ models: [] })).toThrow(/sources\.strapi\.models/);
    expect(() => publication({ languageMap: { fr: 'de' } })).toThrow(/languageMap/);
  });
});
