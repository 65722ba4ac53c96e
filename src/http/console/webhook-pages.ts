import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Container } from '../../container.js';
import { GazetteError, validationError } from '../../errors.js';
import { OUTBOX_EVENT_TYPES } from '../../outbox/events.js';
import { PREVIOUS_SECRET_MS } from '../../outbox/file-endpoints.js';
import { EndpointCreate, type EndpointView } from '../../outbox/schemas.js';
import { fmt } from '../pages/strings.js';
import { csrfField, filterParams, fmtHtml, html, ltr, pager, table } from './layout.js';
import { act, type PageContext, pageContext } from './page-context.js';
import { attemptRow, countsOf, eventList, sourceOf, stateOf } from './webhook-views.js';

const Params = Type.Object({ id: Type.String({ format: 'uuid' }) });
const LogQuery = Type.Object({ offset: Type.Optional(Type.Integer({ minimum: 0 })) });
const PAGE = 25;
const str = (v: unknown) => (typeof v === 'string' ? v.trim() : '');
const list = (v: unknown) => (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(str).filter(Boolean);

/**
 * The form's fields as the admin API's body, checked by the API's own schema (EndpointCreate), so
 * the console accepts exactly what POST /api/v1/webhook-endpoints does.
 */
function createBody(form: Record<string, unknown>): EndpointCreate {
  const description = str(form.description);
  const body = { url: str(form.url), events: list(form.events), ...(description ? { description } : {}) };
  if (Value.Check(EndpointCreate, body)) return body;
  const problem = Value.Errors(EndpointCreate, body).First();
  const field = problem?.path.replace(/^\//, '').split('/')[0] || 'form';
  throw validationError(field, problem?.message ?? 'not valid');
}

/**
 * Webhooks to the CMS: every operator sees the endpoints and their delivery logs; admins add,
 * disable, enable, rotate and delete through the same service as the admin API
 * (outbox/endpoints.ts), whose refusals (a file endpoint is read-only) are shown as they are.
 */
export const webhookPages: FastifyPluginAsync<{ container: Container }> = async (app, { container }) => {
  const endpoints = container.webhookEndpoints;
  const isAdmin = (request: FastifyRequest) => request.operator?.role === 'admin';
  const hours = (p: PageContext) => p.num(PREVIOUS_SECRET_MS / 3600_000);

  app.get('/admin/webhooks', { schema: { hide: true } }, async (request, reply) => {
    const p = pageContext(container, request, reply);
    const t = p.s.webhooks;
    const all = await endpoints.withCounts();
    const rows = all.map((e) => [
      html`<span><a href="/admin/webhooks/${e.id}">${ltr(e.url)}</a>${
        e.description ? html`<br><span class="muted">${e.description}</span>` : ''
      }</span>`,
      eventList(p, e.events),
      sourceOf(p, e),
      stateOf(p, e),
      countsOf(p, e.deliveries),
    ]);
    const form = isAdmin(request)
      ? html`<section class="card"><h2>${t.add}</h2>
<form method="post" action="/admin/webhooks" class="filters">${csrfField(p.csrf)}
<div class="field"><label for="wh-url">${t.url}</label><input id="wh-url" name="url" type="text" inputmode="url" dir="ltr" required maxlength="2000" placeholder="https://cms.example.com/gazette-events"></div>
<div class="field"><label for="wh-description">${t.description}</label><input id="wh-description" name="description" type="text" maxlength="200"></div>
<fieldset class="field"><legend>${t.events}</legend>${OUTBOX_EVENT_TYPES.map(
          (type) =>
            html`<label class="choice"><input type="checkbox" name="events" value="${type}"> ${t.eventNames[type]} <bdi class="muted" dir="ltr">${type}</bdi></label>`,
        )}</fieldset>
<button>${t.create}</button></form></section>`
      : html`<p class="muted">${t.adminOnly}</p>`;
    const body = html`<h1>${t.title}</h1>
<p class="muted">${t.hint}</p>
<section class="card">${
      rows.length ? table([t.url, t.events, t.source, t.state, t.deliveries], rows) : html`<p>${t.none}</p>`
    }</section>
${form}`;
    return p.send(t.title, 'webhooks', body);
  });

  app.get<{ Params: { id: string }; Querystring: { offset?: number } }>(
    '/admin/webhooks/:id',
    { schema: { hide: true, params: Params, querystring: LogQuery } },
    async (request, reply) => {
      const p = pageContext(container, request, reply);
      const { s } = p;
      const t = s.webhooks;
      const offset = request.query.offset ?? 0;
      const e = await endpoints.get(request.params.id);
      const [counts, log] = await Promise.all([
        endpoints.withCounts(),
        endpoints.logPage(e.id, offset, PAGE),
      ]);
      const c = counts.find((x) => x.id === e.id)?.deliveries ?? {
        pending: 0,
        delivered: 0,
        failed: 0,
        cancelled: 0,
      };
      const body = html`<p><a href="/admin/webhooks">${t.title}</a></p>
<h1>${ltr(e.url)}</h1>
<div class="grid">
<section class="card"><h2>${t.endpoint}</h2><dl class="kv phone-stack">
<dt>${t.url}</dt><dd>${ltr(e.url)}</dd>
${e.description ? html`<dt>${t.description}</dt><dd>${e.description}</dd>` : ''}
<dt>${t.events}</dt><dd>${eventList(p, e.events)}</dd>
<dt>${t.source}</dt><dd>${sourceOf(p, e)}</dd>
<dt>${t.state}</dt><dd>${stateOf(p, e)}</dd>
<dt>${t.created}</dt><dd>${p.when(e.createdAt)}</dd>
</dl></section>
<section class="card"><h2>${t.deliveries}</h2><dl class="kv">
<dt>${t.pending}</dt><dd>${p.num(c.pending)}</dd>
<dt>${t.delivered}</dt><dd>${p.num(c.delivered)}</dd>
<dt>${t.failed}</dt><dd>${p.num(c.failed)}</dd>
<dt>${t.cancelled}</dt><dd>${p.num(c.cancelled)}</dd>
</dl></section>
</div>
<section class="card"><h2>${t.actions}</h2>${actions(p, e, isAdmin(request))}</section>
<section class="card"><h2>${t.log}</h2><p class="muted">${t.logHint}</p>${
        log.items.length
          ? table(
              [t.time, t.eventType, t.eventId, t.attempt, t.outcome, t.duration, t.deliveryState],
              log.items.map((a) => attemptRow(p, a)),
            )
          : html`<p>${t.logNone}</p>`
      }
${pager(s, `/admin/webhooks/${e.id}`, filterParams({}), log.total, offset, PAGE, p.num)}</section>`;
      return p.send(t.title, 'webhooks', body);
    },
  );

  function actions(p: PageContext, e: EndpointView, admin: boolean) {
    const t = p.s.webhooks;
    const post = (path: string, label: string, secondary = false, extra = html``) =>
      html`<form method="post" action="/admin/webhooks/${e.id}/${path}">${csrfField(p.csrf)}${extra}<button${
        secondary ? html` class="secondary"` : ''
      }>${label}</button></form>`;
    const notes = [
      e.readOnly ? html`<p class="warn">${fmtHtml(t.fileHint, { id: ltr(e.fileId ?? '') })}</p>` : '',
      e.removedFromFileAt ? html`<p class="warn">${t.removedHint}</p>` : '',
    ];
    if (!admin) return html`${notes}<p class="muted">${t.adminOnly}</p>`;
    const controls = [
      e.enabled
        ? post(
            'disable',
            t.disable,
            true,
            html`<div class="field"><label for="wh-reason">${t.disableReason}</label><input id="wh-reason" name="reason" type="text" maxlength="500"></div>`,
          )
        : e.removedFromFileAt
          ? ''
          : post('enable', t.enable),
      e.readOnly ? '' : post('rotate-secret', t.rotate, true),
      e.readOnly ? '' : post('delete', t.remove, true),
    ];
    return html`${notes}<div class="actions">${controls}</div>${
      e.readOnly ? '' : html`<p class="muted">${fmt(t.rotateHint, { hours: hours(p) })} ${t.removeHint}</p>`
    }`;
  }

  /** The secret, shown in this answer only: never kept in the session or sent again. */
  function secretPage(p: PageContext, e: EndpointView & { secret: string }, notice: string) {
    const t = p.s.webhooks;
    const body = html`<p class="notice" role="status">${notice}</p>
<h1>${t.secretTitle}</h1>
<section class="card"><p>${ltr(e.url)}</p>
<label for="wh-secret">${t.secretTitle}</label><input id="wh-secret" type="text" dir="ltr" readonly value="${e.secret}">
<p class="warn">${t.secretOnce}</p>
<p><a href="/admin/webhooks/${e.id}">${t.back}</a></p></section>`;
    return p.send(t.secretTitle, 'webhooks', body);
  }

  /** An action whose answer is the secret; a refusal goes back to `back` as the other actions do. */
  async function withSecret(
    request: FastifyRequest,
    reply: FastifyReply,
    back: string,
    run: () => Promise<EndpointView & { secret: string }>,
    notice: (p: PageContext) => string,
  ) {
    const p = pageContext(container, request, reply);
    try {
      return secretPage(p, await run(), notice(p));
    } catch (err) {
      if (!(err instanceof GazetteError) || err.statusCode >= 500) throw err;
      return act(
        request,
        reply,
        back,
        async () => {
          throw err;
        },
        p.language,
      );
    }
  }

  app.post('/admin/webhooks', { config: { role: 'admin' }, schema: { hide: true } }, (request, reply) =>
    withSecret(
      request,
      reply,
      '/admin/webhooks',
      async () => endpoints.create(createBody((request.body ?? {}) as Record<string, unknown>)),
      (p) => p.s.webhooks.notices.created,
    ),
  );

  app.post<{ Params: { id: string } }>(
    '/admin/webhooks/:id/rotate-secret',
    { config: { role: 'admin' }, schema: { hide: true, params: Params } },
    (request, reply) =>
      withSecret(
        request,
        reply,
        `/admin/webhooks/${request.params.id}`,
        () => endpoints.rotateSecret(request.params.id),
        (p) => p.s.webhooks.notices.rotated,
      ),
  );

  // the changes answered by a notice and a redirect: one service call each, as the API makes it
  const changes: Array<{
    action: 'disable' | 'enable' | 'delete';
    back: (id: string) => string;
    run: (id: string, form: Record<string, unknown>) => Promise<unknown>;
  }> = [
    {
      action: 'disable',
      back: (id) => `/admin/webhooks/${id}`,
      run: (id, form) => endpoints.disable(id, str(form.reason).slice(0, 500) || 'operator'),
    },
    { action: 'enable', back: (id) => `/admin/webhooks/${id}`, run: (id) => endpoints.enable(id) },
    { action: 'delete', back: () => '/admin/webhooks', run: (id) => endpoints.delete(id) },
  ];
  const noticeOf = { disable: 'disabled', enable: 'enabled', delete: 'deleted' } as const;
  for (const { action, back, run } of changes) {
    app.post<{ Params: { id: string } }>(
      `/admin/webhooks/:id/${action}`,
      { config: { role: 'admin' }, schema: { hide: true, params: Params } },
      async (request, reply) => {
        const p = pageContext(container, request, reply);
        const { id } = request.params;
        return act(
          request,
          reply,
          back(id),
          async (s) => {
            await run(id, (request.body ?? {}) as Record<string, unknown>);
            return s.webhooks.notices[noticeOf[action]];
          },
          p.language,
        );
      },
    );
  }
};
