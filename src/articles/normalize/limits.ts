import { PayloadError } from '../types.js';
import { nestsDeeperThan } from './html-text.js';

/**
 * Sizes past which a field is refused before anything parses it (issue 12): a title is not a
 * megabyte, and every later step (text extraction, sanitize-html, the summary's segmenter) is then
 * bounded by these. Characters are UTF-16 code units, what `length` counts. The generic event's
 * schema keeps its own stricter title (1,000) and URL (2,000) limits.
 */
export const FIELD_LIMITS = {
  title: 2_000,
  author: 500,
  excerpt: 20_000,
  body: 1_000_000,
  imageAlt: 2_000,
  url: 8_000,
} as const;

export type CappedField = keyof typeof FIELD_LIMITS;

const FIELD_NAMES: Record<CappedField, string> = {
  title: 'a title',
  author: 'an author',
  excerpt: 'an excerpt',
  body: 'a body',
  imageAlt: 'an image alt text',
  url: 'a URL',
};

/**
 * Elements nested deeper than this are refused: sanitize-html's cost grows with depth times size
 * and htmlparser2's stack with depth squared. Real articles nest a dozen levels, page builders
 * a few dozen.
 */
export const MAX_HTML_DEPTH = 512;

/** The value, or a PayloadError naming the field and the limit when it is longer. */
export function capped<T extends string | null | undefined>(value: T, field: CappedField, path: string): T {
  const limit = FIELD_LIMITS[field];
  if (typeof value === 'string' && value.length > limit) {
    throw new PayloadError(
      `${path}: ${value.length.toLocaleString('en')} characters, over the limit of ${limit.toLocaleString('en')} for ${FIELD_NAMES[field]}`,
    );
  }
  return value;
}

/** HTML that passed `capped`, refused when its elements nest deeper than MAX_HTML_DEPTH. */
export function shallowHtml<T extends string | null | undefined>(value: T, path: string): T {
  if (typeof value === 'string' && value.includes('<') && nestsDeeperThan(value, MAX_HTML_DEPTH)) {
    throw new PayloadError(`${path}: elements nested deeper than ${MAX_HTML_DEPTH} levels`);
  }
  return value;
}
