import { decode } from 'html-entities';
import type { Publication } from '../../publication.js';
import { collapseWhitespace } from './text.js';

/** Categories and tags: cleaned names, Gazette topics and the breaking flag. */

// toLowerCase() is Unicode's default (root-locale) case mapping, the same as
// toLocaleLowerCase('und') but without an ICU locale lookup per call (3.4 us against 0.01 us; it was
// 2% of the API's CPU under webhook load)
function termKey(term: string): string {
  return decode(term).normalize('NFC').trim().toLowerCase();
}

const mapCache = new WeakMap<Publication, { topics: Map<string, string>; breaking: Set<string> }>();

function termIndex(publication: Publication) {
  let index = mapCache.get(publication);
  if (!index) {
    index = {
      topics: new Map(Object.entries(publication.categoryMap).map(([term, topic]) => [termKey(term), topic])),
      breaking: new Set(publication.breakingTerms.map(termKey)),
    };
    mapCache.set(publication, index);
  }
  return index;
}

/** Gazette topic ids for a set of category/tag names, in first-seen order (case-insensitive, trimmed). */
export function topicsFor(terms: readonly string[], publication: Publication): string[] {
  const { topics } = termIndex(publication);
  const out = new Set<string>();
  for (const term of terms) {
    const topic = topics.get(termKey(term));
    if (topic) out.add(topic);
  }
  return [...out];
}

/** True when any category or tag (name or slug) is one of `publication.breakingTerms`, e.g. "عاجل". */
export function isBreaking(terms: readonly string[], publication: Publication): boolean {
  const { breaking } = termIndex(publication);
  return terms.some((t) => breaking.has(termKey(t)));
}

/** De-duplicated, entity-decoded, trimmed names. */
export function cleanTerms(names: readonly string[]): string[] {
  const out = new Map<string, string>();
  for (const name of names) {
    const clean = collapseWhitespace(decode(name));
    if (clean && !out.has(termKey(clean))) out.set(termKey(clean), clean);
  }
  return [...out.values()];
}
