import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHandoffLog, HandoffLogClosedError } from '../../src/delivery/handoff-log.js';
import { createTestContext, eventually, type TestContext } from '../helpers/context.js';
import {
  copiesByRecipient,
  dkimTestKey,
  editionRow,
  enqueueBatches,
  expectDkimPass,
  expectNewsletterContract,
  ledger,
  seedEdition,
  settled,
} from '../helpers/delivery-fixtures.js';
import { startDropProxy } from '../helpers/smtp-drop-proxy.js';
import { smtpError } from '../helpers/smtp-sink.js';

/**
 * Bulk delivery against the real services: PostgreSQL ledger, BullMQ on Redis, nodemailer's pool
 * to an SMTP server in this process whose hooks script the faults per recipient.
 */
const MAILTO = 'unsubscribe@almadar.example';
const dkim = dkimTestKey();

const faults = {
  /** recipient -> replies to give at RCPT, one per attempt (undefined = accept) */
  rcpt: new Map<string, Array<Error | undefined>>(),
  /** refuse every RCPT with this error while set */
  everyRcpt: undefined as Error | undefined,
};

describe('bulk delivery', () => {
  let ctx: TestContext;
  // between the mailer and the sink: loses the reply to DATA for chosen recipients
  let proxy: Awaited<ReturnType<typeof startDropProxy>>;
  beforeAll(async () => {
    proxy = await startDropProxy();
    ctx = await createTestContext({
      env: {
        ...dkim.env,
        LIST_UNSUBSCRIBE_MAILTO: MAILTO,
        SEND_CONCURRENCY: '3',
        SEND_CLAIM_SIZE: '4',
        SMTP_URL: proxy.url,
        // a display name that fits neither language: the publication's own names must win
        MAIL_FROM: 'Levant News <newsletter@almadar.example>',
      },
      smtp: {
        onRcpt(address) {
          if (faults.everyRcpt) return faults.everyRcpt;
          const script = faults.rcpt.get(address);
          return script && script.length > 0 ? script.shift() : undefined;
        },
      },
    });
    proxy.setTarget(ctx.sink.port);
  });
  afterEach(async () => {
    faults.rcpt.clear();
    faults.everyRcpt = undefined;
    proxy.dropFor.clear();
    proxy.cutAtRcptFor.clear();
    await ctx.container.queues.get('send').resume();
    await ctx.container.queues.get('alerts').resume();
  });
  afterAll(async () => {
    await ctx?.close();
    await proxy?.close();
  });

  const received = (emails: string[]) =>
    ctx.sink.received.filter((m) => m.to.some((t) => emails.includes(t)));

  it('delivers every reader of every batch exactly once, duplicated jobs included, under the header contract', async () => {
    const ed = await seedEdition(ctx, { readers: 7, batchSize: 3 });
    const batches = [0, 1, 2];
    // the planner's jobs, and the same batches again under other job ids (a re-enqueue)
    await enqueueBatches(ctx, ed.editionId, batches);
    await enqueueBatches(ctx, ed.editionId, batches, { suffix: 'again' });
    await enqueueBatches(ctx, ed.editionId, [1], { suffix: 'third' });

    const rows = await settled(ctx, ed.editionId);
    expect(rows.map((r) => r.state)).toEqual(Array(7).fill('sent'));
    expect(rows.every((r) => r.attempts === 1)).toBe(true);
    // let every duplicate job run to its end before counting copies
    await eventually(async () => {
      const c = await ctx.container.queues.get('send').getJobCounts('waiting', 'active', 'delayed');
      return c.waiting === 0 && c.active === 0 && c.delayed === 0;
    });
    const emails = ed.readers.map((r) => r.email);
    const mails = received(emails);
    expect(mails).toHaveLength(7);
    expect([...copiesByRecipient(mails).values()]).toEqual(Array(7).fill(1));

    const messageIds = new Set<string>();
    for (const reader of ed.readers) {
      const mail = mails.find((m) => m.to[0] === reader.email)!;
      const row = rows.find((r) => r.subscriber_id === reader.id)!;
      expectNewsletterContract({ mail, reader, row, editionId: ed.editionId, ctx, mailto: MAILTO });
      await expectDkimPass(mail, dkim.resolver);
      expect(row.smtp_response).toMatch(/^250 /);
      messageIds.add(mail.parsed.messageId ?? '');
    }
    expect(messageIds.size).toBe(7);
    expect(mails[0]!.parsed.subject).toBe(ed.rendered.subject);
    // the named greeting for a reader with a name, the generic one without
    const anonymous = ed.readers.find((r) => r.name === null)!;
    const anonMail = mails.find((m) => m.to[0] === anonymous.email)!;
    expect(anonMail.parsed.text).toContain(ed.rendered.greeting.generic);

    const edition = await editionRow(ctx, ed.editionId);
    expect(edition.state).toBe('sent');
    expect(edition.final_counts).toMatchObject({ total: 7, sent: 7, failed: 0, ambiguous: 0, pending: 0 });
  });

  it("names the sender in the reader's language, from MAIL_FROM's address", async () => {
    for (const language of ['ar', 'en'] as const) {
      const ed = await seedEdition(ctx, { readers: 1, batchSize: 1, language });
      await enqueueBatches(ctx, ed.editionId, [0]);
      await settled(ctx, ed.editionId);
      const [mail] = received([ed.readers[0]!.email]);
      expect(mail!.parsed.from?.value[0]).toEqual({
        name: language === 'ar' ? 'نشرة المدار' : 'Al-Madar Newsletter',
        address: 'newsletter@almadar.example',
      });
    }
  });

  it('retries a 4xx and then delivers once; later rows are not held back', async () => {
    const ed = await seedEdition(ctx, { readers: 4, batchSize: 4 });
    const greylisted = ed.readers[1]!;
    faults.rcpt.set(greylisted.email, [smtpError(451, '4.7.1 Greylisted, try again later')]);
    await enqueueBatches(ctx, ed.editionId, [0]);

    const rows = await settled(ctx, ed.editionId);
    expect(rows.map((r) => r.state)).toEqual(['sent', 'sent', 'sent', 'sent']);
    const row = rows.find((r) => r.subscriber_id === greylisted.id)!;
    expect(row.attempts).toBe(2);
    expect(rows.filter((r) => r.subscriber_id !== greylisted.id).every((r) => r.attempts === 1)).toBe(true);
    expect([...copiesByRecipient(received(ed.readers.map((r) => r.email))).values()]).toEqual([1, 1, 1, 1]);
    await eventually(async () => (await editionRow(ctx, ed.editionId)).state === 'sent');
  });

  it('fails only the reader the server refuses with 5.1.1', async () => {
    const ed = await seedEdition(ctx, { readers: 3, batchSize: 3 });
    const gone = ed.readers[0]!;
    faults.rcpt.set(gone.email, [smtpError(550, '5.1.1 No such user'), smtpError(550, '5.1.1 No such user')]);
    await enqueueBatches(ctx, ed.editionId, [0]);

    const rows = await settled(ctx, ed.editionId);
    const failed = rows.find((r) => r.subscriber_id === gone.id)!;
    expect(failed.state).toBe('failed');
    expect(failed.error).toContain('5.1.1');
    expect(failed.attempts).toBe(1);
    expect(rows.filter((r) => r.state === 'sent')).toHaveLength(2);
    expect(received([gone.email])).toHaveLength(0);
    const edition = await editionRow(ctx, ed.editionId);
    expect(edition.final_counts).toMatchObject({ total: 3, sent: 2, failed: 1 });
  });

  it('pauses all bulk sending on a 5.7.1 without failing anyone, and resumes', async () => {
    const ed = await seedEdition(ctx, { readers: 5, batchSize: 5 });
    faults.everyRcpt = smtpError(550, '5.7.1 Relaying denied: sender not authorised');
    const before =
      (await ctx.container.metrics.mailsFailed.get()).values.find((v) => v.labels.outcome === 'pause')
        ?.value ?? 0;
    await enqueueBatches(ctx, ed.editionId, [0]);

    await eventually(async () => ctx.container.queues.get('send').isPaused());
    expect(await ctx.container.queues.get('alerts').isPaused()).toBe(true);
    expect((await ctx.container.metrics.sendingPaused.get()).values[0]?.value).toBe(1);
    // the job is held (delayed, then paused), not failed, and every row is pending again
    const rows = await eventually(async () => {
      const r = await ledger(ctx, ed.editionId);
      return r.every((x) => x.state === 'pending') ? r : undefined;
    });
    expect(rows.some((r) => r.error?.includes('5.7.1'))).toBe(true);
    const paused =
      (await ctx.container.metrics.mailsFailed.get()).values.find((v) => v.labels.outcome === 'pause')
        ?.value ?? 0;
    expect(paused - before).toBeGreaterThanOrEqual(1);
    expect(await ctx.container.queues.get('send').getFailedCount()).toBe(0);
    expect(received(ed.readers.map((r) => r.email))).toHaveLength(0);

    const status = await ctx.app.inject({ method: 'GET', url: '/api/v1/sending', headers: ctx.adminHeaders });
    expect(status.statusCode).toBe(200);
    expect(status.json()).toMatchObject({
      paused: true,
      editionId: ed.editionId,
      queues: { send: true, alerts: true },
    });
    expect(status.json().error).toContain('5.7.1');
    expect(status.json().reason).toMatch(/policy or authentication/);

    faults.everyRcpt = undefined;
    const resumed = await ctx.app.inject({
      method: 'POST',
      url: '/api/v1/sending/resume',
      headers: ctx.adminHeaders,
    });
    expect(resumed.statusCode).toBe(200);
    expect(resumed.json()).toMatchObject({
      paused: false,
      reason: null,
      queues: { send: false, alerts: false },
    });
    expect((await ctx.container.metrics.sendingPaused.get()).values[0]?.value).toBe(0);

    const done = await settled(ctx, ed.editionId, 20_000);
    expect(done.map((r) => r.state)).toEqual(Array(5).fill('sent'));
    expect([...copiesByRecipient(received(ed.readers.map((r) => r.email))).values()]).toEqual([
      1, 1, 1, 1, 1,
    ]);
  });

  it('marks a message whose connection dropped after DATA as ambiguous, and never resends it', async () => {
    const ed = await seedEdition(ctx, { readers: 4, batchSize: 4 });
    const lost = ed.readers[2]!;
    proxy.dropFor.add(lost.email);
    await enqueueBatches(ctx, ed.editionId, [0]);

    const rows = await settled(ctx, ed.editionId);
    const row = rows.find((r) => r.subscriber_id === lost.id)!;
    expect(row.state, row.error ?? '').toBe('ambiguous');
    expect(row.attempts).toBe(1);
    expect(row.error).toMatch(/DATA|ECONNECTION|closed/i);
    expect(rows.filter((r) => r.state === 'sent')).toHaveLength(3);
    // the server did get it (the reply was lost): a resend would have been a second copy
    await eventually(async () => received([lost.email]).length === 1);
    // the job completed: nothing retries the ambiguous row
    await eventually(
      async () =>
        (await ctx.container.queues.get('send').getJobCounts('active', 'delayed', 'waiting')).active === 0,
    );
    await new Promise((r) => setTimeout(r, 300));
    expect((await ledger(ctx, ed.editionId)).find((r) => r.id === row.id)!.attempts).toBe(1);
    expect(received([lost.email])).toHaveLength(1);
    const edition = await eventually(async () => {
      const e = await editionRow(ctx, ed.editionId);
      return e.state === 'sent' ? e : undefined;
    });
    expect(edition.final_counts).toMatchObject({ total: 4, sent: 3, ambiguous: 1 });
  });

  it('retries a message whose connection dropped before DATA: the reader gets exactly one copy', async () => {
    const ed = await seedEdition(ctx, { readers: 4, batchSize: 4 });
    const cut = ed.readers[1]!;
    // four readers over a five-connection pool: the cut lands on a fresh connection, where
    // nodemailer's pool could not tell "before DATA" from "after" (it said ambiguous)
    proxy.cutAtRcptFor.add(cut.email);
    await enqueueBatches(ctx, ed.editionId, [0]);

    const rows = await settled(ctx, ed.editionId, 20_000);
    expect(proxy.cutAtRcptFor.size).toBe(0);
    expect(rows.map((r) => r.state)).toEqual(Array(4).fill('sent'));
    expect([...copiesByRecipient(received(ed.readers.map((r) => r.email))).values()]).toEqual([1, 1, 1, 1]);
    const edition = await eventually(async () => {
      const e = await editionRow(ctx, ed.editionId);
      return e.state === 'sent' ? e : undefined;
    });
    expect(edition.final_counts).toMatchObject({ total: 4, sent: 4, ambiguous: 0 });
  });

  it('checks suppression when the row is taken: a reader who left after planning gets nothing', async () => {
    const ed = await seedEdition(ctx, { readers: 3, batchSize: 3 });
    const leaver = ed.readers[1]!;
    await ctx.db.query(
      `UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = now() WHERE id = $1`,
      [leaver.id],
    );
    await enqueueBatches(ctx, ed.editionId, [0]);

    const rows = await settled(ctx, ed.editionId);
    const row = rows.find((r) => r.subscriber_id === leaver.id)!;
    expect(row.state).toBe('suppressed');
    expect(row.attempts).toBe(0);
    expect(row.error).toContain('unsubscribed');
    expect(received([leaver.email])).toHaveLength(0);
    expect(rows.filter((r) => r.state === 'sent')).toHaveLength(2);
    expect((await editionRow(ctx, ed.editionId)).final_counts).toMatchObject({ sent: 2, suppressed: 1 });
  });

  /** What a worker killed mid-batch leaves: every row of the batch `sending` under its expired claim. */
  const strandClaim = (editionId: string, token: string) =>
    ctx.db.query(
      `UPDATE deliveries SET state = 'sending', claim_token = $2, claimed_at = now() - interval '1 hour', attempts = 1
        WHERE edition_id = $1`,
      [editionId, token],
    );
  const sendAgain = (editionId: string) =>
    ctx.container.batchSender.sendBatch(editionId, 0, { attempt: 2, maxAttempts: 3 });

  it('after a crash, resends the rows its hand-off log shows never left, and only those', async () => {
    const ed = await seedEdition(ctx, { readers: 6, batchSize: 6 });
    const rows = await ledger(ctx, ed.editionId);
    const handoffs = createHandoffLog(ctx.container.redis, ctx.container.config.QUEUE_PREFIX);
    // a worker claimed the whole chunk, handed the first two rows to SMTP and was killed
    const crashed = randomUUID();
    await handoffs.open(crashed);
    await handoffs.markUpTo(crashed, Number(rows[1]!.id));
    await strandClaim(ed.editionId, crashed);

    const result = await sendAgain(ed.editionId);
    expect(result).toMatchObject({
      status: 'done',
      counts: { sent: 4, staleAmbiguous: 2, staleReleased: 4 },
    });
    const after = await ledger(ctx, ed.editionId);
    expect(after.map((r) => r.state)).toEqual(['ambiguous', 'ambiguous', 'sent', 'sent', 'sent', 'sent']);
    const handedOff = rows.slice(0, 2).map((r) => r.recipient);
    const neverLeft = rows.slice(2).map((r) => r.recipient);
    expect(received(handedOff)).toHaveLength(0);
    expect([...copiesByRecipient(received(neverLeft)).values()]).toEqual([1, 1, 1, 1]);
    // the log was taken: had the old attempt only stalled, it could not hand off another row
    await expect(handoffs.markUpTo(crashed, Number(rows[5]!.id))).rejects.toBeInstanceOf(
      HandoffLogClosedError,
    );
    expect(await handoffs.take(crashed)).toEqual({ trusted: false, why: 'missing' });
  });

  it('after a crash, also resends the rows its hand-off log lists as parked below the watermark', async () => {
    const ed = await seedEdition(ctx, { readers: 6, batchSize: 6 });
    const rows = await ledger(ctx, ed.editionId);
    const ids = rows.map((r) => Number(r.id));
    const handoffs = createHandoffLog(ctx.container.redis, ctx.container.config.QUEUE_PREFIX);
    // the worker handed rows 0, 2 and 3 to SMTP while rows 1 and 4 waited for their provider's
    // connection (parked), then was killed; row 5 was never reached
    const crashed = randomUUID();
    await handoffs.open(crashed);
    await handoffs.markUpTo(crashed, ids[4]!, [ids[4]!, ids[1]!]);
    await strandClaim(ed.editionId, crashed);

    const result = await sendAgain(ed.editionId);
    expect(result).toMatchObject({
      status: 'done',
      counts: { sent: 3, staleAmbiguous: 3, staleReleased: 3 },
    });
    const after = await ledger(ctx, ed.editionId);
    expect(after.map((r) => r.state)).toEqual([
      'ambiguous',
      'sent',
      'ambiguous',
      'ambiguous',
      'sent',
      'sent',
    ]);
    const handedOff = [rows[0]!, rows[2]!, rows[3]!].map((r) => r.recipient);
    const neverLeft = [rows[1]!, rows[4]!, rows[5]!].map((r) => r.recipient);
    expect(received(handedOff)).toHaveLength(0);
    expect([...copiesByRecipient(received(neverLeft)).values()]).toEqual([1, 1, 1]);
  });

  it('trusts no hand-off log written before Redis restarted: every row of the crashed claim is ambiguous', async () => {
    const ed = await seedEdition(ctx, { readers: 3, batchSize: 3 });
    const handoffs = createHandoffLog(ctx.container.redis, ctx.container.config.QUEUE_PREFIX);
    const crashed = randomUUID();
    await handoffs.open(crashed);
    // what a Redis restarted from its append-only file shows: the log, under another server run
    // (nothing handed off, were it trusted)
    await ctx.container.redis.set(
      `${ctx.container.config.QUEUE_PREFIX}:handoff:${crashed}`,
      `${'f'.repeat(40)}:0`,
    );
    await strandClaim(ed.editionId, crashed);
    const result = await sendAgain(ed.editionId);
    expect(result).toMatchObject({
      status: 'done',
      counts: { sent: 0, staleAmbiguous: 3, staleReleased: 0 },
    });
    expect((await ledger(ctx, ed.editionId)).map((r) => r.state)).toEqual([
      'ambiguous',
      'ambiguous',
      'ambiguous',
    ]);
  });

  it('turns rows of an expired claim ambiguous but leaves a live claim alone', async () => {
    const ed = await seedEdition(ctx, { readers: 5, batchSize: 5 });
    const rows = await ledger(ctx, ed.editionId);
    const [dead, live] = rows;
    await ctx.db.query(
      `UPDATE deliveries SET state = 'sending', claim_token = 'crashed', claimed_at = now() - interval '1 hour' WHERE id = $1`,
      [dead!.id],
    );
    await ctx.db.query(
      `UPDATE deliveries SET state = 'sending', claim_token = 'alive', claimed_at = now() WHERE id = $1`,
      [live!.id],
    );
    const sender = ctx.container.batchSender;

    const first = await sender.sendBatch(ed.editionId, 0, { attempt: 1, maxAttempts: 3 });
    expect(first).toMatchObject({ status: 'busy', heldByOthers: 1, counts: { sent: 3, staleAmbiguous: 1 } });
    const after = await ledger(ctx, ed.editionId);
    expect(after.find((r) => r.id === dead!.id)!.state).toBe('ambiguous');
    expect(after.find((r) => r.id === live!.id)).toMatchObject({ state: 'sending', attempts: 0 });
    expect(received([dead!.recipient, live!.recipient])).toHaveLength(0);
    expect((await editionRow(ctx, ed.editionId)).state).toBe('sending');

    // the live attempt finishes its row; the next look finds the batch done
    await ctx.db.query(`UPDATE deliveries SET state = 'sent' WHERE id = $1`, [live!.id]);
    const second = await sender.sendBatch(ed.editionId, 0, { attempt: 1, maxAttempts: 3 });
    expect(second).toMatchObject({ status: 'done', counts: { sent: 0 } });
    expect((await editionRow(ctx, ed.editionId)).final_counts).toMatchObject({
      total: 5,
      sent: 4,
      ambiguous: 1,
    });
  });

  it('gives up after the last attempt: the rows still pending fail and the edition completes', async () => {
    const ed = await seedEdition(ctx, { readers: 2, batchSize: 2 });
    const stuck = ed.readers[0]!;
    faults.rcpt.set(stuck.email, [
      smtpError(452, '4.2.2 Mailbox full'),
      smtpError(452, '4.2.2 Mailbox full'),
    ]);
    await ctx.container.queues.enqueue(
      'send',
      'batch',
      { editionId: ed.editionId, batch: 0 },
      { jobId: `send-${ed.editionId}-0`, attempts: 2, backoff: { type: 'fixed', delay: 50 } },
    );
    const rows = await settled(ctx, ed.editionId);
    const row = rows.find((r) => r.subscriber_id === stuck.id)!;
    expect(row.state).toBe('failed');
    expect(row.attempts).toBe(2);
    expect(row.error).toMatch(/gave up after 2 attempt\(s\).*4\.2\.2/);
    await eventually(async () => (await ctx.container.queues.get('send').getFailedCount()) >= 1);
    expect((await editionRow(ctx, ed.editionId)).final_counts).toMatchObject({ sent: 1, failed: 1 });
  });

  it('sends alerts from the alerts queue under the same contract', async () => {
    const ed = await seedEdition(ctx, { readers: 2, batchSize: 2, kind: 'alert', language: 'en' });
    await enqueueBatches(ctx, ed.editionId, [0], { queue: 'alerts' });
    const rows = await settled(ctx, ed.editionId);
    expect(rows.map((r) => r.state)).toEqual(['sent', 'sent']);
    for (const reader of ed.readers) {
      const mail = received([reader.email])[0]!;
      const row = rows.find((r) => r.subscriber_id === reader.id)!;
      expectNewsletterContract({
        mail,
        reader,
        row,
        editionId: ed.editionId,
        ctx,
        kind: 'alert',
        language: 'en',
        mailto: MAILTO,
      });
      await expectDkimPass(mail, dkim.resolver);
    }
  });

  it('leaves the rows of a paused or cancelled edition alone', async () => {
    const ed = await seedEdition(ctx, { readers: 2, batchSize: 2 });
    await ctx.db.query(`UPDATE editions SET state = 'paused' WHERE id = $1`, [ed.editionId]);
    const result = await ctx.container.batchSender.sendBatch(ed.editionId, 0);
    expect(result).toEqual({ status: 'skipped', reason: 'edition paused' });
    expect((await ledger(ctx, ed.editionId)).map((r) => r.state)).toEqual(['pending', 'pending']);
  });

  it('keeps the sending controls behind the admin token', async () => {
    expect((await ctx.app.inject({ method: 'GET', url: '/api/v1/sending' })).statusCode).toBe(401);
    expect((await ctx.app.inject({ method: 'POST', url: '/api/v1/sending/resume' })).statusCode).toBe(401);
    const ok = await ctx.app.inject({ method: 'GET', url: '/api/v1/sending', headers: ctx.adminHeaders });
    expect(ok.json()).toMatchObject({ paused: false, reason: null });
  });
});
