import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

const sources = [...tsFiles('src'), ...tsFiles('workers')].map((file) => ({
  file,
  text: readFileSync(file, 'utf8'),
}));

/** Files that define (not import) a type or interface of this name. */
function definitions(name: string): string[] {
  const def = new RegExp(`^export (?:type ${name}\\b(?:<[^>]*>)? =|interface ${name}\\b)`, 'm');
  return sources.filter((s) => def.test(s.text)).map((s) => s.file);
}

// The domain's vocabulary has one definition each; everything else imports it.
const ONE_HOME: Record<string, string> = {
  Language: 'src/publication.ts',
  Frequency: 'src/subscriptions/schemas.ts',
  EditionKind: 'src/digests/types.ts',
  EditionCounts: 'src/delivery/delivery-store.ts',
  ClaimResult: 'src/delivery/delivery-store.ts',
};

describe('types defined once', () => {
  it.each(Object.entries(ONE_HOME))('%s is defined in %s only', (name, home) => {
    expect(definitions(name)).toEqual([home]);
  });
});
