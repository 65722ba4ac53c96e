import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStandardWebhook } from '../../src/articles/signatures.js';
import { recoverOwedWork } from '../../workers/index.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';

const SECRET = `whsec_${Buffer.from('lifecycle-replay-secret-012345').toString('base64')}`;

/**
 * A breaking article applied just before Redis lost its data: its lifecycle job (which fans the
 * alert out) was queued and is gone. The recovery queues it again, and a second recovery does not
 * mail the alert twice.
 */
describe('recovery replays lost lifecycle jobs', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext({ now: new Date().toISOString(), env: { WEBHOOK_SECRET_GENERIC: SECRET } });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  async function idle(): Promise<void> {
    await eventually(async () => {
      for (const name of ['article-lifecycle', 'alerts', 'send'] as const) {
        const c = await ctx.container.queues
          .get(name)
          .getJobCounts('active', 'waiting', 'delayed', 'prioritized');
        if (Object.values(c).some((n) => n > 0)) return false;
      }
      return true;
    }, 20_000);
  }

  it('fans out the alert of a breaking article whose lifecycle job was wiped, once', async () => {
    const email = 'nour.alerts@example.org';
    await ctx.db.query(
      `INSERT INTO subscribers (email, email_key, name, status, language, frequency, timezone, alerts, confirmed_at)
       VALUES ($1, $1, 'نور', 'confirmed', 'ar', 'daily', 'Asia/Damascus', true, now())`,
      [email],
    );
    const lifecycle = ctx.container.queues.get('article-lifecycle');
    await lifecycle.pause();

    const body = JSON.stringify({
      type: 'article.published',
      data: {
        id: 'breaking-quake-1',
        url: 'https://almadar.example/ar/news/breaking-quake-1',
        title: 'عاجل: هزة أرضية بقوة خمس درجات تضرب ريف اللاذقية',
        summary: 'شعر السكان بالهزة في عدة مدن ساحلية ولا أنباء عن أضرار.',
        html: '<p>قال المركز الوطني للزلازل إن مركز الهزة كان في البحر.</p>',
        categories: ['عاجل'],
        language: 'ar',
        publishedAt: new Date().toISOString(),
        modifiedAt: new Date().toISOString(),
      },
    });
    const id = `msg_${randomUUID()}`;
    const ts = Math.floor(Date.now() / 1000);
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/webhooks/generic',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(ts),
        'webhook-signature': signStandardWebhook(SECRET, id, ts, body),
      },
      payload: body,
    });
    expect(res.statusCode).toBe(202);
    // applied, its lifecycle job queued (and held by the pause)...
    await eventually(async () => (await lifecycle.getWaitingCount()) === 1);
    // ...and lost, as in a wipe
    await lifecycle.obliterate({ force: true });

    expect(await recoverOwedWork(ctx.container)).toMatchObject({ lifecycle: 1 });
    const alert = await eventually(async () => ctx.sink.received.find((m) => m.to.includes(email)), 20_000);
    expect(alert.parsed.subject).toContain('هزة أرضية');
    await idle();

    // a second loss and recovery replays the job again: the alert edition and the ledger stop a second copy
    await lifecycle.obliterate({ force: true });
    expect(await recoverOwedWork(ctx.container)).toMatchObject({ lifecycle: 1 });
    await idle();
    expect(ctx.sink.received.filter((m) => m.to.includes(email))).toHaveLength(1);
  });
});
