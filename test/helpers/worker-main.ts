/**
 * Entry of a worker child process for the multi-process delivery tests: the production
 * composition (config from the environment, container, workers/index.ts), nothing else.
 * Prints "ready" once the workers run; SIGTERM closes gracefully, SIGKILL is the crash.
 */
import { loadConfig } from '../../src/config.js';
import { createContainer } from '../../src/container.js';
import { createLogger } from '../../src/logger.js';
import { loadPublication } from '../../src/publication.js';
import { startWorkers } from '../../workers/index.js';

const config = loadConfig(process.env);
const publication = loadPublication(config.PUBLICATION_CONFIG);
const container = await createContainer({ config, publication, log: createLogger(config), migrate: false });
const workers = startWorkers(container);
await Promise.all(workers.workers.map((w) => w.waitUntilReady()));
process.stdout.write('ready\n');

process.once('SIGTERM', () => {
  void (async () => {
    await workers.close();
    await container.close();
    process.exit(0);
  })();
});
