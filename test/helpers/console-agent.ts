import type { TestContext } from './context.js';

type Method = 'GET' | 'POST' | 'PUT';

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
    form?: Record<string, string>,
    headers: Record<string, string> = {},
  ) {
    const res = await ctx.app.inject({
      method,
      url,
      headers: {
        ...(jar.size ? { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {}),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...headers,
      },
      ...(form ? { payload: new URLSearchParams(form).toString() } : {}),
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
