/**
 * Per-recipient parts of a rendered edition. MJML runs once per edition; these tokens are left
 * in its output and swapped per reader by `personalize` (or by the MIME builder, which does the
 * same substitution on pre-encoded lines).
 */
import { cleanText, escapeHtml, isolateText } from './safe-text.js';

export const PERSONAL_TOKENS = {
  greeting_name: '{{greeting_name}}',
  preferences_url: '{{preferences_url}}',
  unsubscribe_url: '{{unsubscribe_url}}',
  /** "View in browser": per edition, so callers may substitute it once for everyone. */
  archive_url: '{{archive_url}}',
} as const;

/**
 * `{{link_<n>}}`: the n-th article link of an edition with click tracking on (see
 * src/clicks/click-links.ts): a signed redirect for a reader who is tracked, the plain article
 * URL for one who turned tracking off and for web copies.
 */
export type LinkTokenName = `link_${number}`;
export type PersonalTokenName = keyof typeof PERSONAL_TOKENS | LinkTokenName;
export type PersonalValues = Record<keyof typeof PERSONAL_TOKENS, string> & {
  /** the value of each `{{link_<n>}}`, by n; absent when the edition has no link tokens */
  links?: readonly string[];
};

export function linkToken(slot: number): string {
  return `{{link_${slot}}}`;
}

/** Matches any of the tokens; group 1 is the name. Content can never spell one (see safe-text). */
export const PERSONAL_TOKEN_PATTERN =
  /\{\{(greeting_name|preferences_url|unsubscribe_url|archive_url|link_\d{1,3})\}\}/g;

/**
 * One token's value. A link token without a value (a caller that did not load the edition's
 * links) is an error, not an empty href: a mail must never go out with a dead article link.
 */
export function tokenValue(values: PersonalValues, name: PersonalTokenName): string {
  if (!name.startsWith('link_')) return values[name as keyof typeof PERSONAL_TOKENS];
  const value = values.links?.[Number(name.slice(5))];
  if (value === undefined) throw new Error(`no value for the personal token ${name}`);
  return value;
}

/**
 * The greeting is the one token whose surrounding words change with the value: "مرحباً أحمد،"
 * for a known name, "مرحباً بك،" without one. Both phrasings are prepared at render time;
 * `named` holds `{name}` where the reader's name goes.
 */
export interface GreetingPair {
  named: string;
  generic: string;
}

const MAX_NAME_LENGTH = 80;

/**
 * The plain-text greeting for a reader. The name is isolated (FSI…PDI) so a Latin name inside an
 * Arabic sentence keeps the comma on the correct side.
 */
export function greetingFor(pair: GreetingPair | undefined, name: string): string {
  const clean = cleanText(name).slice(0, MAX_NAME_LENGTH);
  if (!pair) return clean;
  if (!clean) return pair.generic;
  return pair.named.replace('{name}', isolateText(clean));
}

export interface Personalizable {
  html: string;
  text: string;
  greeting?: GreetingPair;
}

/**
 * Substitutes the personal tokens. Values are raw strings: they are HTML-escaped for the html
 * part and inserted as-is in the text part. `greeting_name` is the reader's name (or '') and is
 * expanded through the rendered greeting pair.
 */
export function personalize(
  rendered: Personalizable,
  values: PersonalValues,
): { html: string; text: string } {
  const resolved: PersonalValues = {
    ...values,
    greeting_name: greetingFor(rendered.greeting, values.greeting_name),
  };
  return {
    html: rendered.html.replace(PERSONAL_TOKEN_PATTERN, (_, name: PersonalTokenName) =>
      escapeHtml(tokenValue(resolved, name)),
    ),
    text: rendered.text.replace(PERSONAL_TOKEN_PATTERN, (_, name: PersonalTokenName) =>
      tokenValue(resolved, name),
    ),
  };
}
