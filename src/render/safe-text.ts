/**
 * Escaping and validation for untrusted CMS content on its way into MJML.
 *
 * Everything a CMS or a reader supplies is text, never markup: it is escaped here and the result is
 * wrapped in `SafeHtml`, the only type the template engine inserts without escaping again.
 */

/** Markup the renderer itself produced (or escaped); the template engine inserts it verbatim. */
export class SafeHtml {
  constructor(readonly html: string) {}
  toString(): string {
    return this.html;
  }
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  // Braces are escaped so content can never spell a personalisation token such as {{unsubscribe_url}}.
  '{': '&#123;',
  '}': '&#125;',
};

/** C0/C1 controls (except tab and newline) and lone surrogates have no place in an email body. */
const CONTROL_CHARS =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) let text reorder what is
 * shown around it ("invoice\u202Egnp.exe" reads as "invoiceexe.png") and a stray U+2069 closes the
 * isolate Gazette wraps around a name. Content never needs them: the templates set direction.
 * The Arabic letter mark (U+061C) is legitimate inside Arabic text, but at either end of a field it
 * only serves to flip the direction of what Gazette puts next to it, so it is trimmed there.
 */
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/g;
const EDGE_ALM = /^\u061c+|\u061c+$/g;

export function stripBidiControls(value: string): string {
  return value.replace(BIDI_CONTROLS, '').replace(EDGE_ALM, '');
}

/**
 * Removes control characters and bidi controls and normalises whitespace runs (CMS text often
 * carries stray newlines).
 */
export function cleanText(value: string): string {
  return stripBidiControls(value.replace(CONTROL_CHARS, '').replace(/\s+/g, ' ').trim()).trim();
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'{}]/g, (ch) => HTML_ESCAPES[ch]!);
}

/**
 * Plain-text counterpart of `escapeHtml`: the text part has no markup to escape, but a literal
 * "{{" would be taken for a personalisation token, so a zero-width joiner splits it.
 */
export function neutralizeTokens(value: string): string {
  return value.replace(/\{\{/g, '{\u2060{').replace(/\}\}/g, '}\u2060}');
}

/**
 * Parses and normalises an http(s) URL; anything else (javascript:, data:, relative, garbage) is
 * rejected. The WHATWG serialisation percent-encodes quotes, angle brackets and spaces, so the
 * result is safe inside a double-quoted attribute once `&` is escaped; braces are encoded too, so
 * the result is safe in the text part as it is.
 */
export function safeUrl(value: string | null | undefined): string | null {
  if (!value) return null;
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  if (url.username || url.password) return null;
  // WHATWG leaves braces unencoded in the query and fragment, so a content URL could spell a
  // personal token ("?p={{preferences_url}}") and receive each reader's link in their copy.
  // %7B/%7D mean the same to the target server and can never be taken for a token.
  return url.href.replace(/[{}]/g, (ch) => (ch === '{' ? '%7B' : '%7D'));
}

/** First strong isolate / pop directional isolate (Unicode bidi algorithm, UAX #9). */
export const FSI = '\u2068';
export const PDI = '\u2069';

/**
 * Isolates a run whose direction may differ from its surroundings (a Latin name, URL or number in
 * Arabic text) so the bidi algorithm cannot reorder the punctuation around it. Plain-text form.
 */
export function isolateText(value: string): string {
  return `${FSI}${value}${PDI}`;
}

/** HTML form of `isolateText`: `<bdi>` is honoured by browsers and webmail; the isolates inside
 * it cover clients that strip unknown elements. */
export function isolateHtml(value: string): SafeHtml {
  return new SafeHtml(`<bdi>${escapeHtml(isolateText(value))}</bdi>`);
}
