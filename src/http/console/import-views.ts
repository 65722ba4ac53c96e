import type { ImportRow, ReportLine } from '../../imports/import-store.js';
import type { Publication } from '../../publication.js';
import { fmt } from '../pages/strings.js';
import { type Html, html, ltr, table, tag } from './layout.js';
import type { PageContext } from './page-context.js';
import { reasonHtml } from './report-views.js';

/** The filters of the export form (the subscriber list's, without the search). */
export function filterOptions(p: PageContext, publication: Publication): Html {
  const { s, language } = p;
  const select = (name: string, label: string, options: Array<[string, string]>) =>
    html`<div class="field"><label for="x-${name}">${label}</label><select id="x-${name}" name="${name}"><option value="">${s.common.all}</option>${options.map(
      ([v, l]) => html`<option value="${v}">${l}</option>`,
    )}</select></div>`;
  return html`${select(
    'status',
    s.subscribers.state,
    (['pending', 'confirmed', 'unsubscribed', 'suppressed'] as const).map((v) => [v, s.status[v]]),
  )}${select('language', s.subscribers.language, [
    ['ar', s.languages.ar],
    ['en', s.languages.en],
  ])}${select(
    'frequency',
    s.subscribers.frequency,
    (['immediate', 'daily', 'weekly'] as const).map((v) => [v, s.frequencies[v]]),
  )}${select(
    'topic',
    s.subscribers.topic,
    publication.topics.map((x) => [x.id, x.label[language]]),
  )}`;
}

const OPEN: ImportRow['state'][] = ['queued', 'running', 'mailing'];

/**
 * An import's progress, counts and rejected rows. While the job runs, htmx replaces this block
 * with a fresh copy every two seconds; once it is done or failed the copy has no trigger and the
 * polling stops. Without JavaScript the refresh link does the same.
 */
export function importStatus(p: PageContext, imp: ImportRow, rejected: ReportLine[], shown: number): Html {
  const t = p.s.imports;
  const open = OPEN.includes(imp.state);
  const counts = (['imported', 'duplicate', 'invalid', 'suppressed', 'skipped'] as const).map(
    (k) => [k, imp[k]] as const,
  );
  const poll = open
    ? html` hx-get="/admin/imports/${imp.id}/progress" hx-trigger="every 2s" hx-swap="outerHTML"`
    : '';
  return html`<div id="import-status"${poll}>
<section class="card" aria-live="polite"><h2>${t.progress}</h2>
<p>${tag(imp.state === 'done' ? 'sent' : imp.state === 'failed' ? 'failed' : 'pending', t.states[imp.state])}</p>
<progress max="${Math.max(1, imp.total_rows)}" value="${imp.cursor}" aria-label="${t.progress}"></progress>
<p>${fmt(t.rows, { done: p.num(imp.cursor), total: p.num(imp.total_rows) })}${
    imp.mode === 'confirm' ? html` · ${fmt(t.mailed, { n: p.num(imp.mailed) })}` : ''
  }</p>
${imp.error ? html`<p class="error"><bdi dir="ltr">${imp.error}</bdi></p>` : ''}
<dl class="kv">${counts.map(([k, n]) => html`<dt>${t.counts[k]}</dt><dd>${p.num(n)}</dd>`)}</dl>
${open ? html`<p><a href="/admin/imports/${imp.id}">${t.refresh}</a></p>` : ''}
</section>
<section class="card"><h2>${t.rejected}</h2>${
    rejected.length
      ? html`${table(
          [t.row, p.s.subscribers.email, t.outcome, t.reason],
          rejected.map((r) => [
            p.num(r.row_no),
            r.email ? ltr(r.email) : '—',
            tag('failed', t.counts[r.outcome as 'invalid'] ?? r.outcome ?? ''),
            reasonHtml(p, r.reason),
          ]),
        )}${rejected.length >= shown ? html`<p class="muted">${fmt(t.rejectedMore, { n: p.num(shown) })}</p>` : ''}`
      : html`<p>${t.rejectedNone}</p>`
  }
<p><a href="/admin/imports/${imp.id}/report.csv" download>${t.report}</a></p></section>
</div>`;
}
