import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { countReaderBounces, readerBounces } from '../../bounces/bounce-store.js';
import type { Container } from '../../container.js';
import type { Frequency, SubscriberStatus } from '../../subscriptions/schemas.js';
import { formatHour } from '../pages/layout.js';
import { fmt } from '../pages/strings.js';
import { operatorMeta } from '../reader-admin-routes.js';
import { csrfField, filterParams, html, ltr, pager, table, tag } from './layout.js';
import { act, pageContext } from './page-context.js';
import { bouncesTable } from './report-views.js';

const STATUSES: SubscriberStatus[] = ['pending', 'confirmed', 'paused', 'unsubscribed', 'suppressed'];
const FREQUENCIES: Frequency[] = ['immediate', 'daily', 'weekly'];
const PAGE = 25;
const SOURCES = ['form', 'embed', 'api', 'import', 'operator'] as const;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const ListQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 254 })),
  status: Type.Optional(Type.String({ maxLength: 20 })),
  language: Type.Optional(Type.String({ maxLength: 8 })),
  frequency: Type.Optional(Type.String({ maxLength: 20 })),
  topic: Type.Optional(Type.String({ maxLength: 64 })),
  source: Type.Optional(Type.String({ maxLength: 64 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
});
const Params = Type.Object({ id: Type.String({ format: 'uuid' }) });
/** the reader page's bounce reports are paged by `offset` */
const DetailQuery = Type.Object({ offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })) });
const BOUNCES_PAGE = 20;

const pick = <T extends string>(v: string | undefined, allowed: readonly T[]): T | undefined =>
  allowed.includes(v as T) ? (v as T) : undefined;

export const subscriberPages: FastifyPluginAsync<{ container: Container }> = async (app, { container }) => {
  const { publication, readerAdmin, subscriptions, readerData } = container;
  const topicIds = publication.topics.map((t) => t.id);

  app.get<{ Querystring: Record<string, string | number | undefined> }>(
    '/admin/subscribers',
    { schema: { hide: true, querystring: ListQuery } },
    async (request, reply) => {
      const p = pageContext(container, request, reply);
      const { s, language } = p;
      const q = request.query as {
        q?: string;
        status?: string;
        language?: string;
        frequency?: string;
        topic?: string;
        source?: string;
        offset?: number;
      };
      const filters = {
        q: q.q?.trim() || undefined,
        status: pick(q.status, STATUSES),
        language: pick(q.language, ['ar', 'en'] as const),
        frequency: pick(q.frequency, FREQUENCIES),
        topic: pick(q.topic, topicIds),
        source:
          pick(q.source, SOURCES) ?? (q.source && UUID.test(q.source) ? q.source.toLowerCase() : undefined),
      };
      const offset = q.offset ?? 0;
      const page = await readerAdmin.search({ ...filters, offset, limit: PAGE });
      const params = filterParams(filters);
      const select = (
        name: string,
        label: string,
        value: string | undefined,
        options: Array<[string, string]>,
      ) =>
        html`<div class="field"><label for="f-${name}">${label}</label><select id="f-${name}" name="${name}"><option value="">${s.common.all}</option>${options.map(
          ([v, l]) => html`<option value="${v}"${v === value ? html` selected` : ''}>${l}</option>`,
        )}</select></div>`;
      const t = s.subscribers;
      const body = html`<h1>${t.title}</h1>
<section class="card">
<form class="filters" method="get" action="/admin/subscribers" role="search">
<div class="field"><label for="f-q">${t.search}</label><input id="f-q" name="q" type="search" dir="ltr" value="${filters.q ?? ''}"></div>
${select(
  'status',
  t.state,
  filters.status,
  STATUSES.map((v) => [v, s.status[v]]),
)}
${select('language', t.language, filters.language, [
  ['ar', s.languages.ar],
  ['en', s.languages.en],
])}
${select(
  'frequency',
  t.frequency,
  filters.frequency,
  FREQUENCIES.map((v) => [v, s.frequencies[v]]),
)}
${select(
  'topic',
  t.topic,
  filters.topic,
  publication.topics.map((x) => [x.id, x.label[language]]),
)}
${select('source', t.source, filters.source, [
  ...SOURCES.map((v): [string, string] => [v, t.sources[v]]),
  ...(filters.source && UUID.test(filters.source)
    ? [[filters.source, fmt(t.fromImport, { id: filters.source.slice(0, 8) })] as [string, string]]
    : []),
])}
<button>${s.common.filter}</button>
</form>
<p class="placeholder-note"><a href="/admin/imports">${t.importLater}</a></p>
</section>
<section class="card">
${
  page.items.length
    ? table(
        [t.email, t.state, t.language, t.frequency, t.created],
        page.items.map((r) => [
          html`<a href="/admin/subscribers/${r.id}">${ltr(r.email)}</a>${r.name ? html`<br><span class="muted">${r.name}</span>` : ''}`,
          html`${tag(r.status, s.status[r.status])}${r.suppressedReason ? html`<br><span class="muted"><bdi>${r.suppressedReason}</bdi></span>` : ''}`,
          s.languages[r.language],
          s.frequencies[r.frequency],
          p.when(r.createdAt),
        ]),
      )
    : html`<p>${s.common.none}</p>`
}
${pager(s, '/admin/subscribers', params, page.total, offset, PAGE, p.num)}
</section>`;
      return p.send(t.title, 'subscribers', body);
    },
  );

  app.get<{ Params: { id: string }; Querystring: { offset?: number } }>(
    '/admin/subscribers/:id',
    { schema: { hide: true, params: Params, querystring: DetailQuery } },
    async (request, reply) => {
      const p = pageContext(container, request, reply);
      const { s, language } = p;
      const t = s.subscribers;
      const r = await subscriptions.detail(request.params.id);
      const offset = request.query.offset ?? 0;
      const [bounces, bounceTotal] = await Promise.all([
        readerBounces(container.db, r.id, BOUNCES_PAGE, offset),
        countReaderBounces(container.db, r.id),
      ]);
      const label = (id: string) => publication.topics.find((x) => x.id === id)?.label[language] ?? id;
      const action = (path: string, button: string, extra?: ReturnType<typeof html>, secondary = false) =>
        html`<form method="post" action="/admin/subscribers/${r.id}/${path}">${csrfField(p.csrf)}${extra ?? ''}<button${secondary ? html` class="secondary"` : ''}>${button}</button></form>`;
      const actions = [
        r.status !== 'suppressed'
          ? action(
              'suppress',
              t.suppress,
              html`<div class="field"><label for="reason-s">${t.suppressReason}</label><input id="reason-s" name="reason" type="text" maxlength="200"></div>`,
            )
          : action('lift', t.lift),
        r.status === 'pending' ? action('resend', t.resend, undefined, true) : '',
        r.status === 'pending'
          ? action(
              'confirm',
              t.confirm,
              html`<div class="field"><label for="reason-c">${t.confirmReason}</label><input id="reason-c" name="reason" type="text" required minlength="3" maxlength="500"></div>`,
              true,
            )
          : '',
      ];
      const body = html`<p><a href="/admin/subscribers">${t.title}</a></p>
<h1>${ltr(r.email)}</h1>
<div class="grid">
<section class="card"><h2>${t.reader}</h2><dl class="kv">
<dt>${t.state}</dt><dd>${tag(r.status, s.status[r.status])}</dd>
${r.name ? html`<dt>${t.name}</dt><dd>${r.name}</dd>` : ''}
<dt>${t.language}</dt><dd>${s.languages[r.language]}</dd>
<dt>${t.frequency}</dt><dd>${s.frequencies[r.frequency]}</dd>
<dt>${t.topics}</dt><dd>${r.topics.length ? r.topics.map((x) => html`${tag('', label(x))} `) : t.allTopics}</dd>
<dt>${t.alerts}</dt><dd>${r.alerts ? s.common.yes : s.common.no}</dd>
<dt>${t.timezone}</dt><dd>${ltr(r.timezone)}</dd>
<dt>${t.sendHour}</dt><dd>${formatHour(publication, language, r.sendHour)}</dd>
<dt>${t.created}</dt><dd>${p.when(r.createdAt)}</dd>
${r.suppressedReason ? html`<dt>${t.suppressedReason}</dt><dd>${r.suppressedReason}</dd>` : ''}
</dl></section>
<section class="card"><h2>${t.actions}</h2><div class="actions">${actions}</div>
<p><a href="/admin/subscribers/${r.id}/data.json" download>${t.exportData}</a></p>
${
  request.operator?.role === 'admin'
    ? html`<form method="post" action="/admin/subscribers/${r.id}/erase" class="filters">${csrfField(p.csrf)}<div class="field"><label for="erase-confirm">${t.eraseConfirm}</label><input id="erase-confirm" name="confirm" type="email" dir="ltr" required autocomplete="off"></div><button class="secondary">${t.erase}</button></form>`
    : ''
}</section>
</div>
<section class="card"><h2>${t.consent}</h2>${table(
        [t.event, t.source, t.when, t.details],
        r.consent.map((c) => [
          html`<bdi dir="ltr">${c.event}</bdi>`,
          html`<bdi dir="ltr">${c.source}</bdi>`,
          p.when(c.occurredAt),
          // one line per field: the key is a code (left to right), the value may be Arabic
          html`<span class="muted">${Object.entries(c.details)
            .filter(([, v]) => v !== null && typeof v !== 'object')
            .map(([k, v]) => html`<bdi dir="ltr">${k}</bdi>: <bdi>${String(v)}</bdi><br>`)}</span>`,
        ]),
      )}</section>
<section class="card"><h2>${t.deliveries}</h2>${
        r.deliveries.length
          ? table(
              [t.kind, t.state, { label: t.attempts, num: true }, t.when, t.error],
              r.deliveries.map((d) => [
                html`<bdi dir="ltr">${d.kind}</bdi>`,
                tag(d.state, s.counts[d.state as 'sent'] ?? d.state),
                p.num(d.attempts),
                p.when(d.sentAt ?? d.createdAt),
                d.error ? html`<bdi dir="ltr">${d.error}</bdi>` : '',
              ]),
            )
          : html`<p>${s.common.none}</p>`
      }</section>
<section class="card" id="bounces"><h2>${s.bounces.title}</h2>${bouncesTable(p, bounces)}${
        bounceTotal > BOUNCES_PAGE
          ? pager(
              s,
              `/admin/subscribers/${r.id}`,
              new URLSearchParams(),
              bounceTotal,
              offset,
              BOUNCES_PAGE,
              p.num,
            )
          : ''
      }</section>`;
      return p.send(r.email, 'subscribers', body);
    },
  );

  // the reader's data as the API gives it (GET /api/v1/subscribers/:id/data)
  app.get<{ Params: { id: string } }>(
    '/admin/subscribers/:id/data.json',
    { schema: { hide: true, params: Params } },
    async (request, reply) =>
      reply
        .header('cache-control', 'no-store')
        .header('content-disposition', `attachment; filename="reader-${request.params.id}.json"`)
        .send(await readerData.export(request.params.id)),
  );

  // erasure (DELETE /api/v1/subscribers/:id): admins only, the address typed again to confirm
  app.post<{ Params: { id: string } }>(
    '/admin/subscribers/:id/erase',
    { config: { role: 'admin' }, schema: { hide: true, params: Params } },
    async (request, reply) => {
      const p = pageContext(container, request, reply);
      const typed = (request.body as Record<string, unknown> | undefined)?.confirm;
      const sub = await subscriptions.detail(request.params.id);
      if (typeof typed !== 'string' || typed.trim().toLowerCase() !== sub.email.toLowerCase()) {
        request.session.set('flash', { problem: p.s.subscribers.eraseMismatch });
        return reply.redirect(`/admin/subscribers/${sub.id}`, 303);
      }
      return act(
        request,
        reply,
        '/admin/subscribers',
        async (s) => {
          await readerData.erase(sub.id, request.operator?.email ?? 'console');
          return s.subscribers.notices.erased!;
        },
        p.language,
      );
    },
  );

  const reasonOf = (body: unknown) => {
    const v = (body as Record<string, unknown> | undefined)?.reason;
    return typeof v === 'string' ? v : '';
  };
  const actions: Array<
    [string, (id: string, body: unknown, meta: ReturnType<typeof operatorMeta>) => Promise<unknown>, string]
  > = [
    [
      'suppress',
      (id, body, meta) =>
        subscriptions.suppress(id, reasonOf(body).trim().slice(0, 200) || 'operator', {
          ...meta,
          source: `operator:${meta.operator}`,
        }),
      'suppressed',
    ],
    ['lift', (id, _b, meta) => readerAdmin.liftSuppression(id, meta), 'lifted'],
    ['resend', (id, _b, meta) => readerAdmin.resendConfirmation(id, meta), 'resent'],
    ['confirm', (id, body, meta) => readerAdmin.confirmManually(id, reasonOf(body), meta), 'confirmed'],
  ];
  for (const [path, run, notice] of actions) {
    app.post<{ Params: { id: string } }>(
      `/admin/subscribers/:id/${path}`,
      { schema: { hide: true, params: Params } },
      async (request, reply) => {
        const p = pageContext(container, request, reply);
        const meta = operatorMeta(request, request.operator?.email ?? 'console');
        return act(
          request,
          reply,
          `/admin/subscribers/${request.params.id}`,
          async (s) => {
            await run(request.params.id, request.body, meta);
            return s.subscribers.notices[notice] ?? s.common.done;
          },
          p.language,
        );
      },
    );
  }
};
