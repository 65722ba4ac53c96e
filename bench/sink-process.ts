/**
 * The sink as a child process, driven over IPC by bench/procs.ts (RemoteSink). Messages:
 * { id, op: 'stats' | 'reset' | 'recipients' | 'kill' | 'providers' | 'rss', arg? } -> { id, result }.
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
    sink.reset(Boolean(msg.arg));
    result = true;
  } else if (msg.op === 'kill') {
    sink.kill();
    result = true;
  } else if (msg.op === 'providers') {
    sink.setProviders((msg.arg ?? {}) as Record<string, SinkProviderRule>);
    result = true;
  } else if (msg.op === 'recipients') result = sink.recipients(String(msg.arg));
  process.send?.({ id: msg.id, result });
});
process.on('disconnect', () => {
  void sink.close().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
});
process.send?.({ ready: true, port: sink.port });
