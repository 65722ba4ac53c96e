import type { Language, Publication } from '../../publication.js';
import { NAME_MAX, type Preferences } from '../../subscriptions/validate.js';
import { fmtHtml, formatDuration, formatHour, type Html, html, ltr, page, weekdays } from './layout.js';
import { type ErrorField, fmt, pageStrings } from './strings.js';

/** Field names shared by the hosted form, embedded forms, the JSON API and the preferences page. */
export const HONEYPOT_FIELD = 'website';
export const RENDERED_FIELD = 'rendered';
/** "all" or "chosen": whether the reader follows every topic or only the ticked ones */
export const TOPICS_MODE_FIELD = 'topicsMode';

/** What a list of topics reads as: "all topics" or the labels, in the page's language. */
export function topicsSummary(publication: Publication, language: Language, topics: string[]): string {
  if (topics.length === 0) return pageStrings(language).preferences.savedAll;
  const labels = publication.topics.filter((t) => topics.includes(t.id)).map((t) => t.label[language]);
  return new Intl.ListFormat(publication.locales[language].locale, { type: 'conjunction' }).format(labels);
}
/** an embedded form's timing proof, from GET /api/v1/subscriptions/challenge (subscribe.js fills it) */
export const EMBED_RENDERED_FIELD = 'embed_rendered';

export interface FormValues {
  email: string;
  name: string;
  topics: string[];
  frequency: string;
  alerts: boolean;
  /** null: the publication's weekly day */
  weeklyDay: number | null;
}

export interface FormError {
  field: string;
  message: string;
}

function errorBlock(language: Language, error: FormError | undefined): Html {
  if (!error) return html``;
  const s = pageStrings(language);
  return html`<div class="error" role="alert" id="form-error"><b>${s.errors.title}</b><br>${error.message}</div>`;
}

/** The message for a field, its numbers in the publication's digits for the language. */
export function localizedError(publication: Publication, language: Language, field: string): FormError {
  const errors = pageStrings(language).errors;
  const key = (field in errors ? field : 'generic') as ErrorField;
  const { locale, numberingSystem } = publication.locales[language];
  return {
    field,
    message: fmt(errors[key], {
      max: new Intl.NumberFormat(locale, { numberingSystem }).format(NAME_MAX),
      first: formatHour(publication, language, 0),
      last: formatHour(publication, language, 23),
    }),
  };
}

const invalid = (error: FormError | undefined, field: string) =>
  error?.field === field ? html` aria-invalid="true" aria-describedby="form-error"` : html``;

export function topicChoices(
  publication: Publication,
  language: Language,
  selected: string[],
  error?: FormError,
): Html {
  const s = pageStrings(language);
  // An empty list is "all topics" (new ones included): an explicit choice, never what unticking
  // every box silently means.
  const all = selected.length === 0;
  const ticked = all ? publication.topics.map((t) => t.id) : selected;
  return html`<fieldset${invalid(error, 'topics')}>
<legend>${s.subscribe.topics}</legend>
<span class="hint">${s.subscribe.topicsHint}</span>
<div class="choices few">
<label class="choice"><input type="radio" name="${TOPICS_MODE_FIELD}" value="all"${all ? html` checked` : ''}> ${s.subscribe.topicsAll}</label>
<label class="choice"><input type="radio" name="${TOPICS_MODE_FIELD}" value="chosen"${all ? '' : html` checked`}> ${s.subscribe.topicsChosen}</label>
</div>
<div class="choices">
${publication.topics.map(
  (t) =>
    html`<label class="choice"><input type="checkbox" name="topics" value="${t.id}"${ticked.includes(t.id) ? html` checked` : ''}> ${t.label[language]}</label>
`,
)}</div>
</fieldset>`;
}

export function frequencyChoices(language: Language, selected: string, error?: FormError): Html {
  const s = pageStrings(language);
  const options = ['immediate', 'daily', 'weekly'] as const;
  return html`<fieldset${invalid(error, 'frequency')}>
<legend>${s.subscribe.frequency}</legend>
<div class="choices few">
${options.map(
  (f) =>
    html`<label class="choice"><input type="radio" name="frequency" value="${f}"${selected === f ? html` checked` : ''}> ${s.subscribe.frequencies[f]}</label>
`,
)}</div>
</fieldset>`;
}

/** The weekly digest's day, named and ordered as the reader's locale does; the publication's day by default. */
export function weeklyDayChoice(
  publication: Publication,
  language: Language,
  selected: number | null,
  error?: FormError,
): Html {
  const s = pageStrings(language).subscribe;
  const chosen = selected ?? publication.digest.weeklyDay;
  const days = weekdays(publication, language);
  return html`<div class="field">
<label for="weeklyDay">${s.weeklyDay}</label>
<span class="hint" id="weeklyDay-hint">${fmt(s.weeklyDayHint, { first: days[0]!.name })}</span>
<select id="weeklyDay" name="weeklyDay" aria-describedby="weeklyDay-hint"${invalid(error, 'weeklyDay')}>
${days.map(({ day, name }) => html`<option value="${day}"${day === chosen ? html` selected` : ''}>${name}</option>`)}
</select>
</div>`;
}

export function alertsToggle(language: Language, checked: boolean): Html {
  const s = pageStrings(language);
  return html`<div class="field"><label class="toggle"><input type="checkbox" name="alerts" value="true"${checked ? html` checked` : ''}><span>${s.subscribe.alerts}<span class="hint">${s.subscribe.alertsHint}</span></span></label></div>`;
}

export interface SubscribePageInput {
  language: Language;
  publication: Publication;
  values: FormValues;
  /** signed render time for the minimum time-to-submit */
  rendered: string;
  error?: FormError;
}

export function subscribePage(o: SubscribePageInput): string {
  const { language, publication, values, error } = o;
  const s = pageStrings(language);
  const name = publication.name[language];
  const other: Language = language === 'ar' ? 'en' : 'ar';
  return page({
    language,
    publication,
    title: fmt(s.subscribe.title, { publication: name }),
    scripts: ['/assets/subscribe.js'],
    switchHref: `/subscribe?lang=${other}`,
    body: html`<h1>${fmt(s.subscribe.title, { publication: name })}</h1>
<p>${s.subscribe.intro}</p>
${errorBlock(language, error)}
<form method="post" action="/subscribe?lang=${language}" accept-charset="utf-8" novalidate data-gazette-subscribe>
<input type="hidden" name="language" value="${language}">
<input type="hidden" name="timezone" value="" data-gazette-timezone>
<input type="hidden" name="${RENDERED_FIELD}" value="${o.rendered}">
<div class="field">
<label for="email">${s.subscribe.email}</label>
<span class="hint" id="email-hint">${s.subscribe.emailHint}</span>
<input id="email" name="email" type="email" inputmode="email" autocomplete="email" dir="ltr" required maxlength="254" value="${values.email}"${invalid(error, 'email')} aria-describedby="email-hint">
</div>
<div class="field">
<label for="name">${s.subscribe.name}</label>
<input id="name" name="name" type="text" autocomplete="name" dir="auto" maxlength="100" value="${values.name}"${invalid(error, 'name')}>
</div>
${topicChoices(publication, language, values.topics, error)}
${frequencyChoices(language, values.frequency, error)}
${weeklyDayChoice(publication, language, values.weeklyDay, error)}
${alertsToggle(language, values.alerts)}
<div class="hp" aria-hidden="true"><label for="${HONEYPOT_FIELD}">${s.subscribe.honeypot}</label><input id="${HONEYPOT_FIELD}" name="${HONEYPOT_FIELD}" type="text" tabindex="-1" autocomplete="off" value=""></div>
<p class="consent">${publication.consent.text[language]}</p>
<button type="submit">${s.subscribe.submit}</button>
</form>`,
  });
}

export function checkInboxPage(
  language: Language,
  publication: Publication,
  ttlSeconds: number,
  chosenTopics?: string[],
): string {
  const s = pageStrings(language);
  return page({
    language,
    publication,
    title: s.checkInbox.title,
    body: html`<h1>${s.checkInbox.title}</h1>
<p>${fmt(s.checkInbox.body, { publication: publication.name[language] })}</p>
${chosenTopics ? html`<p>${fmt(s.checkInbox.chosen, { topics: topicsSummary(publication, language, chosenTopics) })}</p>` : ''}
<p class="hint">${fmt(s.checkInbox.hint, { days: formatDuration(publication, language, ttlSeconds) })}</p>`,
  });
}

/** One button that POSTs to the same URL: confirmation and unsubscribe pages change nothing on GET. */
export function buttonPage(o: {
  language: Language;
  publication: Publication;
  heading: string;
  text: Html | string;
  action: string;
  button: string;
  fields?: Record<string, string>;
  /** a line just above the button, saying what it does */
  hint?: string;
  /** an outlined button, for a way back rather than the page's main action */
  secondary?: boolean;
}): string {
  return page({
    language: o.language,
    publication: o.publication,
    title: o.heading,
    body: html`<h1>${o.heading}</h1>
<p>${o.text}</p>
${o.hint ? html`<p class="hint">${o.hint}</p>` : ''}
<form method="post" action="${o.action}"${o.secondary ? html` class="way-back"` : ''}>
${Object.entries(o.fields ?? {}).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}
<button type="submit"${o.secondary ? html` class="secondary"` : ''}>${o.button}</button>
</form>`,
  });
}

export interface PreferencesPageInput {
  language: Language;
  publication: Publication;
  email: string;
  name: string;
  action: string;
  unsubscribeHref: string;
  /** the reader's own data as JSON, authenticated by the same preferences link */
  dataHref: string;
  values: Preferences;
  saved?: boolean;
  error?: FormError;
  /** the address is not confirmed yet: say so, with a button that mails the link again */
  pending?: { resent: boolean; intervalSeconds: number };
}

/** Every IANA zone this runtime knows, grouped by region, once per process. */
let zoneGroups: Array<[string, string[]]> | undefined;
function timeZoneGroups(): Array<[string, string[]]> {
  if (zoneGroups) return zoneGroups;
  const groups = new Map<string, string[]>();
  for (const zone of ['UTC', ...Intl.supportedValuesOf('timeZone')]) {
    const region = zone.includes('/') ? zone.slice(0, zone.indexOf('/')) : 'UTC';
    groups.set(region, [...(groups.get(region) ?? []), zone]);
  }
  zoneGroups = [...groups.entries()];
  return zoneGroups;
}

/** A picker of time zones: the reader's and the publication's first, then every zone by region. */
function timeZonePicker(o: PreferencesPageInput): Html {
  const current = o.values.timezone;
  const first = [...new Set([current, o.publication.timezone])];
  const option = (zone: string) =>
    html`<option value="${zone}"${zone === current ? html` selected` : ''}>${zone.replaceAll('_', ' ')}</option>`;
  return html`<select id="timezone" name="timezone" dir="ltr"${invalid(o.error, 'timezone')}>
${first.map(option)}
${timeZoneGroups().map(([region, zones]) => html`<optgroup label="${region}">${zones.filter((z) => !first.includes(z)).map(option)}</optgroup>`)}
</select>`;
}

/** A pending reader's page says the address is not confirmed yet, with a way to get the mail again. */
function pendingNotice(o: PreferencesPageInput): Html {
  const s = pageStrings(o.language).preferences;
  const pending = o.pending!;
  if (pending.resent)
    return html`<div class="notice" role="status">${fmt(s.resent, { interval: formatDuration(o.publication, o.language, pending.intervalSeconds) })}</div>`;
  return html`<div class="notice pending" role="status"><b>${s.pending}</b><br>${fmtHtml(s.pendingBody, { email: ltr(o.email) })}
<form method="post" action="${o.action}/resend"><button type="submit" class="secondary">${s.resend}</button></form></div>`;
}

export function preferencesPage(o: PreferencesPageInput): string {
  const { language, publication, values, error } = o;
  const s = pageStrings(language);
  const hours = Array.from({ length: 24 }, (_, h) => h);
  return page({
    language,
    publication,
    title: s.preferences.title,
    body: html`<h1>${s.preferences.title}</h1>
<p>${fmtHtml(s.preferences.intro, { email: ltr(o.email) })}</p>
${o.pending ? pendingNotice(o) : ''}
${o.saved ? html`<div class="notice" role="status">${s.preferences.saved} ${fmt(s.preferences.savedTopics, { topics: topicsSummary(publication, language, values.topics) })}</div>` : ''}
${errorBlock(language, error)}
<form method="post" action="${o.action}" accept-charset="utf-8" novalidate>
<div class="field">
<label for="name">${s.preferences.name}</label>
<input id="name" name="name" type="text" autocomplete="name" maxlength="100" value="${o.name}"${invalid(error, 'name')}>
</div>
${topicChoices(publication, language, values.topics, error)}
${frequencyChoices(language, values.frequency, error)}
${weeklyDayChoice(publication, language, values.weeklyDay, error)}
${alertsToggle(language, values.alerts)}
<div class="field">
<label for="language">${s.preferences.language}</label>
<select id="language" name="language"${invalid(error, 'language')}>
${(['ar', 'en'] as const).map((l) => html`<option value="${l}" lang="${l}"${values.language === l ? html` selected` : ''}>${s.preferences.languages[l]}</option>`)}
</select>
</div>
<div class="field">
<label for="sendHour">${s.preferences.sendHour}</label>
<select id="sendHour" name="sendHour"${invalid(error, 'sendHour')}>
${hours.map((h) => html`<option value="${h}"${values.sendHour === h ? html` selected` : ''}>${formatHour(publication, language, h)}</option>`)}
</select>
</div>
<div class="field">
<label for="timezone">${s.preferences.timezone}</label>
${timeZonePicker(o)}
</div>
<button type="submit">${s.preferences.save}</button>
</form>
<p><a href="${o.unsubscribeHref}">${s.preferences.unsubscribe}</a></p>
<p><a href="${o.dataHref}" download>${s.preferences.downloadData}</a></p>`,
  });
}
