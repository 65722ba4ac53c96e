import type { TestContext } from './context.js';

type Method = 'GET' | 'POST' | 'PUT';

/** A multipart/form-data body as a browser sends it: the fields in order, then the file. */
export function multipartBody(
  fields: Record<string, string>,
  file?: { name: string; content: string | Buffer },
) {
  const boundary = `----gazette${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields))
    parts.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`),
    );
  if (file)
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\nContent-Type: text/csv\r\n\r\n`,
      ),
      Buffer.from(file.content),
      Buffer.from('\r\n'),
    );
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

/**
 * A console visitor over app.inject: keeps the session cookie like a browser (path /admin), and
 * reads the CSRF token from the last page it was shown, as a form post would carry it.
 */
export function consoleAgent(ctx: TestContext) {
  const jar = new Map<string, string>();
  let csrf = '';

  async function request(
    method: Method,
    url: string,
    form?: Record<string, string> | Buffer,
    headers: Record<string, string> = {},
  ) {
    const res = await ctx.app.inject({
      method,
      url,
      headers: {
        ...(jar.size ? { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {}),
        ...(form && !Buffer.isBuffer(form) ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...headers,
      },
      ...(Buffer.isBuffer(form)
        ? { payload: form }
        : form
          ? { payload: new URLSearchParams(form).toString() }
          : {}),
    });
    for (const c of res.cookies as Array<{ name: string; value: string; maxAge?: number; expires?: Date }>) {
      if (c.value === '' || c.maxAge === 0 || (c.expires && c.expires.getTime() <= Date.now()))
        jar.delete(c.name);
      else jar.set(c.name, encodeURIComponent(c.value));
    }
    const token = /name="_csrf" value="([^"]+)"/.exec(res.body)?.[1];
    if (token) csrf = token;
    return res;
  }

  return {
    get: (url: string) => request('GET', url),
    /** a form post with the current CSRF token (unless the form gives its own _csrf) */
    post: (url: string, form: Record<string, string> = {}) => request('POST', url, { _csrf: csrf, ...form }),
    /** a form post with no token at all */
    postWithoutToken: (url: string, form: Record<string, string> = {}) => request('POST', url, form),
    raw: request,
    /** a multipart form post (an upload): the current CSRF token first, then the fields, then the file */
    upload(
      url: string,
      fields: Record<string, string>,
      file?: { name: string; content: string | Buffer },
      headers: Record<string, string> = {},
    ) {
      const m = multipartBody({ _csrf: csrf, ...fields }, file);
      return request('POST', url, m.body, { 'content-type': m.contentType, ...headers });
    },
    async signIn(email: string, password: string) {
      await request('GET', '/admin/sign-in');
      return request('POST', '/admin/sign-in', { _csrf: csrf, email, password, next: '/admin' });
    },
    get csrf() {
      return csrf;
    },
    get cookies() {
      return new Map(jar);
    },
  };
}

export type ConsoleAgent = ReturnType<typeof consoleAgent>;
