/**
 * Preloaded into the Gazette processes the benchmark spawns (node --import tsx --import
 * ./bench/probe.ts src/main.ts ...): writes the process's MJML compile count and event-loop delay
 * to BENCH_PROBE_FILE every 250 ms and at exit. It imports the same module instance src/ uses, so
 * the count is the real one; src/ knows nothing about it.
 */
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getCompileCount } from '../src/render/index.js';

const file = process.env.BENCH_PROBE_FILE;
if (file) {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const write = () => {
    try {
      writeFileSync(
        file,
        JSON.stringify({
          pid: process.pid,
          compiles: getCompileCount(),
          loopDelayP99Ms: delay.percentile(99) / 1e6,
          loopDelayMaxMs: delay.max / 1e6,
          at: Date.now(),
        }),
      );
    } catch {
      // the benchmark may have removed its directory already
    }
  };
  setInterval(write, 250).unref();
  process.on('exit', write);
}
