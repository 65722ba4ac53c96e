import type { FastifyPluginAsync } from 'fastify';
import { type EditionBounceCounts, editionsBounceCounts } from '../../bounces/bounce-store.js';
import type { Container } from '../../container.js';
import type { Queryable } from '../../db/pool.js';
import type { EditionView } from '../../digests/edition-views.js';
import { validationError } from '../../errors.js';
import { fmt } from '../pages/strings.js';
import { csrfField, type Html, html, table, tag } from './layout.js';
import { act, type PageContext, pageContext } from './page-context.js';
import { providersCard } from './report-views.js';

/** The editions table of the dashboard and the editions list, with their bounce figures (one query). */
export async function editionRows(p: PageContext, db: Queryable, items: EditionView[]): Promise<Html> {
  const { s } = p;
  const bounces: Map<string, EditionBounceCounts> = await editionsBounceCounts(
    db,
    items.map((e) => e.id),
  );
  const none = { bounced: 0, complained: 0, autoReplied: 0 };
  return table(
    [
      s.editions.subject,
      s.editions.state,
      s.editions.language,
      s.editions.due,
      { label: s.counts.sent, num: true },
      { label: s.counts.failed, num: true },
      { label: s.counts.ambiguous, num: true },
      { label: s.counts.planned, num: true },
      { label: s.counts.bounced, num: true },
      { label: s.counts.complained, num: true },
      { label: s.counts.autoReplied, num: true },
    ],
    items.map((e) => [
      html`<a href="/admin/editions/${e.id}">${e.subject ?? s.editions.noSubject}</a><br><span class="muted">${s.kinds[e.kind]}${e.frequency ? html` · ${s.frequencies[e.frequency]}` : ''}</span>`,
      tag(e.state, s.editionStates[e.state]),
      s.languages[e.language],
      p.when(e.dueAt),
      p.num(e.counts.sent),
      p.num(e.counts.failed),
      p.num(e.counts.ambiguous),
      p.num(e.counts.planned),
      p.num((bounces.get(e.id) ?? none).bounced),
      p.num((bounces.get(e.id) ?? none).complained),
      p.num((bounces.get(e.id) ?? none).autoReplied),
    ]),
  );
}

/** Whether bulk sending runs; why and since when it is paused; the admin's pause or resume. */
function sendingCard(
  p: PageContext,
  sending: { paused: boolean; reason: string | null; since: string | null; error: string | null },
  isAdmin: boolean,
): Html {
  const { s } = p;
  const d = s.dashboard;
  if (!sending.paused)
    return html`<p>${d.sendingOn}</p>${
      isAdmin
        ? html`<form method="post" action="/admin/sending/pause" class="filters">${csrfField(p.csrf)}<div class="field"><label for="pause-reason">${d.pauseReason}</label><input id="pause-reason" name="reason" type="text" required minlength="3" maxlength="300"></div><button class="secondary">${d.pause}</button></form>`
        : ''
    }`;
  return html`<p class="error" role="status">${fmt(d.sendingPaused, { reason: sending.reason ?? '' })}</p>
${sending.since ? html`<p class="muted">${fmt(d.pausedSince, { when: p.when(sending.since) })}</p>` : ''}
${sending.error ? html`<p class="muted"><bdi dir="ltr">${sending.error}</bdi></p>` : ''}
${isAdmin ? html`<form method="post" action="/admin/sending/resume">${csrfField(p.csrf)}<button>${d.resume}</button></form>` : html`<p class="muted">${s.common.forbidden}</p>`}`;
}

function breakdown(
  p: PageContext,
  title: string,
  counts: Record<string, number>,
  label: (k: string) => string,
): Html {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  return html`<h2>${title}</h2><dl class="kv">${
    entries.length
      ? entries.map(([k, n]) => html`<dt>${label(k)}</dt><dd>${p.num(n)}</dd>`)
      : html`<dd>${p.s.common.none}</dd>`
  }</dl>`;
}

export const dashboardPage: FastifyPluginAsync<{ container: Container }> = async (app, { container }) => {
  app.get('/admin', { schema: { hide: true } }, async (request, reply) => {
    const p = pageContext(container, request, reply);
    const { s } = p;
    const [o, providers] = await Promise.all([container.overview.get(), container.providerOverview.get()]);
    const d = s.dashboard;
    const max = Math.max(1, ...o.growth.map((g) => Math.max(g.confirmed, g.unsubscribed)));
    const sum = (k: 'confirmed' | 'unsubscribed' | 'suppressed' | 'bounced' | 'complained') =>
      o.growth.reduce((a, g) => a + g[k], 0);
    const isAdmin = request.operator?.role === 'admin';
    const body = html`<h1>${d.title}</h1>
${o.warnings.length ? html`<section class="card" aria-labelledby="warnings"><h2 id="warnings">${d.warnings}</h2>${o.warnings.map((w) => html`<p class="warn">${d.warning[w] ?? w}</p>`)}</section>` : ''}
<div class="grid">
<section class="card"><h2>${d.readers}</h2><p class="big">${p.num(o.readers.total)}</p>${breakdown(p, d.byStatus, o.readers.byStatus, (k) => s.status[k as keyof typeof s.status] ?? k)}</section>
<section class="card">${breakdown(p, d.byLanguage, o.readers.byLanguage, (k) => s.languages[k as keyof typeof s.languages] ?? k)}
<br>${breakdown(p, d.byFrequency, o.readers.byFrequency, (k) => s.frequencies[k as keyof typeof s.frequencies] ?? k)}</section>
<section class="card"><h2>${d.growth}</h2>
<dl class="kv"><dt>${d.confirmations}</dt><dd>${p.num(sum('confirmed'))}</dd><dt>${d.unsubscribes}</dt><dd>${p.num(sum('unsubscribed'))}</dd><dt>${d.bounces}</dt><dd>${p.num(sum('bounced'))}</dd><dt>${d.complaints}</dt><dd>${p.num(sum('complained'))}</dd><dt>${d.suppressions}</dt><dd>${p.num(sum('suppressed'))}</dd></dl>
<div class="bars" role="img" aria-label="${d.confirmations}">${o.growth.map((g) => html`<span style="height:${Math.round((g.confirmed / max) * 100)}%" title="${g.day}: ${g.confirmed}"></span>`)}</div>
<div class="bars" role="img" aria-label="${d.unsubscribes}">${o.growth.map((g) => html`<span class="down" style="height:${Math.round((g.unsubscribed / max) * 100)}%" title="${g.day}: ${g.unsubscribed}"></span>`)}</div>
</section>
<section class="card"><h2>${d.sending}</h2>
${sendingCard(p, o.sending, isAdmin)}
</section>
</div>
${providersCard(p, providers)}
<section class="card"><h2>${d.lastEditions}</h2>${o.editions.length ? await editionRows(p, container.db, o.editions) : html`<p>${s.common.none}</p>`}<p><a href="/admin/editions">${s.nav.editions}</a></p></section>
<div class="grid">
<section class="card"><h2>${d.queues}</h2>${table(
      [
        d.queue,
        { label: d.waiting, num: true },
        { label: d.active, num: true },
        { label: d.delayed, num: true },
        { label: d.failedJobs, num: true },
      ],
      o.queues.map((q) => [
        html`<bdi dir="ltr">${q.name}</bdi>`,
        p.num(q.waiting),
        p.num(q.active),
        p.num(q.delayed),
        p.num(q.failed),
      ]),
      { stack: false },
    )}<p><a href="/admin/queues">${s.nav.queues}</a></p></section>
<section class="card"><h2>${d.nextDigests}</h2>${
      o.nextDigests.length
        ? table(
            [
              d.at,
              s.subscribers.language,
              s.subscribers.frequency,
              { label: s.dashboard.readers, num: true },
            ],
            o.nextDigests.map((n) => [
              p.when(n.at),
              s.languages[n.language as 'ar'] ?? n.language,
              s.frequencies[n.frequency as 'daily'] ?? n.frequency,
              p.num(n.readers),
            ]),
          )
        : html`<p>${s.common.none}</p>`
    }</section>
</div>`;
    return p.send(d.title, 'dashboard', body);
  });

  app.post(
    '/admin/sending/pause',
    { config: { role: 'admin' }, schema: { hide: true } },
    async (request, reply) => {
      const p = pageContext(container, request, reply);
      const raw = (request.body as Record<string, unknown> | undefined)?.reason;
      const reason = typeof raw === 'string' ? raw.trim().slice(0, 300) : '';
      return act(
        request,
        reply,
        '/admin',
        async (s) => {
          if (reason.length < 3) throw validationError('reason', s.dashboard.pauseReason);
          await container.sendingPause.pause({
            reason: `${reason} (${request.operator?.email ?? 'console'})`,
          });
          return s.dashboard.paused;
        },
        p.language,
      );
    },
  );

  app.post(
    '/admin/sending/resume',
    { config: { role: 'admin' }, schema: { hide: true } },
    async (request, reply) => {
      const p = pageContext(container, request, reply);
      return act(
        request,
        reply,
        '/admin',
        async (s) => {
          await container.sendingPause.resume();
          request.log.info(
            { alert: 'sending_resumed', operator: request.operator?.id },
            'sending resumed by an operator',
          );
          return s.common.done;
        },
        p.language,
      );
    },
  );
};
