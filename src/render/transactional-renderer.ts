/**
 * Confirmation (double opt-in) and welcome messages: one reader each, so the personal values are
 * rendered directly instead of as tokens.
 */
import { formatDateTime } from './date-format.js';
import { layoutProps, textFooter } from './layout.js';
import { formatHtml, formatText, localeStrings } from './locale-strings.js';
import { compileMjml } from './mjml-compiler.js';
import { greetingFor } from './personalization.js';
import {
  RenderError,
  type RenderedMessage,
  type RenderTransactionalInput,
  type TransactionalTemplate,
} from './render-types.js';
import { cleanText, isolateHtml, neutralizeTokens, safeUrl } from './safe-text.js';
import { buildMjml } from './template-registry.js';

function requireUrl(value: string | undefined, field: string): string {
  const url = safeUrl(value);
  if (!url) throw new RenderError(`${field} must be an http(s) URL`);
  return url;
}

export async function renderTransactional(
  template: TransactionalTemplate,
  input: RenderTransactionalInput,
): Promise<RenderedMessage> {
  const { language, publication } = input;
  const strings = localeStrings(language);
  const name = publication.name[language];
  const readerName = cleanText(input.name ?? '');
  const greeting = greetingFor(strings.greeting, readerName);
  const lines = (...values: string[]) => values.map((v) => neutralizeTokens(v));

  if (template === 'confirmation') {
    // No name and no greeting: whoever typed the address chose the name (a link, an offer), and
    // this mail goes to a mailbox nobody has confirmed yet. Only Gazette's own words go in it.
    const confirmUrl = requireUrl(input.confirmUrl, 'confirmUrl');
    const subject = formatText(strings.subject.confirmation, { publication: name });
    const expires = input.expiresAt
      ? formatText(strings.confirmation.expires, {
          date: formatDateTime(publication, language, input.expiresAt),
        })
      : '';
    const body = formatText(strings.confirmation.body, { publication: name });
    const html = await compileMjml(
      buildMjml('confirmation', {
        ...layoutProps({
          language,
          publication,
          strings,
          subject,
          preheader: strings.confirmation.heading,
          dateLine: '',
          links: { preferencesUrl: '', unsubscribeUrl: '', archiveUrl: '' },
          reason: 'signup',
        }),
        heading: strings.confirmation.heading,
        body,
        button: strings.confirmation.button,
        confirmUrl,
        confirmUrlText: isolateHtml(confirmUrl),
        fallback: strings.confirmation.fallback,
        expires,
        ignore: strings.confirmation.ignore,
      }),
      strings.direction,
    );
    const text = [
      ...lines(name, '', strings.confirmation.heading, ''),
      ...lines(body, '', `${strings.confirmation.button}:`),
      confirmUrl,
      '',
      ...(expires ? lines(expires, '') : []),
      ...lines(strings.confirmation.ignore),
      ...textFooter({
        language,
        publication,
        strings,
        links: { preferencesUrl: '', unsubscribeUrl: '', archiveUrl: '' },
        reason: 'signup',
      }),
    ];
    return { subject, html, text: `${text.join('\n')}\n` };
  }

  const preferencesUrl = requireUrl(input.preferencesUrl, 'preferencesUrl');
  const unsubscribeUrl = requireUrl(input.unsubscribeUrl, 'unsubscribeUrl');

  if (template === 'already-subscribed') {
    // Asked for by whoever submitted the form: like the confirmation, no name and no greeting,
    // only Gazette's own words and the reader's own links. With a keep link the reader is paused:
    // the mail says so and carries the link that resumes them.
    const a = strings.alreadySubscribed;
    const keepUrl = input.keepUrl === undefined ? undefined : requireUrl(input.keepUrl, 'keepUrl');
    const subject = formatText(
      keepUrl ? strings.subject.alreadySubscribedPaused : strings.subject.alreadySubscribed,
      { publication: name },
    );
    const heading = keepUrl ? a.pausedHeading : a.heading;
    const body = formatText(keepUrl ? a.pausedBody : a.body, { publication: name });
    const ignore = keepUrl ? a.pausedIgnore : a.ignore;
    const html = await compileMjml(
      buildMjml('already-subscribed', {
        ...layoutProps({
          language,
          publication,
          strings,
          subject,
          preheader: heading,
          dateLine: '',
          links: { preferencesUrl, unsubscribeUrl, archiveUrl: '' },
        }),
        heading,
        body,
        keepUrl: keepUrl ?? '',
        resume: a.resume,
        resumeButton: a.resumeButton,
        preferences: a.preferences,
        preferencesButton: a.preferencesButton,
        preferencesUrl,
        ignore,
        unsubscribe: a.unsubscribe,
        unsubscribeLabel: strings.footer.unsubscribe,
        unsubscribeUrl,
      }),
      strings.direction,
    );
    const text = [
      ...lines(name, '', heading, '', body, ''),
      ...(keepUrl ? [...lines(a.resume, `${a.resumeButton}:`), keepUrl, ''] : []),
      ...lines(a.preferences),
      preferencesUrl,
      '',
      ...lines(ignore, '', a.unsubscribe),
      unsubscribeUrl,
      ...textFooter({
        language,
        publication,
        strings,
        links: { preferencesUrl: '', unsubscribeUrl: '', archiveUrl: '' },
      }),
    ];
    return { subject, html, text: `${text.join('\n')}\n` };
  }

  if (template === 'repermission') {
    // sent to a confirmed reader: their name in the greeting like the welcome mail
    const r = strings.repermission;
    const keepUrl = requireUrl(input.keepUrl, 'keepUrl');
    const subject = formatText(strings.subject.repermission, { publication: name });
    const body = formatText(r.body, { publication: name });
    const days = String(input.graceDays ?? 14);
    const grace = formatText(r.grace, { days });
    const html = await compileMjml(
      buildMjml('repermission', {
        ...layoutProps({
          language,
          publication,
          strings,
          subject,
          preheader: r.heading,
          dateLine: '',
          links: { preferencesUrl, unsubscribeUrl, archiveUrl: '' },
        }),
        heading: r.heading,
        greeting,
        body: formatHtml(r.body, { publication: name }),
        button: r.button,
        keepUrl,
        grace: formatHtml(r.grace, { days }),
        unsubscribe: r.unsubscribe,
        unsubscribeLabel: strings.footer.unsubscribe,
        unsubscribeUrl,
      }),
      strings.direction,
    );
    const text = [
      ...lines(name, '', r.heading, '', greeting, '', body, '', `${r.button}:`),
      keepUrl,
      '',
      ...lines(grace, '', r.unsubscribe),
      unsubscribeUrl,
      ...textFooter({
        language,
        publication,
        strings,
        links: { preferencesUrl, unsubscribeUrl, archiveUrl: '' },
      }),
    ];
    return { subject, html, text: `${text.join('\n')}\n` };
  }

  const subject = formatText(strings.subject.welcome, { publication: name });
  const heading = formatText(strings.welcome.heading, { publication: name });
  const choices = welcomeChoices(input, strings.welcome);
  const html = await compileMjml(
    buildMjml('welcome', {
      ...layoutProps({
        language,
        publication,
        strings,
        subject,
        preheader: strings.welcome.body,
        dateLine: '',
        links: { preferencesUrl, unsubscribeUrl, archiveUrl: '' },
      }),
      heading: formatHtml(strings.welcome.heading, { publication: name }),
      greeting,
      body: strings.welcome.body,
      preferences: strings.welcome.preferences,
      preferencesButton: strings.welcome.preferencesButton,
      preferencesUrl,
      unsubscribe: strings.welcome.unsubscribe,
      unsubscribeLabel: strings.footer.unsubscribe,
      unsubscribeUrl,
      websiteText: isolateHtml(publication.website.replace(/^https?:\/\//, '')),
      choicesHeading: strings.welcome.choices,
      choices: choices.map((line) => ({ line })),
    }),
    strings.direction,
  );
  const text = [
    ...lines(name, '', heading, '', greeting, '', strings.welcome.body, ''),
    ...(choices.length > 0 ? [strings.welcome.choices, ...choices, ''] : []),
    strings.welcome.preferences,
    preferencesUrl,
    '',
    ...lines(strings.welcome.unsubscribe),
    unsubscribeUrl,
    ...textFooter({
      language,
      publication,
      strings,
      links: { preferencesUrl: '', unsubscribeUrl: '', archiveUrl: '' },
    }),
  ];
  return { subject, html, text: `${text.join('\n')}\n` };
}

/** The welcome mail's summary of the reader's choices: topics, schedule, alerts. */
function welcomeChoices(
  input: RenderTransactionalInput,
  w: { topics: string; allTopics: string; alertsOn: string; alertsOff: string },
): string[] {
  const c = input.choices;
  if (!c) return [];
  const { publication, language } = input;
  const labels = publication.topics.filter((t) => c.topics.includes(t.id)).map((t) => t.label[language]);
  const topics =
    labels.length === 0
      ? w.allTopics
      : new Intl.ListFormat(publication.locales[language].locale, { type: 'conjunction' }).format(labels);
  return [formatText(w.topics, { topics }), c.nextDigest, c.alerts ? w.alertsOn : w.alertsOff];
}
