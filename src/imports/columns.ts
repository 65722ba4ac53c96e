import { type Static, Type } from '@sinclair/typebox';
import { badFile } from './csv-source.js';

/**
 * Which column of an import file holds which reader field. The names of the columns in the exports
 * of Mailchimp (audience export: "Email Address", "First Name", "Last Name", OPTIN_TIME,
 * CONFIRM_TIME, TIMEZONE, ...), listmonk (uuid, email, name, attributes, status, created_at,
 * updated_at) and Substack (email, active_subscription, expiry, plan, email_disabled, created_at,
 * ...) are recognised, so their files map without editing.
 */
const Column = Type.String({
  minLength: 1,
  maxLength: 200,
  description: "a column name from the file's header",
});
export const ColumnMapping = Type.Object(
  {
    email: Type.Optional(Column),
    name: Type.Optional(Column),
    firstName: Type.Optional(Column),
    lastName: Type.Optional(Column),
    language: Type.Optional(Column),
    frequency: Type.Optional(Column),
    topics: Type.Optional(Column),
    timezone: Type.Optional(Column),
    sendHour: Type.Optional(
      Type.String({
        ...Column,
        description: "a local send hour column, 0-23 (empty: the publication's hour)",
      }),
    ),
    weeklyDay: Type.Optional(
      Type.String({
        ...Column,
        description:
          "a weekly day column: an English or Arabic day name (friday, الجمعة) or 0-6, 0 = Sunday (empty: the publication's day)",
      }),
    ),
    alerts: Type.Optional(
      Type.String({ ...Column, description: 'a true/false column: breaking-news alerts (empty: none)' }),
    ),
    consentDate: Type.Optional(Column),
    consentSource: Type.Optional(Column),
    status: Type.Optional(
      Type.String({
        ...Column,
        description:
          'a status column: rows whose status says the address left or was cleaned in the old system (unsubscribed, cleaned, blocklisted, disabled) are skipped',
      }),
    ),
    emailDisabled: Type.Optional(
      Type.String({
        ...Column,
        description: 'a true/false column (Substack email_disabled): true rows are skipped',
      }),
    ),
  },
  { additionalProperties: false, description: 'reader field -> column name in the file' },
);
export type ColumnMapping = Static<typeof ColumnMapping>;
export type Field = keyof ColumnMapping;
export const FIELDS = Object.keys(ColumnMapping.properties) as Field[];

export type KnownFormat = 'mailchimp' | 'listmonk' | 'substack';

// header names squeezed to lower-case letters and digits (Arabic letters kept), in preference order
const ALIASES: Record<Field, string[]> = {
  email: ['email', 'emailaddress', 'mail', 'البريدالإلكتروني', 'البريدالالكتروني', 'البريد'],
  name: ['name', 'fullname', 'الاسم'],
  firstName: ['firstname', 'fname', 'givenname', 'الاسمالأول'],
  lastName: ['lastname', 'lname', 'surname', 'familyname', 'اسمالعائلة'],
  language: ['language', 'lang', 'locale', 'اللغة'],
  frequency: ['frequency', 'التكرار'],
  topics: ['topics', 'interests', 'المواضيع'],
  timezone: ['timezone', 'tz', 'المنطقةالزمنية'],
  sendHour: ['sendhour', 'hour', 'ساعةالإرسال', 'ساعةالارسال'],
  weeklyDay: ['weeklyday', 'day', 'يومالأسبوع', 'يومالاسبوع'],
  alerts: ['alerts', 'breakingnews', 'التنبيهات'],
  // Mailchimp: CONFIRM_TIME (double opt-in) before OPTIN_TIME; listmonk and Substack: created_at
  consentDate: [
    'consentdate',
    'confirmtime',
    'optintime',
    'confirmedat',
    'subscribedat',
    'createdat',
    'signupdate',
  ],
  consentSource: ['consentsource', 'source', 'signupsource'],
  status: ['status', 'subscriptionstatus'],
  emailDisabled: ['emaildisabled'],
};

const squeeze = (header: string) =>
  header
    .normalize('NFC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]/gu, '');

export function suggestMapping(header: string[]): ColumnMapping {
  const squeezed = header.map(squeeze);
  const out: ColumnMapping = {};
  for (const field of FIELDS) {
    for (const alias of ALIASES[field]) {
      const i = squeezed.indexOf(alias);
      if (i >= 0) {
        out[field] = header[i]!;
        break;
      }
    }
  }
  // a full name column wins over first/last; first/last are joined otherwise
  if (out.name) {
    delete out.firstName;
    delete out.lastName;
  }
  return out;
}

export function recognizeFormat(header: string[]): KnownFormat | null {
  const h = new Set(header.map((x) => x.trim()));
  if (h.has('Email Address') && (h.has('MEMBER_RATING') || h.has('OPTIN_TIME') || h.has('LEID')))
    return 'mailchimp';
  if (h.has('email') && h.has('attributes') && h.has('status')) return 'listmonk';
  if (h.has('email') && h.has('active_subscription')) return 'substack';
  return null;
}

/** The column index of each mapped field; a 400 naming the problem when the mapping cannot work. */
export function resolveMapping(header: string[], mapping: ColumnMapping): Partial<Record<Field, number>> {
  if (!mapping.email)
    throw badFile(
      `the file has no email column (columns: ${header.join(', ').slice(0, 500)}); map one with mapping.email`,
    );
  const out: Partial<Record<Field, number>> = {};
  for (const field of FIELDS) {
    const column = mapping[field];
    if (column === undefined) continue;
    const i = header.indexOf(column);
    if (i < 0) throw badFile(`mapping.${field}: the file has no column "${column}"`);
    out[field] = i;
  }
  return out;
}
