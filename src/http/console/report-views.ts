/**
 * Console views of what Gazette reports back: the receiving providers' shaping state (dashboard),
 * a reader's bounce reports (reader page), an import row's reason in the operator's language.
 */
import type { ReaderBounceLine } from '../../bounces/bounce-store.js';
import { type RowReason, rowReason } from '../../imports/row-reasons.js';
import type { ProviderOverview, ProviderRow } from '../../overview/provider-overview.js';
import { fmt } from '../pages/strings.js';
import { fmtHtml, type Html, html, ltr, table, tag } from './layout.js';
import type { PageContext } from './page-context.js';

/** An import row's reason in the operator's language; the quoted cell stays as it was typed. */
export function reasonHtml(p: PageContext, stored: string | null): Html {
  const r = rowReason(stored);
  if (!r) return html``;
  return html`${fmtHtml(p.s.reasons[r.code], {
    value: html`<bdi>${shownValue(p, r)}</bdi>`,
    ...digits(p),
  })}${r.erased && r.code !== 'erased' ? html` <span class="muted">${p.s.erasedSince}</span>` : ''}`;
}

/** The same as plain text, for the console's CSV report. */
export function reasonText(p: PageContext, r: RowReason | null): string {
  if (!r) return '';
  const text = fmt(p.s.reasons[r.code], { value: shownValue(p, r), ...digits(p) });
  return r.erased && r.code !== 'erased' ? `${text} ${p.s.erasedSince}` : text;
}

/** A row number in the publication's digits, a reader's state in words; a cell as it was typed. */
function shownValue(p: PageContext, r: RowReason): string {
  if (r.value === null) return '';
  if (r.code === 'duplicate_in_file') return p.num(Number(r.value));
  if (r.code === 'already_reader') return p.s.status[r.value as 'confirmed'] ?? r.value;
  return r.value;
}

const digits = (p: PageContext) => ({ h0: p.num(0), h23: p.num(23), d0: p.num(0), d6: p.num(6) });

function limitsHtml(p: PageContext, row: ProviderRow): Html {
  const t = p.s.providers;
  const { perSecond, perHour, maxConnections, messagesPerConnection } = row.limits;
  const parts = [
    perSecond ? fmt(t.perSecond, { n: p.num(perSecond) }) : '',
    perHour ? fmt(t.perHour, { n: p.num(perHour) }) : '',
    maxConnections ? fmt(t.connections, { n: p.num(maxConnections) }) : '',
    messagesPerConnection ? fmt(t.perConnection, { n: p.num(messagesPerConnection) }) : '',
    row.warmupToday !== null ? fmt(t.warmup, { n: p.num(row.warmupToday) }) : '',
  ].filter(Boolean);
  return parts.length
    ? html`<div>${parts.map((x, i) => html`${i ? html`<br>` : ''}${x}`)}</div>`
    : html`<span class="muted">${t.unlimited}</span>`;
}

function stateHtml(p: PageContext, row: ProviderRow): Html {
  const t = p.s.providers;
  const level = row.level ? fmt(t.level, { level: p.num(row.level), factor: p.num(2 ** row.level) }) : '';
  if (row.until)
    return html`<div>${tag('paused', t.backingOff)}<br>${fmt(t.until, { when: p.when(row.until) })}${
      level ? html`<br><span class="muted">${level}</span>` : ''
    }</div>`;
  if (level) return html`<div>${tag('pending', t.recovering)}<br><span class="muted">${level}</span></div>`;
  return tag('sent', t.fullSpeed);
}

/** The dashboard's card of receiving providers (admins and editors see it; it changes nothing). */
export function providersCard(p: PageContext, o: ProviderOverview): Html {
  const t = p.s.providers;
  const rows = o.providers.map((r) => [
    html`<bdi dir="ltr">${r.provider}</bdi>`,
    limitsHtml(p, r),
    stateHtml(p, r),
    p.num(r.throttles),
    r.lastError ? html`<bdi dir="ltr" class="muted">${r.lastError}</bdi>` : '—',
    p.num(r.waiting),
  ]);
  return html`<section class="card" aria-labelledby="providers"><h2 id="providers">${t.title}</h2>
<p class="muted">${t.hint}</p>
${
  rows.length
    ? table(
        [
          t.provider,
          t.limits,
          t.state,
          { label: t.throttles, num: true },
          t.lastError,
          { label: t.waiting, num: true },
        ],
        rows,
      )
    : html`<p>${t.none}</p>`
}
${o.otherWaiting > 0 ? html`<p class="muted">${fmt(t.others, { n: p.num(o.otherWaiting) })}</p>` : ''}
${o.capped ? html`<p class="warn">${fmt(t.capped, { n: p.num(o.scanLimit) })}</p>` : ''}
</section>`;
}

/** A reader's bounce reports, newest first, one page. */
export function bouncesTable(p: PageContext, items: ReaderBounceLine[]): Html {
  const t = p.s.bounces;
  if (items.length === 0) return html`<p>${t.none}</p>`;
  return table(
    [t.class, t.when, t.edition, t.diagnostic, t.suppression],
    items.map((b) => [
      // one element per cell: a phone lays each cell out as a grid of its label and its content
      html`<div>${tag(b.class === 'auto-reply' || b.class === 'unknown' ? '' : 'failed', t.classes[b.class] ?? b.class)}<br><span class="muted">${t.sources[b.source] ?? ltr(b.source)}</span></div>`,
      p.when(b.occurredAt),
      b.editionId
        ? html`<a href="/admin/editions/${b.editionId}"><bdi>${b.editionSubject ?? p.s.editions.noSubject}</bdi></a>`
        : html`<span class="muted">${t.transactional}</span>`,
      b.status || b.diagnostic
        ? html`<bdi dir="ltr">${
            // a DSN's diagnostic usually quotes its status code already
            b.diagnostic && b.status && b.diagnostic.includes(b.status)
              ? b.diagnostic
              : [b.status, b.diagnostic].filter(Boolean).join(' ')
          }</bdi>`
        : '—',
      b.suppressed
        ? tag('suppressed wrap', t.suppressedBy[b.class] ?? t.suppressedBy.hard!)
        : html`<span class="muted">${t.notSuppressing}</span>`,
    ]),
  );
}
