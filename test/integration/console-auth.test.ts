import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleAgent } from '../helpers/console-agent.js';
import { createTestContext, type TestContext } from '../helpers/context.js';
import { seedEdition } from '../helpers/delivery-fixtures.js';

const ADMIN = { email: 'Chief@Almadar.example', password: 'correct horse battery 42' };
const EDITOR = { email: 'desk@almadar.example', password: 'editor pass phrase 7' };
const MINUTE = 60_000;

describe('console sign-in, sessions, CSRF and roles', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({
      workers: false,
      env: {
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        SESSION_SECRET: 'console-test-session-secret-0123456789abcdef',
        SESSION_IDLE_MINUTES: '30',
        SESSION_MAX_HOURS: '2',
      },
    });
    await ctx.container.operators.create({ ...EDITOR, role: 'editor', createdBy: 'test' });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it('makes the first operator from ADMIN_EMAIL once, as an admin with a salted scrypt hash', async () => {
    const { rows } = await ctx.db.query(
      `SELECT email, role, password_hash FROM operators ORDER BY created_at`,
    );
    expect(rows[0]).toMatchObject({ email: 'Chief@almadar.example', role: 'admin' });
    expect(rows[0].password_hash).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(rows[0].password_hash).not.toContain(ADMIN.password);
    // a second boot with other values changes nothing: operators exist
    expect(await ctx.container.operators.ensureFirst('other@almadar.example', 'another long password')).toBe(
      false,
    );
    const again = await ctx.container.operators.create({
      ...EDITOR,
      email: 'x@almadar.example',
      role: 'editor',
      createdBy: 't',
    });
    const hashes = await ctx.db.query(
      `SELECT password_hash FROM operators WHERE email_key IN ('x@almadar.example', $1)`,
      [EDITOR.email],
    );
    // same password, different salt: different hashes
    expect(new Set(hashes.rows.map((r) => r.password_hash)).size).toBe(2);
    await ctx.db.query('DELETE FROM operators WHERE id = $1', [again.id]);
  });

  it('sends a visitor without a session to the sign-in page, and signs in with the right password', async () => {
    const a = consoleAgent(ctx);
    const first = await a.get('/admin/subscribers?q=x');
    expect(first.statusCode).toBe(303);
    expect(first.headers.location).toBe('/admin/sign-in?next=%2Fadmin%2Fsubscribers%3Fq%3Dx');
    // Bull Board and its JSON API sit behind the same sign-in
    expect((await a.get('/admin/queues')).statusCode).toBe(303);
    expect((await a.get('/admin/queues/api/queues')).statusCode).toBe(303);
    expect((await a.raw('PUT', '/admin/queues/api/queues/send/pause')).statusCode).toBe(401);
    const page = await a.get('/admin/sign-in');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('dir="rtl"');
    const res = await a.signIn(ADMIN.email.toLowerCase(), ADMIN.password);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/admin');
    const cookie = res.cookies.find((c) => c.name === 'gazette_console');
    expect(cookie).toMatchObject({ httpOnly: true, path: '/admin', sameSite: 'Lax', secure: true });
    const home = await a.get('/admin');
    expect(home.statusCode).toBe(200);
    expect(home.body).toContain('الرئيسية');
    const { rows } = await ctx.db.query(
      `SELECT last_sign_in_at FROM operators WHERE email_key = 'chief@almadar.example'`,
    );
    expect(rows[0].last_sign_in_at).toEqual(ctx.clock.now());
  });

  it('refuses a wrong password and an unknown address with the same answer', async () => {
    const a = consoleAgent(ctx);
    const wrong = await a.signIn(EDITOR.email, 'not the password at all');
    const unknown = await a.signIn('nobody@almadar.example', 'not the password at all');
    for (const res of [wrong, unknown]) {
      expect(res.statusCode).toBe(401);
      expect(res.body).toContain('البريد الإلكتروني أو كلمة المرور غير صحيحة');
    }
    expect((await a.get('/admin')).statusCode).toBe(303);
    await ctx.container.operators.signIn(EDITOR.email, EDITOR.password); // resets the count
  });

  it('locks an operator out after 5 wrong passwords in 15 minutes, the right one included, until the lock ends', async () => {
    await ctx.container.operators.create({
      email: 'lock@almadar.example',
      password: 'the right password 1',
      role: 'editor',
      createdBy: 't',
    });
    const a = consoleAgent(ctx);
    for (let i = 0; i < 4; i++) {
      expect((await a.signIn('lock@almadar.example', `wrong password ${i}`)).statusCode).toBe(401);
      ctx.clock.advance(2 * MINUTE);
    }
    const fifth = await a.signIn('lock@almadar.example', 'wrong password 5');
    expect(fifth.statusCode).toBe(429);
    expect(fifth.body).toContain('مقفل حتى');
    const right = await a.signIn('lock@almadar.example', 'the right password 1');
    expect(right.statusCode).toBe(429);
    ctx.clock.advance(16 * MINUTE);
    expect((await a.signIn('lock@almadar.example', 'the right password 1')).statusCode).toBe(303);
  });

  it('counts failures within the window only: spread-out mistakes never lock', async () => {
    await ctx.container.operators.create({
      email: 'slow@almadar.example',
      password: 'the right password 2',
      role: 'editor',
      createdBy: 't',
    });
    const a = consoleAgent(ctx);
    for (let i = 0; i < 8; i++) {
      expect((await a.signIn('slow@almadar.example', `wrong password ${i}`)).statusCode).toBe(401);
      ctx.clock.advance(6 * MINUTE); // three per 15-minute window at most
    }
    expect((await a.signIn('slow@almadar.example', 'the right password 2')).statusCode).toBe(303);
  });

  it('ends a session after the idle limit and after the absolute limit, on the injected clock', async () => {
    const idle = consoleAgent(ctx);
    await idle.signIn(EDITOR.email, EDITOR.password);
    ctx.clock.advance(29 * MINUTE);
    expect((await idle.get('/admin')).statusCode).toBe(200);
    ctx.clock.advance(31 * MINUTE);
    const ended = await idle.get('/admin');
    expect(ended.statusCode).toBe(303);
    expect(ended.headers.location).toBe('/admin/sign-in?next=%2Fadmin&expired=1');
    expect((await idle.get('/admin/sign-in?expired=1')).body).toContain('انتهت جلستك');
    expect((await idle.get('/admin')).statusCode).toBe(303);

    const busy = consoleAgent(ctx);
    await busy.signIn(EDITOR.email, EDITOR.password);
    for (let i = 0; i < 4; i++) {
      ctx.clock.advance(25 * MINUTE);
      expect((await busy.get('/admin')).statusCode).toBe(200);
    }
    ctx.clock.advance(25 * MINUTE); // 125 minutes since sign-in: over SESSION_MAX_HOURS=2
    expect((await busy.get('/admin')).headers.location).toContain('expired=1');
  });

  it('refuses every form post without its CSRF token, the sign-in form included', async () => {
    const a = consoleAgent(ctx);
    await a.signIn(ADMIN.email, ADMIN.password);
    const { rows } = await ctx.db.query(
      `INSERT INTO subscribers (email, email_key, status, language, frequency, timezone)
       VALUES ('csrf@example.org', 'csrf@example.org', 'confirmed', 'ar', 'daily', 'UTC') RETURNING id`,
    );
    const id = rows[0].id as string;
    const none = await a.postWithoutToken(`/admin/subscribers/${id}/suppress`, { reason: 'x' });
    expect(none.statusCode).toBe(403);
    const forged = await a.post(`/admin/subscribers/${id}/suppress`, { _csrf: 'forged-token', reason: 'x' });
    expect(forged.statusCode).toBe(403);
    // a token from another session is no good either
    const other = consoleAgent(ctx);
    await other.get('/admin/sign-in');
    const foreign = await a.post(`/admin/subscribers/${id}/suppress`, { _csrf: other.csrf });
    expect(foreign.statusCode).toBe(403);
    expect((await ctx.db.query('SELECT status FROM subscribers WHERE id = $1', [id])).rows[0].status).toBe(
      'confirmed',
    );
    const signIn = await consoleAgent(ctx).postWithoutToken('/admin/sign-in', ADMIN);
    expect(signIn.statusCode).toBe(403);
    await a.get(`/admin/subscribers/${id}`);
    const ok = await a.post(`/admin/subscribers/${id}/suppress`, { reason: 'asked by phone' });
    expect(ok.statusCode).toBe(303);
    expect((await ctx.db.query('SELECT status FROM subscribers WHERE id = $1', [id])).rows[0].status).toBe(
      'suppressed',
    );
  });

  it('refuses editors the operators pages, the sending controls and the queue controls', async () => {
    const editor = consoleAgent(ctx);
    await editor.signIn(EDITOR.email, EDITOR.password);
    const { editionId } = await seedEdition(ctx, { readers: 2, batchSize: 10 });
    await ctx.db.query(`UPDATE editions SET state = 'sending' WHERE id = $1`, [editionId]);
    expect((await editor.get('/admin/subscribers')).statusCode).toBe(200);
    const page = await editor.get(`/admin/editions/${editionId}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain(`/admin/editions/${editionId}/pause`);
    expect(page.body).not.toContain('href="/admin/operators"');
    expect((await editor.get('/admin/operators')).statusCode).toBe(403);
    expect(
      (
        await editor.post('/admin/operators', {
          email: 'new@almadar.example',
          password: 'a long new password',
          role: 'admin',
        })
      ).statusCode,
    ).toBe(403);
    expect((await editor.post('/admin/sending/resume')).statusCode).toBe(403);
    expect((await editor.post(`/admin/editions/${editionId}/pause`)).statusCode).toBe(403);
    expect((await editor.post(`/admin/editions/${editionId}/cancel`)).statusCode).toBe(403);
    const queuePause = await editor.raw('PUT', '/admin/queues/api/queues/send/pause', undefined, {
      origin: 'http://localhost:80',
    });
    expect(queuePause.statusCode).toBe(403);
    expect((await ctx.db.query('SELECT state FROM editions WHERE id = $1', [editionId])).rows[0].state).toBe(
      'sending',
    );
    expect(
      (await ctx.db.query(`SELECT 1 FROM operators WHERE email_key = 'new@almadar.example'`)).rows,
    ).toEqual([]);

    const admin = consoleAgent(ctx);
    await admin.signIn(ADMIN.email, ADMIN.password);
    expect((await admin.get('/admin/operators')).statusCode).toBe(200);
    await admin.post(`/admin/editions/${editionId}/pause`);
    expect((await ctx.db.query('SELECT state FROM editions WHERE id = $1', [editionId])).rows[0].state).toBe(
      'paused',
    );
    expect((await admin.get('/admin/queues')).statusCode).toBe(200);
  });

  it('keeps the bearer ADMIN_TOKEN for the API, and a console session opens no API route', async () => {
    expect((await ctx.app.inject({ url: '/api/v1/editions', headers: ctx.adminHeaders })).statusCode).toBe(
      200,
    );
    expect((await ctx.app.inject({ url: '/api/v1/subscribers', headers: ctx.adminHeaders })).statusCode).toBe(
      200,
    );
    const a = consoleAgent(ctx);
    await a.signIn(ADMIN.email, ADMIN.password);
    const cookie = [...a.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    expect((await ctx.app.inject({ url: '/api/v1/editions', headers: { cookie } })).statusCode).toBe(401);
    // and the token opens no console page
    expect((await ctx.app.inject({ url: '/admin', headers: ctx.adminHeaders })).statusCode).toBe(303);
  });

  it('signs out: the old cookie no longer opens the console', async () => {
    const a = consoleAgent(ctx);
    await a.signIn(ADMIN.email, ADMIN.password);
    const before = [...a.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    await a.get('/admin');
    const out = await a.post('/admin/sign-out');
    expect(out.statusCode).toBe(303);
    expect((await a.get('/admin')).statusCode).toBe(303);
    // the session lives in the cookie: a copy kept from before the sign-out is refused all the same
    expect((await ctx.app.inject({ url: '/admin', headers: { cookie: before } })).statusCode).toBe(303);
    ctx.clock.advance(1000);
    await a.signIn(ADMIN.email, ADMIN.password);
    expect((await a.get('/admin')).statusCode).toBe(200);
  });
});
