/** Header and footer props shared by every template, and the matching plain-text footer. */
import type { Language, Publication } from '../publication.js';
import { formatText, type LocaleStrings } from './locale-strings.js';
import { SafeHtml } from './safe-text.js';
import type { LayoutProps } from './template-registry.js';

export interface FooterLinks {
  /** URL, a personal token (SafeHtml) or '' when the message has no such link. */
  preferencesUrl: string | SafeHtml;
  unsubscribeUrl: string | SafeHtml;
  archiveUrl: string | SafeHtml;
}

/**
 * After the preheader, invisible spacers so the inbox snippet ends with it instead of running
 * into the masthead and greeting. The preheader is hidden by display/size only, never by a font
 * colour matching the background (SpamAssassin's HTML_FONT_LOW_CONTRAST).
 */
const PREHEADER_PAD = new SafeHtml('&#847;&zwnj;&nbsp;'.repeat(40));

export function layoutProps(args: {
  language: Language;
  publication: Publication;
  strings: LocaleStrings;
  subject: string;
  preheader: string;
  dateLine: string;
  links: FooterLinks;
  /** Why the reader gets this mail: subscribers by default, sign-up for the confirmation. */
  reason?: 'subscriber' | 'signup';
}): LayoutProps {
  const { language, publication, strings, links } = args;
  const rtl = strings.direction === 'rtl';
  const name = publication.name[language];
  return {
    lang: language,
    dir: strings.direction,
    align: rtl ? 'right' : 'left',
    fontStack: new SafeHtml(strings.fontStack),
    type: strings.type,
    subject: args.subject,
    preheader: args.preheader,
    preheaderPad: PREHEADER_PAD,
    website: publication.website,
    publicationName: name,
    dateLine: args.dateLine,
    postalAddress: publication.postalAddress[language],
    footer: {
      reason: formatText(args.reason === 'signup' ? strings.footer.reasonSignup : strings.footer.reason, {
        publication: name,
      }),
      preferences: strings.footer.preferences,
      unsubscribe: strings.footer.unsubscribe,
      viewInBrowser: strings.footer.viewInBrowser,
      ...links,
    },
  };
}

/** Plain-text footer: the address and every link spelled out, each URL on a line of its own. */
export function textFooter(args: {
  language: Language;
  publication: Publication;
  strings: LocaleStrings;
  links: { preferencesUrl: string; unsubscribeUrl: string; archiveUrl: string };
  reason?: 'subscriber' | 'signup';
}): string[] {
  const { language, publication, strings, links } = args;
  const name = publication.name[language];
  const reason = args.reason === 'signup' ? strings.footer.reasonSignup : strings.footer.reason;
  const lines = ['', '-- ', formatText(reason, { publication: name })];
  if (links.archiveUrl) lines.push('', `${strings.footer.viewInBrowser}:`, links.archiveUrl);
  if (links.preferencesUrl) lines.push('', `${strings.footer.preferences}:`, links.preferencesUrl);
  if (links.unsubscribeUrl) lines.push('', `${strings.footer.unsubscribe}:`, links.unsubscribeUrl);
  lines.push('', name, publication.postalAddress[language], publication.website);
  return lines;
}
