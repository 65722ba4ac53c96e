/**
 * The sink as a child process, driven over IPC by bench/procs.ts (RemoteSink). Messages:
 * { id, op: 'stats' | 'reset' | 'recipients' | 'kill' | 'providers' | 'samples' | 'rss', arg? } -> { id, result }
 * (reset's arg: the track flag, or { track, sampleEvery }).
 */
import { startSink } from './sink.js';
import type { SinkProviderRule } from './sink-providers.js';

const sink = await startSink({
  track: process.env.SINK_TRACK === '1',
  greetingDelayMs: Number(process.env.SINK_GREETING_DELAY_MS ?? 100),
});

process.on('message', (msg: { id: number; op: string; arg?: unknown }) => {
  let result: unknown;
  if (msg.op === 'stats') result = sink.stats();
  else if (msg.op === 'reset') {
    const arg = msg.arg as boolean | { track: boolean; sampleEvery: number };
    if (typeof arg === 'object' && arg !== null) sink.reset(arg.track, arg.sampleEvery);
    else sink.reset(Boolean(arg));
    result = true;
  } else if (msg.op === 'kill') {
    sink.kill();
    result = true;
  } else if (msg.op === 'providers') {
    sink.setProviders((msg.arg ?? {}) as Record<string, SinkProviderRule>);
    result = true;
  } else if (msg.op === 'recipients') result = sink.recipients(String(msg.arg));
  else if (msg.op === 'samples') result = sink.samples();
  process.send?.({ id: msg.id, result });
});
process.on('disconnect', () => {
  void sink.close().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
});
process.send?.({ ready: true, port: sink.port });
