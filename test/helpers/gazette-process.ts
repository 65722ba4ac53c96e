import { type ChildProcess, spawn } from 'node:child_process';
import type { Config } from '../../src/config.js';
import { eventually } from './context.js';

// what a production process needs to join a test context (same database, Redis, prefix, SMTP sink)
const SHARED: Array<keyof Config> = [
  'NODE_ENV',
  'PUBLIC_URL',
  'DATABASE_URL',
  'REDIS_URL',
  'QUEUE_PREFIX',
  'SMTP_URL',
  'SMTP_POOL_SIZE',
  'SECRET_KEY',
  'ADMIN_TOKEN',
  'PUBLICATION_CONFIG',
  'JOB_LOCK_DURATION_MS',
  'JOB_STALLED_INTERVAL_MS',
];

export interface GazetteProcess {
  child: ChildProcess;
  /** stdout and stderr so far (JSON log lines), for failure messages */
  output(): string;
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

/**
 * `src/main.ts <mode>` (the production entry, through tsx) configured like the test context plus
 * `env`; resolves once it logged `readyLine`.
 */
export async function startGazette(
  mode: 'all' | 'api' | 'worker',
  config: Config,
  env: Record<string, string>,
  readyLine: string,
  timeoutMs = 120_000,
): Promise<GazetteProcess> {
  const childEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    LOG_LEVEL: 'info',
  };
  for (const key of SHARED) {
    const v = config[key];
    if (v !== undefined && v !== null) childEnv[key] = String(v);
  }
  Object.assign(childEnv, env);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', mode], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  try {
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`gazette ${mode} exited (${child.exitCode}):\n${out}`);
      return out.includes(readyLine);
    }, timeoutMs);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`gazette ${mode} not ready: ${(err as Error).message}\n${out.slice(-4000)}`);
  }
  return {
    child,
    output: () => out,
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
