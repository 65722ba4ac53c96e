import type { Language, Publication } from '../../publication.js';
import { fmt, pageStrings } from './strings.js';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML content and double- or single-quoted attributes. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Marks a string as already-safe HTML, so page builders can tell markup from text. */
export interface Html {
  readonly __html: string;
}
export const raw = (html: string): Html => ({ __html: html });

/** A tagged template that escapes every interpolated value unless it is Html (or an array of Html). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1]!;
  });
  return raw(out);
}

/** fmt() for HTML: the template is escaped, values are escaped unless they are Html. */
export function fmtHtml(template: string, values: Record<string, Html | string>): Html {
  return raw(esc(template).replace(/\{(\w+)\}/g, (m, k: string) => (k in values ? render(values[k]) : m)));
}

/** Left-to-right text (addresses, URLs) isolated inside right-to-left sentences. */
export const ltr = (text: string): Html => html`<bdi class="ltr" dir="ltr">${text}</bdi>`;

function render(v: unknown): string {
  if (v === undefined || v === null || v === false) return '';
  if (Array.isArray(v)) return v.map(render).join('');
  if (typeof v === 'object' && '__html' in (v as object)) return (v as Html).__html;
  return esc(v);
}

// System fonts only (no external assets). Logical properties, so one sheet serves rtl and ltr.
const CSS = `
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:#f3f1ec;color:#1d1d1b;font:17px/1.6 system-ui,-apple-system,"Segoe UI","Noto Sans","Noto Sans Arabic",Tahoma,Arial,sans-serif}
html[lang=ar] body{font-family:"Noto Sans Arabic","Noto Naskh Arabic","Segoe UI",Tahoma,"Geeza Pro",Arial,sans-serif;line-height:1.8}
main{max-width:34rem;margin:0 auto;padding:1rem}
.card{background:#fff;border-radius:12px;padding:1.25rem 1.25rem 1.5rem;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.masthead{display:flex;justify-content:space-between;align-items:baseline;gap:1rem;margin:.5rem 0 1rem}
.masthead b{font-size:1.1rem;letter-spacing:.01em}
.masthead a{font-size:.95rem}
h1{font-size:1.5rem;line-height:1.3;margin:0 0 .5rem}
p{margin:.5rem 0 1rem}
a{color:#8a1c1c}
label{display:block;font-weight:600;margin:0 0 .25rem}
.field{margin:0 0 1.1rem}
.hint{display:block;font-weight:400;font-size:.9rem;color:#5b5b57;margin:.1rem 0 .35rem}
input[type=email],input[type=text],select{display:block;width:100%;font:inherit;padding:.6rem .75rem;border:1px solid #8d8b85;border-radius:8px;background:#fff;color:inherit;min-height:2.9rem}
html[dir=rtl] input[dir=ltr]{text-align:right}
input:focus-visible,select:focus-visible,button:focus-visible,.choice input:focus-visible{outline:3px solid #1f5fbf;outline-offset:2px}
fieldset{border:0;padding:0;margin:0 0 1.1rem;min-width:0}
legend{font-weight:600;padding:0;margin:0 0 .25rem}
.choices{display:grid;grid-template-columns:repeat(auto-fill,minmax(9.5rem,1fr));gap:.4rem .75rem}
.choice{display:flex;align-items:center;gap:.55rem;font-weight:400;margin:0;padding:.35rem .1rem;min-height:2.75rem;cursor:pointer}
.choice input{width:1.3rem;height:1.3rem;margin:0;flex:none;accent-color:#8a1c1c}
.toggle{display:flex;align-items:flex-start;gap:.6rem;padding:.75rem;border:1px solid #d7d4cc;border-radius:8px;cursor:pointer}
.toggle input{width:1.3rem;height:1.3rem;margin:.3rem 0 0;flex:none;accent-color:#8a1c1c}
.toggle span{font-weight:600}
.toggle .hint{font-weight:400;margin:0}
.consent{font-size:.92rem;color:#3f3f3b;background:#f8f7f3;border-inline-start:4px solid #8a1c1c;padding:.6rem .8rem;border-radius:4px}
button{display:block;width:100%;font:inherit;font-weight:700;padding:.8rem 1rem;border:0;border-radius:8px;background:#8a1c1c;color:#fff;cursor:pointer;min-height:3rem}
button:hover{background:#6f1515}
.secondary{background:#fff;color:#8a1c1c;border:2px solid #8a1c1c}
.error{border:2px solid #b00020;background:#fdecee;color:#6d0014;border-radius:8px;padding:.6rem .8rem;margin:0 0 1rem}
.notice{border:2px solid #2e7d32;background:#edf7ee;color:#1b4d1e;border-radius:8px;padding:.6rem .8rem;margin:0 0 1rem}
ol.archive{list-style:none;padding:0;margin:0 0 1rem}ol.archive li{padding:.6rem 0;border-bottom:1px solid #e6e3dc}ol.archive a{font-weight:600}
h2{font-size:1.15rem;line-height:1.4;margin:1.25rem 0 .25rem}
a.button{display:block;text-align:center;font-weight:700;padding:.8rem 1rem;border-radius:8px;background:#8a1c1c;color:#fff;text-decoration:none}
a.button:hover{background:#6f1515}
.secondary:hover{background:#f8eeee}
.notice.pending{border-color:#9a6700;background:#fff8e5;color:#4d3800}
.notice form{margin:.6rem 0 0}
[aria-invalid=true]{border-color:#b00020!important;border-width:2px!important}
.hp{position:absolute;inset-inline-start:0;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap;opacity:0}
.ltr{direction:ltr;unicode-bidi:isolate;display:inline-block;max-width:100%;overflow-wrap:anywhere}
footer{font-size:.85rem;color:#5b5b57;text-align:center;margin:1.25rem 0 2rem}
.choices.few{grid-template-columns:1fr}
@media (min-width:40rem){main{padding:2rem 1rem}.choices.few{grid-template-columns:repeat(3,1fr)}.card{padding:2rem 2rem 2.25rem}h1{font-size:1.75rem}}
`;

export interface PageOptions {
  language: Language;
  publication: Publication;
  title: string;
  body: Html;
  /** scripts served from our own origin (CSP script-src 'self') */
  scripts?: string[];
  /** link to the same page in the other language */
  switchHref?: string;
}

export function page(o: PageOptions): string {
  const s = pageStrings(o.language);
  const name = o.publication.name[o.language];
  const doc = html`<!doctype html>
<html lang="${o.language}" dir="${s.dir}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<meta name="referrer" content="no-referrer">
<title>${o.title} · ${name}</title>
<style>${raw(CSS)}</style>
${(o.scripts ?? []).map((src) => html`<script src="${src}" defer></script>`)}
</head>
<body>
<main>
<div class="masthead"><b>${name}</b>${o.switchHref ? html`<a href="${o.switchHref}" lang="${o.language === 'ar' ? 'en' : 'ar'}">${s.subscribe.switchTo}</a>` : ''}</div>
<div class="card">
${o.body}
</div>
<footer>${fmt(s.footer, { publication: name, address: o.publication.postalAddress[o.language] })}</footer>
</main>
</body>
</html>
`;
  return doc.__html;
}

/** A page with a heading, a paragraph and optionally a link button. */
export function messagePage(
  o: Omit<PageOptions, 'body' | 'title'> & {
    heading: string;
    text: string;
    link?: { href: string; label: string };
  },
): string {
  return page({
    ...o,
    title: o.heading,
    body: html`<h1>${o.heading}</h1>
<p>${o.text}</p>
${o.link ? html`<p><a href="${o.link.href}">${o.link.label}</a></p>` : ''}`,
  });
}

/** "7 days" / "٧ أيام" (or hours when the TTL is not a whole number of days). */
export function formatDuration(publication: Publication, language: Language, seconds: number): string {
  const { locale, numberingSystem } = publication.locales[language];
  const days = seconds % 86_400 === 0;
  return new Intl.NumberFormat(locale, {
    style: 'unit',
    unit: days ? 'day' : 'hour',
    unitDisplay: 'long',
    numberingSystem,
  }).format(days ? seconds / 86_400 : Math.ceil(seconds / 3600));
}

/** "07:00" with the publication's digits for the language. */
export function formatHour(publication: Publication, language: Language, hour: number): string {
  const { locale, numberingSystem } = publication.locales[language];
  const nf = new Intl.NumberFormat(locale, { minimumIntegerDigits: 2, numberingSystem, useGrouping: false });
  return `${nf.format(hour)}:${nf.format(0)}`;
}

/**
 * The seven days as the reader's locale names and orders them (0 = Sunday, the publication file's
 * numbering): a week from Saturday for ar-SY, Monday for en-GB, Sunday for ar-SA, from the
 * locale's week data (Intl.Locale weekInfo: 1 = Monday ... 7 = Sunday).
 */
export function weekdays(publication: Publication, language: Language): Array<{ day: number; name: string }> {
  const { locale, calendar } = publication.locales[language];
  const intl = new Intl.Locale(locale) as Intl.Locale & {
    weekInfo?: { firstDay: number };
    getWeekInfo?: () => { firstDay: number };
  };
  const firstDay = (intl.getWeekInfo?.() ?? intl.weekInfo)?.firstDay ?? 7;
  const name = new Intl.DateTimeFormat(locale, { weekday: 'long', timeZone: 'UTC', calendar });
  // 4 January 2026 is a Sunday
  return Array.from({ length: 7 }, (_, i) => (firstDay + i) % 7).map((day) => ({
    day,
    name: name.format(new Date(Date.UTC(2026, 0, 4 + day))),
  }));
}
