/**
 * What mixing a conference room costs (docs/benchmarks.md, "Conference rooms"):
 * `npm run bench:conference [-- --sizes 3,10,50] [--seconds 5] [--rounds 3] [--only mixer,calls,relay,most] [--most-sizes 50,100,...]`.
 *
 * - `mixer`: the N−1 mixer alone (lib/conference/mixer.ts): N parties push a 20 ms frame each, one
 *   tick, each output taken; as fast as the process goes. Prints µs per tick and the share of one
 *   core at 50 ticks a second.
 * - `calls`: N calls in this process (each a pair of RtpSessions over UDP on 127.0.0.1, on one media
 *   clock in real time, mediaWorkers 0): the far end of each plays its tone, the near end is the
 *   party. First the calls unmixed (the reference: the same sockets, packets, codecs), then the same
 *   calls in one room, alternated `--rounds` times (medians): process CPU (`process.cpuUsage`) as a share of a core, and the clock's send
 *   jitter p99. What mixing adds is the difference.
 * - `relay`: what a room with media workers pays for a party on another worker: a 20 ms frame
 *   each way per party per tick over a MessageChannel between two threads (main ↔ a worker that
 *   echoes it), event-loop utilisation of both threads, against the same ticking with no messages;
 *   one message per party (`each`, the first relays) and all the parties' frames in one message per
 *   tick (`batched`, lib/conference/worker-mixing.ts MixLink's shape).
 *
 * - `most`: the most parties one thread mixes with its clock's send jitter p99 under 5 ms (issue 15).
 *   The room's parties in this thread (one core: a JavaScript thread runs on one at a time) and their
 *   far ends in a worker thread on its own clock, each playing its tone; for each size of `--most-sizes`
 *   (50,100,200,400,800), smallest first, the same calls unmixed (the reference) and then in one room,
 *   each for `--seconds`; the thread's event-loop utilisation and the clock's p99 lateness. It stops
 *   after the first size whose mixed p99 is 5 ms or more.
 *
 * Run on a quiet machine and note `uptime` beside the figures; never in a loop.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { MessageChannel, Worker } from 'node:worker_threads';
import { Mixer } from '../lib/conference/mixer';
import { MixRoom } from '../lib/conference/mix-room';
import { MediaClock } from '../lib/media/media-clock';
import { beep } from '../lib/media/tone-generator';
import { RtpPortAllocator } from '../lib/sip/rtp-port-allocator';
import { RtpSession } from '../lib/sip/rtp-session';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const SIZES = arg('sizes', '3,10,50').split(',').map(Number);
const SECONDS = Number(arg('seconds', '5'));
const ROUNDS = Number(arg('rounds', '3'));
const ONLY = new Set(arg('only', 'mixer,calls,relay').split(','));
const MOST_SIZES = arg('most-sizes', '50,100,200,400,800').split(',').map(Number);
/** The issue's limit for `most`. */
const JITTER_LIMIT_MS = 5;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pct = (usedUs: number, wallMs: number): string => ((usedUs / 1000 / wallMs) * 100).toFixed(2);

/** The run with the median CPU (and its own jitter figure). */
function median<T extends { rate: number }>(runs: T[]): T {
  return [...runs].sort((a, b) => a.rate - b.rate)[Math.floor(runs.length / 2)];
}

function cpuDuring<T>(fn: () => T): { us: number; result: T } {
  const before = process.cpuUsage();
  const result = fn();
  const d = process.cpuUsage(before);
  return { us: d.user + d.system, result };
}

function benchMixer(): void {
  console.log('\n## mixer alone (compute only)\n');
  console.log('| parties | µs per tick | % of a core at 50 ticks/s | µs per party-tick |');
  console.log('|---|---|---|---|');
  for (const n of SIZES) {
    const m = new Mixer<number>();
    const frames = Array.from({ length: n }, (_, i) => beep(20, 300 + 37 * i, -20));
    for (let i = 0; i < n; i++) m.add(i, { muted: false, deaf: false });
    const ticks = Math.max(2000, Math.round(200_000 / n));
    const run = (): void => {
      for (let t = 0; t < ticks; t++) {
        for (let i = 0; i < n; i++) m.push(i, frames[i]);
        m.tick();
        for (let i = 0; i < n; i++) m.output(i);
      }
    };
    run(); // warm-up
    const start = performance.now();
    const { us } = cpuDuring(run);
    const wall = performance.now() - start;
    const perTick = (Math.min(us, wall * 1000) / ticks);
    console.log(`| ${n} | ${perTick.toFixed(1)} | ${((perTick * 50) / 1e4).toFixed(3)} | ${(perTick / n).toFixed(2)} |`);
  }
}

async function benchCalls(): Promise<void> {
  console.log(`\n## calls in this process (mediaWorkers 0), ${ROUNDS} × (${SECONDS} s unmixed, the reference; ${SECONDS} s mixed), medians\n`);
  console.log('| parties | unmixed: CPU % of a core | p99 send jitter ms | mixed: CPU % of a core | p99 send jitter ms | mixing adds, % of a core | per party |');
  console.log('|---|---|---|---|---|---|---|');
  const base = 20000 + 2 * Math.floor(Math.random() * 10000);
  const allocator = new RtpPortAllocator({ rtpPortMin: base, rtpPortMax: base + 2 * 2 * Math.max(...SIZES) * 2 + 50, address: '127.0.0.1' });
  for (const n of SIZES) {
    const clock = new MediaClock();
    const near: RtpSession[] = [];
    const far: RtpSession[] = [];
    for (let i = 0; i < n; i++) {
      const [a, b] = await Promise.all([allocator.allocate(), allocator.allocate()]);
      const s = new RtpSession({ ports: a, codec: 'PCMU', clock, remote: { address: '127.0.0.1', port: b.rtpPort } });
      const f = new RtpSession({ ports: b, codec: 'PCMU', clock, remote: { address: '127.0.0.1', port: a.rtpPort } });
      f.play(beep(3 * SECONDS * 1000 + 5000, 300 + 37 * i, -20));
      near.push(s);
      far.push(f);
    }
    await sleep(1000);
    const measure = async (): Promise<{ cpu: string; us: number; wall: number; p99: number; rate: number }> => {
      clock.resetStats();
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      await sleep(SECONDS * 1000);
      const d = process.cpuUsage(c0);
      const wall = performance.now() - t0;
      return { cpu: pct(d.user + d.system, wall), us: d.user + d.system, wall, p99: clock.stats().lateness.p99Ms, rate: (d.user + d.system) / wall };
    };
    // Alternated (reference, mixed, reference, mixed...) so that a change in the machine's load
    // falls on both; the medians are reported.
    const room = new MixRoom<number>(clock, () => undefined);
    room.setStarted(true);
    const refs: Array<Awaited<ReturnType<typeof measure>>> = [];
    const mixes: typeof refs = [];
    for (let r = 0; r < ROUNDS; r++) {
      refs.push(await measure());
      near.forEach((s, i) => room.addLocal(i, s, { muted: false, deaf: false }, -40));
      await sleep(200);
      mixes.push(await measure());
      near.forEach((_, i) => room.remove(i));
      await sleep(200);
    }
    room.close();
    const ref = median(refs);
    const mixed = median(mixes);
    await Promise.all([...near, ...far].map((s) => s.close()));
    const addUs = mixed.us / mixed.wall - ref.us / ref.wall; // µs of CPU per ms of wall
    console.log(
      `| ${n} | ${ref.cpu} | ${ref.p99} | ${mixed.cpu} | ${mixed.p99} | ${(addUs / 10).toFixed(2)} | ${(addUs / 10 / n).toFixed(3)} |`,
    );
  }
}

/** A worker that sends back every frame it gets on the port it is given (the relay's round trip). */
const ECHO = `
const { parentPort } = require('node:worker_threads');
parentPort.once('message', (port) => port.on('message', (m) => {
  if (m instanceof Int16Array) port.postMessage(m, [m.buffer]);
  else port.postMessage(m, m.mix.map(([, f]) => f.buffer));
}));
`;

async function benchRelay(): Promise<void> {
  console.log(`\n## relay between two threads: one frame each way per party per tick, ${SECONDS} s\n`);
  console.log('| parties relayed | main ELU % (reference → each → batched) | worker ELU % (reference → each → batched) | added per relayed party, % of a core: each | batched |');
  console.log('|---|---|---|---|---|');
  for (const n of SIZES) {
    const worker = new Worker(ECHO, { eval: true });
    const { port1, port2 } = new MessageChannel();
    worker.postMessage(port2, [port2]);
    port1.on('message', () => undefined);
    const clock = new MediaClock();
    const run = async (frames: 'none' | 'each' | 'batched'): Promise<{ main: number; worker: number }> => {
      const stop = clock.subscribe(() => {
        if (frames === 'each') {
          for (let i = 0; i < n; i++) {
            const f = new Int16Array(160);
            port1.postMessage(f, [f.buffer]);
          }
        } else if (frames === 'batched') {
          const mix: Array<[number, Int16Array]> = Array.from({ length: n }, (_, i) => [i, new Int16Array(160)]);
          port1.postMessage({ audio: [], mix }, mix.map(([, f]) => f.buffer as ArrayBuffer));
        }
      });
      await sleep(300);
      const m0 = performance.eventLoopUtilization();
      const w0 = worker.performance.eventLoopUtilization();
      await sleep(SECONDS * 1000);
      const m = performance.eventLoopUtilization(m0);
      const w = worker.performance.eventLoopUtilization(w0);
      stop();
      return { main: m.utilization * 100, worker: w.utilization * 100 };
    };
    const ref = await run('none');
    const each = await run('each');
    const batched = await run('batched');
    const added = (r: { main: number; worker: number }): string => ((r.main - ref.main + r.worker - ref.worker) / n).toFixed(3);
    console.log(
      `| ${n} | ${ref.main.toFixed(2)} → ${each.main.toFixed(2)} → ${batched.main.toFixed(2)} | ${ref.worker.toFixed(2)} → ${each.worker.toFixed(2)} → ${batched.worker.toFixed(2)} | ${added(each)} | ${added(batched)} |`,
    );
    port1.close();
    await worker.terminate();
  }
}

/**
 * The far ends of `most`: a worker thread with its own media clock, one RtpSession per party playing
 * its tone to the party's port (what the room's thread receives), sending to it and receiving its mix.
 */
const FAR_ENDS = `
const { parentPort, workerData } = require('node:worker_threads');
const { RtpSession } = require(workerData.rtpSession);
const { RtpPortAllocator } = require(workerData.allocator);
const { MediaClock } = require(workerData.mediaClock);
const { beep } = require(workerData.toneGenerator);
const clock = new MediaClock();
const allocator = new RtpPortAllocator({ rtpPortMin: workerData.portMin, rtpPortMax: workerData.portMax, address: '127.0.0.1' });
const sessions = [];
(async () => {
  for (const [i, nearPort] of workerData.nearPorts.entries()) {
    const ports = await allocator.allocate();
    const s = new RtpSession({ ports, codec: 'PCMU', clock, remote: { address: '127.0.0.1', port: nearPort } });
    s.play(beep(workerData.playMs, 300 + 37 * (i % 40), -26));
    sessions.push(s);
  }
  parentPort.postMessage(sessions.map((s) => s.localPort));
})();
parentPort.on('message', async (m) => {
  if (m === 'close') {
    await Promise.all(sessions.map((s) => s.close()));
    parentPort.postMessage('closed');
  }
});
`;

async function benchMost(): Promise<void> {
  console.log(`\n## the most parties one thread mixes with send jitter p99 under ${JITTER_LIMIT_MS} ms (far ends in a worker thread), ${SECONDS} s each\n`);
  console.log('| parties | unmixed: thread busy % (ELU) | p99 send lateness ms | in one room: thread busy % (ELU) | p99 send lateness ms | max ms | under the limit |');
  console.log('|---|---|---|---|---|---|---|');
  const span = 4 * Math.max(...MOST_SIZES) + 50;
  const base = 20000 + 2 * Math.floor(Math.random() * 4000);
  const allocator = new RtpPortAllocator({ rtpPortMin: base, rtpPortMax: base + span, address: '127.0.0.1' });
  let most = 0;
  for (const n of MOST_SIZES) {
    const clock = new MediaClock();
    const ports = [];
    for (let i = 0; i < n; i++) ports.push(await allocator.allocate());
    const farEnds = new Worker(FAR_ENDS, {
      eval: true,
      workerData: {
        rtpSession: require.resolve('../lib/sip/rtp-session'),
        allocator: require.resolve('../lib/sip/rtp-port-allocator'),
        mediaClock: require.resolve('../lib/media/media-clock'),
        toneGenerator: require.resolve('../lib/media/tone-generator'),
        portMin: base + span + 2,
        portMax: base + 2 * span,
        playMs: 2 * SECONDS * 1000 + 10_000,
        nearPorts: ports.map((p) => p.rtpPort),
      },
    });
    const farPorts = await new Promise<number[]>((resolve) => farEnds.once('message', resolve));
    const near = ports.map((p, i) => new RtpSession({ ports: p, codec: 'PCMU', clock, remote: { address: '127.0.0.1', port: farPorts[i] } }));
    await sleep(1000);
    const measure = async (): Promise<{ elu: number; p99: number; max: number }> => {
      clock.resetStats();
      const e0 = performance.eventLoopUtilization();
      await sleep(SECONDS * 1000);
      const e = performance.eventLoopUtilization(e0);
      const { lateness } = clock.stats();
      return { elu: e.utilization * 100, p99: lateness.p99Ms, max: lateness.maxMs };
    };
    const ref = await measure();
    const room = new MixRoom<number>(clock, () => undefined);
    room.setStarted(true);
    near.forEach((s, i) => room.addLocal(i, s, { muted: false, deaf: false }, -40));
    await sleep(500);
    const mixed = await measure();
    room.close();
    farEnds.postMessage('close');
    await new Promise((resolve) => farEnds.once('message', resolve));
    await farEnds.terminate();
    await Promise.all(near.map((s) => s.close()));
    const under = mixed.p99 < JITTER_LIMIT_MS;
    if (under) most = n;
    console.log(`| ${n} | ${ref.elu.toFixed(1)} | ${ref.p99} | ${mixed.elu.toFixed(1)} | ${mixed.p99} | ${mixed.max.toFixed(1)} | ${under ? 'yes' : 'no'} |`);
    if (!under) break;
  }
  console.log(`\nthe most parties mixed in one room by one thread with send lateness p99 under ${JITTER_LIMIT_MS} ms: ${most || `fewer than ${MOST_SIZES[0]}`}`);
}

async function main(): Promise<void> {
  console.log(`# conference bench: ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, node ${process.version}`);
  if (ONLY.has('mixer')) benchMixer();
  if (ONLY.has('calls')) await benchCalls();
  if (ONLY.has('relay')) await benchRelay();
  if (ONLY.has('most')) await benchMost();
  console.log(`\nload average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
