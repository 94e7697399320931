/**
 * Where a V8 CPU profile's time went (bench/sip-load.ts `--worker-prof`, `--cpu-prof-level`, or any
 * `.cpuprofile`): self time by function and by file, the idle and garbage-collection shares, summed
 * over every profile named (files, or folders of them).
 *
 * Run: `node dist/bench/profile-summary.js <file-or-dir>... [--top N]`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const argv = process.argv.slice(2);
let TOP = 25;
const inputs: string[] = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--top') TOP = Number(argv[++i]);
  else inputs.push(argv[i]);
}
if (inputs.length === 0) {
  console.error('usage: node dist/bench/profile-summary.js <file-or-dir>... [--top N]');
  process.exit(2);
}

function files(path: string): string[] {
  if (statSync(path).isDirectory()) return readdirSync(path).flatMap((f) => files(join(path, f)));
  return path.endsWith('.cpuprofile') ? [path] : [];
}

const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
let total = 0;
let wall = 0;
const shortUrl = (url: string): string => url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, '$1/') || '(native)';

for (const file of inputs.flatMap(files)) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const nodes = new Map(p.nodes.map((n) => [n.id, n]));
  wall += (p.endTime - p.startTime) / 1000;
  // Each sample's time is the delta to the next one (V8's own convention in DevTools).
  for (let i = 0; i < p.samples.length; i++) {
    const ms = (p.timeDeltas[i + 1] ?? 0) / 1000;
    const n = nodes.get(p.samples[i]);
    if (!n) continue;
    const f = n.callFrame;
    const name = `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
    const where = f.url ? shortUrl(f.url) : f.functionName;
    byFile.set(where, (byFile.get(where) ?? 0) + ms);
    total += ms;
  }
}

const idle = byFile.get('(idle)') ?? 0;
const busy = total - idle;
const line = (name: string, ms: number): string => `${ms.toFixed(0).padStart(8)} ms ${((100 * ms) / Math.max(1, busy)).toFixed(1).padStart(5)} %  ${name}`;
console.log(`${inputs.flatMap(files).length} profiles, ${wall.toFixed(0)} ms of wall time summed; busy ${busy.toFixed(0)} ms (idle ${idle.toFixed(0)} ms); % below are of the busy time`);
console.log(`\nBy file (self time):`);
for (const [name, ms] of [...byFile].filter(([n]) => n !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(line(name, ms));
console.log(`\nBy function (self time):`);
for (const [name, ms] of [...byFunction].filter(([n]) => !n.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(line(name, ms));
