/**
 * bench/scale-out: the loopback cluster of docs/scale-out.md (Kamailio's dispatcher in front of
 * Node-RED instances, test/helpers/cluster.ts) against one instance alone, with SIPp placing the calls
 * (test/fixtures/sipp/cluster-caller.xml: the instance answers, plays a tone, records, hangs up).
 *
 * Three set-ups: `direct` (SIPp → one instance, no proxy), `proxy-1` (SIPp → Kamailio → one instance),
 * `proxy-3` (SIPp → Kamailio → three instances, round-robin). For each, two searches stepping up until
 * a step fails (a step passes when every call completes):
 * - concurrency: N calls at once (SIPp `-l N`), 2N calls, each held by a `--hold` s tone;
 * - call rate: R calls a second for `--rate-secs` s, each held by the same tone.
 * On a 2-core machine the three instances share the same two cores as one: the point is the
 * behaviour and the proxy's overhead, not a bigger number (docs/benchmarks.md, "Scale-out").
 *
 * Run: `npm run bench:scale-out` or `node dist/bench/scale-out.js [--levels 20,40,80] [--rates 10,20,40]
 * [--hold S] [--rate-secs S] [--only direct,proxy-1,proxy-3]`.
 */
import { cpus, loadavg } from 'node:os';
import { Instance, sippFailures, startDispatcher } from '../test/helpers/cluster';
import { havePeer, Kamailio, LOOPBACK, pickPorts, pickSippMediaPort, Sipp, sippScenario } from '../test/helpers/sip-peers';

interface Args {
  levels: number[];
  rates: number[];
  hold: number;
  rateSecs: number;
  only: string[];
}

function parseArgs(argv: string[]): Args {
  const args: Args = { levels: [20, 40, 80], rates: [10, 20, 40], hold: 4, rateSecs: 6, only: ['direct', 'proxy-1', 'proxy-3'] };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    const list = (): number[] => value.split(',').map(Number);
    switch (argv[i]) {
      case '--levels': args.levels = list(); i++; break;
      case '--rates': args.rates = list(); i++; break;
      case '--hold': args.hold = Number(value); i++; break;
      case '--rate-secs': args.rateSecs = Number(value); i++; break;
      case '--only': args.only = value.split(','); i++; break;
      default: throw new Error(`unknown option ${argv[i]}`);
    }
  }
  return args;
}

interface Step {
  setup: string;
  search: string;
  target: string;
  ok: number;
  placed: number;
  seconds: number;
  perInstance: string;
}

/** One SIPp run; resolves with how many calls completed. */
async function run(remote: string, calls: number, rate: number, limit: number, port?: number): Promise<{ ok: number; seconds: number }> {
  const t0 = Date.now();
  const sipp = await Sipp.start({
    scenario: sippScenario('cluster-caller.xml'),
    remote,
    port,
    calls,
    extraArgs: ['-r', String(rate), '-l', String(limit), '-s', 'app', '-mp', String(await pickSippMediaPort())],
  });
  await sipp.exitCode();
  const failed = sippFailures(sipp.dir).length;
  await sipp.stop();
  return { ok: calls - failed, seconds: (Date.now() - t0) / 1000 };
}

async function setupRun(name: string, args: Args, steps: Step[]): Promise<void> {
  const count = name === 'proxy-3' ? 3 : 1;
  const base = await pickPorts(count + 1);
  const instancePorts = Array.from({ length: count }, (_, i) => base + i);
  const sippPort = base + count;
  let kamailio: Kamailio | undefined;
  if (name !== 'direct') kamailio = await startDispatcher(instancePorts);
  // direct: the instance's server is SIPp itself (trunk mode takes calls from it).
  const proxy = kamailio ? kamailio.address : `${LOOPBACK}:${sippPort}`;
  const instances: Instance[] = [];
  try {
    for (const [i, port] of instancePorts.entries()) instances.push(await Instance.start(proxy, port, 40000 + 2000 * i, args.hold * 1000));
    await new Promise((r) => setTimeout(r, 3000)); // the dispatcher's first probes
    const remote = kamailio ? kamailio.address : `${LOOPBACK}:${instancePorts[0]}`;
    const sippAt = kamailio ? undefined : sippPort;
    const answeredBy = (from: number): string => instances.map((x) => x.answered(from).length).join(' / ');
    for (const n of args.levels) {
      const from = Date.now();
      const { ok, seconds } = await run(remote, 2 * n, Math.max(5, Math.ceil(n / args.hold)), n, sippAt);
      steps.push({ setup: name, search: 'concurrency', target: `${n} at once`, ok, placed: 2 * n, seconds, perInstance: answeredBy(from) });
      console.log(JSON.stringify(steps.at(-1)));
      if (ok < 2 * n) break;
    }
    for (const r of args.rates) {
      const from = Date.now();
      const calls = r * args.rateSecs;
      const { ok, seconds } = await run(remote, calls, r, 10 * r, sippAt);
      steps.push({ setup: name, search: 'rate', target: `${r} cps`, ok, placed: calls, seconds, perInstance: answeredBy(from) });
      console.log(JSON.stringify(steps.at(-1)));
      if (ok < calls) break;
    }
  } finally {
    for (const x of instances) await x.stop().catch(() => undefined);
    await kamailio?.stop();
  }
}

async function main(): Promise<void> {
  for (const p of ['kamailio', 'kamcmd', 'sipp'] as const) if (!havePeer(p)) throw new Error(`${p} is needed (apt-get install kamailio sip-tester)`);
  const args = parseArgs(process.argv.slice(2));
  const steps: Step[] = [];
  const load0 = loadavg().map((l) => l.toFixed(1)).join(' ');
  for (const name of args.only) await setupRun(name, args, steps);
  console.log(`\n${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; load average before ${load0}, after ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log('| set-up | search | target | calls ok / placed | pass | answered per instance | wall time (s) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const s of steps) console.log(`| ${s.setup} | ${s.search} | ${s.target} | ${s.ok} / ${s.placed} | ${s.ok === s.placed ? 'yes' : 'NO'} | ${s.perInstance} | ${s.seconds.toFixed(1)} |`);
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err);
    process.exit(1);
  },
);
