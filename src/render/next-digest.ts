import { nextSlotOrFallback, weeklyDayOf } from '../digests/schedule.js';
import type { Language, Publication } from '../publication.js';
import type { Frequency } from '../subscriptions/schemas.js';

export interface ScheduleChoice {
  frequency: Frequency;
  timezone: string;
  sendHour: number;
  /** null: the publication's weekly day */
  weeklyDay?: number | null;
}

const TEXT: Record<Language, Record<Frequency, string>> = {
  en: {
    immediate: 'You will get a mail soon after stories on your topics appear.',
    daily: 'Your first daily digest arrives on {when}.',
    weekly: 'Your first weekly digest arrives on {when}.',
  },
  ar: {
    immediate: 'ستصلك رسالة بعد وقت قصير من نشر أخبار في المواضيع التي اخترتها.',
    daily: 'تصلك أول نشرة يومية يوم {when}.',
    weekly: 'تصلك أول نشرة أسبوعية يوم {when}.',
  },
};

/**
 * When the reader's first digest comes, in their language, digits and time zone ("Friday 11
 * December at 07:00 Syria Time"): what the confirmation page and the welcome mail say.
 * The slot is the planner's (digests/schedule.ts), so the promise matches the send.
 */
export function nextDigestText(
  publication: Publication,
  language: Language,
  choice: ScheduleChoice,
  now: Date,
): string {
  const template = TEXT[language][choice.frequency];
  const rule = { ...choice, weeklyDay: weeklyDayOf(choice.weeklyDay, publication.digest.weeklyDay) };
  const { at: slot, timezone: timeZone } = nextSlotOrFallback(rule, now, publication.timezone);
  if (!slot) return template;
  const { locale, numberingSystem } = publication.locales[language];
  const when = new Intl.DateTimeFormat(locale, {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZone,
    // 'Syria Time' rather than 'GMT+03:00', and no standard/summer distinction to get wrong
    timeZoneName: 'longGeneric',
    numberingSystem,
  }).format(slot);
  return template.replace('{when}', when);
}
