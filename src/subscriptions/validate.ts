import { domainToASCII } from 'node:url';
import { validationError } from '../errors.js';
import { isTimeZone, LANGUAGES, type Language, type Publication } from '../publication.js';
import type { Frequency } from './schemas.js';

export const FREQUENCIES: readonly Frequency[] = ['immediate', 'daily', 'weekly'];
export const NAME_MAX = 100;

export interface NormalizedEmail {
  /** local part as typed, domain lower-cased in punycode */
  email: string;
  /** the whole address lower-cased: one subscriber per mailbox */
  key: string;
}

// RFC 5321 dot-atom; quoted local parts and SMTPUTF8 local parts are refused on purpose: many
// relays and mailbox providers reject them, and they are the usual vehicle of header tricks.
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** One mailbox address, or a validation error on `field` saying what is wrong with it. */
export function normalizeEmail(raw: unknown, field = 'email'): NormalizedEmail {
  if (typeof raw !== 'string') throw validationError(field, 'must be one email address');
  if (CONTROL.test(raw)) throw validationError(field, 'must not contain control characters or line breaks');
  const value = raw.trim();
  if (value === '') throw validationError(field, 'is required');
  if (/[\s,;]/.test(value))
    throw validationError(field, 'must be a single address (no spaces, commas or semicolons)');
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1 || value.indexOf('@') !== at)
    throw validationError(field, 'is not an email address');
  const local = value.slice(0, at);
  const domainRaw = value.slice(at + 1);
  if (Buffer.byteLength(local, 'utf8') > 64)
    throw validationError(field, 'local part is longer than 64 octets');
  if (!LOCAL_PART.test(local)) throw validationError(field, 'is not an email address');
  const domain = domainToASCII(domainRaw.replace(/\.$/, '')).toLowerCase();
  const labels = domain.split('.');
  if (
    !domain ||
    labels.length < 2 ||
    !labels.every((l) => LABEL.test(l)) ||
    /^[0-9]+$/.test(labels[labels.length - 1]!)
  ) {
    throw validationError(field, 'has no valid domain');
  }
  const email = `${local}@${domain}`;
  if (Buffer.byteLength(email, 'utf8') > 254) throw validationError(field, 'is longer than 254 octets');
  return { email, key: email.toLowerCase() };
}

export interface Preferences {
  topics: string[];
  frequency: Frequency;
  alerts: boolean;
  language: Language;
  timezone: string;
  sendHour: number;
  /** 0 = Sunday ... 6 = Saturday; null: the publication's weekly day */
  weeklyDay: number | null;
}

export interface SubscriptionInput extends Preferences {
  email: string;
  emailKey: string;
  name: string | null;
}

/** Loosely typed fields as they arrive from a form, the JSON API or the preferences page. */
export interface RawFields {
  email?: unknown;
  name?: unknown;
  topics?: unknown;
  frequency?: unknown;
  alerts?: unknown;
  language?: unknown;
  timezone?: unknown;
  sendHour?: unknown;
  weeklyDay?: unknown;
}

export function parseName(raw: unknown): string | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'string') throw validationError('name', 'must be text');
  if (CONTROL.test(raw)) throw validationError('name', 'must not contain control characters or line breaks');
  const name = raw.normalize('NFC').trim();
  if ([...name].length > NAME_MAX) throw validationError('name', `must be at most ${NAME_MAX} characters`);
  return name || null;
}

function parseTopics(raw: unknown, publication: Publication): string[] {
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  const known = new Set(publication.topics.map((t) => t.id));
  const out: string[] = [];
  for (const t of list) {
    if (typeof t !== 'string' || !known.has(t))
      throw validationError('topics', `unknown topic "${String(t).slice(0, 40)}"`);
    if (!out.includes(t)) out.push(t);
  }
  // publication order, so stored arrays compare equal whatever order the form sent
  return publication.topics.map((t) => t.id).filter((id) => out.includes(id));
}

function parseBoolean(raw: unknown, field: string): boolean {
  if (typeof raw === 'boolean') return raw;
  if (raw === 'on' || raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0' || raw === '') return false;
  throw validationError(field, 'must be true or false');
}

function parseHour(raw: unknown): number {
  const n = typeof raw === 'string' && /^\d{1,2}$/.test(raw.trim()) ? Number(raw.trim()) : raw;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 23)
    throw validationError('sendHour', 'must be a whole hour from 0 to 23');
  return n;
}

function parseWeekday(raw: unknown): number {
  const n = typeof raw === 'string' && /^\d$/.test(raw.trim()) ? Number(raw.trim()) : raw;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 6)
    throw validationError('weeklyDay', 'must be a day of the week from 0 (Sunday) to 6 (Saturday)');
  return n;
}

/**
 * Validates preference fields over a base (the defaults for a new subscriber, or the current
 * preferences). `present` says which fields the caller sent; absent ones keep the base value.
 */
export function parsePreferences(raw: RawFields, base: Preferences, publication: Publication): Preferences {
  const out = { ...base };
  if (raw.topics !== undefined) out.topics = parseTopics(raw.topics, publication);
  if (raw.frequency !== undefined) {
    if (!FREQUENCIES.includes(raw.frequency as Frequency))
      throw validationError('frequency', `must be one of ${FREQUENCIES.join(', ')}`);
    out.frequency = raw.frequency as Frequency;
  }
  if (raw.alerts !== undefined) out.alerts = parseBoolean(raw.alerts, 'alerts');
  if (raw.language !== undefined) {
    if (!LANGUAGES.includes(raw.language as Language))
      throw validationError('language', `must be one of ${LANGUAGES.join(', ')}`);
    out.language = raw.language as Language;
  }
  if (raw.timezone !== undefined && raw.timezone !== '') {
    if (typeof raw.timezone !== 'string' || raw.timezone.length > 64 || !isTimeZone(raw.timezone))
      throw validationError('timezone', 'is not a known IANA time zone');
    // Intl accepts any case ("asia/riyadh"): store the canonical spelling
    out.timezone = new Intl.DateTimeFormat('en', { timeZone: raw.timezone }).resolvedOptions().timeZone;
  }
  if (raw.sendHour !== undefined && raw.sendHour !== '') out.sendHour = parseHour(raw.sendHour);
  if (raw.weeklyDay !== undefined && raw.weeklyDay !== '') out.weeklyDay = parseWeekday(raw.weeklyDay);
  return out;
}

export function defaultPreferences(publication: Publication, language: Language): Preferences {
  return {
    topics: publication.topics.map((t) => t.id),
    frequency: 'daily',
    alerts: false,
    language,
    timezone: publication.timezone,
    sendHour: publication.digest.defaultSendHour,
    weeklyDay: null,
  };
}

/**
 * Topics from a page with the explicit "all topics" / "only these" choice: "all" is the empty
 * list (every topic, new ones included); "chosen" with nothing ticked is an error, never a silent
 * "all".
 */
export function topicsFromForm(mode: unknown, topics: unknown): unknown {
  const m = Array.isArray(mode) ? mode[0] : mode;
  if (m === 'all') return [];
  if (m !== 'chosen') throw validationError('topics', 'topicsMode must be all or chosen');
  const list = topics === undefined ? [] : Array.isArray(topics) ? topics : [topics];
  if (list.length === 0) throw validationError('topics', 'tick at least one topic, or choose all topics');
  return list;
}

/** Everything a subscribe request carries, validated; the first bad field throws. */
export function parseSubscription(
  raw: RawFields,
  publication: Publication,
  defaultLanguage: Language,
): SubscriptionInput {
  const { email, key } = normalizeEmail(raw.email);
  const name = parseName(raw.name);
  const prefs = parsePreferences(raw, defaultPreferences(publication, defaultLanguage), publication);
  return { email, emailKey: key, name, ...prefs };
}
