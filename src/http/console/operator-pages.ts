import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Container } from '../../container.js';
import type { Role } from '../../operators/operator-service.js';
import { csrfField, html, ltr, table, tag } from './layout.js';
import { act, pageContext } from './page-context.js';

const Params = Type.Object({ id: Type.String({ format: 'uuid' }) });
const str = (v: unknown) => (typeof v === 'string' ? v : '');

/** Operators: admins only (the role is checked by the session hook before the handler). */
export const operatorPages: FastifyPluginAsync<{ container: Container }> = async (app, { container }) => {
  const { operators } = container;

  app.get(
    '/admin/operators',
    { config: { role: 'admin' }, schema: { hide: true } },
    async (request, reply) => {
      const p = pageContext(container, request, reply);
      const { s } = p;
      const t = s.operators;
      const list = await operators.list();
      const body = html`<h1>${t.title}</h1>
<section class="card">${table(
        [t.email, t.role, t.lastSignIn, t.locked],
        list.map((o) => [
          ltr(o.email),
          tag(o.role === 'admin' ? 'confirmed' : '', s.roles[o.role]),
          p.when(o.lastSignInAt),
          o.lockedUntil
            ? html`${p.when(o.lockedUntil)} <form method="post" action="/admin/operators/${o.id}/unlock" style="display:inline">${csrfField(p.csrf)}<button class="secondary">${t.unlock}</button></form>`
            : '—',
        ]),
      )}</section>
<section class="card"><h2>${t.add}</h2>
<form method="post" action="/admin/operators" class="filters">${csrfField(p.csrf)}
<div class="field"><label for="op-email">${t.email}</label><input id="op-email" name="email" type="email" dir="ltr" required></div>
<div class="field"><label for="op-password">${t.password}</label><input id="op-password" name="password" type="password" dir="ltr" minlength="12" required autocomplete="new-password"></div>
<div class="field"><label for="op-role">${t.role}</label><select id="op-role" name="role"><option value="editor">${s.roles.editor}</option><option value="admin">${s.roles.admin}</option></select></div>
<button>${t.create}</button></form></section>`;
      return p.send(t.title, 'operators', body);
    },
  );

  app.post(
    '/admin/operators',
    { config: { role: 'admin' }, schema: { hide: true } },
    async (request, reply) => {
      const p = pageContext(container, request, reply);
      const body = (request.body ?? {}) as Record<string, unknown>;
      return act(
        request,
        reply,
        '/admin/operators',
        async (s) => {
          await operators.create({
            email: str(body.email),
            password: str(body.password),
            role: (str(body.role) === 'admin' ? 'admin' : 'editor') as Role,
            createdBy: request.operator?.email ?? 'console',
          });
          return s.operators.created;
        },
        p.language,
      );
    },
  );

  app.post<{ Params: { id: string } }>(
    '/admin/operators/:id/unlock',
    { config: { role: 'admin' }, schema: { hide: true, params: Params } },
    async (request, reply) => {
      const p = pageContext(container, request, reply);
      return act(
        request,
        reply,
        '/admin/operators',
        async (s) => {
          await operators.unlock(request.params.id);
          return s.operators.unlocked;
        },
        p.language,
      );
    },
  );
};
