import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import multipart, { type MultipartFile } from '@fastify/multipart';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Container } from '../../container.js';
import { FIELDS, type Field } from '../../imports/columns.js';
import { EXPORT_COLUMNS, exportRows } from '../../imports/export.js';
import { rowReason } from '../../imports/row-reasons.js';
import { csvStream, readFilePart } from '../csv-http.js';
import { fmt } from '../pages/strings.js';
import { filterOptions, importStatus } from './import-views.js';
import { csrfField, HTMX_PATH, type Html, html, table, tag } from './layout.js';
import { type PageContext, pageContext } from './page-context.js';
import { reasonHtml, reasonText } from './report-views.js';
import { checkCsrf } from './session.js';

/**
 * List import and export in the console, over the same import service as
 * POST /api/v1/subscribers/import: upload (multipart, streamed into the service, never held
 * whole), preview with the column mapping, confirm with the consent choice, then the import's
 * page with its progress (htmx polls a fragment while the job runs) and its rejected rows.
 * Editors may import and export (the issue keeps only operators, sending pause and erasure from them).
 */
const Params = Type.Object({ id: Type.String({ format: 'uuid' }) });
const ExportQuery = Type.Object({
  status: Type.Optional(Type.String({ maxLength: 20 })),
  language: Type.Optional(Type.String({ maxLength: 8 })),
  frequency: Type.Optional(Type.String({ maxLength: 20 })),
  topic: Type.Optional(Type.String({ maxLength: 64 })),
});
const HTMX = readFileSync(createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js'));
const REJECTED_SHOWN = 50;
/**
 * The preview reads the header and ten rows, and csv-source.ts caps a record at 64 KiB: the first
 * megabyte of the file always holds them. The script sends only that much for a preview, so a
 * large list is not uploaded twice; the import itself sends the whole file.
 */
const PREVIEW_SLICE = 1024 * 1024;
export const PREVIEW_SCRIPT_PATH = '/admin/assets/import-preview.js';
const PREVIEW_SCRIPT = `document.addEventListener('htmx:configRequest', function (e) {
  if (!/\\/admin\\/imports\\/preview$/.test(e.detail.path)) return;
  var f = e.detail.formData && e.detail.formData.get('file');
  if (f && f.size > ${PREVIEW_SLICE}) e.detail.formData.set('file', f.slice(0, ${PREVIEW_SLICE}), f.name);
});
`;

type Preview = Awaited<ReturnType<Container['imports']['preview']>>;
type Fields = Record<string, string>;

/** The text fields of a multipart form that came before its file part. */
function fieldsOf(data: MultipartFile): Fields {
  const out: Fields = {};
  for (const [name, f] of Object.entries(data.fields)) {
    const v = Array.isArray(f) ? f[0] : f;
    if (v && v.type === 'field' && typeof v.value === 'string') out[name] = v.value;
  }
  return out;
}

/** The mapping the form's selects chose (map_<field> = column), or undefined when none is set. */
function mappingOf(fields: Fields) {
  const chosen = FIELDS.flatMap((f) => (fields[`map_${f}`] ? [[f, fields[`map_${f}`]!] as const] : []));
  return chosen.length ? (Object.fromEntries(chosen) as Partial<Record<Field, string>>) : undefined;
}

/** The mapping selects and the preview table (the part of the form htmx replaces). */
function previewSection(p: PageContext, preview?: Preview, mapping?: Partial<Record<Field, string>>): Html {
  const t = p.s.imports;
  if (!preview) return html`<div id="import-preview"></div>`;
  const used = mapping ?? preview.suggestedMapping;
  const columns = preview.columns.map((c, i) => c || `column ${i + 1}`);
  return html`<div id="import-preview">
<fieldset><legend>${t.mapping}</legend><p class="muted">${t.mappingHint}${
    preview.format ? html` ${fmt(t.format, { format: preview.format })}` : ''
  } · ${t.separator}: <bdi dir="ltr">${preview.delimiter === '\t' ? 'tab' : preview.delimiter}</bdi></p>
<div class="mapping">${FIELDS.map(
    (f) =>
      html`<div class="field"><label for="map-${f}"><bdi dir="ltr">${f}</bdi></label><select id="map-${f}" name="map_${f}"><option value="">${t.notMapped}</option>${columns.map(
        (c) => html`<option value="${c}"${used[f] === c ? html` selected` : ''}>${c}</option>`,
      )}</select></div>`,
  )}</div></fieldset>
<section><h2>${t.previewTitle}</h2><div class="scroll">${table(
    [t.row, ...columns, t.outcome],
    preview.rows.map((r) => [
      p.num(r.row),
      ...columns.map((c) => html`<bdi>${r.cells[c] ?? ''}</bdi>`),
      r.outcome
        ? html`${tag('failed', t.counts[r.outcome as 'invalid'] ?? r.outcome)} <span class="muted">${reasonHtml(p, r.reason)}</span>`
        : '',
    ]),
  )}</div></section></div>`;
}

export const importPages: FastifyPluginAsync<{ container: Container }> = async (app, { container }) => {
  const { imports, publication, db, config } = container;
  // one byte over the cap, so the byte counter of csv-source.ts refuses the file (see import-routes.ts)
  await app.register(multipart, { limits: { files: 1, fields: 40, fileSize: config.IMPORT_MAX_BYTES + 1 } });

  app.get(HTMX_PATH, { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'private, max-age=86400').send(HTMX),
  );
  app.get(PREVIEW_SCRIPT_PATH, { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(PREVIEW_SCRIPT),
  );

  /** The upload form (with a preview when there is one), the recent imports, the export. */
  function importsPage(
    p: PageContext,
    recent: Awaited<ReturnType<typeof imports.list>>,
    o: { preview?: Preview; mapping?: Partial<Record<Field, string>>; fields?: Fields; problem?: string },
  ) {
    const { s } = p;
    const t = s.imports;
    const mode = o.fields?.mode === 'attested' ? 'attested' : 'confirm';
    const body = html`<h1>${t.title}</h1>
${o.problem ? html`<p class="error" role="alert">${o.problem}</p>` : ''}
<script src="${PREVIEW_SCRIPT_PATH}" defer></script>
<section class="card"><h2>${t.upload}</h2>
<!-- the file comes last in the form (fields first: the server reads them before it streams the
     file) and is shown first by the stylesheet -->
<form class="import-form" method="post" action="/admin/imports" enctype="multipart/form-data">${csrfField(p.csrf)}
${previewSection(p, o.preview, o.mapping)}
<fieldset><legend>${t.mode}</legend>
<label class="choice"><input type="radio" name="mode" value="confirm"${mode === 'confirm' ? html` checked` : ''}> ${t.modeConfirm}</label>
<label class="choice"><input type="radio" name="mode" value="attested"${mode === 'attested' ? html` checked` : ''}> ${t.modeAttested}</label>
<div class="field"><label for="attestation">${t.attestation}</label><textarea id="attestation" name="attestation" maxlength="2000" aria-describedby="attestation-hint">${o.fields?.attestation ?? ''}</textarea><p class="muted" id="attestation-hint">${t.attestationHint}</p></div>
</fieldset>
<div><button>${t.start}</button></div>
<div class="step-file"><p class="muted">${t.uploadHint}</p>${
      // a preview without JavaScript: the browser does not keep the chosen file across the page
      o.preview ? html`<p class="warn" role="status">${t.chooseAgain}</p>` : ''
    }
<div class="field"><label for="csv-file">${t.file}</label><input id="csv-file" name="file" type="file" accept=".csv,.txt,text/csv" required
 hx-post="/admin/imports/preview" hx-trigger="change" hx-encoding="multipart/form-data" hx-target="#import-preview" hx-swap="outerHTML" hx-indicator="closest .step-file"></div>
<button class="secondary" formaction="/admin/imports/preview" formnovalidate hx-post="/admin/imports/preview" hx-encoding="multipart/form-data" hx-target="#import-preview" hx-swap="outerHTML" hx-indicator="closest .step-file">${t.preview}</button> <span class="busy muted" aria-hidden="true">…</span></div>
</form></section>
<section class="card"><h2>${t.recent}</h2>${
      recent.length
        ? table(
            [t.when, t.source, t.state, t.progress, t.by],
            recent.map((r) => [
              html`<a href="/admin/imports/${r.id}">${p.when(r.created_at)}</a>`,
              html`<bdi>${r.source}</bdi>`,
              tag(
                r.state === 'done' ? 'sent' : r.state === 'failed' ? 'failed' : 'pending',
                t.states[r.state],
              ),
              fmt(t.rows, { done: p.num(r.cursor), total: p.num(r.total_rows) }),
              html`<bdi dir="ltr">${r.operator}</bdi>`,
            ]),
          )
        : html`<p>${s.common.none}</p>`
    }</section>
<section class="card"><h2>${t.export}</h2><p class="muted">${t.exportHint}</p>
<form class="filters" method="get" action="/admin/imports/export.csv">${filterOptions(p, publication)}<button>${t.download}</button></form></section>`;
    return p.send(t.title, 'imports', body, o.problem ? 400 : 200, true);
  }

  app.get('/admin/imports', { schema: { hide: true } }, async (request, reply) =>
    importsPage(pageContext(container, request, reply), await imports.list(), {}),
  );

  /** The form's fields (CSRF checked) and its file, or a problem to show. */
  async function readUpload(request: FastifyRequest, p: PageContext) {
    const data = await readFilePart(request);
    const fields = data ? fieldsOf(data) : {};
    try {
      await checkCsrf(app, request, fields._csrf ?? '');
    } catch (err) {
      data?.file.resume(); // refused: the rest of the upload is drained, not left to stall the socket
      throw err;
    }
    if (!data?.filename) {
      data?.file.resume();
      return { fields, problem: p.s.imports.needFile };
    }
    return { fields, data };
  }

  /** A refusal of the file (bad CSV, too large, bad mapping) is shown; anything else is raised. */
  const shown = (err: unknown, p: PageContext) => {
    const e = err as { statusCode?: number; message?: string };
    if (!e.statusCode || e.statusCode >= 500) throw err;
    return fmt(p.s.common.invalid, { message: e.message ?? '' });
  };

  app.post(
    '/admin/imports/preview',
    { config: { csrfInHandler: true }, schema: { hide: true } },
    async (request, reply) => {
      const p = pageContext(container, request, reply);
      const fragment = request.headers['hx-request'] === 'true';
      const { fields, data, problem } = await readUpload(request, p);
      let preview: Preview | undefined;
      let error = problem;
      const mapping = mappingOf(fields);
      if (data) {
        try {
          preview = await imports.preview(data.file, mapping?.email ? mapping : undefined);
        } catch (err) {
          error = shown(err, p);
        } finally {
          data.file.resume(); // the rest of the file is not needed
        }
      }
      if (fragment)
        return reply
          .type('text/html; charset=utf-8')
          .header('cache-control', 'no-store')
          .send(
            error
              ? html`<div id="import-preview"><p class="error" role="alert">${error}</p></div>`.__html
              : previewSection(p, preview, mapping?.email ? mapping : undefined).__html,
          );
      return importsPage(p, await imports.list(), { preview, mapping, fields, problem: error });
    },
  );

  app.post(
    '/admin/imports',
    { config: { csrfInHandler: true }, schema: { hide: true } },
    async (request, reply) => {
      const p = pageContext(container, request, reply);
      const { fields, data, problem } = await readUpload(request, p);
      if (!data) return importsPage(p, await imports.list(), { fields, problem });
      try {
        const mapping = mappingOf(fields);
        const started = await imports.start(data.file as Readable, {
          mapping,
          mode: fields.mode === 'attested' ? 'attested' : 'confirm',
          attestation: fields.attestation,
          operator: request.operator?.email ?? 'console',
          source: data.filename.slice(0, 200),
        });
        request.session.set('flash', { notice: p.s.imports.started });
        return reply.redirect(`/admin/imports/${started.id}`, 303);
      } catch (err) {
        data.file.resume();
        return importsPage(p, await imports.list(), { fields, problem: shown(err, p) });
      }
    },
  );

  const statusOf = async (p: PageContext, id: string) => {
    const imp = await imports.get(id);
    const rejected = await imports.rejected(id, 0, REJECTED_SHOWN);
    return { imp, html: importStatus(p, imp, rejected, REJECTED_SHOWN) };
  };

  app.get<{ Params: { id: string } }>(
    '/admin/imports/:id',
    { schema: { hide: true, params: Params } },
    async (request, reply) => {
      const p = pageContext(container, request, reply);
      const t = p.s.imports;
      const { imp, html: status } = await statusOf(p, request.params.id);
      const body = html`<p><a href="/admin/imports">${t.title}</a></p>
<h1>${t.import}: <bdi>${imp.source}</bdi></h1>
<section class="card"><dl class="kv phone-stack"><dt>${t.when}</dt><dd>${p.when(imp.created_at)}</dd>
<dt>${t.by}</dt><dd><bdi dir="ltr">${imp.operator}</bdi></dd>
<dt>${t.mode}</dt><dd>${imp.mode === 'attested' ? t.modeAttested : t.modeConfirm}</dd>
${imp.attestation ? html`<dt>${t.attestation}</dt><dd><bdi>${imp.attestation}</bdi></dd>` : ''}
<dt>${t.mapping}</dt><dd>${Object.entries(imp.mapping).map(([f, c]) => html`<bdi dir="ltr">${f}</bdi>: <bdi>${String(c)}</bdi><br>`)}</dd>
</dl><p><a href="/admin/subscribers?source=${imp.id}">${t.readers}</a></p></section>
${status}`;
      return p.send(`${t.import}: ${imp.source}`, 'imports', body, 200, true);
    },
  );

  // the part of the import's page that htmx polls while the job runs
  app.get<{ Params: { id: string } }>(
    '/admin/imports/:id/progress',
    { schema: { hide: true, params: Params } },
    async (request, reply) => {
      const p = pageContext(container, request, reply);
      const { html: status } = await statusOf(p, request.params.id);
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(status.__html);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/admin/imports/:id/report.csv',
    { schema: { hide: true, params: Params } },
    async (request, reply) => {
      const p = pageContext(container, request, reply);
      await imports.get(request.params.id); // 404 before the stream starts
      // a stable code for sorting and filtering, the reason in the operator's language (docs/console.md)
      const rows = (async function* () {
        for await (const r of imports.report(request.params.id)) {
          const reason = rowReason(r.reason);
          yield {
            row: r.row_no,
            email: r.email ?? '',
            outcome: r.outcome ?? '',
            code: reason?.code ?? '',
            reason: reasonText(p, reason),
          };
        }
      })();
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="import-${request.params.id}.csv"`)
        .send(csvStream(['row', 'email', 'outcome', 'code', 'reason'], rows));
    },
  );

  app.get(
    '/admin/imports/export.csv',
    { schema: { hide: true, querystring: ExportQuery } },
    async (request, reply) => {
      const q = request.query as Record<string, string | undefined>;
      const pick = (v: string | undefined, allowed: readonly string[]) =>
        v && allowed.includes(v) ? v : undefined;
      const filter = {
        status: pick(q.status, ['pending', 'confirmed', 'unsubscribed', 'suppressed']),
        language: pick(q.language, ['ar', 'en']),
        frequency: pick(q.frequency, ['immediate', 'daily', 'weekly']),
        topic: pick(
          q.topic,
          publication.topics.map((x) => x.id),
        ),
      };
      request.log.info({ operator: request.operator?.id, filter }, 'console: subscribers exported');
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="subscribers.csv"')
        .header('cache-control', 'no-store')
        .send(csvStream(EXPORT_COLUMNS, exportRows(db, filter)));
    },
  );
};
