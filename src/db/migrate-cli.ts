import { ConfigError, loadConfig } from '../config.js';
import { migrate } from './migrate.js';
import { createPool, ensureDatabase } from './pool.js';

try {
  const config = loadConfig();
  await ensureDatabase(config.DATABASE_URL);
  const db = createPool(config.DATABASE_URL, 1);
  const applied = await migrate(db, (m) => console.log(m));
  console.log(applied.length ? `${applied.length} migration(s) applied` : 'database is up to date');
  await db.end();
} catch (err) {
  console.error(err instanceof ConfigError ? `gazette: ${err.message}` : err);
  process.exit(1);
}
