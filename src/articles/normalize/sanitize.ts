import { decode } from 'html-entities';
import sanitizeHtml from 'sanitize-html';

/** The article body made safe for an email, and article URLs made absolute and canonical. */

/** Tags a news article needs in an email; no scripts, styles, forms, iframes or embeds. */
const ALLOWED_TAGS = [
  'p',
  'br',
  'hr',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'strong',
  'b',
  'em',
  'i',
  'u',
  's',
  'del',
  'ins',
  'mark',
  'small',
  'sub',
  'sup',
  'abbr',
  'cite',
  'q',
  'time',
  'span',
  'blockquote',
  'ul',
  'ol',
  'li',
  'dl',
  'dt',
  'dd',
  'a',
  'img',
  'figure',
  'figcaption',
  'table',
  'caption',
  'thead',
  'tbody',
  'tfoot',
  'tr',
  'th',
  'td',
  'pre',
  'code',
];

/** Safe HTML for the newsletter: the allow-list above, http(s) links only, relative URLs made absolute. */
export function sanitizeBody(html: string, baseUrl?: string): string {
  const absolute = (value: string | undefined): string | undefined => {
    if (value === undefined) return undefined;
    return toAbsoluteHttpUrl(value, baseUrl) ?? undefined;
  };
  return (
    sanitizeHtml(html, {
      allowedTags: ALLOWED_TAGS,
      allowedAttributes: {
        '*': ['dir', 'lang'],
        a: ['href', 'title'],
        img: ['src', 'alt', 'width', 'height'],
        blockquote: ['cite'],
        q: ['cite'],
        time: ['datetime'],
        td: ['colspan', 'rowspan'],
        th: ['colspan', 'rowspan', 'scope'],
        ol: ['start', 'reversed'],
      },
      allowedSchemes: ['http', 'https'],
      allowedSchemesByTag: {},
      allowedSchemesAppliedToAttributes: ['href', 'src', 'cite'],
      allowProtocolRelative: false,
      disallowedTagsMode: 'discard',
      nonTextTags: [
        'script',
        'style',
        'textarea',
        'option',
        'noscript',
        'iframe',
        'object',
        'embed',
        'template',
      ],
      transformTags: {
        a: (tagName, attribs) => ({ tagName, attribs: withUrl(attribs, 'href', absolute) }),
        img: (tagName, attribs) => ({ tagName, attribs: withUrl(attribs, 'src', absolute) }),
      },
      exclusiveFilter: (frame) => frame.tag === 'img' && !frame.attribs.src,
    })
      // Removed comments (Gutenberg's block markers) and scripts leave runs of blank lines behind.
      .replace(/\n\s*\n+/g, '\n')
      .trim()
  );
}

function withUrl(
  attribs: Record<string, string>,
  name: string,
  absolute: (v: string | undefined) => string | undefined,
): Record<string, string> {
  const out = { ...attribs };
  const value = absolute(attribs[name]);
  if (value === undefined) delete out[name];
  else out[name] = value;
  return out;
}

// ---------------------------------------------------------------- URLs

export function toAbsoluteHttpUrl(raw: string, base?: string): string | null {
  let url: URL;
  try {
    url = new URL(decode(raw.trim()), base);
  } catch {
    return null;
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
}

/** Characters that must stay percent-encoded in a path segment for the IRI to mean the same URL. */
const KEEP_ENCODED = /[\s/?#%\\\p{Cc}\p{Cf}\p{Z}]/u;

/**
 * The canonical article URL: absolute http(s), fragment dropped, and percent-encoded path segments
 * that are UTF-8 text shown decoded ("/2024/05/سوريا-أمطار/"), because newsletter readers see and
 * copy these links. A segment stays encoded unless the decoded IRI parses back to the same URL.
 */
export function canonicalUrl(raw: string, base?: string): string | null {
  const href = toAbsoluteHttpUrl(raw, base);
  if (href === null) return null;
  const url = new URL(href);
  url.hash = '';
  const segments = url.pathname.split('/').map((segment) => {
    if (!segment.includes('%')) return segment;
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return segment;
    }
    return KEEP_ENCODED.test(decoded) ? segment : decoded;
  });
  const iri = `${url.protocol}//${url.host}${segments.join('/')}${url.search}`;
  // Percent-encoding is case-insensitive (WordPress writes %d8, URL re-encodes as %D8).
  const upper = (href: string) => href.replace(/%[0-9a-f]{2}/gi, (m) => m.toUpperCase());
  try {
    return upper(new URL(iri).href) === upper(url.href) ? iri : url.href;
  } catch {
    return url.href;
  }
}
