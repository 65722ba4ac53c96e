/**
 * naive: what a sender without render-once does: per reader, compile the MJML (renderEdition,
 * one mjml2html each) and sendMail. Run on a sample of readers and reported as a rate, so the
 * ratio with the gazette lane needs no extrapolation of anything but the rate itself.
 */
import nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import { getCompileCount, personalize, renderEdition } from '../../src/render/index.js';
import {
  benchEditionHeaders,
  benchRecipientHeaders,
  type LaneContext,
  type LaneResult,
  personalValues,
  renderArticles,
  round,
  windowed,
} from '../common.js';
import { cpuDelta, cpuSnapshot } from '../procs.js';
import { TOPIC_PROFILES } from '../seed.js';

export async function runNaive(
  ctx: LaneContext,
  opts: { sample: number; readers: number },
): Promise<LaneResult> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: ctx.sink.port,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: ctx.opts.connections,
    maxMessages: 1000,
  } as SMTPPool.Options);
  // reader i gets what the seed gives reader i: language and topic profile
  const articleSets = (['ar', 'en'] as const).flatMap((language) =>
    TOPIC_PROFILES.map((topics) => ({ language, articles: renderArticles(language, topics) })),
  );
  await ctx.sink.reset(false);
  const compilesBefore = getCompileCount();
  const cpuPids = { sink: ctx.sink.pid, bench: process.pid };
  const cpu0 = cpuSnapshot(cpuPids);
  const t0 = Date.now();
  // MJML is CPU-bound: a small window keeps the pool fed without piling up renders
  await windowed(opts.sample, ctx.opts.connections * 2, async (i) => {
    const set = articleSets[i % articleSets.length]!;
    const rendered = await renderEdition({
      template: 'digest',
      language: set.language,
      articles: set.articles,
      publication: ctx.publication,
      editionId: `naive-${i}`,
      date: new Date(),
      frequency: 'daily',
    });
    const body = personalize(rendered, personalValues(i, i % 3 ? 'أحمد' : ''));
    await transport.sendMail({
      from: { name: ctx.publication.sender.name[set.language], address: ctx.publication.sender.email },
      to: `reader-${i}@bench.example`,
      subject: rendered.subject,
      html: body.html,
      text: body.text,
      messageId: `<naive-${i}@almadar.example>`,
      headers: { ...benchEditionHeaders('naive'), ...benchRecipientHeaders(i) },
    });
  });
  const stats = await ctx.sink.waitFor(opts.sample, { idleMs: ctx.opts.idleTimeout * 1000 });
  const cpuSeconds = cpuDelta(cpu0, cpuSnapshot(cpuPids));
  transport.close();
  const seconds = ((stats.lastAt ?? Date.now()) - t0) / 1000;
  const rate = stats.count / seconds;
  return {
    lane: 'naive',
    messages: stats.count,
    seconds: round(seconds, 2),
    msgPerSec: round(rate),
    compiles: getCompileCount() - compilesBefore,
    msPerMessage: round((seconds * 1000) / stats.count, 2),
    scaledSecondsForReaders: round(opts.readers / rate),
    cpuSeconds,
    processes: 1,
  };
}
