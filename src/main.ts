import closeWithGrace from 'close-with-grace';
import { recoverOwedWork, setupSchedulers, startWorkers } from '../workers/index.js';
import { ConfigError, loadConfig } from './config.js';
import { createContainer } from './container.js';
import { loadPublication } from './publication.js';
import { createRedisWatch, startRedisRecovery } from './queues/redis-watch.js';
import { startServer } from './server.js';

type Mode = 'all' | 'api' | 'worker';
const mode = (process.argv[2] ?? 'all') as Mode;
if (!['all', 'api', 'worker'].includes(mode)) {
  console.error(`gazette: unknown mode "${mode}" (all, api or worker)`);
  process.exit(1);
}

let config: ReturnType<typeof loadConfig>;
let publication: ReturnType<typeof loadPublication>;
try {
  config = loadConfig();
  publication = loadPublication(config.PUBLICATION_CONFIG);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`gazette: ${err.message}`);
    process.exit(1);
  }
  throw err;
}

const container = await createContainer({
  config,
  publication,
  withDevMailbox: mode !== 'worker',
  withBounceListener: mode !== 'worker',
}).catch((err) => {
  console.error(`gazette: cannot start: ${(err as Error).message}`);
  process.exit(1);
});
for (const warning of config.warnings) container.log.warn(warning);

const server = mode === 'worker' ? undefined : await startServer(container);
const workers = mode === 'api' ? undefined : startWorkers(container);
if (workers) await setupSchedulers(container);
// every process, API included: whichever notices first puts the schedulers and the owed work back
const recovery = startRedisRecovery({
  watch: createRedisWatch(container.redis, config.QUEUE_PREFIX),
  intervalMs: config.REDIS_CHECK_INTERVAL_MS,
  log: container.log.child({ component: 'redis-recovery' }),
  recover: () => recoverOwedWork(container),
});
if (server) container.log.info(`Gazette is up: ${config.PUBLIC_URL}/subscribe (docs at /docs)`);

closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT_MS }, async ({ signal, err }) => {
  if (err) container.log.error({ err }, 'shutting down after an error');
  else container.log.info({ signal }, 'shutting down');
  recovery.stop();
  await server?.close();
  await workers?.close();
  await container.close();
});
