import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { listArticles } from '../../articles/article-store.js';
import { listSources } from '../../articles/sources-view.js';
import type { Container } from '../../container.js';
import { html, ltr, table, tag } from './layout.js';
import { pageContext } from './page-context.js';

const PAGE = 50;
const ArticlesQuery = Type.Object({
  held: Type.Optional(Type.String({ maxLength: 5 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
});

function decodeCursor(raw: string | undefined): { at: Date; id: string } | undefined {
  if (!raw) return undefined;
  try {
    const [at, id] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as [string, string];
    const date = new Date(at);
    return Number.isNaN(date.getTime()) || typeof id !== 'string' ? undefined : { at: date, id };
  } catch {
    return undefined;
  }
}

/** Articles (state, language, topics, held reasons) and their sources (last poll, last error). */
export const contentPages: FastifyPluginAsync<{ container: Container }> = async (app, { container }) => {
  const { db, publication, config } = container;

  app.get<{ Querystring: { held?: string; cursor?: string } }>(
    '/admin/articles',
    { schema: { hide: true, querystring: ArticlesQuery } },
    async (request, reply) => {
      const p = pageContext(container, request, reply);
      const { s, language } = p;
      const t = s.articles;
      const held = request.query.held === '1';
      const page = await listArticles(db, { limit: PAGE, cursor: decodeCursor(request.query.cursor), held });
      const label = (id: string) => publication.topics.find((x) => x.id === id)?.label[language] ?? id;
      const next = page.nextCursor
        ? Buffer.from(JSON.stringify([page.nextCursor.at.toISOString(), page.nextCursor.id])).toString(
            'base64url',
          )
        : null;
      const body = html`<h1>${t.title}</h1>
<section class="card"><form class="filters" method="get" action="/admin/articles">
<label class="field" style="display:flex;gap:.5rem;align-items:center"><input type="checkbox" name="held" value="1"${held ? html` checked` : ''}> ${t.heldOnly}</label>
<button>${s.common.filter}</button></form></section>
<section class="card">${
        page.items.length
          ? table(
              [t.headline, t.state, t.language, t.topics, t.source, t.published, t.held],
              page.items.map((a) => [
                a.url ? html`<a href="${a.url}">${a.title}</a>` : a.title,
                tag(a.state, t.states[a.state] ?? a.state),
                a.language ? s.languages[a.language as 'ar' | 'en'] : '—',
                a.topics.map((x) => html`${tag('', label(x))} `),
                html`<bdi dir="ltr">${a.source}</bdi>`,
                p.when(a.publishedAt),
                a.heldReason ? html`<bdi dir="ltr">${a.heldReason}</bdi>` : '',
              ]),
            )
          : html`<p>${s.common.none}</p>`
      }
${next ? html`<div class="pager"><span></span><a href="/admin/articles?${new URLSearchParams({ ...(held ? { held: '1' } : {}), cursor: next }).toString()}" rel="next">${t.more}</a></div>` : ''}</section>`;
      return p.send(t.title, 'articles', body);
    },
  );

  app.get('/admin/sources', { schema: { hide: true } }, async (request, reply) => {
    const p = pageContext(container, request, reply);
    const { s } = p;
    const t = s.sources;
    const sources = await listSources(db, publication, {
      generic: config.WEBHOOK_SECRET_GENERIC,
      wordpress: config.WEBHOOK_SECRET_WORDPRESS,
      ghost: config.WEBHOOK_SECRET_GHOST,
      strapi: config.WEBHOOK_SECRET_STRAPI,
    });
    const body = html`<h1>${t.title}</h1>
<section class="card">${table(
      [
        t.source,
        t.kind,
        t.enabled,
        t.lastPoll,
        t.lastError,
        { label: t.taken, num: true },
        { label: t.held, num: true },
        t.lastArticle,
      ],
      sources.map((x) => [
        html`<bdi dir="ltr">${x.id}</bdi>${x.url ? html`<br>${ltr(x.url)}` : ''}`,
        x.kind === 'feed' ? t.feed : t.webhook,
        x.enabled ? s.common.yes : s.common.no,
        x.kind === 'feed'
          ? html`${p.when(x.lastPolledAt)}${x.lastStatus ? html` <span class="muted">(${x.lastStatus})</span>` : ''}`
          : '—',
        x.lastError ? html`<bdi dir="ltr" class="tag failed">${x.lastError}</bdi>` : '',
        p.num(x.articles),
        p.num(x.held),
        p.when(x.lastArticleAt),
      ]),
    )}</section>`;
    return p.send(t.title, 'sources', body);
  });
};
