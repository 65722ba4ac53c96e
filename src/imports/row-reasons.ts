/**
 * The reasons of an import's row outcomes as stable codes. The stored reason stays the English
 * sentence the API has always given (row-parser.ts, cell-values.ts and the statements of
 * import-store.ts write it); this reads the code and its value back from that sentence, so the
 * console can say it in the operator's language and the API can add the code without a migration
 * or a second column. test/unit/imports/row-reasons.test.ts feeds it what the writers produce, so
 * a reworded reason that would lose its code fails there.
 */
export const ROW_REASON_CODES = [
  'email_missing',
  'email_invalid',
  'name_invalid',
  'language',
  'frequency',
  'topic',
  'timezone',
  'send_hour',
  'weekly_day',
  'alerts',
  'consent_date',
  'status_left',
  'status_unconfirmed',
  'email_disabled',
  'duplicate_in_file',
  'already_reader',
  'subscribed_during_import',
  'suppressed',
  'erased_earlier',
  'erased',
  'other',
] as const;

export type RowReasonCode = (typeof ROW_REASON_CODES)[number];

export interface RowReason {
  code: RowReasonCode;
  /** the value the reason quotes (the cell, the row number, the reader's state), if any */
  value: string | null;
  /** the address was erased since: its row kept the outcome and lost the address */
  erased: boolean;
}

/** Sentence patterns, most specific first; group 1 is the quoted value. */
const PATTERNS: Array<[RowReasonCode, RegExp]> = [
  ['email_missing', /^email: is required$/],
  ['email_invalid', /^email: (.+)$/s],
  ['name_invalid', /^name: (.+)$/s],
  ['language', /^language: "(.*)" is neither ar nor en$/s],
  ['frequency', /^frequency: "(.*)" is not one of .+$/s],
  ['topic', /^topics: unknown topic "(.*)"$/s],
  ['timezone', /^timezone: "(.*)" is not a known IANA time zone$/s],
  ['send_hour', /^send_hour must be 0-23, got (.*)$/s],
  ['weekly_day', /^weekly_day must be a day name \(.*\) or 0-6, got (.*)$/s],
  ['alerts', /^alerts must be true or false, got (.*)$/s],
  ['consent_date', /^consent date: "(.*)" is not a date$/s],
  ['status_unconfirmed', /^status "(.*)" in the file: never confirmed; import it in confirm mode to ask$/s],
  ['status_left', /^status "(.*)" in the file$/s],
  ['email_disabled', /^email disabled in the file$/],
  ['duplicate_in_file', /^same address as row (\d+)$/],
  ['subscribed_during_import', /^already a reader \(subscribed during the import\)$/],
  ['already_reader', /^already a reader \((\w+)\)$/],
  ['erased_earlier', /^address erased earlier: on the suppression list$/],
  ['suppressed', /^address is suppressed$/],
];

/** The code of a stored reason (null for none); a sentence no pattern knows is `other`. */
export function rowReason(reason: string | null): RowReason | null {
  if (reason === null || reason === '') return null;
  // erasure appends "; erased" to whatever the row said (import-store.ts scrubAddress)
  const erased = reason === 'erased' || reason.endsWith('; erased');
  const text = reason === 'erased' ? '' : erased ? reason.slice(0, -'; erased'.length) : reason;
  if (text === '') return { code: 'erased', value: null, erased: true };
  for (const [code, re] of PATTERNS) {
    const m = re.exec(text);
    if (m) return { code, value: m[1] ?? null, erased };
  }
  return { code: 'other', value: text, erased };
}

/** Just the code, for the API's `code` fields. */
export const rowReasonCode = (reason: string | null): RowReasonCode | null => rowReason(reason)?.code ?? null;
