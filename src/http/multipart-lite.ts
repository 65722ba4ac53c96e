import type { FastifyInstance } from 'fastify';

/**
 * A minimal multipart/form-data parser for small text-only forms (RFC 8058 one-click
 * unsubscribe, which some mail providers send as multipart). Files are not supported: a part
 * with a filename is ignored. Register it only in the scope that needs it.
 */
export function parseMultipart(body: string, contentType: string): Record<string, string> {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) throw Object.assign(new Error('multipart body without boundary'), { statusCode: 400 });
  const out: Record<string, string> = {};
  for (const part of body.split(`--${boundary}`).slice(1)) {
    if (part.startsWith('--')) break; // closing delimiter
    const sep = part.indexOf('\r\n\r\n');
    if (sep < 0) continue;
    const headers = part.slice(0, sep);
    let value = part.slice(sep + 4);
    if (value.endsWith('\r\n')) value = value.slice(0, -2);
    const disposition = /content-disposition:\s*form-data;([^\r\n]*)/i.exec(headers)?.[1] ?? '';
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
    if (!name || /\bfilename=/i.test(disposition)) continue;
    out[name] = value;
  }
  return out;
}

export function registerMultipartLite(scope: FastifyInstance, bodyLimit = 16 * 1024): void {
  scope.addContentTypeParser(
    'multipart/form-data',
    { parseAs: 'string', bodyLimit },
    (request, body, done) => {
      try {
        done(null, parseMultipart(body as string, String(request.headers['content-type'] ?? '')));
      } catch (err) {
        done(err as Error, undefined);
      }
    },
  );
}
