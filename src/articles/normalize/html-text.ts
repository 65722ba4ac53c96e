import { Parser } from 'htmlparser2';

/**
 * Text out of untrusted HTML in one forward pass of htmlparser2 (the parser sanitize-html uses),
 * so the cost is linear in the input whatever it holds: no pattern here can backtrack. The output
 * is what the earlier `sanitizeHtml(html.replace(BLOCK_BOUNDARY, ' $&'), {allowedTags: []})` then
 * `decode()` gave: the text nodes, entities decoded once, a space before every block-level tag so
 * "<p>a</p><p>b</p>" reads "a b", and nothing inside the tags a reader would not quote.
 */

/** Tags whose content is not text a reader would quote (scripts, captions, form options). */
const NON_TEXT_TAGS = new Set(['script', 'style', 'textarea', 'option', 'noscript', 'figcaption', 'iframe']);

/** Block-level tags: a space goes before each, opening or closing, so words do not run together. */
const BLOCK_TAGS = new Set([
  'p',
  'div',
  'br',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'li',
  'ul',
  'ol',
  'blockquote',
  'tr',
  'td',
  'th',
  'table',
  'figure',
  'section',
  'article',
  'hr',
]);

function isWordChar(code: number): boolean {
  return (
    (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95
  );
}

/**
 * A space before every block-level tag, opening or closing: `<(/?)name` followed by a non-word
 * character and, somewhere later, a ">". That is where the old pattern
 * `/<\/?(?:p|div|…)\b[^>]*>/gi` put it, found in one forward pass: each "<" is looked at once and
 * the search for ">" resumes where the last one ended. Done on the source (not on parser events)
 * because "<iframe<p>" is an iframe to the parser only once the space is in.
 */
export function spaceBlockTags(html: string): string {
  const out: string[] = [];
  let from = 0;
  let gt = -1;
  for (let i = html.indexOf('<'); i !== -1; i = html.indexOf('<', i + 1)) {
    let j = i + 1;
    if (html.charCodeAt(j) === 47) j++; // "/"
    let end = j;
    while (end < html.length && end - j < 11 && isWordChar(html.charCodeAt(end))) end++;
    if (end >= html.length || isWordChar(html.charCodeAt(end))) continue;
    if (!BLOCK_TAGS.has(html.slice(j, end).toLowerCase())) continue;
    if (gt < end) gt = html.indexOf('>', end);
    if (gt === -1) break; // no ">" after this one: nothing later matches either
    out.push(html.slice(from, i), ' ');
    from = i;
    // the pattern's match ran to that ">": nothing inside it starts another
    i = gt;
  }
  if (from === 0 && out.length === 0) return html;
  out.push(html.slice(from));
  return out.join('');
}

export interface HtmlTextOptions {
  /**
   * Stop reading once this many non-space characters are collected: a summary needs the first few
   * hundred characters of a body, not all of a megabyte. The text returned is then a prefix.
   */
  stopAfter?: number;
}

/** The text of an HTML fragment, whitespace as it came (the callers collapse it). */
export function extractText(html: string, options: HtmlTextOptions = {}): string {
  const parts: string[] = [];
  let skipText = false;
  let skipDepth = 0;
  let collected = 0;
  const stopAfter = options.stopAfter ?? Number.POSITIVE_INFINITY;
  const parser: Parser = new Parser({
    // The same skip rule as sanitize-html's nonTextTags: every tag opened inside one counts, and
    // text resumes when they are all closed again (implied closes included).
    onopentag(name) {
      if (skipText) skipDepth++;
      else if (NON_TEXT_TAGS.has(name)) {
        skipText = true;
        skipDepth = 1;
      }
    },
    onclosetag() {
      if (skipText && --skipDepth === 0) skipText = false;
    },
    ontext(text) {
      if (skipText) return;
      parts.push(text);
      if (stopAfter !== Number.POSITIVE_INFINITY) {
        collected += countNonSpace(text);
        if (collected > stopAfter) parser.pause();
      }
    },
  });
  parser.write(spaceBlockTags(html));
  if (collected <= stopAfter) parser.end();
  return parts.join('');
}

/** Characters that `\s` (and so collapseWhitespace) does not remove. */
function countNonSpace(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) if (!isSpace(text.charCodeAt(i))) n++;
  return n;
}

function isSpace(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/**
 * How deep elements nest, as htmlparser2 builds them (implied closes and void elements applied),
 * read only until `limit` is passed: true when the HTML nests deeper than `limit`. sanitize-html's
 * cost grows with depth times size, and htmlparser2's own stack with depth squared, so a body is
 * measured before anything else parses it.
 */
export function nestsDeeperThan(html: string, limit: number): boolean {
  let depth = 0;
  let deeper = false;
  const parser: Parser = new Parser({
    onopentag() {
      if (++depth > limit && !deeper) {
        deeper = true;
        parser.pause();
      }
    },
    onclosetag() {
      depth--;
    },
  });
  parser.write(html);
  if (!deeper) parser.end();
  return deeper;
}
