/**
 * Child processes of the benchmark: Gazette's API and worker (`node --import tsx src/main.ts
 * <mode>`, so the pid is the process that does the work and /proc/<pid>/status is its memory;
 * the tsx binary would add a relay process), and the SMTP sink.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SinkSample, SinkStats } from './sink.js';
import type { SinkProviderRule } from './sink-providers.js';

export const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
export const LOG_DIR = join(ROOT, 'bench/results/logs');

export interface MemSample {
  rssMb: number;
  hwmMb: number;
}

/** VmRSS and VmHWM (peak RSS over the process's life) from /proc, in MB. */
export function readMem(pid: number | undefined): MemSample | null {
  if (!pid) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

export interface GazetteProcess {
  mode: 'api' | 'worker';
  child: ChildProcess;
  pid: number;
  probeFile: string;
  logFile: string;
  /** peak RSS seen so far (VmHWM, kept after the process exits) */
  peakRssMb(): number;
  probe(): {
    compiles: number;
    loopDelayP99Ms: number;
    loopDelayMaxMs: number;
    heapPeakMb?: number;
    arrayBuffersPeakMb?: number;
  } | null;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export interface SpawnOptions {
  mode: 'api' | 'worker';
  env: Record<string, string>;
  label: string;
  cpuProfDir?: string;
  /** resolves when this line fragment appears on stdout (workers) or /healthz answers (api) */
  readyUrl?: string;
}

/**
 * The node flags of package.json's `start:api` / `start:worker` script (the heap cap), so the
 * benchmark runs the processes as `npm run start:*` does, without npm's relay process.
 */
export function productionNodeFlags(mode: string): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const script = pkg.scripts[`start:${mode}`] ?? pkg.scripts.start ?? '';
  const words = script.split(/\s+/);
  if (words[0] !== 'node') return [];
  return words.slice(1, words.indexOf('--import')).filter((w) => w.startsWith('--'));
}

export async function spawnGazette(opts: SpawnOptions): Promise<GazetteProcess> {
  mkdirSync(LOG_DIR, { recursive: true });
  const logFile = join(LOG_DIR, `${opts.label}.log`);
  const probeFile = join(LOG_DIR, `${opts.label}.probe.json`);
  const nodeArgs = [...productionNodeFlags(opts.mode), '--import', 'tsx', '--import', './bench/probe.ts'];
  if (opts.cpuProfDir) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`);
  const child = spawn(process.execPath, [...nodeArgs, 'src/main.ts', opts.mode], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      ...(process.env.GZ_DBG ? { GZ_DBG: '1' } : {}),
      HOME: process.env.HOME ?? '/root',
      ...opts.env,
      BENCH_PROBE_FILE: probeFile,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logFile);
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const pid = child.pid ?? 0;
  let peak = 0;
  const sampler = setInterval(() => {
    const m = readMem(pid);
    if (m) peak = Math.max(peak, m.hwmMb);
  }, 200);
  sampler.unref();
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      clearInterval(sampler);
      resolve(code);
    }),
  );

  const ready =
    opts.mode === 'worker'
      ? new Promise<void>((resolve, reject) => {
          let buf = '';
          const onData = (d: Buffer) => {
            buf = (buf + d.toString()).slice(-4096);
            if (buf.includes('workers started')) {
              child.stdout?.off('data', onData);
              resolve();
            }
          };
          child.stdout?.on('data', onData);
          void exited.then((code) =>
            reject(new Error(`${opts.label} exited (${code}) before it was ready; see ${logFile}`)),
          );
        })
      : waitForHttp(`${opts.readyUrl}/healthz`, exited, opts.label, logFile);
  await withTimeout(ready, 60_000, `${opts.label} not ready in 60 s; see ${logFile}`);

  const proc: GazetteProcess = {
    mode: opts.mode,
    child,
    pid,
    probeFile,
    logFile,
    peakRssMb() {
      const m = readMem(pid);
      if (m) peak = Math.max(peak, m.hwmMb);
      return peak;
    },
    probe() {
      try {
        return existsSync(probeFile) ? JSON.parse(readFileSync(probeFile, 'utf8')) : null;
      } catch {
        return null;
      }
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      proc.peakRssMb();
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    exited,
  };
  return proc;
}

async function waitForHttp(
  url: string,
  exited: Promise<unknown>,
  label: string,
  logFile: string,
): Promise<void> {
  let dead = false;
  void exited.then(() => {
    dead = true;
  });
  for (;;) {
    if (dead) throw new Error(`${label} exited before it was ready; see ${logFile}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The sink in its own process, asked for its counters over IPC. */
export interface RemoteSink {
  port: number;
  url: string;
  pid: number;
  stats(): Promise<SinkStats>;
  /** sampleEvery > 0: every sampleEvery-th message is kept whole, for samples() */
  reset(track?: boolean, sampleEvery?: number): Promise<void>;
  recipients(kind: string): Promise<string[]>;
  /** cuts every connection and stops listening, as a relay that died (bench/sink.ts kill) */
  kill(): Promise<void>;
  /** the sink plays receiving providers per recipient domain ({}: none; bench/sink-providers.ts) */
  providers(rules: Record<string, SinkProviderRule>): Promise<void>;
  samples(): Promise<SinkSample[]>;
  /** polls until `count` messages (of `kind`, if given) were accepted; rejects after idleMs without progress */
  waitFor(count: number, opts?: { kind?: string; idleMs?: number; onTick?: () => void }): Promise<SinkStats>;
  close(): Promise<void>;
}

export async function startRemoteSink(
  opts: { track?: boolean; greetingDelayMs?: number } = {},
): Promise<RemoteSink> {
  const child = fork(join(ROOT, 'bench/sink-process.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      SINK_TRACK: opts.track ? '1' : '0',
      SINK_GREETING_DELAY_MS: String(opts.greetingDelayMs ?? 100),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await withTimeout(
    new Promise<number>((resolve, reject) => {
      child.once('message', (m: { ready?: boolean; port?: number }) =>
        m.ready ? resolve(m.port ?? 0) : reject(),
      );
      child.once('exit', () => reject(new Error('sink exited')));
    }),
    30_000,
    'sink not ready',
  );
  let next = 1;
  const pending = new Map<number, (v: unknown) => void>();
  child.on('message', (m: { id?: number; result?: unknown }) => {
    if (m.id !== undefined) {
      pending.get(m.id)?.(m.result);
      pending.delete(m.id);
    }
  });
  const ask = <T>(op: string, arg?: unknown) =>
    new Promise<T>((resolve) => {
      const id = next++;
      pending.set(id, resolve as (v: unknown) => void);
      child.send({ id, op, arg });
    });
  const sink: RemoteSink = {
    port,
    url: `smtp://127.0.0.1:${port}`,
    pid: child.pid ?? 0,
    stats: () => ask<SinkStats>('stats'),
    reset: async (track, sampleEvery) => {
      const t = track ?? opts.track ?? false;
      await ask('reset', sampleEvery ? { track: t, sampleEvery } : t);
    },
    recipients: (kind) => ask<string[]>('recipients', kind),
    kill: async () => {
      await ask('kill');
    },
    providers: async (rules) => {
      await ask('providers', rules);
    },
    samples: () => ask<SinkSample[]>('samples'),
    async waitFor(count, { kind, idleMs = 60_000, onTick } = {}) {
      let last = -1;
      let lastChange = Date.now();
      for (;;) {
        const s = await sink.stats();
        const n = kind ? (s.kinds[kind]?.count ?? 0) : s.count;
        if (n >= count) return s;
        if (n !== last) {
          last = n;
          lastChange = Date.now();
        } else if (Date.now() - lastChange > idleMs) {
          throw new Error(
            `sink: ${n} of ${count} ${kind ?? ''} message(s), no progress for ${idleMs / 1000} s`,
          );
        }
        onTick?.();
        await sleep(50);
      }
    },
    async close() {
      const gone = new Promise((r) => child.once('exit', r));
      child.disconnect();
      await withTimeout(gone, 5000, 'sink did not exit').catch(() => child.kill('SIGKILL'));
    },
  };
  return sink;
}

/**
 * CPU seconds used so far (user + system, with reaped children) by the labelled pids and by
 * every postgres and redis-server process on the machine; diff two snapshots for a lane.
 */
export function cpuSnapshot(pids: Record<string, number | undefined>): Record<string, number> {
  const hz = 100; // USER_HZ on Linux
  const out: Record<string, number> = { postgres: 0, redis: 0 };
  const ticks = (pid: string | number): { comm: string; t: number } | null => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const f = stat.slice(close + 2).split(' ');
      // fields after the comm: state(0) ... utime(11) stime(12) cutime(13) cstime(14)
      return { comm, t: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
    } catch {
      return null;
    }
  };
  for (const [label, pid] of Object.entries(pids)) {
    if (pid) out[label] = (ticks(pid)?.t ?? 0) / hz;
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = ticks(entry);
    if (!s) continue;
    if (s.comm === 'postgres') out.postgres! += s.t / hz;
    else if (s.comm === 'redis-server') out.redis! += s.t / hz;
  }
  return out;
}

export function cpuDelta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.keys(b).map((k) => [k, Math.round(((b[k] ?? 0) - (a[k] ?? 0)) * 10) / 10]),
  );
}
