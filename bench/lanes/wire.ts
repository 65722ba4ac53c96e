/**
 * wire: identical pre-built raw messages written straight to the sink by the bare client in
 * bench/wire-client.ts over the same number of connections. The message is Gazette's own MIME for
 * the edition whose size is closest to the average of the mix, so the bytes per message match.
 * The limit of this machine, the loopback and the sink.
 */
import { type LaneContext, type LaneResult, rawFor, round, syntheticMix } from '../common.js';
import { cpuDelta, cpuSnapshot } from '../procs.js';
import { runWire, toDataPayload } from '../wire-client.js';

export async function runWireLane(ctx: LaneContext, opts: { messages: number }): Promise<LaneResult> {
  const mix = ctx.mix ?? (await syntheticMix(ctx.publication, opts.messages));
  const raws = mix.map((m) => ({ raw: rawFor(ctx.publication, m), count: m.count }));
  const total = raws.reduce((s, r) => s + r.count, 0);
  const avg = raws.reduce((s, r) => s + r.raw.length * r.count, 0) / Math.max(1, total);
  const chosen = raws.reduce((best, r) =>
    Math.abs(r.raw.length - avg) < Math.abs(best.raw.length - avg) ? r : best,
  );
  const payload = toDataPayload(chosen.raw);
  await ctx.sink.reset(false);
  const cpuPids = { sink: ctx.sink.pid, bench: process.pid };
  const cpu0 = cpuSnapshot(cpuPids);
  const t0 = Date.now();
  await runWire({
    port: ctx.sink.port,
    connections: ctx.opts.connections,
    messages: opts.messages,
    payload,
    from: ctx.publication.sender.email,
    to: (i) => `reader-${i}@bench.example`,
  });
  const stats = await ctx.sink.waitFor(opts.messages, { idleMs: ctx.opts.idleTimeout * 1000 });
  const cpuSeconds = cpuDelta(cpu0, cpuSnapshot(cpuPids));
  const seconds = ((stats.lastAt ?? Date.now()) - t0) / 1000;
  return {
    lane: 'wire',
    messages: stats.count,
    seconds: round(seconds, 2),
    msgPerSec: round(stats.count / seconds),
    avgBytes: Math.round(stats.bytes / Math.max(1, stats.count)),
    mixAvgRawBytes: Math.round(avg),
    connections: stats.connections,
    cpuSeconds,
    processes: 1,
  };
}
