/**
 * The console's page frame: the public pages' escaping (pages/layout.ts) and their colours and
 * fonts, a wider sheet for tables, and the navigation. Logical properties throughout, so one
 * sheet serves Arabic (rtl) and English (ltr). Tables turn into labelled blocks on a phone.
 */
import type { OperatorView } from '../../operators/operator-service.js';
import type { Language } from '../../publication.js';
import { type Html, html, raw } from '../pages/layout.js';
import { fmt } from '../pages/strings.js';
import type { ConsoleStrings } from './strings.js';

export { esc, fmtHtml, type Html, html, ltr, raw } from '../pages/layout.js';

const CSS = `
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:#f3f1ec;color:#1d1d1b;font:16px/1.55 system-ui,-apple-system,"Segoe UI","Noto Sans","Noto Sans Arabic",Tahoma,Arial,sans-serif}
html[lang=ar] body{font-family:"Noto Sans Arabic","Noto Naskh Arabic","Segoe UI",Tahoma,"Geeza Pro",Arial,sans-serif;line-height:1.75}
a{color:#8a1c1c}
header.top{background:#1d1d1b;color:#fff}
header.top .bar{max-width:80rem;margin:0 auto;padding:.5rem 1rem;display:flex;flex-wrap:wrap;align-items:center;gap:.25rem 1rem}
header.top b{font-size:1.05rem;margin-inline-end:auto}
header.top form{margin:0}
header.top .who{font-size:.85rem;color:#d7d4cc}
nav.main{max-width:80rem;margin:0 auto;padding:0 .5rem .35rem;display:flex;gap:.15rem;overflow-x:auto;scrollbar-width:thin}
nav.main a{color:#f3f1ec;text-decoration:none;padding:.45rem .7rem;border-radius:6px;white-space:nowrap;font-size:.95rem}
nav.main a[aria-current=page]{background:#8a1c1c;color:#fff}
.linkish{background:none;border:0;color:#f3f1ec;font:inherit;font-size:.9rem;padding:.3rem .5rem;cursor:pointer;text-decoration:underline;min-height:auto;width:auto}
main{max-width:80rem;margin:0 auto;padding:1rem}
h1{font-size:1.45rem;line-height:1.3;margin:.25rem 0 1rem}
h2{font-size:1.1rem;margin:0 0 .6rem}
.grid{display:grid;gap:1rem;grid-template-columns:repeat(auto-fit,minmax(17rem,1fr));margin-bottom:1rem}
.card{background:#fff;border-radius:10px;padding:1rem 1.1rem;box-shadow:0 1px 3px rgba(0,0,0,.08);margin-bottom:1rem;min-width:0}
.grid .card{margin-bottom:0}
.big{font-size:2rem;font-weight:700;line-height:1.1}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}
dl.kv dt{color:#5b5b57}
dl.kv dd{margin:0;min-width:0;overflow-wrap:anywhere}
table{width:100%;border-collapse:collapse;font-size:.93rem}
th,td{text-align:start;padding:.45rem .5rem;border-bottom:1px solid #e6e3dc;vertical-align:top;overflow-wrap:anywhere}
th{font-weight:600;color:#3f3f3b;background:#f8f7f3;overflow-wrap:normal}
td.num,th.num{text-align:end;font-variant-numeric:tabular-nums}
.muted{color:#5b5b57}
.tag{display:inline-block;padding:0 .45rem;border-radius:999px;background:#eee9df;font-size:.82rem;margin:0 0 .15rem;white-space:nowrap}
.tag.confirmed,.tag.sent{background:#e3f1e4;color:#1b4d1e}
.tag.suppressed,.tag.failed,.tag.cancelled,.tag.held{background:#fbe3e6;color:#6d0014}
.tag.pending,.tag.sending,.tag.paused,.tag.planned{background:#fdf1d6;color:#5c4300}
.tag.wrap{white-space:normal}
form.filters{display:flex;flex-wrap:wrap;gap:.6rem;align-items:flex-end}
form.filters .field{flex:1 1 9rem;margin:0}
label{display:block;font-weight:600;font-size:.9rem;margin:0 0 .2rem}
input[type=email],input[type=text],input[type=password],input[type=search],select,textarea{display:block;width:100%;font:inherit;padding:.5rem .65rem;border:1px solid #8d8b85;border-radius:8px;background:#fff;color:inherit;min-height:2.6rem}
html[dir=rtl] input[dir=ltr]{text-align:right}
textarea{min-height:4.5rem}
input:focus-visible,select:focus-visible,button:focus-visible,textarea:focus-visible,a:focus-visible{outline:3px solid #1f5fbf;outline-offset:2px}
button{font:inherit;font-weight:700;padding:.55rem 1rem;border:0;border-radius:8px;background:#8a1c1c;color:#fff;cursor:pointer;min-height:2.6rem}
button:hover{background:#6f1515}
button.secondary{background:#fff;color:#8a1c1c;border:2px solid #8a1c1c}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;align-items:flex-end}
.actions form{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end;margin:0}
.actions form .field{min-width:12rem;flex:1}
.notice{border:2px solid #2e7d32;background:#edf7ee;color:#1b4d1e;border-radius:8px;padding:.55rem .8rem;margin:0 0 1rem}
.error{border:2px solid #b00020;background:#fdecee;color:#6d0014;border-radius:8px;padding:.55rem .8rem;margin:0 0 1rem}
.warn{border-inline-start:4px solid #b36b00;background:#fff6e5;padding:.45rem .7rem;margin:0 0 .5rem;border-radius:4px}
.pager{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;justify-content:space-between;margin-top:.75rem}
.ltr{direction:ltr;unicode-bidi:isolate;display:inline-block;max-width:100%;overflow-wrap:anywhere}
.bars{display:flex;align-items:flex-end;gap:2px;height:4rem;direction:ltr}
.bars span{flex:1;background:#8a1c1c;min-height:1px;border-radius:2px 2px 0 0}
.bars span.down{background:#8d8b85}
.preview-frame{width:100%;border:1px solid #d7d4cc;border-radius:8px;background:#fff;height:40rem;display:block;margin:0 auto}
.signin{max-width:24rem;margin:3rem auto}
.signin .field{margin-bottom:1rem}
.signin button{width:100%}
.import-form{display:flex;flex-direction:column;gap:1rem}
.import-form .step-file{order:-1}
.import-form fieldset{border:1px solid #e6e3dc;border-radius:8px;padding:.75rem;margin:0;min-width:0}
.import-form legend{font-weight:700;padding:0 .3rem}
.choice{display:flex;gap:.5rem;align-items:flex-start;font-weight:400;margin:.3rem 0}
.choice input{margin-top:.4rem}
.mapping{display:grid;grid-template-columns:repeat(auto-fit,minmax(12rem,1fr));gap:.6rem}
.scroll{overflow-x:auto;max-width:100%}
progress{width:100%;height:1.1rem;accent-color:#8a1c1c}
input[type=file]{display:block;width:100%;max-width:100%;font:inherit;padding:.35rem 0}
.htmx-request .busy{display:inline}
.busy{display:none}
.placeholder-note{font-size:.9rem;color:#5b5b57;margin:.25rem 0 0}
@media (max-width:44rem){
 table.stack thead{display:none}
 table.stack tr{display:block;border-bottom:1px solid #d7d4cc;padding:.4rem 0}
 table.stack td{display:grid;grid-template-columns:8rem minmax(0,1fr);justify-items:start;gap:.5rem;border:0;padding:.2rem .25rem}
 table.stack td::before{content:attr(data-label);font-weight:600;color:#5b5b57}
 table.stack td.num{text-align:start}
 table.compact th,table.compact td{padding:.35rem .3rem;font-size:.88rem}
 dl.kv.phone-stack{grid-template-columns:minmax(0,1fr);gap:0}
 dl.kv.phone-stack dd{margin-bottom:.5rem}
 main{padding:.75rem}
 .big{font-size:1.6rem}
}
`;

/** htmx, served by the console itself (the CSP allows scripts from this origin only) */
export const HTMX_PATH = '/admin/assets/htmx-2.0.4.min.js';

export type NavKey =
  | 'dashboard'
  | 'subscribers'
  | 'imports'
  | 'editions'
  | 'articles'
  | 'sources'
  | 'queues'
  | 'webhooks'
  | 'operators';

export interface ConsolePageOptions {
  s: ConsoleStrings;
  language: Language;
  title: string;
  body: Html;
  csrf: string;
  operator?: OperatorView;
  active?: NavKey;
  /** a confirmation after an action (green) */
  notice?: string;
  /** why an action was not done (red) */
  problem?: string;
  /** the path to come back to after switching language */
  here?: string;
  /** the page updates parts of itself with htmx (served from /admin/assets) */
  htmx?: boolean;
}

const NAV: Array<[NavKey, string]> = [
  ['dashboard', '/admin'],
  ['subscribers', '/admin/subscribers'],
  ['imports', '/admin/imports'],
  ['editions', '/admin/editions'],
  ['articles', '/admin/articles'],
  ['sources', '/admin/sources'],
  ['queues', '/admin/queues'],
  ['webhooks', '/admin/webhooks'],
  ['operators', '/admin/operators'],
];

/** A hidden CSRF field: every console form carries one. */
export const csrfField = (token: string): Html => html`<input type="hidden" name="_csrf" value="${token}">`;

export function consolePage(o: ConsolePageOptions): string {
  const { s } = o;
  const other: Language = o.language === 'ar' ? 'en' : 'ar';
  const nav = NAV.filter(([key]) => key !== 'operators' || o.operator?.role === 'admin');
  const doc = html`<!doctype html>
<html lang="${o.language}" dir="${s.dir}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<meta name="referrer" content="no-referrer">
<title>${o.title} · ${s.console}</title>
<style>${raw(CSS)}</style>
${o.htmx ? html`<script src="${HTMX_PATH}" defer></script>` : ''}
</head>
<body>
<header class="top">
<div class="bar"><b>Gazette · ${s.console}</b>
<form method="post" action="/admin/language">${csrfField(o.csrf)}<input type="hidden" name="lang" value="${other}"><input type="hidden" name="back" value="${o.here ?? '/admin'}"><button class="linkish" lang="${other}">${s.switchTo}</button></form>
${
  o.operator
    ? html`<span class="who"><bdi>${o.operator.email}</bdi> · ${s.roles[o.operator.role]}</span>
<form method="post" action="/admin/sign-out">${csrfField(o.csrf)}<button class="linkish">${s.nav.signOut}</button></form>`
    : ''
}</div>
${
  o.operator
    ? html`<nav class="main" aria-label="${s.console}">${nav.map(
        ([key, href]) =>
          html`<a href="${href}"${o.active === key ? raw(' aria-current="page"') : ''}>${s.nav[key]}</a>`,
      )}</nav>`
    : ''
}
</header>
<main>
${o.notice ? html`<p class="notice" role="status">${o.notice}</p>` : ''}
${o.problem ? html`<p class="error" role="alert">${o.problem}</p>` : ''}
${o.body}
</main>
</body>
</html>
`;
  return doc.__html;
}

/** A table that becomes labelled blocks on a phone (unless `stack: false`, for narrow tables of figures). */
export function table(
  headers: Array<string | { label: string; num?: boolean }>,
  rows: unknown[][],
  opts: { stack?: boolean } = {},
): Html {
  const heads = headers.map((h) => (typeof h === 'string' ? { label: h, num: false } : { num: false, ...h }));
  const cls = opts.stack === false ? 'compact' : 'stack';
  return html`<table class="${cls}"><thead><tr>${heads.map(
    (h) => html`<th scope="col"${h.num ? raw(' class="num"') : ''}>${h.label}</th>`,
  )}</tr></thead><tbody>${rows.map(
    (r) =>
      html`<tr>${r.map(
        (cell, i) =>
          html`<td data-label="${heads[i]?.label ?? ''}"${heads[i]?.num ? raw(' class="num"') : ''}>${cell}</td>`,
      )}</tr>`,
  )}</tbody></table>`;
}

/** "Page 2 of 7 · 160 in all" with previous/next links that keep the filters. */
export function pager(
  s: ConsoleStrings,
  base: string,
  params: URLSearchParams,
  total: number,
  offset: number,
  limit: number,
  num: (n: number) => string = String,
): Html {
  const pages = Math.max(1, Math.ceil(total / limit));
  const page = Math.floor(offset / limit) + 1;
  const link = (to: number) => {
    const p = new URLSearchParams(params);
    p.set('offset', String(to));
    return `${base}?${p.toString()}`;
  };
  return html`<div class="pager"><span class="muted">${fmt(s.common.page, {
    page: num(page),
    pages: num(pages),
    total: num(total),
  })}</span><span>${offset > 0 ? html`<a href="${link(Math.max(0, offset - limit))}" rel="prev">${s.common.previous}</a>` : ''} ${
    offset + limit < total ? html`<a href="${link(offset + limit)}" rel="next">${s.common.next}</a>` : ''
  }</span></div>`;
}

export const tag = (cls: string, label: string): Html => html`<span class="tag ${cls}">${label}</span>`;

/** The set filters as query parameters, for the pager's links. */
export function filterParams(filters: Record<string, string | undefined>): URLSearchParams {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) p.set(k, v);
  return p;
}
