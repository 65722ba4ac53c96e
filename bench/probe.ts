/**
 * Preloaded into the Gazette processes the benchmark spawns (node --import tsx --import
 * ./bench/probe.ts src/main.ts ...): writes the process's MJML compile count and event-loop delay
 * to BENCH_PROBE_FILE every second and at exit. It imports the same module instance src/ uses, so
 * the count is the real one; src/ knows nothing about it.
 */
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getCompileCount } from '../src/render/index.js';

const file = process.env.BENCH_PROBE_FILE;
if (file) {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  // peak heap and buffers: tells a leak (heap grows with N) from garbage V8 has not collected yet
  let heapPeakMb = 0;
  let arrayBuffersPeakMb = 0;
  const sample = () => {
    const m = process.memoryUsage();
    heapPeakMb = Math.max(heapPeakMb, m.heapUsed / 2 ** 20);
    arrayBuffersPeakMb = Math.max(arrayBuffersPeakMb, m.arrayBuffers / 2 ** 20);
  };
  const write = () => {
    sample();
    try {
      writeFileSync(
        file,
        JSON.stringify({
          pid: process.pid,
          compiles: getCompileCount(),
          loopDelayP99Ms: delay.percentile(99) / 1e6,
          loopDelayMaxMs: delay.max / 1e6,
          heapPeakMb,
          arrayBuffersPeakMb,
          at: Date.now(),
        }),
      );
    } catch {
      // the benchmark may have removed its directory already
    }
  };
  setInterval(sample, 250).unref();
  setInterval(write, 1000).unref();
  process.on('exit', write);
}
