import closeWithGrace from 'close-with-grace';
import { recoverOwedWork, setupSchedulers, startWorkers } from '../workers/index.js';
import { ConfigError, loadConfig } from './config.js';
import { createContainer } from './container.js';
import { loadPublication } from './publication.js';
import { createRedisWatch, startRedisRecovery } from './queues/redis-watch.js';
import { startServer } from './server.js';

/**
 * all: everything in one process; api: the HTTP server; worker: the queues; inbound: the inbound
 * SMTP listener alone (INBOUND_SMTP_PORT), which stores mail for the workers to process.
 */
type Mode = 'all' | 'api' | 'worker' | 'inbound';
const mode = (process.argv[2] ?? 'all') as Mode;
if (!['all', 'api', 'worker', 'inbound'].includes(mode)) {
  console.error(`gazette: unknown mode "${mode}" (all, api, worker or inbound)`);
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
  withDevMailbox: mode === 'all' || mode === 'api',
  withInboundListener: mode === 'all' || mode === 'inbound',
}).catch((err) => {
  console.error(`gazette: cannot start: ${(err as Error).message}`);
  process.exit(1);
});
for (const warning of config.warnings) container.log.warn(warning);
if (mode === 'inbound' && !container.inboundListener) {
  container.log.error('gazette inbound: INBOUND_SMTP_PORT is not set, so there is nothing to listen for');
  await container.close();
  process.exit(1);
}

const server = mode === 'all' || mode === 'api' ? await startServer(container) : undefined;
const workers = mode === 'all' || mode === 'worker' ? startWorkers(container) : undefined;
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
