/**
 * `npm run admin:create -- --email editor@example.com [--role admin|editor] [--reset]`: adds a
 * console operator (or, with --reset, gives an existing one a new password and lifts a lock-out).
 * The password is asked for without echo on a terminal, or read from the first line of standard
 * input (`--password-stdin`, for scripts); it is never a flag, so it stays out of shell history.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { systemClock } from '../clock.js';
import { ConfigError, loadConfig } from '../config.js';
import { migrate } from '../db/migrate.js';
import { createPool, ensureDatabase } from '../db/pool.js';
import { GazetteError } from '../errors.js';
import { createOperators, type Role } from './operator-service.js';

function readPassword(prompt: string, fromStdin: boolean): Promise<string> {
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: !fromStdin && process.stdin.isTTY,
  });
  return new Promise((resolve) => {
    if (fromStdin || !process.stdin.isTTY) {
      rl.once('line', (line) => {
        rl.close();
        resolve(line);
      });
      return;
    }
    process.stdout.write(prompt);
    // no echo: each keystroke the terminal would print is swallowed
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
    rl.question('', (answer) => {
      rl.close();
      process.stdout.write('\n');
      resolve(answer);
    });
  });
}

const { values } = parseArgs({
  options: {
    email: { type: 'string' },
    role: { type: 'string', default: 'admin' },
    reset: { type: 'boolean', default: false },
    'password-stdin': { type: 'boolean', default: false },
  },
});

try {
  if (!values.email)
    throw new ConfigError('--email is required (npm run admin:create -- --email you@example.com)');
  if (values.role !== 'admin' && values.role !== 'editor')
    throw new ConfigError('--role must be admin or editor');
  const config = loadConfig();
  const password = await readPassword('Password (at least 12 characters): ', values['password-stdin']);
  await ensureDatabase(config.DATABASE_URL);
  const db = createPool(config.DATABASE_URL, 1);
  try {
    await migrate(db);
    const operators = createOperators({ db, clock: systemClock, config });
    const op = values.reset
      ? await operators.resetPassword(values.email, password)
      : await operators.create({
          email: values.email,
          password,
          role: values.role as Role,
          createdBy: 'admin:create',
        });
    console.log(
      `${values.reset ? 'new password for' : 'operator created:'} ${op.email} (${op.role}); sign in at ${config.PUBLIC_URL}/admin`,
    );
  } finally {
    await db.end();
  }
} catch (err) {
  const known = err instanceof ConfigError || err instanceof GazetteError;
  console.error(known ? `gazette: ${(err as Error).message}` : err);
  process.exit(1);
}
