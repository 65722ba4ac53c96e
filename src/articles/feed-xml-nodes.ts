import { decode } from 'html-entities';
import { isObject } from './normalize/fields.js';

/**
 * The text of nodes as fast-xml-parser leaves them with entity processing off: decoded here with
 * the five XML entities and character references only (see feeds.ts).
 */

export function xmlDecode(text: string): string {
  return decode(text, { level: 'xml' });
}

/** The text of an element: character data decoded, CDATA kept verbatim. */
export function text(node: unknown): string | undefined {
  if (Array.isArray(node)) return text(node[0]);
  if (typeof node === 'string') return xmlDecode(node);
  if (typeof node === 'number') return String(node);
  if (!isObject(node)) return undefined;
  const parts: string[] = [];
  const plain = node['#text'];
  if (typeof plain === 'string' || typeof plain === 'number') parts.push(xmlDecode(String(plain)));
  const cdata = node.__cdata;
  for (const c of Array.isArray(cdata) ? cdata : cdata === undefined ? [] : [cdata]) {
    if (typeof c === 'string') parts.push(c);
  }
  const joined = parts.join('').trim();
  return joined === '' ? undefined : joined;
}

export function attr(node: unknown, name: string): string | undefined {
  if (!isObject(node)) return undefined;
  const value = node[`@_${name}`];
  return typeof value === 'string' ? xmlDecode(value) : undefined;
}

export function list(node: unknown): unknown[] {
  return Array.isArray(node) ? node : node === undefined ? [] : [node];
}

/**
 * Character data decoded, CDATA sections kept verbatim, in one forward scan (the pattern
 * /(<!\[CDATA\[[\s\S]*?\]\]>)/ searched for "]]>" again from every "<![CDATA["). A section
 * never closed is character data, as it was.
 */
export function decodeWithCdata(raw: string): string {
  let out = '';
  let from = 0;
  for (;;) {
    const start = raw.indexOf('<![CDATA[', from);
    const end = start === -1 ? -1 : raw.indexOf(']]>', start + 9);
    if (end === -1) return out + xmlDecode(raw.slice(from));
    out += xmlDecode(raw.slice(from, start)) + raw.slice(start + 9, end);
    from = end + 3;
  }
}
