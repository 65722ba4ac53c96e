/**
 * Localised copy from templates/locales/<lang>.json, validated once at load so a missing key
 * fails at startup, not in the middle of a send.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Language } from '../publication.js';
import { escapeHtml, SafeHtml } from './safe-text.js';
import { TEMPLATES_DIR } from './templates-dir.js';

const S = Type.String({ minLength: 1 });
const Px = Type.String({ pattern: '^\\d{1,2}px$' });

export const LocaleStringsSchema = Type.Object({
  direction: Type.Union([Type.Literal('rtl'), Type.Literal('ltr')]),
  fontStack: Type.String({ pattern: "^[\\w '\\-,]+$" }),
  /** The type scale: Naskh needs larger sizes and more leading than Latin text to read as well. */
  type: Type.Object({
    text: Px,
    summary: Px,
    headline: Px,
    title: Px,
    meta: Px,
    small: Px,
    lineHeight: Type.String({ pattern: '^[12](\\.\\d+)?$' }),
    headingLineHeight: Type.String({ pattern: '^[12](\\.\\d+)?$' }),
  }),
  subject: Type.Object({
    digestDaily: S,
    digestWeekly: S,
    digestImmediate: S,
    /** " and {count} more stories", by the language's plural category (Intl.PluralRules) */
    moreStories: Type.Object({
      zero: Type.Optional(S),
      one: S,
      two: Type.Optional(S),
      few: Type.Optional(S),
      many: Type.Optional(S),
      other: S,
    }),
    alert: S,
    /** an operator's test copy: marked so nobody takes it for the real send */
    test: Type.String({ pattern: '\\{subject\\}' }),
    confirmation: S,
    welcome: S,
    alreadySubscribed: S,
    /** the same mail to a paused reader, with the link that resumes them */
    alreadySubscribedPaused: S,
    repermission: S,
  }),
  greeting: Type.Object({ named: Type.String({ pattern: '\\{name\\}' }), generic: S }),
  digest: Type.Object({
    introDaily: S,
    introWeekly: S,
    introImmediate: S,
    lead: S,
    otherTopic: S,
    more: S,
    mostRead: S,
  }),
  article: Type.Object({ readMore: S, byline: S, breaking: S }),
  footer: Type.Object({
    reason: S,
    reasonSignup: S,
    viewInBrowser: S,
    preferences: S,
    unsubscribe: S,
    subscribe: S,
    webCopy: S,
  }),
  confirmation: Type.Object({ heading: S, body: S, button: S, fallback: S, expires: S, ignore: S }),
  welcome: Type.Object({
    heading: S,
    body: S,
    preferences: S,
    preferencesButton: S,
    unsubscribe: S,
    choices: S,
    topics: S,
    allTopics: S,
    alertsOn: S,
    alertsOff: S,
  }),
  alreadySubscribed: Type.Object({
    heading: S,
    body: S,
    preferences: S,
    preferencesButton: S,
    ignore: S,
    unsubscribe: S,
    /** a paused reader (re-permission unanswered): the keep link resumes them */
    pausedHeading: S,
    pausedBody: S,
    resume: S,
    resumeButton: S,
    pausedIgnore: S,
  }),
  repermission: Type.Object({
    heading: S,
    body: S,
    button: S,
    grace: S,
    unsubscribe: S,
    /** the keep page (src/http/repermission-routes.ts) */
    keptHeading: S,
    keptBody: S,
    keepPrompt: S,
  }),
});
export type LocaleStrings = Static<typeof LocaleStringsSchema>;

const cache = new Map<Language, LocaleStrings>();

export function localeStrings(language: Language): LocaleStrings {
  let strings = cache.get(language);
  if (!strings) {
    const path = join(TEMPLATES_DIR, 'locales', `${language}.json`);
    const json: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (!Value.Check(LocaleStringsSchema, json)) {
      const first = Value.Errors(LocaleStringsSchema, json).First();
      throw new Error(`${path}: ${first?.path ?? ''} ${first?.message ?? 'invalid'}`);
    }
    strings = json;
    cache.set(language, strings);
  }
  return strings;
}

type Params = Record<string, string | SafeHtml>;

function fill(pattern: string, params: Params, encode: (value: string | SafeHtml) => string): string {
  return pattern.replace(/\{(\w+)\}/g, (_whole, key: string) => {
    const value = params[key];
    if (value === undefined) throw new Error(`locale string "${pattern}" needs {${key}}`);
    return encode(value);
  });
}

/** Fills a locale pattern for the plain-text part and subjects. */
export function formatText(pattern: string, params: Params = {}): string {
  return fill(pattern, params, (v) => (v instanceof SafeHtml ? v.html : v));
}

/** Fills a locale pattern for HTML: the pattern and string params are escaped, SafeHtml is kept. */
export function formatHtml(pattern: string, params: Params = {}): SafeHtml {
  const parts = pattern.split(/(\{\w+\})/);
  return new SafeHtml(
    parts
      .map((part) => {
        const key = /^\{(\w+)\}$/.exec(part)?.[1];
        if (key === undefined) return escapeHtml(part);
        const value = params[key];
        if (value === undefined) throw new Error(`locale string "${pattern}" needs {${key}}`);
        return value instanceof SafeHtml ? value.html : escapeHtml(value);
      })
      .join(''),
  );
}
