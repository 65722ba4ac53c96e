import { PayloadError } from '../types.js';
import type { Json } from './fields.js';

/**
 * An `application/x-www-form-urlencoded` body as PHP reads it into `$_POST`, which is how WP
 * Webhooks builds its "form" requests (http_build_query): `post[post_title]=…&taxonomies[category]
 * [news][name]=…` nests, `tags[]=a&tags[]=b` appends, and every value is a string. Objects whose
 * keys are 0..n-1 become arrays, as PHP lists do when they are encoded back to JSON.
 */

/** PHP's max_input_nesting_level default; deeper keys are not what a CMS plugin sends. */
const MAX_DEPTH = 64;
/** Keys that would reach Object.prototype instead of the object being built. */
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

export function parsePhpForm(body: string): Json {
  const root: Json = {};
  for (const [rawKey, value] of new URLSearchParams(body)) {
    const path = keyPath(rawKey);
    if (path.length === 0) continue;
    let node: Json = root;
    path.forEach((segment, i) => {
      if (FORBIDDEN.has(segment)) throw new PayloadError(`${rawKey}: not an accepted field name`);
      const last = i === path.length - 1;
      const key = segment === '' ? String(nextIndex(node)) : segment;
      if (last) {
        node[key] = value;
        return;
      }
      const child = node[key];
      if (typeof child !== 'object' || child === null) node[key] = {};
      node = node[key] as Json;
    });
  }
  return listsToArrays(root) as Json;
}

/** "post[post_title]" → ["post", "post_title"]; "tags[]" → ["tags", ""]; text after "]" is dropped as PHP does. */
function keyPath(key: string): string[] {
  const open = key.indexOf('[');
  if (open <= 0) return key === '' ? [] : [key];
  const path = [key.slice(0, open)];
  const rest = /\[([^\]]*)\]/gy;
  rest.lastIndex = open;
  for (let m = rest.exec(key); m; m = rest.exec(key)) {
    path.push(m[1]!);
    if (path.length > MAX_DEPTH)
      throw new PayloadError(`${key.slice(0, 80)}: nested deeper than ${MAX_DEPTH}`);
  }
  return path;
}

/**
 * Keys are only ever added, so the first free index never moves back: it is searched for from
 * where the last search ended, not from 0 (200,000 "tags[]=" in a megabyte were quadratic).
 */
const freeIndex = new WeakMap<Json, number>();

function nextIndex(node: Json): number {
  let n = freeIndex.get(node) ?? 0;
  while (Object.hasOwn(node, String(n))) n++;
  freeIndex.set(node, n);
  return n;
}

function listsToArrays(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value as Json).map(([k, v]) => [k, listsToArrays(v)] as const);
  const isList = entries.length > 0 && entries.every(([k], i) => k === String(i));
  return isList ? entries.map(([, v]) => v) : Object.fromEntries(entries);
}
