// Runs before `npm test`: the integration tests need PostgreSQL and Redis answering on loopback and
// Debian's Chromium for the browser tests. Start or install what is missing where we can (root on
// Debian, as in CI and on a fresh development machine); otherwise say exactly what to do.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';

const sh = (cmd) => execSync(cmd, { stdio: 'inherit' });
const isRoot = process.getuid?.() === 0;

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
  if (!existsSync('/usr/bin/chromium')) {
    if (!isRoot) throw new Error('Chromium is missing: sudo apt-get install -y chromium fonts-noto-core');
    console.log('installing Debian chromium and fonts-noto-core for the browser tests');
    sh(
      'DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-noto-core',
    );
  }
} catch (err) {
  console.error(`test environment: ${err.message}`);
  process.exit(1);
}
