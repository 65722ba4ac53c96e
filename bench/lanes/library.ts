/**
 * library: the same messages (the gazette lane's editions, each to as many readers as Gazette
 * sent it) through a pooled nodemailer transport (sendMail, same connection count) and nothing
 * else: no database, no queue. The personal tokens are filled per reader with personalize(), so
 * each message is as personal as Gazette's. The ceiling of "render once, sendMail per reader".
 */
import nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import { dkimOptions } from '../../src/mail/transport.js';
import { personalize } from '../../src/render/index.js';
import { localeStrings } from '../../src/render/locale-strings.js';
import {
  benchConfig,
  benchEditionHeaders,
  benchRecipientHeaders,
  type Dkim,
  type LaneContext,
  type LaneResult,
  mixPicker,
  personalValues,
  round,
  syntheticMix,
  windowed,
} from '../common.js';
import { cpuDelta, cpuSnapshot, readMem } from '../procs.js';

export async function runLibrary(
  ctx: LaneContext,
  opts: { messages: number; dkim?: Dkim; name?: string },
): Promise<LaneResult> {
  const name = opts.name ?? (opts.dkim ? 'library+dkim' : 'library');
  const kind = opts.dkim ? 'librarydkim' : 'library';
  const mix = ctx.mix ?? (await syntheticMix(ctx.publication, opts.messages));
  const pick = mixPicker(mix);
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: ctx.sink.port,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: ctx.opts.connections,
    maxMessages: 1000,
    dkim: opts.dkim ? dkimOptions(benchConfig(opts.dkim)) : undefined,
  } as SMTPPool.Options);
  await ctx.sink.reset(false);
  let peakRss = readMem(process.pid)?.rssMb ?? 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, readMem(process.pid)?.rssMb ?? 0);
  }, 200);
  const names = ['أحمد', 'Maya', ''];
  const cpuPids = { sink: ctx.sink.pid, bench: process.pid };
  const cpu0 = cpuSnapshot(cpuPids);
  const t0 = Date.now();
  // enough in flight to keep every pooled connection busy, without queueing N messages in memory
  await windowed(opts.messages, ctx.opts.connections * 4, async (i) => {
    const m = pick(i);
    const strings = localeStrings(m.language);
    const greeting = { named: strings.greeting.named, generic: strings.greeting.generic };
    const body = personalize({ html: m.html, text: m.text, greeting }, personalValues(i, names[i % 3]!));
    await transport.sendMail({
      from: { name: ctx.publication.sender.name[m.language], address: ctx.publication.sender.email },
      to: `reader-${i}@bench.example`,
      subject: m.subject,
      html: body.html,
      text: body.text,
      messageId: `<library-${i}@almadar.example>`,
      headers: { ...benchEditionHeaders(kind), ...benchRecipientHeaders(i) },
    });
  });
  const stats = await ctx.sink.waitFor(opts.messages, { idleMs: ctx.opts.idleTimeout * 1000 });
  const cpuSeconds = cpuDelta(cpu0, cpuSnapshot(cpuPids));
  clearInterval(sampler);
  transport.close();
  const seconds = ((stats.lastAt ?? Date.now()) - t0) / 1000;
  return {
    lane: name,
    messages: stats.count,
    seconds: round(seconds, 2),
    msgPerSec: round(stats.count / seconds),
    avgBytes: Math.round(stats.bytes / Math.max(1, stats.count)),
    editions: mix.length,
    connections: stats.connections,
    peakRssMb: round(peakRss),
    cpuSeconds,
    processes: 1,
  };
}
