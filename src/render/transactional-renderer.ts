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
        greeting: readerName ? greeting : '',
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
      ...(readerName ? lines(greeting, '') : []),
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
  const subject = formatText(strings.subject.welcome, { publication: name });
  const heading = formatText(strings.welcome.heading, { publication: name });
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
    }),
    strings.direction,
  );
  const text = [
    ...lines(name, '', heading, '', greeting, '', strings.welcome.body, '', strings.welcome.preferences),
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
