/**
 * Click tracking as readers see it (only where publication.engagement.clickTracking is on): a
 * sentence under the consent text of the subscription form, and a section of the preference
 * centre to turn it off (then the reader's mails carry plain links).
 */
import type { Language } from '../../publication.js';
import { type Html, html } from './layout.js';

const STRINGS = {
  ar: {
    consent:
      'نحصي الروابط التي تفتحها من رسائلنا لنعرف ما يهمّ قرّاءنا، ولا نستخدم بكسل تتبّع للفتح. يمكنك إيقاف ذلك في أي وقت من صفحة التفضيلات.',
    heading: 'إحصاء النقرات',
    on: 'نحصي الروابط التي تفتحها من رسائلنا (دون بكسل تتبّع للفتح) لنعرف الأخبار الأكثر قراءة.',
    off: 'أوقفتَ إحصاء النقرات: روابط رسائلك تذهب إلى المقالات مباشرة.',
    turnOff: 'إيقاف إحصاء النقرات',
    turnOn: 'السماح بإحصاء النقرات',
    saved: 'حُفظ اختيارك.',
  },
  en: {
    consent:
      'We count which links you open from our mails to learn what our readers value; there is no open-tracking pixel. You can turn this off at any time on the preferences page.',
    heading: 'Click counting',
    on: 'We count the links you open from our mails (no open-tracking pixel) to learn which stories are read most.',
    off: 'You turned click counting off: the links in your mails go straight to the articles.',
    turnOff: 'Turn click counting off',
    turnOn: 'Allow click counting',
    saved: 'Your choice is saved.',
  },
} as const;

/** the form field of the preference centre's tracking form */
export const TRACKING_FIELD = 'tracking';

export function trackingConsent(language: Language): Html {
  return html`<p class="consent">${STRINGS[language].consent}</p>`;
}

export function trackingSection(o: {
  language: Language;
  tracked: boolean;
  action: string;
  saved: boolean;
}): Html {
  const s = STRINGS[o.language];
  return html`<section class="field" aria-labelledby="tracking-heading">
<h2 id="tracking-heading">${s.heading}</h2>
${o.saved ? html`<div class="notice" role="status">${s.saved}</div>` : ''}
<p>${o.tracked ? s.on : s.off}</p>
<form method="post" action="${o.action}" accept-charset="utf-8">
<input type="hidden" name="${TRACKING_FIELD}" value="${o.tracked ? 'off' : 'on'}">
<button type="submit">${o.tracked ? s.turnOff : s.turnOn}</button>
</form>
</section>`;
}
