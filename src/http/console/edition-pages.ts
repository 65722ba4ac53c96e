import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { editionBounceCounts } from '../../bounces/bounce-store.js';
import type { Container } from '../../container.js';
import { loadRenderArticles } from '../../digests/edition-store.js';
import type { EditionKind, EditionState } from '../../digests/types.js';
import type { Frequency } from '../../subscriptions/schemas.js';
import { normalizeEmail } from '../../subscriptions/validate.js';
import { fmt } from '../pages/strings.js';
import { editionRows } from './dashboard-page.js';
import { csrfField, filterParams, html, ltr, pager, tag } from './layout.js';
import { act, pageContext } from './page-context.js';

const STATES: EditionState[] = ['planned', 'sending', 'paused', 'cancelled', 'sent', 'expired'];
const KINDS: EditionKind[] = ['digest', 'alert', 'test'];
const FREQUENCIES: Frequency[] = ['immediate', 'daily', 'weekly'];
const PAGE = 25;

const ListQuery = Type.Object({
  state: Type.Optional(Type.String({ maxLength: 20 })),
  kind: Type.Optional(Type.String({ maxLength: 20 })),
  language: Type.Optional(Type.String({ maxLength: 8 })),
  frequency: Type.Optional(Type.String({ maxLength: 20 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
});
const Params = Type.Object({ id: Type.String({ format: 'uuid' }) });
const ViewQuery = Type.Object({ width: Type.Optional(Type.String({ maxLength: 8 })) });

const pick = <T extends string>(v: string | undefined, allowed: readonly T[]): T | undefined =>
  allowed.includes(v as T) ? (v as T) : undefined;

export const editionPages: FastifyPluginAsync<{ container: Container }> = async (app, { container }) => {
  const { operator } = container.digests;

  app.get('/admin/editions', { schema: { hide: true, querystring: ListQuery } }, async (request, reply) => {
    const p = pageContext(container, request, reply);
    const { s } = p;
    const q = request.query as Record<string, string | undefined> & { offset?: number };
    const filters = {
      state: pick(q.state, STATES),
      kind: pick(q.kind, KINDS),
      language: pick(q.language, ['ar', 'en'] as const),
      frequency: pick(q.frequency, FREQUENCIES),
    };
    const offset = Number(q.offset ?? 0);
    const page = await operator.list({ ...filters, offset, limit: PAGE });
    const params = filterParams(filters);
    const t = s.editions;
    const select = (
      name: string,
      label: string,
      value: string | undefined,
      options: Array<[string, string]>,
    ) =>
      html`<div class="field"><label for="f-${name}">${label}</label><select id="f-${name}" name="${name}"><option value="">${s.common.all}</option>${options.map(
        ([v, l]) => html`<option value="${v}"${v === value ? html` selected` : ''}>${l}</option>`,
      )}</select></div>`;
    const body = html`<h1>${t.title}</h1>
<section class="card"><form class="filters" method="get" action="/admin/editions">
${select(
  'state',
  t.state,
  filters.state,
  STATES.map((v) => [v, s.editionStates[v]]),
)}
${select(
  'kind',
  t.kind,
  filters.kind,
  KINDS.map((v) => [v, s.kinds[v]]),
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
<button>${s.common.filter}</button></form></section>
<section class="card">${page.items.length ? await editionRows(p, container.db, page.items) : html`<p>${s.common.none}</p>`}
${pager(s, '/admin/editions', params, page.total, offset, PAGE, p.num)}</section>`;
    return p.send(t.title, 'editions', body);
  });

  app.get<{ Params: { id: string }; Querystring: { width?: string } }>(
    '/admin/editions/:id',
    { schema: { hide: true, params: Params, querystring: ViewQuery } },
    async (request, reply) => {
      const p = pageContext(container, request, reply);
      const { s } = p;
      const t = s.editions;
      const e = await operator.get(request.params.id);
      const articles = await loadRenderArticles(container.db, e.articleIds);
      const isAdmin = request.operator?.role === 'admin';
      const width = request.query.width === 'phone' ? 375 : 800;
      const post = (path: string, label: string, secondary = false) =>
        html`<form method="post" action="/admin/editions/${e.id}/${path}">${csrfField(p.csrf)}<button${secondary ? html` class="secondary"` : ''}>${label}</button></form>`;
      const controls = [
        isAdmin && e.state === 'sending' ? post('pause', t.pause, true) : '',
        isAdmin && e.state === 'paused' ? post('resume', t.resume) : '',
        isAdmin && ['planned', 'sending', 'paused'].includes(e.state) ? post('cancel', t.cancel, true) : '',
        e.kind !== 'test' && e.counts.failed > 0 ? post('resend-failed', t.resendFailed) : '',
        html`<form method="post" action="/admin/editions/${e.id}/test">${csrfField(p.csrf)}<div class="field"><label for="test-to">${t.testTo}</label><input id="test-to" name="email" type="email" dir="ltr" required value="${request.operator?.email ?? ''}"></div><button class="secondary">${t.testSend}</button></form>`,
      ];
      const counts = [
        ...Object.entries(e.counts),
        ...Object.entries(await editionBounceCounts(container.db, e.id)),
      ] as Array<[keyof typeof s.counts, number]>;
      const body = html`<p><a href="/admin/editions">${t.title}</a></p>
<h1>${e.subject ?? t.noSubject}</h1>
<div class="grid">
<section class="card"><h2>${t.edition}</h2><dl class="kv">
<dt>${t.state}</dt><dd>${tag(e.state, s.editionStates[e.state])}</dd>
<dt>${t.kind}</dt><dd>${s.kinds[e.kind]}</dd>
<dt>${t.language}</dt><dd>${s.languages[e.language]}</dd>
${e.frequency ? html`<dt>${t.frequency}</dt><dd>${s.frequencies[e.frequency]}</dd>` : ''}
<dt>${t.due}</dt><dd>${p.when(e.dueAt)}</dd>
<dt>${t.createdBy}</dt><dd><bdi dir="ltr">${e.createdBy}</bdi></dd>
${e.resendOf ? html`<dt>${t.resendOf}</dt><dd><a href="/admin/editions/${e.resendOf}">${ltr(e.resendOf.slice(0, 8))}</a></dd>` : ''}
<dt>${t.archive}</dt><dd><a href="${e.archiveUrl}">${ltr(e.archiveUrl)}</a></dd>
</dl></section>
<section class="card"><h2>${s.dashboard.sending}</h2><dl class="kv">${counts.map(([k, n]) => html`<dt>${s.counts[k]}</dt><dd>${p.num(n)}</dd>`)}</dl></section>
</div>
<section class="card"><h2>${s.subscribers.actions}</h2><div class="actions">${controls}</div>
${isAdmin ? '' : html`<p class="muted">${t.pause} · ${t.resume} · ${t.cancel}: ${s.common.forbidden}</p>`}</section>
<section class="card"><h2>${t.articles}</h2>${articles.length ? html`<ol>${articles.map((a) => html`<li><a href="${a.url}">${a.title}</a></li>`)}</ol>` : html`<p>${s.common.none}</p>`}</section>
<section class="card"><h2>${t.preview}</h2>
<p><a href="?width=phone"${width === 375 ? html` aria-current="true"` : ''}>${t.phone}</a> · <a href="?width=desktop"${width === 800 ? html` aria-current="true"` : ''}>${t.desktop}</a></p>
<iframe class="preview-frame" title="${t.preview}" sandbox="allow-popups" style="max-width:${width}px" src="/admin/editions/${e.id}/preview"></iframe>
</section>`;
      return p.send(e.subject ?? t.edition, 'editions', body);
    },
  );

  // the stored mail as the API's preview shows it, framed by the edition page (no scripts run)
  app.get<{ Params: { id: string } }>(
    '/admin/editions/:id/preview',
    { schema: { hide: true, params: Params } },
    async (request, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .headers({
          'cache-control': 'no-store',
          'content-security-policy':
            "sandbox allow-popups; default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'",
        })
        .send(await operator.previewEdition(request.params.id)),
  );

  const controls = [
    ['pause', 'paused', 'admin'],
    ['resume', 'resumed', 'admin'],
    ['cancel', 'cancelled', 'admin'],
  ] as const;
  for (const [action, notice, role] of controls) {
    app.post<{ Params: { id: string } }>(
      `/admin/editions/:id/${action}`,
      { config: { role }, schema: { hide: true, params: Params } },
      async (request, reply) => {
        const p = pageContext(container, request, reply);
        return act(
          request,
          reply,
          `/admin/editions/${request.params.id}`,
          async (s) => {
            await operator[action](request.params.id);
            return s.editions.notices[notice]!;
          },
          p.language,
        );
      },
    );
  }

  app.post<{ Params: { id: string } }>(
    '/admin/editions/:id/resend-failed',
    { schema: { hide: true, params: Params } },
    async (request, reply) => {
      const p = pageContext(container, request, reply);
      return act(
        request,
        reply,
        `/admin/editions/${request.params.id}`,
        async (s) => {
          const out = await operator.resendFailed(request.params.id);
          return fmt(s.editions.notices.resent!, { n: p.num(out.recipients) });
        },
        p.language,
      );
    },
  );

  app.post<{ Params: { id: string } }>(
    '/admin/editions/:id/test',
    { schema: { hide: true, params: Params } },
    async (request, reply) => {
      const p = pageContext(container, request, reply);
      return act(
        request,
        reply,
        `/admin/editions/${request.params.id}`,
        async (s) => {
          const e = await operator.get(request.params.id);
          const raw = (request.body as Record<string, unknown> | undefined)?.email;
          const { email } = normalizeEmail(raw);
          await operator.testSend({
            email,
            language: e.language,
            articleIds: e.articleIds.length ? e.articleIds : undefined,
          });
          return s.editions.notices.tested!;
        },
        p.language,
      );
    },
  );
};
