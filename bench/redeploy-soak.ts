/**
 * Redeploy soak: full redeploys of a flow with every node type (an emulated modem in demo mode, two
 * SIP lines on loopback, calls up at each redeploy, recording, playing, gathering digits), through
 * Node-RED's test helper, printing the process figures before and after: active handles by type,
 * open files, sockets, the heap after GC and RSS. The figures of docs/reliability.md.
 *
 *     npm run build && node dist/bench/redeploy-soak.js [--redeploys 100] [--warm-up 25] [--part all|at|sip] [--no-calls]
 *
 * Measured after a warm-up (V8 compiles and re-optimises the code of a redeploy over the first ~25),
 * each time with the lines just up again and no call; "code" is V8's compiled code and bytecode with
 * their metadata, "without code" the rest of the heap, where leaked objects would show.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pickPorts } from '../test/helpers/sip-peers';
import {
  ALL_NODE_MODULES,
  ProcessFigures,
  everyNodeFlow,
  flowPart,
  handleGrowth,
  helper,
  linesReady,
  processFigures,
  putCallsUp,
  redeploy,
} from '../test/helpers/redeploy-flow';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

function show(label: string, f: ProcessFigures): void {
  const handles = Object.entries(f.handles)
    .sort()
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  console.log(`${label.padEnd(22)} handles: ${handles || 'none'} | fds ${f.fds} (sockets ${f.sockets}) | heap ${mib(f.heapUsed)} (code ${mib(f.code)}) | rss ${mib(f.rss)}`);
}

async function main(): Promise<void> {
  const redeploys = Number(option('redeploys', '100'));
  const warmUp = Number(option('warm-up', '25'));
  const part = option('part', 'all');
  const calls = !process.argv.includes('--no-calls');
  if (!Number.isInteger(redeploys) || redeploys < 1) throw new Error('--redeploys must be a whole number ≥ 1');
  if (!Number.isInteger(warmUp) || warmUp < 0) throw new Error('--warm-up must be a whole number ≥ 0');
  if (!['all', 'at', 'sip'].includes(part)) throw new Error('--part must be all, at or sip');
  const folder = mkdtempSync(join(tmpdir(), 'redeploy-soak-'));
  const whole = everyNodeFlow({ sipBase: await pickPorts(2), rtpBase: await pickPorts(32) }, folder);
  const flow = part === 'all' ? whole : flowPart(whole, part as 'at' | 'sip');
  console.log(`redeploy soak: ${warmUp} + ${redeploys} full redeploys, ${part === 'all' ? 'every node type' : `the ${part} part`}, ${calls ? 'calls up at each' : 'no calls'} (node ${process.version})`);
  const start = await processFigures();
  show('before the flow', start);
  await helper.load(ALL_NODE_MODULES, flow);
  await linesReady();
  for (let i = 0; i < warmUp; i++) {
    if (calls) await putCallsUp();
    await redeploy(flow);
  }
  const before = await processFigures();
  show('after the warm-up', before);
  const began = Date.now();
  const marks = new Set([Math.floor(redeploys / 2), redeploys].filter((n) => n > 0));
  let last = { at: 0, figures: before };
  for (let i = 1; i <= redeploys; i++) {
    if (calls) await putCallsUp();
    await redeploy(flow);
    if (marks.has(i)) {
      const f = await processFigures();
      show(`after ${i} redeploys`, f);
      const growth = handleGrowth(before, f);
      console.log(
        `${''.padEnd(22)} growth: handles ${JSON.stringify(growth)}, fds ${f.fds - before.fds}, sockets ${f.sockets - before.sockets}, ` +
          `heap ${kib(f.heapUsed - before.heapUsed)} (${kib((f.heapUsed - before.heapUsed) / i)} per redeploy; ` +
          `without code ${kib((f.objects - before.objects) / i)} per redeploy), rss ${mib(f.rss - before.rss)}`,
      );
      if (last.at > 0) {
        const n = i - last.at;
        console.log(
          `${''.padEnd(22)} since ${last.at}: heap ${kib((f.heapUsed - last.figures.heapUsed) / n)} per redeploy, ` +
            `without code ${kib((f.objects - last.figures.objects) / n)} per redeploy`,
        );
      }
      last = { at: i, figures: f };
    }
  }
  console.log(`${redeploys} redeploys in ${((Date.now() - began) / 1000).toFixed(1)} s`);
  await helper.unload();
  show('flow unloaded', await processFigures());
  rmSync(folder, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err);
    process.exit(1);
  },
);
