import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../src/config.js';

const MAIN = fileURLToPath(new URL('./worker-main.ts', import.meta.url));
// the production entry (closeWithGrace, SHUTDOWN_TIMEOUT_MS), for the shutdown tests
const GAZETTE_MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

// the variables a worker process needs to join a test context (same database, prefix, SMTP sink)
const SHARED: Array<keyof Config> = [
  'NODE_ENV',
  'LOG_LEVEL',
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
  'SEND_RATE_PER_SECOND',
  'SEND_CONCURRENCY',
  'SEND_CLAIM_SIZE',
  'MAIL_FROM',
  'LIST_UNSUBSCRIBE_MAILTO',
  'DKIM_DOMAIN',
  'DKIM_SELECTOR',
  'DKIM_PRIVATE_KEY',
];

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** stderr and stdout so far, for failure messages */
  output(): string;
  /** resolves with the exit code (or signal name) */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

/**
 * Starts workers in a child process (tsx), configured like the given test context's config plus
 * `env`; resolves once the child says its workers are ready.
 */
export async function startWorkerProcess(
  config: Config,
  env: Record<string, string> = {},
  timeoutMs = 90_000,
  /** run `src/main.ts worker` (the production entry) instead of the test entry */
  production = false,
): Promise<WorkerProcess> {
  const childEnv: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  for (const key of SHARED) {
    const v = config[key];
    if (v !== undefined && v !== null) childEnv[key] = String(v);
  }
  Object.assign(childEnv, { WORKER_QUEUES: 'send,alerts' }, production ? { LOG_LEVEL: 'info' } : {}, env);
  const args = production ? [GAZETTE_MAIN, 'worker'] : [MAIN];
  // the production entry logs this line (pino JSON) once its workers run
  const ready = production ? '"msg":"workers started"' : 'ready\n';
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker process not ready in ${timeoutMs} ms:\n${out}`)),
      timeoutMs,
    );
    const onData = () => {
      if (out.includes(ready)) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`worker process exited (${code}) before ready:\n${out}`));
    });
  });
  return {
    child,
    pid: child.pid as number,
    output: () => out,
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
