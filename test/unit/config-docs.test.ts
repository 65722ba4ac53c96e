import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// Every variable config.ts reads is documented in .env.example and the table of docs/configuration.md.
const configSource = readFileSync('src/config.ts', 'utf8');
const envBlock = configSource.slice(
  configSource.indexOf('const Env = Type.Object({'),
  configSource.indexOf('});'),
);
const variables = [...envBlock.matchAll(/^\s{2}([A-Z][A-Z0-9_]+): Type\./gm)].map((m) => m[1] as string);

describe('configuration documentation', () => {
  it('finds the variables', () => {
    expect(variables).toContain('DATABASE_URL');
    expect(variables.length).toBeGreaterThan(30);
  });

  it.each(variables)('%s is in .env.example and docs/configuration.md', (name) => {
    expect(readFileSync('.env.example', 'utf8')).toMatch(new RegExp(`\\b${name}\\b`));
    const readme = readFileSync('docs/configuration.md', 'utf8');
    // the table groups related variables (e.g. WEBHOOK_SECRET_GENERIC / _WORDPRESS)
    const suffix = name.replace(/^WEBHOOK_SECRET_/, '_');
    expect(readme.includes(name) || (name.startsWith('WEBHOOK_SECRET_') && readme.includes(suffix))).toBe(
      true,
    );
  });
});
