import { GazetteError } from '../errors.js';
import { isTimeZone, type Language, type Publication } from '../publication.js';
import type { AddressHasher } from '../subscriptions/suppression-store.js';
import { FREQUENCIES, normalizeEmail, parseName } from '../subscriptions/validate.js';
import { parseAlerts, parseSendHour, parseWeeklyDay, unescapeFormula } from './cell-values.js';
import type { Field } from './columns.js';

/** One data row of an import file as it is staged: either a reader to import or why not. */
export interface StagedRow {
  rowNo: number;
  email: string | null;
  emailKey: string | null;
  /** hex: arrays of text reach PostgreSQL cheaper than arrays of bytea */
  emailHash: string | null;
  name: string | null;
  language: Language | null;
  frequency: string | null;
  topics: string[] | null;
  timezone: string | null;
  /** null: the publication's send hour */
  sendHour: number | null;
  /** 0 = Sunday ... 6 = Saturday; null: the publication's weekly day */
  weeklyDay: number | null;
  /** null: no alerts */
  alerts: boolean | null;
  consentAt: Date | null;
  consentSource: string | null;
  /** set at staging for rows that cannot be imported whatever the database holds */
  outcome: 'invalid' | 'skipped' | null;
  reason: string | null;
}

const LANGUAGE_WORDS: Record<string, Language> = {
  ar: 'ar',
  arabic: 'ar',
  العربية: 'ar',
  عربي: 'ar',
  en: 'en',
  english: 'en',
  الإنجليزية: 'en',
  الانجليزية: 'en',
};
// Gazette's own export (pending), listmonk's subscription status (unconfirmed), Mailchimp (pending)
const UNCONFIRMED_STATUSES = new Set(['pending', 'unconfirmed']);
// listmonk (blocklisted, disabled), Mailchimp (unsubscribed, cleaned), generic opt-outs
// and Gazette's own export (unsubscribed, suppressed)
const LEFT_STATUSES = new Set([
  'unsubscribed',
  'cleaned',
  'blocklisted',
  'blacklisted',
  'disabled',
  'bounced',
  'suppressed',
]);

/**
 * Dates as the exports write them: ISO 8601, Mailchimp's "2024-05-01 09:12:44" (UTC), and Go's
 * time.String() that listmonk writes ("2024-05-01 09:12:44.123 +0000 UTC").
 */
export function parseConsentDate(raw: string): Date | null {
  const v = raw.trim();
  const go = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?) ([+-]\d{2})(\d{2})(?: \S+)?$/.exec(v);
  const iso = go
    ? `${go[1]}T${go[2]!.replace(/(\.\d{3})\d+/, '$1')}${go[3]}:${go[4]}`
    : /^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$/.test(v)
      ? `${v.replace(' ', 'T')}${v.length > 10 ? 'Z' : 'T00:00:00Z'}`
      : v;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : new Date(t);
}

export interface RowParserDeps {
  /** attested imports: a row the old system marks as never confirmed is skipped, not made confirmed */
  attested?: boolean;
  publication: Publication;
  defaultLanguage: Language;
  hasher: AddressHasher;
  columns: Partial<Record<Field, number>>;
}

export function createRowParser(deps: RowParserDeps) {
  const { attested, publication, defaultLanguage, hasher, columns } = deps;
  const topicIds = new Map<string, string>();
  for (const t of publication.topics) {
    topicIds.set(t.id.toLowerCase(), t.id);
    for (const label of Object.values(t.label ?? {})) topicIds.set(String(label).toLowerCase(), t.id);
  }
  const zones = new Map<string, string | null>();
  const zone = (raw: string): string | null => {
    let z = zones.get(raw);
    if (z === undefined) {
      z = isTimeZone(raw)
        ? new Intl.DateTimeFormat('en', { timeZone: raw }).resolvedOptions().timeZone
        : null;
      if (zones.size < 1000) zones.set(raw, z);
    }
    return z;
  };

  return (record: string[], rowNo: number): StagedRow => {
    const cell = (f: Field): string => {
      const i = columns[f];
      return i === undefined ? '' : (record[i] ?? '').trim();
    };
    const row: StagedRow = {
      rowNo,
      email: unescapeFormula(cell('email')).slice(0, 320) || null,
      emailKey: null,
      emailHash: null,
      name: null,
      language: null,
      frequency: null,
      topics: null,
      timezone: null,
      sendHour: null,
      weeklyDay: null,
      alerts: null,
      consentAt: null,
      consentSource: null,
      outcome: null,
      reason: null,
    };
    const refuse = (reason: string): StagedRow => ({ ...row, outcome: 'invalid', reason });
    try {
      const { email, key } = normalizeEmail(unescapeFormula(cell('email')));
      row.email = email;
      row.emailKey = key;
      row.emailHash = hasher.hash(key).toString('hex');
      const joined = [cell('firstName'), cell('lastName')].filter(Boolean).join(' ');
      row.name = parseName(columns.name !== undefined ? unescapeFormula(cell('name')) : joined);
    } catch (err) {
      if (err instanceof GazetteError) return refuse(err.message);
      throw err;
    }

    const lang = cell('language').toLowerCase();
    row.language =
      lang === '' ? defaultLanguage : (LANGUAGE_WORDS[lang] ?? LANGUAGE_WORDS[lang.slice(0, 2)] ?? null);
    if (!row.language) return refuse(`language: "${lang.slice(0, 40)}" is neither ar nor en`);

    const freq = cell('frequency').toLowerCase();
    row.frequency = freq === '' ? 'daily' : freq;
    if (!FREQUENCIES.includes(row.frequency as never))
      return refuse(`frequency: "${freq.slice(0, 40)}" is not one of ${FREQUENCIES.join(', ')}`);

    const topics: string[] = [];
    for (const t of cell('topics').split(/[,;|]/)) {
      const v = t.trim();
      if (!v) continue;
      const id = topicIds.get(v.toLowerCase());
      if (!id) return refuse(`topics: unknown topic "${v.slice(0, 40)}"`);
      if (!topics.includes(id)) topics.push(id);
    }
    // publication order; none named means every topic, new ones included
    row.topics = publication.topics.map((t) => t.id).filter((id) => topics.includes(id));

    const tz = cell('timezone');
    row.timezone = tz === '' ? publication.timezone : zone(tz);
    if (!row.timezone) return refuse(`timezone: "${tz.slice(0, 64)}" is not a known IANA time zone`);

    const hour = parseSendHour(cell('sendHour'));
    if ('reason' in hour) return refuse(hour.reason);
    row.sendHour = hour.value;
    const day = parseWeeklyDay(cell('weeklyDay'));
    if ('reason' in day) return refuse(day.reason);
    row.weeklyDay = day.value;
    const alerts = parseAlerts(cell('alerts'));
    if ('reason' in alerts) return refuse(alerts.reason);
    row.alerts = alerts.value;

    const date = cell('consentDate');
    if (date) {
      row.consentAt = parseConsentDate(date);
      if (!row.consentAt) return refuse(`consent date: "${date.slice(0, 40)}" is not a date`);
    }
    row.consentSource = cell('consentSource').slice(0, 200) || null;

    const status = cell('status').toLowerCase();
    if (LEFT_STATUSES.has(status))
      return { ...row, outcome: 'skipped', reason: `status "${status}" in the file` };
    // consent is attested for readers who gave it; one who never confirmed is asked, not assumed
    if (attested && UNCONFIRMED_STATUSES.has(status))
      return {
        ...row,
        outcome: 'skipped',
        reason: `status "${status}" in the file: never confirmed; import it in confirm mode to ask`,
      };
    if (/^(true|yes|1)$/i.test(cell('emailDisabled')))
      return { ...row, outcome: 'skipped', reason: 'email disabled in the file' };
    return row;
  };
}
