/**
 * How the Webhooks page shows an endpoint: where it comes from, whether it is on (and why not),
 * its deliveries by state, and one attempt of its delivery log. Words from strings-webhooks-*.ts,
 * digits and times in the publication's way (PageContext).
 */
import type { AttemptView, EndpointDeliveryCounts } from '../../outbox/outbox-store.js';
import type { EndpointView } from '../../outbox/schemas.js';
import { fmt } from '../pages/strings.js';
import { fmtHtml, type Html, html, ltr, tag } from './layout.js';
import type { PageContext } from './page-context.js';

/** The reasons Gazette itself writes (webhook-sender.ts, the console and the API's default). */
const GONE = 'answered 410 Gone';
const OPERATOR = 'operator';

export function eventName(p: PageContext, type: string): Html {
  const name = (p.s.webhooks.eventNames as Record<string, string>)[type];
  return html`<span><span class="tag">${name ?? type}</span> <bdi class="muted" dir="ltr">${type}</bdi></span>`;
}

export function eventList(p: PageContext, events: string[]): Html {
  const names = p.s.webhooks.eventNames as Record<string, string>;
  return html`<span>${events.map((e) => html`<span class="tag" title="${e}">${names[e] ?? e}</span> `)}</span>`;
}

export function sourceOf(p: PageContext, e: EndpointView): Html {
  const t = p.s.webhooks;
  if (e.source === 'api') return html`<span>${t.fromApi}</span>`;
  return html`<span>${fmtHtml(t.fromFile, { id: ltr(e.fileId ?? '') })}${
    e.readOnly ? html` ${tag('', t.readOnly)}` : ''
  }${e.removedFromFileAt ? html`<br>${tag('failed wrap', fmt(t.removedFromFile, { when: p.when(e.removedFromFileAt) }))}` : ''}</span>`;
}

export function stateOf(p: PageContext, e: EndpointView): Html {
  const t = p.s.webhooks;
  if (e.enabled) return tag('confirmed', t.active);
  const when = p.when(e.disabledAt);
  const reason = e.disabledReason ?? OPERATOR;
  // the status reads left to right inside an Arabic sentence, in the publication's digits
  const status = ltr(`${fmt(t.httpStatus, { n: p.num(410) })} Gone`);
  const text =
    reason === GONE
      ? fmtHtml(t.disabledBy410, { when, status })
      : reason === OPERATOR
        ? fmtHtml(t.disabledByOperator, { when })
        : fmtHtml(t.disabledOther, { when, reason: html`<bdi>${reason}</bdi>` });
  return html`<span class="tag failed wrap">${text}</span>`;
}

export function countsOf(p: PageContext, c: EndpointDeliveryCounts): Html {
  const t = p.s.webhooks;
  return html`<span>${t.pending}: ${p.num(c.pending)} · ${t.delivered}: ${p.num(c.delivered)} · ${t.failed}: ${p.num(
    c.failed,
  )}</span>`;
}

const STATE_CLASS: Record<string, string> = {
  delivered: 'sent',
  pending: 'pending',
  sending: 'sending',
  failed: 'failed',
  cancelled: 'cancelled',
};

/** One attempt of the delivery log as a table row. */
export function attemptRow(p: PageContext, a: AttemptView): unknown[] {
  const t = p.s.webhooks;
  const ok = a.status !== null && a.status >= 200 && a.status < 300;
  const answer =
    a.status !== null
      ? html`<span><span class="tag ${ok ? 'confirmed' : 'failed'}"><bdi dir="ltr">${fmt(t.httpStatus, {
          n: p.num(a.status),
        })}</bdi></span>${a.error && !ok ? html` <bdi class="muted" dir="ltr">${a.error}</bdi>` : ''}</span>`
      : html`<bdi class="muted" dir="ltr">${a.error ?? '—'}</bdi>`;
  const states: Record<string, string> = {
    pending: t.pending,
    sending: p.s.counts.sending,
    delivered: t.delivered,
    failed: t.failed,
    cancelled: t.cancelled,
  };
  const stateLabel = states[a.state];
  return [
    p.when(a.attemptedAt),
    eventName(p, a.type),
    ltr(a.eventId),
    p.num(a.attempt),
    answer,
    a.durationMs === null ? '—' : fmt(t.ms, { n: p.num(a.durationMs) }),
    tag(STATE_CLASS[a.state] ?? '', stateLabel ?? a.state),
  ];
}
