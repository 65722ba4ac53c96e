import type { FastifyPluginAsync } from 'fastify';
import { simpleParser } from 'mailparser';
import type { DevMailbox } from '../mail/dev-mailbox.js';

const esc = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

/** /dev/mailbox: what the embedded development SMTP server caught (list, HTML view, raw source). */
export const devMailboxRoutes: FastifyPluginAsync<{ mailbox: DevMailbox }> = async (app, { mailbox }) => {
  app.get('/dev/mailbox', { schema: { hide: true } }, async (_request, reply) => {
    const rows = mailbox
      .list()
      .map(
        (m) => `<tr><td>${m.receivedAt.toISOString()}</td><td>${esc(m.envelopeTo.join(', '))}</td>
<td dir="auto"><a href="/dev/mailbox/${m.id}">${esc(m.subject || '(no subject)')}</a></td>
<td><a href="/dev/mailbox/${m.id}/raw">source</a></td></tr>`,
      )
      .join('\n');
    reply.type('text/html; charset=utf-8');
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Gazette development mailbox</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,'Noto Sans Arabic',sans-serif;margin:2rem}td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:start}</style>
</head><body><h1>Development mailbox</h1><p>${mailbox.list().length} message(s), newest first. Mail is kept in memory only.</p>
<table><thead><tr><th>Received</th><th>To</th><th>Subject</th><th></th></tr></thead><tbody>${rows}</tbody></table></body></html>`;
  });

  app.get('/dev/mailbox.json', { schema: { hide: true } }, async () =>
    mailbox.list().map((m) => ({
      id: m.id,
      receivedAt: m.receivedAt,
      to: m.envelopeTo,
      from: m.envelopeFrom,
      subject: m.subject,
    })),
  );

  app.get<{ Params: { id: string } }>(
    '/dev/mailbox/:id',
    { schema: { hide: true } },
    async (request, reply) => {
      const mail = mailbox.get(request.params.id);
      if (!mail) return reply.status(404).send({ error: 'GZ_NOT_FOUND', message: 'no such message' });
      const parsed = await simpleParser(mail.raw);
      reply.type('text/html; charset=utf-8');
      if (parsed.html) return parsed.html;
      return `<!doctype html><meta charset="utf-8"><pre dir="auto">${esc(parsed.text ?? '')}</pre>`;
    },
  );

  app.get<{ Params: { id: string } }>(
    '/dev/mailbox/:id/raw',
    { schema: { hide: true } },
    async (request, reply) => {
      const mail = mailbox.get(request.params.id);
      if (!mail) return reply.status(404).send({ error: 'GZ_NOT_FOUND', message: 'no such message' });
      reply.type('text/plain; charset=utf-8');
      return mail.raw;
    },
  );
};
