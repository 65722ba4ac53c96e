import closeWithGrace from 'close-with-grace';
import { setupSchedulers, startWorkers } from '../workers/index.js';
import { ConfigError, loadConfig } from './config.js';
import { createContainer } from './container.js';
import { loadPublication } from './publication.js';
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

const container = await createContainer({ config, publication, withDevMailbox: mode !== 'worker' }).catch(
  (err) => {
    console.error(`gazette: cannot start: ${(err as Error).message}`);
    process.exit(1);
  },
);
for (const warning of config.warnings) container.log.warn(warning);

const server = mode === 'worker' ? undefined : await startServer(container);
const workers = mode === 'api' ? undefined : startWorkers(container);
if (workers) await setupSchedulers(container);
if (server) container.log.info(`Gazette is up: ${config.PUBLIC_URL}/subscribe (docs at /docs)`);

closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT_MS }, async ({ signal, err }) => {
  if (err) container.log.error({ err }, 'shutting down after an error');
  else container.log.info({ signal }, 'shutting down');
  await server?.close();
  await workers?.close();
  await container.close();
});
