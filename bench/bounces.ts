/**
 * DSNs processed per second through the inbound listener: N readers, each with a sent ledger row,
 * and one Postfix "user unknown" DSN each, sent to their VERP address over --connections pooled
 * SMTP connections. Each DSN is stored before its 250 and processed (parsed, the report stored,
 * the reader suppressed) by the bounces queue's worker in this process. Prints the rate of 250s
 * and the rate until the last DSN was applied, and the counts that prove nothing was lost.
 *
 *   npm run bench:bounces -- --dsns 5000 --connections 4
 */
import { parseArgs } from 'node:util';
import nodemailer from 'nodemailer';
import { verpAddress } from '../src/bounces/verp.js';
import { ManualClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { createContainer } from '../src/container.js';
import { messageIdFor } from '../src/mail/message-id.js';
import { loadPublication } from '../src/publication.js';
import { bounceFixture } from '../test/helpers/bounce-fixtures.js';
import { startWorkers } from '../workers/index.js';
import { deleteRedisPrefix, PUBLICATION_CONFIG, SECRET_KEY } from './common.js';
import { createBenchDatabase, REDIS_URL } from './seed.js';

const { values } = parseArgs({
  options: { dsns: { type: 'string', default: '5000' }, connections: { type: 'string', default: '4' } },
});
const n = Number(values.dsns);
const connections = Number(values.connections);
const DOMAIN = 'bounces.bench.example';

const bench = await createBenchDatabase('bounces');
const prefix = `gzb-bounces-${Date.now().toString(36)}`;
const config = loadConfig({
  NODE_ENV: 'test',
  LOG_LEVEL: 'warn',
  DATABASE_URL: bench.url,
  REDIS_URL,
  QUEUE_PREFIX: prefix,
  SECRET_KEY,
  SMTP_URL: 'smtp://127.0.0.1:9',
  BOUNCE_DOMAIN: DOMAIN,
  INBOUND_SMTP_PORT: '0',
  WORKER_QUEUES: 'bounces',
});
const container = await createContainer({
  config,
  publication: loadPublication(PUBLICATION_CONFIG),
  clock: new ManualClock(new Date()),
  withInboundListener: true,
  migrate: false,
});
const workers = startWorkers(container);
try {
  const { rows } = await bench.db.query<{ id: string }>(
    `WITH s AS (
       INSERT INTO subscribers (email, email_key, status, language, frequency, timezone, confirmed_at)
       SELECT 'r' || g || '@bench.example', 'r' || g || '@bench.example', 'confirmed', 'en', 'daily', 'UTC', now()
         FROM generate_series(1, $1) g RETURNING id, email)
     INSERT INTO deliveries (kind, dedupe_key, subscriber_id, recipient, state, sent_at)
     SELECT 'welcome', 'welcome-' || id, id, email, 'sent', now() FROM s RETURNING id`,
    [n],
  );
  const ids = rows.map((r) => Number(r.id));
  await bench.db.query(
    `UPDATE deliveries d SET message_id = v.mid FROM unnest($1::bigint[], $2::text[]) AS v(id, mid) WHERE d.id = v.id`,
    [ids, ids.map((id) => messageIdFor(id, SECRET_KEY, 'news.bench.example'))],
  );
  const mails = ids.map((id, i) => {
    const verp = verpAddress(id, SECRET_KEY, DOMAIN);
    const raw = bounceFixture('postfix-user-unknown', {
      verp,
      recipient: `r${i + 1}@bench.example`,
      messageId: messageIdFor(id, SECRET_KEY, 'news.bench.example'),
    });
    return { verp, raw };
  });
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: container.inboundListener!.port,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: connections,
    maxMessages: Number.POSITIVE_INFINITY,
  });
  const started = performance.now();
  let next = 0;
  let refused = 0;
  await Promise.all(
    Array.from({ length: connections * 2 }, async () => {
      for (let i = next++; i < mails.length; i = next++) {
        const m = mails[i]!;
        await transport.sendMail({ envelope: { from: '', to: [m.verp] }, raw: m.raw }).catch(() => refused++);
      }
    }),
  );
  const acceptedSeconds = (performance.now() - started) / 1000;
  transport.close();
  for (;;) {
    const { rows: left } = await bench.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM inbound_mail WHERE processed_at IS NULL',
    );
    if (left[0]!.n === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = (performance.now() - started) / 1000;
  const counts = await bench.db.query<{ events: number; suppressed: number }>(
    `SELECT (SELECT count(*)::int FROM bounce_events WHERE class = 'hard') AS events,
            (SELECT count(*)::int FROM subscribers WHERE status = 'suppressed') AS suppressed`,
  );
  const c = counts.rows[0]!;
  console.log(
    `bounces: ${n} DSNs over ${connections} connections: 250 for all in ${acceptedSeconds.toFixed(2)} s = ${Math.round(n / acceptedSeconds)} DSN/s accepted; ` +
      `all applied in ${seconds.toFixed(2)} s = ${Math.round(n / seconds)} DSN/s processed; ` +
      `stored ${c.events}, readers suppressed ${c.suppressed}, refused ${refused}`,
  );
  if (c.events !== n || c.suppressed !== n || refused > 0) process.exitCode = 1;
} finally {
  await workers.close();
  await container.close();
  await bench.drop();
  await deleteRedisPrefix(prefix);
}
