import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { type ParsedMail, simpleParser } from 'mailparser';
import type { DevMailbox } from '../mail/dev-mailbox.js';

const esc = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

const STYLE = `body{font-family:system-ui,'Noto Sans Arabic',sans-serif;margin:1.5rem;color:#1d1d1f}
td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:start;vertical-align:top}
a{color:#9b1c1c}.muted{color:#5f5f64}form{display:inline}
button{font:inherit;padding:.3rem .8rem;cursor:pointer}
.panes{display:grid;grid-template-columns:minmax(0,2fr) minmax(0,3fr);gap:1rem;margin-top:1rem}
@media (max-width:900px){.panes{grid-template-columns:1fr}}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f5f2;padding:1rem;margin:0;font-size:14px}
iframe{width:100%;height:80vh;border:1px solid #ddd;background:#fff}
.headers{font-size:14px}.headers th{white-space:nowrap;color:#5f5f64;font-weight:500}`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style></head>
<body>${body}</body></html>`;
}

const notFound = (reply: FastifyReply) =>
  reply.status(404).send({ error: 'GZ_NOT_FOUND', message: 'no such message' });

/** The headers worth reading first, then every other header in order. */
const FIRST = [
  'from',
  'to',
  'subject',
  'date',
  'reply-to',
  'list-unsubscribe',
  'list-unsubscribe-post',
  'list-id',
];

function headerRows(parsed: ParsedMail): string {
  const lines = parsed.headerLines.map((h) => {
    const colon = h.line.indexOf(':');
    return { key: h.key, name: h.line.slice(0, colon), value: h.line.slice(colon + 1).trim() };
  });
  const decoded = (key: string, raw: string) => {
    const value = parsed.headers.get(key);
    if (typeof value === 'string') return value;
    if (value && typeof value === 'object' && 'text' in value)
      return String((value as { text: string }).text);
    if (value instanceof Date) return value.toISOString();
    return raw.replace(/\r?\n[ \t]+/g, ' ');
  };
  const ordered = [
    ...FIRST.flatMap((k) => lines.filter((l) => l.key === k)),
    ...lines.filter((l) => !FIRST.includes(l.key)),
  ];
  return ordered
    .map((l) => `<tr><th>${esc(l.name)}</th><td dir="auto">${esc(decoded(l.key, l.value))}</td></tr>`)
    .join('\n');
}

/**
 * /dev/mailbox: what the embedded development SMTP server caught. The list; each message with its
 * headers, the text part beside the HTML as a reader's client shows it; the raw source; clearing.
 * Only registered when the development mailbox runs (no SMTP_URL, not production).
 */
export const devMailboxRoutes: FastifyPluginAsync<{ mailbox: DevMailbox }> = async (app, { mailbox }) => {
  app.get('/dev/mailbox', { schema: { hide: true } }, async (_request, reply) => {
    const mails = await mailbox.list();
    const rows = mails
      .map(
        (m) => `<tr><td class="muted">${m.receivedAt.toISOString().replace('T', ' ').slice(0, 19)}</td>
<td>${esc(m.envelopeFrom)}</td><td>${esc(m.envelopeTo.join(', '))}</td>
<td dir="auto"><a href="/dev/mailbox/${m.id}">${esc(m.subject || '(no subject)')}</a></td>
<td><a href="/dev/mailbox/${m.id}/raw">source</a></td></tr>`,
      )
      .join('\n');
    reply.type('text/html; charset=utf-8');
    return page(
      'Gazette development mailbox',
      `<h1>Development mailbox</h1>
<p>${mails.length} message(s), newest first, kept across restarts (the newest 500).
<form method="post" action="/dev/mailbox/clear"><button type="submit">Clear the mailbox</button></form></p>
<table><thead><tr><th>Received (UTC)</th><th>From</th><th>To</th><th>Subject</th><th></th></tr></thead>
<tbody>${rows}</tbody></table>`,
    );
  });

  app.get('/dev/mailbox.json', { schema: { hide: true } }, async () =>
    (await mailbox.list()).map((m) => ({
      id: m.id,
      receivedAt: m.receivedAt,
      to: m.envelopeTo,
      from: m.envelopeFrom,
      subject: m.subject,
    })),
  );

  app.post('/dev/mailbox/clear', { schema: { hide: true } }, async (request, reply) => {
    // a page elsewhere must not empty the mailbox: the form is ours, so its Origin is ours
    const origin = request.headers.origin;
    if (origin && new URL(origin).host !== request.headers.host) {
      return reply.status(403).send({ error: 'GZ_FORBIDDEN', message: 'cross-site request refused' });
    }
    await mailbox.clear();
    return reply.redirect('/dev/mailbox', 303);
  });

  app.get<{ Params: { id: string } }>(
    '/dev/mailbox/:id',
    { schema: { hide: true } },
    async (request, reply) => {
      const mail = await mailbox.get(request.params.id);
      if (!mail) return notFound(reply);
      const parsed = await simpleParser(mail.raw);
      reply.type('text/html; charset=utf-8');
      const html = parsed.html
        ? `<iframe title="HTML part" sandbox src="/dev/mailbox/${mail.id}/html"></iframe>`
        : '<p class="muted">No HTML part.</p>';
      return page(
        mail.subject || '(no subject)',
        `<p><a href="/dev/mailbox">← all messages</a> · <a href="/dev/mailbox/${mail.id}/raw">source</a></p>
<h1 dir="auto">${esc(mail.subject || '(no subject)')}</h1>
<table class="headers"><tbody>
<tr><th>Envelope</th><td>${esc(mail.envelopeFrom)} → ${esc(mail.envelopeTo.join(', '))}</td></tr>
${headerRows(parsed)}</tbody></table>
<div class="panes"><section><h2>Text part</h2><pre dir="auto">${esc(parsed.text ?? '(none)')}</pre></section>
<section><h2>HTML part</h2>${html}</section></div>`,
      );
    },
  );

  app.get<{ Params: { id: string } }>(
    '/dev/mailbox/:id/html',
    { schema: { hide: true } },
    async (request, reply) => {
      const mail = await mailbox.get(request.params.id);
      if (!mail) return notFound(reply);
      const parsed = await simpleParser(mail.raw);
      // shown in a sandboxed frame: the mail's own markup, no script runs, nothing reaches the page
      reply.header(
        'content-security-policy',
        "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline'",
      );
      reply.type('text/html; charset=utf-8');
      return parsed.html || `<pre>${esc(parsed.text ?? '')}</pre>`;
    },
  );

  app.get<{ Params: { id: string } }>(
    '/dev/mailbox/:id/raw',
    { schema: { hide: true } },
    async (request, reply) => {
      const mail = await mailbox.get(request.params.id);
      if (!mail) return notFound(reply);
      reply.type('text/plain; charset=utf-8');
      return mail.raw;
    },
  );
};
