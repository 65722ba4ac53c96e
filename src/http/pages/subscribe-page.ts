import type { Language, Publication } from '../../publication.js';
import type { Preferences } from '../../subscriptions/validate.js';
import { fmtHtml, formatDuration, formatHour, type Html, html, ltr, page } from './layout.js';
import { type ErrorField, fmt, pageStrings } from './strings.js';

/** Field names shared by the hosted form, embedded forms, the JSON API and the preferences page. */
export const HONEYPOT_FIELD = 'website';
export const RENDERED_FIELD = 'rendered';

export interface FormValues {
  email: string;
  name: string;
  topics: string[];
  frequency: string;
  alerts: boolean;
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

export function localizedError(language: Language, field: string): FormError {
  const errors = pageStrings(language).errors;
  const key = (field in errors ? field : 'generic') as ErrorField;
  return { field, message: errors[key] };
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
  return html`<fieldset${invalid(error, 'topics')}>
<legend>${s.subscribe.topics}</legend>
<span class="hint">${s.subscribe.topicsHint}</span>
<div class="choices">
${publication.topics.map(
  (t) =>
    html`<label class="choice"><input type="checkbox" name="topics" value="${t.id}"${selected.includes(t.id) ? html` checked` : ''}> ${t.label[language]}</label>
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
<form method="post" action="/subscribe?lang=${language}" accept-charset="utf-8" novalidate>
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
${alertsToggle(language, values.alerts)}
<div class="hp" aria-hidden="true"><label for="${HONEYPOT_FIELD}">${s.subscribe.honeypot}</label><input id="${HONEYPOT_FIELD}" name="${HONEYPOT_FIELD}" type="text" tabindex="-1" autocomplete="off" value=""></div>
<p class="consent">${publication.consent.text[language]}</p>
<button type="submit">${s.subscribe.submit}</button>
</form>`,
  });
}

export function checkInboxPage(language: Language, publication: Publication, ttlSeconds: number): string {
  const s = pageStrings(language);
  return page({
    language,
    publication,
    title: s.checkInbox.title,
    body: html`<h1>${s.checkInbox.title}</h1>
<p>${fmt(s.checkInbox.body, { publication: publication.name[language] })}</p>
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
}): string {
  return page({
    language: o.language,
    publication: o.publication,
    title: o.heading,
    body: html`<h1>${o.heading}</h1>
<p>${o.text}</p>
<form method="post" action="${o.action}">
${Object.entries(o.fields ?? {}).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}
<button type="submit">${o.button}</button>
</form>`,
  });
}

export interface PreferencesPageInput {
  language: Language;
  publication: Publication;
  email: string;
  action: string;
  unsubscribeHref: string;
  values: Preferences;
  saved?: boolean;
  error?: FormError;
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
${o.saved ? html`<div class="notice" role="status">${s.preferences.saved}</div>` : ''}
${errorBlock(language, error)}
<form method="post" action="${o.action}" accept-charset="utf-8" novalidate>
${topicChoices(publication, language, values.topics, error)}
${frequencyChoices(language, values.frequency, error)}
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
<input id="timezone" name="timezone" type="text" dir="ltr" autocomplete="off" maxlength="64" value="${values.timezone}"${invalid(error, 'timezone')}>
</div>
<button type="submit">${s.preferences.save}</button>
</form>
<p><a href="${o.unsubscribeHref}">${s.preferences.unsubscribe}</a></p>`,
  });
}
