/**
 * How fast the machine is around a lane. Lanes run one after another on a shared VM whose speed
 * moves by tens of percent within minutes, so a ratio of two lanes' rates is only as good as the
 * machine's sameness across them. Two independent signs, neither touched by the lanes' own work:
 * - a fixed CPU task (native SHA-256, a JIT-compiled integer loop, JSON with garbage), timed in
 *   the benchmark's own process right before and right after the lane, each time once the machine
 *   is quiet (best of 5, ~40 ms each; on a steady machine it still varies by about 15%);
 * - CPU steal time from /proc/stat over the lane (the hypervisor running someone else).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

const block = Buffer.alloc(1 << 20, 7);
// written by every run, so the work cannot be optimised away
export let probeChecksum = 0;

function fixedTaskMs(): number {
  const started = performance.now();
  const hash = createHash('sha256');
  for (let i = 0; i < 16; i++) hash.update(block);
  let x = 1;
  for (let i = 0; i < 6_000_000; i++) x = (Math.imul(x, 31) + i) | 0;
  const json = JSON.stringify(Array.from({ length: 15_000 }, (_, i) => ({ i, s: `item-${i}` })));
  probeChecksum ^= x ^ hash.digest()[0]! ^ (JSON.parse(json) as unknown[]).length;
  return performance.now() - started;
}

// Warmed up until V8 has optimised it (it takes ~15 runs; before that one run costs twice as
// much), so the first lane's probe does not time the JIT.
for (let i = 0; i < 25; i++) fixedTaskMs();

export function probeMs(): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) best = Math.min(best, fixedTaskMs());
  return Math.round(best * 10) / 10;
}

/** cpu line of /proc/stat: total, idle (with iowait) and steal jiffies; undefined where there is none */
function cpuTimes(): { total: number; idle: number; steal: number; cpus: number } | undefined {
  try {
    const lines = readFileSync('/proc/stat', 'utf8').split('\n');
    const fields = lines[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
    const total = fields.slice(0, 8).reduce((s, n) => s + n, 0);
    const cpus = lines.filter((l) => /^cpu\d/.test(l)).length || 1;
    return { total, idle: (fields[3] ?? 0) + (fields[4] ?? 0), steal: fields[7] ?? 0, cpus };
  } catch {
    return undefined;
  }
}

export interface SpeedAround {
  /** the fixed task's best time right before and right after the lane, ms */
  probeBeforeMs: number;
  probeAfterMs: number;
  /** share of CPU time stolen by the hypervisor during the lane, percent */
  stealPct?: number;
  /** time the two probes took, waiting for a quiet machine included (not part of the lane's numbers) */
  probeSeconds: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits (at most `maxMs`) until the machine is quiet: under a tenth of one CPU busy over half a
 * second. What ran just before (a child process starting, a database being dropped, autovacuum)
 * would otherwise be timed as the machine's speed; the two vCPUs of this VM share a core, so a
 * busy neighbour halves the probe's speed.
 */
async function waitForQuiet(maxMs = 5_000): Promise<void> {
  const until = performance.now() + maxMs;
  let last = cpuTimes();
  while (last && performance.now() < until) {
    await sleep(500);
    const now = cpuTimes();
    if (!now) return;
    const busy = now.total - now.idle - (last.total - last.idle);
    const ticks = now.total - last.total;
    const cpus = now.cpus;
    if (ticks > 0 && (busy / ticks) * cpus < 0.1) return;
    last = now;
  }
}

/**
 * The probe once the machine has settled (see waitForQuiet), until two in a row agree within 5%,
 * at most 10 times (~3 s).
 */
export async function settledProbeMs(): Promise<number> {
  await waitForQuiet();
  let prev = probeMs();
  for (let i = 0; i < 9; i++) {
    await sleep(200);
    const p = probeMs();
    if (Math.abs(p / prev - 1) < 0.05) return Math.min(p, prev);
    prev = p;
  }
  return prev;
}

export async function measureAround<T>(fn: () => Promise<T>): Promise<{ out: T; speed: SpeedAround }> {
  const t0 = performance.now();
  const probeBeforeMs = await settledProbeMs();
  const probing = performance.now() - t0;
  const before = cpuTimes();
  const out = await fn();
  const after = cpuTimes();
  const t1 = performance.now();
  const probeAfterMs = await settledProbeMs();
  const probeSeconds = Math.round((probing + performance.now() - t1) / 100) / 10;
  const stealPct =
    before && after && after.total > before.total
      ? Math.round(((after.steal - before.steal) / (after.total - before.total)) * 1000) / 10
      : undefined;
  return { out, speed: { probeBeforeMs, probeAfterMs, stealPct, probeSeconds } };
}
