/**
 * Markdown images and links by forward scans, in linear time. They replace
 * `/!\[([^\]]*)\]\(([^)\s]+)\)/g` and `/\[([^\]]+)\]\(([^)\s]+)\)/g`, which retried from every
 * "[" to the end of the text: 80 KB of "[" in one Strapi field held the event loop for 5 s.
 * The results are the patterns' own (leftmost match, scanning on after it): every "[" still
 * starts an attempt, but the next "]" and the end of each "(url" are found once and reused.
 */

/** `\s` of a JavaScript pattern (no "u" flag needed: these are all single UTF-16 units). */
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

type Render = (label: string, url: string) => string;

/**
 * Every `<prefix>label](url)` (label without "]", at least `minLabel` long; url one or more
 * characters, none ")" or space) rendered, the rest of the text as it was.
 */
function replaceBracketed(text: string, prefix: '![' | '[', minLabel: number, render: Render): string {
  const out: string[] = [];
  let from = 0;
  // The first "]", and the first ")" or space, at or after some earlier position: still the first
  // at or after any later position up to them, so each is searched for once per stretch of text.
  let close = -1;
  let stop = -1;
  for (let i = text.indexOf(prefix); i !== -1; i = text.indexOf(prefix, i + 1)) {
    const labelStart = i + prefix.length;
    if (close < labelStart) close = text.indexOf(']', labelStart);
    if (close === -1) break; // no "]" left: no later "[" can match either
    if (close - labelStart < minLabel || text.charCodeAt(close + 1) !== 40 /* ( */) continue;
    if (stop < close + 2) {
      stop = close + 2;
      while (stop < text.length) {
        const c = text.charCodeAt(stop);
        if (c === 41 /* ) */ || isSpace(c)) break;
        stop++;
      }
    }
    const urlEnd = stop;
    if (urlEnd === close + 2 || text.charCodeAt(urlEnd) !== 41) continue;
    out.push(text.slice(from, i), render(text.slice(labelStart, close), text.slice(close + 2, urlEnd)));
    from = urlEnd + 1;
    i = urlEnd; // scanning goes on after the match
  }
  if (out.length === 0) return text;
  out.push(text.slice(from));
  return out.join('');
}

/** `![alt](url)` as `<img src="url" alt="alt">`; the text must be HTML-escaped already. */
export function replaceImages(text: string): string {
  return replaceBracketed(text, '![', 0, (alt, url) => `<img src="${url}" alt="${alt}">`);
}

/** `[label](url)` as `<a href="url">label</a>`; the text must be HTML-escaped already. */
export function replaceLinks(text: string): string {
  return replaceBracketed(text, '[', 1, (label, url) => `<a href="${url}">${label}</a>`);
}
