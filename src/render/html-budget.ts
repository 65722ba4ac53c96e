/**
 * Gmail clips messages whose HTML exceeds ~102 KB as stored, that is transfer-encoded, hiding the
 * footer (and its unsubscribe link): the budget counts encoded bytes, where an Arabic letter
 * weighs three times its decoded size.
 * The edition is compiled once with every candidate item wrapped in comment markers; when the
 * output is too large, whole items are cut out of the compiled HTML instead of compiling again.
 */
import { encodedSize } from '../mail/mime/transfer-encoding.js';
import { SafeHtml } from './safe-text.js';

/**
 * Encoded bytes of the HTML part. Leaves ~10 KB under Gmail's limit for the personal values
 * (URLs, name) substituted after the size check.
 */
export const DEFAULT_MAX_HTML_BYTES = 92_000;

export function markerPair(key: string): { markerStart: SafeHtml; markerEnd: SafeHtml } {
  return {
    markerStart: new SafeHtml(`<!--gz:${key}:start-->`),
    markerEnd: new SafeHtml(`<!--gz:${key}:end-->`),
  };
}

/** Removes the marked span (markers included); the html is returned unchanged if it is absent. */
export function cutSpan(html: string, key: string): string {
  const start = html.indexOf(`<!--gz:${key}:start-->`);
  const endMarker = `<!--gz:${key}:end-->`;
  const end = html.indexOf(endMarker, start);
  if (start < 0 || end < 0) return html;
  return html.slice(0, start) + html.slice(end + endMarker.length);
}

export function stripMarkers(html: string): string {
  return html.replace(/<!--gz:[\w-]+:(?:start|end)-->\n?/g, '');
}

/** The HTML's size on the wire, in the transfer encoding the message builder will choose. */
export function wireBytes(html: string): number {
  return encodedSize(html);
}
