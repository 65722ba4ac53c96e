import { extractText, type HtmlTextOptions } from './html-text.js';

/** Plain text from HTML: titles, and the summary readers see under each headline. */

/** Titles arrive HTML-escaped from WordPress (`&#8211;`, `&hellip;`, `&amp;`) and sometimes with tags. */
export function decodeTitle(raw: string): string {
  return htmlToText(raw);
}

export function collapseWhitespace(text: string): string {
  return text.replace(/\s+/gu, ' ').trim();
}

/**
 * HTML (or plain text) to plain text: tags dropped, entities decoded, whitespace collapsed. One
 * linear pass (html-text.ts); `stopAfter` reads only as far as that many non-space characters.
 */
export function htmlToText(html: string, options: HtmlTextOptions = {}): string {
  return collapseWhitespace(extractText(html, options));
}

export const SUMMARY_MAX_CHARS = 280;

/** Punctuation not to leave dangling before the ellipsis, Arabic (، ؛ ؟) included. */
const TRAILING_PUNCTUATION = /[\s,;:،؛؟?!.\-–—(«"'“‘]+$/u;
/** WordPress ends generated excerpts with "[&hellip;]" or "[...]" and a "Read more" link. */
const WP_MORE = /\s*\[(?:…|\.\.\.)\]\s*$/u;

/**
 * A plain-text summary: the excerpt if there is one, else the body; at most `max` characters, cut
 * at a word boundary (never inside an Arabic word) and ended with "…" when shortened.
 */
export function summarize(
  excerptHtml: string | undefined,
  bodyHtml: string,
  max = SUMMARY_MAX_CHARS,
): string {
  let text = excerptHtml ? htmlToText(excerptHtml) : '';
  let shortened = false;
  if (WP_MORE.test(text)) {
    text = text.replace(WP_MORE, '');
    shortened = true;
  }
  if (!text) {
    // Only the start of a body is read: more than 2 * max non-space UTF-16 units is more than max
    // code points, so the text is cut below whatever follows.
    text = htmlToText(bodyHtml, { stopAfter: max * 2 });
    shortened = false;
  }
  if (longerThan(text, max)) {
    text = cutAtWord(text, max);
    shortened = true;
  }
  return shortened ? `${text.replace(TRAILING_PUNCTUATION, '')}…` : text;
}

const wordSegmenter = new Intl.Segmenter('ar', { granularity: 'word' });
const graphemeSegmenter = new Intl.Segmenter('ar', { granularity: 'grapheme' });

/** More than `max` code points, counting no further than needed. */
function longerThan(text: string, max: number): boolean {
  if (text.length <= max) return false;
  let n = 0;
  for (const _ of text) if (++n > max) return true;
  return false;
}

function cutAtWord(whole: string, max: number): string {
  // Leave room for the ellipsis.
  const limit = max - 1;
  // Intl.Segmenter reads its whole input first (about a second for a megabyte): give it only the
  // start, max code points being at most 2 * max UTF-16 units, with room for the last word's end.
  const text = whole.slice(0, max * 4);
  let end = 0;
  let used = 0;
  for (const seg of wordSegmenter.segment(text)) {
    const length = [...seg.segment].length;
    if (used + length > limit) break;
    used += length;
    if (seg.isWordLike) end = seg.index + seg.segment.length;
  }
  if (end > 0) return text.slice(0, end);
  // A single word longer than the limit (a URL, say): cut between graphemes so no diacritic is orphaned.
  let out = '';
  for (const g of graphemeSegmenter.segment(text)) {
    if ([...out].length + [...g.segment].length > limit) break;
    out += g.segment;
  }
  return out;
}
