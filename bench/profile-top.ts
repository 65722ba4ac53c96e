/**
 * Prints the top self-time functions of a V8 .cpuprofile (node --cpu-prof):
 *   npx tsx bench/profile-top.ts <file.cpuprofile> [count]
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export function topSelfTime(file: string, count = 25): string[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = profile.endTime - profile.startTime;
  const byFn = new Map<string, number>();
  for (const [id, us] of self) {
    const f = byId.get(id)!.callFrame;
    const where = f.url
      ? `${f.url.replace(/^file:\/\/.*?\/(node_modules|src|workers|bench)\//, '$1/')}:${f.lineNumber + 1}`
      : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    byFn.set(key, (byFn.get(key) ?? 0) + us);
  }
  // self time by package (node_modules/<pkg>, src/<dir>, workers, node internals)
  const byPkg = new Map<string, number>();
  for (const [id, us] of self) {
    const f = byId.get(id)!.callFrame;
    const m =
      /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f.url) ?? /\/(src\/[^/]+|workers|bench)\//.exec(f.url);
    const key = m ? m[1]! : f.url.startsWith('node:') ? 'node internals' : f.functionName || '(native)';
    byPkg.set(key, (byPkg.get(key) ?? 0) + us);
  }
  const idle = [...byFn.entries()].filter(([k]) => k.startsWith('(idle)')).reduce((s, [, v]) => s + v, 0);
  const lines = [`total ${(total / 1e6).toFixed(1)} s, idle ${((100 * idle) / total).toFixed(1)}%`];
  lines.push(
    `by package: ${[...byPkg.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([k, us]) => `${k} ${((100 * us) / total).toFixed(1)}%`)
      .join(', ')}`,
  );
  for (const [k, us] of [...byFn.entries()].sort((a, b) => b[1] - a[1]).slice(0, count)) {
    lines.push(
      `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`,
    );
  }
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: tsx bench/profile-top.ts <file.cpuprofile> [count]');
    process.exit(2);
  }
  for (const l of topSelfTime(file, Number(process.argv[3] ?? 25))) console.log(l);
}
