// Compiles src/ and workers/ to dist/ for production (development runs the sources through tsx).
// dist/ mirrors the repository layout, so the paths the code resolves from its own file
// (templates/ two levels up from src/render/, src/db/migrations beside migrate.ts) need the same
// files beside the compiled code: the build copies them, and dist/ runs on its own.
import { execFileSync } from 'node:child_process';
import { cpSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
process.chdir(fileURLToPath(new URL('..', import.meta.url)));

// Built aside and swapped in whole: `npm run start:worker` rebuilds while an API started from the
// same checkout keeps running, and that process reads templates lazily from dist/templates. A fresh
// tree each time also means a deleted template or migration cannot linger in production.
const next = `dist.next-${process.pid}`;
const old = `dist.old-${process.pid}`;
try {
  execFileSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', next],
    { stdio: 'inherit' },
  );
  cpSync('templates', `${next}/templates`, { recursive: true });
  cpSync('src/db/migrations', `${next}/src/db/migrations`, { recursive: true });
  try {
    renameSync('dist', old);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  try {
    renameSync(next, 'dist');
  } catch (err) {
    // another build started at the same moment swapped in its tree first: it is just as fresh
    if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
  }
} catch (err) {
  if (err.status === undefined) console.error(`build: ${err.message}`);
  process.exitCode = 1;
} finally {
  rmSync(next, { recursive: true, force: true });
  rmSync(old, { recursive: true, force: true });
}
