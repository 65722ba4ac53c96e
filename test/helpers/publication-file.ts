import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Writes the sample publication with overrides to a temp file and returns its path (PUBLICATION_CONFIG). */
export function publicationFile(overrides: Record<string, unknown>): string {
  const sample = JSON.parse(readFileSync('config/publication.sample.json', 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'gazette-pub-'));
  const path = join(dir, 'publication.json');
  writeFileSync(path, JSON.stringify({ ...sample, ...overrides }, null, 2));
  return path;
}
