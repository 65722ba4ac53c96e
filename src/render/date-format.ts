import type { Language, Publication } from '../publication.js';

/**
 * Dates go through Intl with the publication's locale, numbering system and calendar, in the
 * publication's time zone: ar-SY + arab digits gives "الأحد، ١ تشرين الثاني ٢٠٢٦".
 */
function formatter(
  publication: Publication,
  language: Language,
  options: Intl.DateTimeFormatOptions,
): Intl.DateTimeFormat {
  const { locale, numberingSystem, calendar } = publication.locales[language];
  return new Intl.DateTimeFormat(locale, {
    ...options,
    timeZone: publication.timezone,
    ...(numberingSystem ? { numberingSystem } : {}),
    ...(calendar ? { calendar } : {}),
  });
}

export function formatLongDate(publication: Publication, language: Language, date: Date): string {
  return formatter(publication, language, {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
  }).format(date);
}

export function formatDateTime(publication: Publication, language: Language, date: Date): string {
  return formatter(publication, language, { dateStyle: 'long', timeStyle: 'short' }).format(date);
}
