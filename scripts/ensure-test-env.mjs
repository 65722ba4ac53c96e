// Runs before `npm test` and `npm run test:integration`: the integration tests need PostgreSQL and
// Redis answering on loopback, Debian's Chromium for the browser tests and SpamAssassin for the
// deliverability test. Services installed but
// stopped are started; packages are never installed from here (installing system packages is the
// machine's business: .ci/run does it in CI), only named with the command that installs them.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';

const sh = (cmd) => execSync(cmd, { stdio: 'inherit' });

function answers(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function waitFor(port, name) {
  for (let i = 0; i < 30; i++) {
    if (await answers(port)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${name} is not answering on 127.0.0.1:${port}`);
}

try {
  if (!(await answers(5432))) {
    if (!existsSync('/etc/postgresql'))
      throw new Error('PostgreSQL is not running on 127.0.0.1:5432 and is not installed');
    const version = readdirSync('/etc/postgresql')[0];
    console.log(`starting PostgreSQL ${version}`);
    sh(`pg_ctlcluster --skip-systemctl-redirect ${version} main start`);
    await waitFor(5432, 'PostgreSQL');
  }
  if (!(await answers(6379))) {
    console.log('starting Redis');
    sh('redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no');
    await waitFor(6379, 'Redis');
  }
  if (!existsSync('/usr/bin/chromium'))
    throw new Error(
      'Chromium is missing (browser tests); install it and the Arabic fonts with:\n' +
        '  sudo apt-get install -y --no-install-recommends chromium fonts-noto-core',
    );
  if (!existsSync('/usr/bin/spamassassin'))
    throw new Error(
      'SpamAssassin is missing (the deliverability test runs its local rules); install it with:\n' +
        '  sudo apt-get install -y --no-install-recommends spamassassin',
    );
} catch (err) {
  console.error(`test environment: ${err.message}`);
  process.exit(1);
}
