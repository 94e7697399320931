/**
 * bench/setup-cost: the CPU one call costs to set up and tear down through a Node-RED flow on a SIP
 * `voice-line`, beside SIPp's UAS on the same calls in the same run, and (with `--profile`) where that
 * CPU went, by component, from a V8 CPU profile of the step (docs/benchmarks.md, "Call set-up cost").
 *
 * The flow (a real Node-RED runtime in this process, bench/sip-load/node-red-host.ts):
 * `voice-events` (incoming) → `voice-answer` → [`delay` `--hold` ms] → `voice-hangup`, and with
 * `--record` also `voice-answer` → `voice-record` (one WAV file per call, `both`). SIPp (UAC) places
 * `--calls` calls at `--rate` per second, offering G.711 with a media address where a child process
 * drains whatever we send (no audio comes back: set-up and tear-down, not media, are measured); it
 * takes our BYE.
 *
 * The reference: the same SIPp calls against `sipp -sn uas` (SIPp's built-in UAS; the caller hangs up
 * after the hold), its CPU read from /proc.
 *
 * Figures: CPU of this process (user + system) from the first INVITE to the last call's end, per
 * call; the same with the idle process's own CPU over that wall time taken off ("net"); that CPU by
 * thread (/proc: the main thread's user and system time, the other threads); SIPp UAS's CPU per
 * call. After a warm-up step (not counted), `--repeat` measured steps. `--profile`: one more step
 * profiled (sampling every 100 µs, which costs CPU itself: its shares are scaled to the measured
 * median), self time per call summed by component and the top functions; `--profile-out FILE` also
 * writes the .cpuprofile. `--alloc`: one more step under V8's sampling heap profiler, bytes
 * allocated per call by component. `--record` holds each call 500 ms unless `--hold` says otherwise
 * (voice-record starts once voice-answer's message reaches it).
 *
 * Run: `npm run bench:setup -- [--calls K] [--rate R] [--hold MS] [--record] [--profile]
 * [--profile-out FILE] [--alloc] [--no-reference] [--repeat N]`.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { Session } from 'node:inspector';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VoiceEvent, VoiceLine } from '../lib/line/voice-line';
import { LOOPBACK, PeerProcess, havePeer, pickPorts, waitFor } from '../test/helpers/sip-peers';
import { NodeRedHost } from './sip-load/node-red-host';
import { procSample } from './sip-load/proc-stat';
import { parseSippCounts, uacScenario } from './sip-load/scenarios';

const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(`--${name}`);
const value = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined && !argv[i + 1].startsWith('--') ? argv[i + 1] : undefined;
};
const number = (name: string, fallback: number, min = 1): number => {
  const v = value(name);
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isFinite(n) || n < min) throw new TypeError(`--${name} must be a number ≥ ${min}`);
  return n;
};

const CALLS = number('calls', 200);
const RATE = number('rate', 10);
const RECORD = flag('record');
/** With `--record` the call must last until voice-record's message arrives: 500 ms unless told. */
const HOLD_MS = number('hold', RECORD ? 500 : 0, 0);
const PROFILE = flag('profile') || value('profile-out') !== undefined;
const PROFILE_OUT = value('profile-out');
/** `--alloc`: one more step under V8's sampling heap profiler (collected objects included): bytes allocated per call by component. */
const ALLOC = flag('alloc');
const REFERENCE = !flag('no-reference');
const REPEAT = number('repeat', 1);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const loadText = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;
const log = (text: string): void => void process.stderr.write(`${text}\n`);

const tempDirs = new Set<string>();
process.on('exit', () => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => process.exit(130));

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(d);
  return d;
}

/** A child process that binds `port` and drops every datagram: the offer's media address. */
function rtpSink(port: number): ChildProcess {
  const code = `const s=require('node:dgram').createSocket('udp4');s.on('message',()=>{});s.bind(${port},'${LOOPBACK}');process.on('disconnect',()=>process.exit(0));`;
  return spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
}

function flow(linePort: number, sippPort: number, recordDir: string | null): object[] {
  const z = 'setup-tab';
  const afterAnswer = HOLD_MS > 0 ? 'setup-hold' : 'setup-hangup';
  return [
    { id: z, type: 'tab', label: 'setup-cost' },
    {
      id: 'setup-line', type: 'voice-line', z, name: 'setup', backend: 'sip', server: `${LOOPBACK}:${sippPort}`, transport: 'udp', username: '1001',
      domain: '', register: false, localPort: linePort, rtpPortMin: 40000, rtpPortMax: 44999, displayName: 'setup', autoAnswer: 0, autoReject: false,
    },
    { id: 'setup-events', type: 'voice-events', z, line: 'setup-line', events: ['incoming'], wires: [['setup-answer']] },
    { id: 'setup-answer', type: 'voice-answer', z, line: 'setup-line', wires: [recordDir ? [afterAnswer, 'setup-record'] : [afterAnswer]] },
    ...(HOLD_MS > 0
      ? [{
          id: 'setup-hold', type: 'delay', z, pauseType: 'delay', timeout: String(HOLD_MS), timeoutUnits: 'milliseconds', rate: '1', nbRateUnits: '1',
          rateUnits: 'second', randomFirst: '1', randomLast: '5', randomUnits: 'seconds', drop: false, allowrate: false, outputs: 1, wires: [['setup-hangup']],
        }]
      : []),
    { id: 'setup-hangup', type: 'voice-hangup', z, line: 'setup-line', mode: 'hangup', wires: [[]] },
    ...(recordDir
      ? [{ id: 'setup-record', type: 'voice-record', z, line: 'setup-line', mode: 'file', format: 'wav', direction: 'both', folder: recordDir, autoRecord: false, wires: [[]] }]
      : []),
  ];
}

function sippArgs(scenario: string, sippPort: number, mediaPort: number, remote: string): string[] {
  return [
    '-sf', scenario, '-i', LOOPBACK, '-p', String(sippPort), '-r', String(RATE), '-rp', '1000', '-l', String(Math.max(10, RATE * 5)), '-m', String(CALLS),
    '-s', '1001', '-set', 'peerport', String(mediaPort), '-nostdin', '-timeout', `${Math.ceil(CALLS / RATE + HOLD_MS / 1000) * 3 + 60}s`, '-max_socket', '100', remote,
  ];
}

function post<T = unknown>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res as T))));
}

// ───────────────────────────── the profile, by component ─────────────────────────────

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The component a function belongs to (docs/benchmarks.md, "Call set-up cost", names them). */
function component(f: CallFrame): string | null {
  const url = f.url;
  if (f.functionName === '(idle)') return null;
  if (f.functionName === '(garbage collector)') return 'V8 garbage collector';
  if (f.functionName === '(program)') return 'V8 / native, not attributed (program)';
  if (url.includes('sip-grammar') || /sip\.js\/lib\/grammar\//.test(url)) return 'sip.js grammar (SIP parsing)';
  if (url.includes('/node_modules/sip.js/')) return 'sip.js (transport, transactions, dialogs, sessions)';
  if (url.includes('lodash.clonedeep') || url.includes('/node_modules/lodash')) return 'Node-RED cloneMessage (lodash.clonedeep)';
  if (url.includes('/node_modules/node-red/') || url.includes('/@node-red/')) return 'Node-RED runtime (send, routing, nodes)';
  const ours = /(?:dist|\.build-[^/]+)\/((?:lib|nodes)\/.*)\.js$/.exec(url);
  if (ours) return `ours: ${ours[1]}`;
  if (/dist\/(bench|test)\//.test(url)) return 'bench harness';
  const mod = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (mod) return `npm: ${mod[1]}`;
  if (url.startsWith('node:')) {
    const m = url.replace(/^node:(internal\/)?/, '');
    return `Node: ${m.split('/')[0]}`;
  }
  return `builtin: ${f.functionName || '(anonymous)'}`;
}

/** A sum of self time (µs) or bytes by component and by function. */
interface Tally {
  byComponent: Map<string, number>;
  byFunction: Map<string, number>;
  total: number;
}

function tally(entries: Iterable<[CallFrame, number]>): Tally {
  const t: Tally = { byComponent: new Map(), byFunction: new Map(), total: 0 };
  for (const [frame, amount] of entries) {
    const c = component(frame);
    if (c === null || amount <= 0) continue;
    t.total += amount;
    t.byComponent.set(c, (t.byComponent.get(c) ?? 0) + amount);
    const where = frame.url ? `${frame.url.replace(/^.*\/(node_modules|dist|\.build-[^/]+)\//, '')}:${frame.lineNumber + 1}` : '';
    const fn = `${frame.functionName || '(anonymous)'} ${where}`;
    t.byFunction.set(fn, (t.byFunction.get(fn) ?? 0) + amount);
  }
  return t;
}

/** The tally as two Markdown tables: components (those above `minShare`) and the top functions. */
function tables(t: Tally, unit: string, show: (amount: number) => string, minShare: number, top: number): string[] {
  const lines = [`| component | ${unit} | share |`, '|---|---|---|'];
  for (const [c, amount] of [...t.byComponent].sort((x, y) => y[1] - x[1])) {
    if (amount / t.total >= minShare) lines.push(`| ${c} | ${show(amount)} | ${((100 * amount) / t.total).toFixed(1)} % |`);
  }
  lines.push('', `| top functions (self) | ${unit} |`, '|---|---|');
  for (const [fn, amount] of [...t.byFunction].sort((x, y) => y[1] - x[1]).slice(0, top)) lines.push(`| ${fn.replace(/\|/g, '\\|')} | ${show(amount)} |`);
  return lines;
}

function breakdown(profile: CpuProfile, calls: number, msPerCall: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const samples = profile.samples.map((id, i): [CallFrame, number] => [(byId.get(id) as ProfileNode).callFrame, profile.timeDeltas[i + 1] ?? 0]);
  const t = tally(samples);
  const head = `Profile: ${(t.total / 1000 / calls).toFixed(2)} ms of busy samples per call (self time; idle left out)`;
  return [head, '', ...tables(t, 'ms per call (scaled)', (us) => ((msPerCall * us) / t.total).toFixed(3), 0.003, 30)].join('\n');
}

/** A node of V8's sampling heap profile. */
interface AllocNode {
  callFrame: CallFrame;
  selfSize: number;
  children: AllocNode[];
}

function allocations(head: AllocNode, calls: number): string {
  const all: Array<[CallFrame, number]> = [];
  const walk = (n: AllocNode): void => {
    all.push([n.callFrame, n.selfSize]);
    for (const c of n.children) walk(c);
  };
  walk(head);
  const t = tally(all);
  const kib = (bytes: number): string => (bytes / 1024 / calls).toFixed(1);
  return [`Allocated: ${kib(t.total)} KiB per call (sampled, collected objects included)`, '', ...tables(t, 'KiB per call', kib, 0.005, 25)].join('\n');
}

/**
 * This process's CPU by thread, from Linux's /proc (ms): the main thread's user and system time apart
 * (the event loop: JavaScript, and the system calls it makes, UDP sends included), and the other
 * threads together (V8's garbage-collector and compiler helpers, libuv's pool). Null off Linux.
 */
interface ThreadCpu {
  mainUser: number;
  mainSystem: number;
  others: number;
}
function threadCpu(): ThreadCpu | null {
  try {
    const out: ThreadCpu = { mainUser: 0, mainSystem: 0, others: 0 };
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const [user, system] = [(Number(f[11]) * 1000) / TICKS, (Number(f[12]) * 1000) / TICKS];
      if (Number(tid) === process.pid) {
        out.mainUser += user;
        out.mainSystem += system;
      } else out.others += user + system;
    }
    return out;
  } catch {
    return null;
  }
}
/** Linux's clock ticks per second (`getconf CLK_TCK`: 100 on every common build). */
const TICKS = 100;

// ───────────────────────────── the steps ─────────────────────────────

interface StepFigures {
  who: string;
  calls: number;
  ok: number;
  cpuMsPerCall: number;
  netMsPerCall: number | null;
  wallS: number;
  load: string;
  notes: string[];
  /** ms per call: main thread user / system, other threads; null when not measured. */
  threads: ThreadCpu | null;
}

type StepMode = 'measure' | 'cpu' | 'alloc';

async function flowStep(host: NodeRedHost, idleMsPerS: number, mode: StepMode): Promise<{ figures: StepFigures; profile: CpuProfile | null; alloc: AllocNode | null }> {
  const dir = tempDir('bench-setup-');
  const recordDir = RECORD ? join(dir, 'recordings') : null;
  const base = await pickPorts(3);
  const [linePort, sippPort, mediaPort] = [base, base + 1, base + 2];
  const sink = rtpSink(mediaPort);
  let sipp: PeerProcess | undefined;
  let line: VoiceLine | undefined;
  let inspector: Session | undefined;
  const notes: string[] = [];
  let ok = 0;
  const onEvent = (e: VoiceEvent): void => {
    if (e.topic !== 'ended') return;
    const p = e.payload as { cause?: string; by?: string };
    if (p.cause === 'normal' && p.by === 'local' && e.call?.answeredAt) ok++;
    else notes.push(`a call ended ${p.cause} by ${p.by}`);
  };
  try {
    await host.deploy(flow(linePort, sippPort, recordDir));
    await waitFor('the flow started', () => Boolean(host.node('setup-line')?.line), 15_000);
    line = host.node('setup-line').line as VoiceLine;
    await waitFor('line ready', () => line?.status.state === 'ready', 15_000);
    line.on('event', onEvent);
    const scenario = join(dir, 'uac.xml');
    writeFileSync(scenario, uacScenario({ calleeHangsUp: true, holdMs: HOLD_MS, byeTimeoutMs: HOLD_MS + 30_000 }));
    await sleep(300);
    if (mode === 'cpu') {
      inspector = new Session();
      inspector.connect();
      await post(inspector, 'Profiler.enable');
      await post(inspector, 'Profiler.setSamplingInterval', { interval: 100 });
      await post(inspector, 'Profiler.start');
    } else if (mode === 'alloc') {
      inspector = new Session();
      inspector.connect();
      await post(inspector, 'HeapProfiler.enable');
      await post(inspector, 'HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    }
    const threads0 = threadCpu();
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    sipp = new PeerProcess('sipp', 'sipp', sippArgs(scenario, sippPort, mediaPort, `${LOOPBACK}:${linePort}`), dir);
    const exit = await sipp.exited;
    await waitFor('every call ended', () => line?.activeCalls().length === 0, 15_000).catch(() => notes.push('calls still up after SIPp exited'));
    const cpu = cpuMs(process.cpuUsage(cpu0));
    const threads1 = threadCpu();
    const wallMs = Date.now() - t0;
    const threads =
      threads0 && threads1
        ? { mainUser: (threads1.mainUser - threads0.mainUser) / CALLS, mainSystem: (threads1.mainSystem - threads0.mainSystem) / CALLS, others: (threads1.others - threads0.others) / CALLS }
        : null;
    let profile: CpuProfile | null = null;
    let alloc: AllocNode | null = null;
    if (inspector && mode === 'cpu') {
      profile = (await post<{ profile: CpuProfile }>(inspector, 'Profiler.stop')).profile;
      if (PROFILE_OUT) writeFileSync(PROFILE_OUT, JSON.stringify(profile));
    } else if (inspector && mode === 'alloc') {
      alloc = (await post<{ profile: { head: AllocNode } }>(inspector, 'HeapProfiler.stopSampling')).profile.head;
    }
    const counts = parseSippCounts(sipp.text());
    if (!counts) notes.push(`SIPp printed no statistics (exit ${exit.code})`);
    else if (counts.failed) notes.push(`SIPp counted ${counts.failed} failed calls`);
    if (recordDir) {
      const files = readdirSync(recordDir).filter((f) => f.endsWith('.wav')).length;
      if (files < ok) notes.push(`${ok - files} calls without a recording`);
    }
    return {
      figures: { who: `flow${RECORD ? ' + voice-record' : ''}`, calls: CALLS, ok, cpuMsPerCall: cpu / CALLS, netMsPerCall: (cpu - (idleMsPerS * wallMs) / 1000) / CALLS, wallS: wallMs / 1000, load: loadText(), notes, threads },
      profile,
      alloc,
    };
  } finally {
    line?.off('event', onEvent);
    inspector?.disconnect();
    await sipp?.stop();
    sink.kill();
    await host.deploy([]);
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
}

async function referenceStep(): Promise<StepFigures> {
  const dir = tempDir('bench-setup-ref-');
  const base = await pickPorts(3);
  const [uasPort, uacPort, mediaPort] = [base, base + 1, base + 2];
  const sink = rtpSink(mediaPort);
  let uas: PeerProcess | undefined;
  let uac: PeerProcess | undefined;
  try {
    uas = new PeerProcess('sipp-uas', 'sipp', ['-sn', 'uas', '-i', LOOPBACK, '-p', String(uasPort), '-nostdin'], dir);
    await sleep(500);
    const scenario = join(dir, 'uac.xml');
    writeFileSync(scenario, uacScenario({ calleeHangsUp: false, holdMs: HOLD_MS, byeTimeoutMs: HOLD_MS + 30_000 }));
    const before = procSample(uas.pid);
    const t0 = Date.now();
    uac = new PeerProcess('sipp-uac', 'sipp', sippArgs(scenario, uacPort, mediaPort, `${LOOPBACK}:${uasPort}`), dir);
    await uac.exited;
    const after = procSample(uas.pid);
    const counts = parseSippCounts(uac.text());
    const notes: string[] = [];
    if (!counts) notes.push('SIPp printed no statistics');
    else if (counts.failed) notes.push(`SIPp counted ${counts.failed} failed calls`);
    const cpu = before && after ? after.cpuMs - before.cpuMs : NaN;
    return { who: 'sipp -sn uas', calls: CALLS, ok: counts?.successful ?? 0, cpuMsPerCall: cpu / CALLS, netMsPerCall: null, wallS: (Date.now() - t0) / 1000, load: loadText(), notes, threads: null };
  } finally {
    await uac?.stop();
    await uas?.stop();
    sink.kill();
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
}

/** This process's CPU while the runtime sits idle with the line deployed, ms per second. */
async function idleRate(host: NodeRedHost): Promise<number> {
  const base = await pickPorts(2);
  await host.deploy(flow(base, base + 1, null));
  await waitFor('the flow started', () => Boolean(host.node('setup-line')?.line), 15_000);
  await sleep(500);
  const c0 = process.cpuUsage();
  const t0 = Date.now();
  await sleep(2000);
  const rate = (cpuMs(process.cpuUsage(c0)) * 1000) / (Date.now() - t0);
  await host.deploy([]);
  return rate;
}

async function main(): Promise<void> {
  if (!havePeer('sipp')) {
    console.error('bench/setup-cost needs SIPp (apt-get install sip-tester)');
    process.exit(2);
  }
  const host = await NodeRedHost.start(join(__dirname, '..', 'nodes'));
  const rows: StepFigures[] = [];
  let profiled: { figures: StepFigures; profile: CpuProfile | null } | null = null;
  let allocated: AllocNode | null = null;
  try {
    const idle = await idleRate(host);
    log(`idle: ${idle.toFixed(2)} ms of CPU per second; load ${loadText()}`);
    // A warm-up step (JIT, first-use allocations), not counted.
    log('warm-up…');
    await flowStep(host, idle, 'measure');
    for (let i = 0; i < REPEAT; i++) {
      const r = await flowStep(host, idle, 'measure');
      rows.push(r.figures);
      log(`flow: ${r.figures.ok}/${r.figures.calls} ok, ${r.figures.cpuMsPerCall.toFixed(2)} ms/call ${r.figures.notes.join('; ')}`);
      if (REFERENCE) {
        const ref = await referenceStep();
        rows.push(ref);
        log(`sipp-uas: ${ref.ok}/${ref.calls} ok, ${ref.cpuMsPerCall.toFixed(2)} ms/call ${ref.notes.join('; ')}`);
      }
    }
    // The profiler's sampling costs CPU itself: the profiled step gives the shares, the steps above the total.
    if (PROFILE) profiled = await flowStep(host, idle, 'cpu');
    if (ALLOC) allocated = (await flowStep(host, idle, 'alloc')).alloc;
  } finally {
    await host.stop().catch(() => undefined);
  }
  console.log(`\nbench:setup — ${cpus().length} × ${cpus()[0]?.model}, Node ${process.version}, ${new Date().toISOString()}, ${CALLS} calls at ${RATE}/s, hold ${HOLD_MS} ms${RECORD ? ', recording both' : ''}\n`);
  console.log('| callee | calls ok | CPU per call (ms) | net of idle (ms) | main thread user / system, other threads (ms per call) | wall (s) | load avg | notes |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const t = r.threads ? `${r.threads.mainUser.toFixed(2)} / ${r.threads.mainSystem.toFixed(2)}, ${r.threads.others.toFixed(2)}` : '—';
    console.log(`| ${r.who} | ${r.ok} / ${r.calls} | ${r.cpuMsPerCall.toFixed(2)} | ${r.netMsPerCall === null ? '—' : r.netMsPerCall.toFixed(2)} | ${t} | ${r.wallS.toFixed(1)} | ${r.load} | ${r.notes.join('; ') || '—'} |`);
  }
  const nets = rows.filter((r) => r.netMsPerCall !== null).map((r) => r.netMsPerCall as number).sort((a, b) => a - b);
  if (profiled?.profile) {
    const median = nets[Math.floor(nets.length / 2)];
    console.log(`\nProfiled step: ${profiled.figures.cpuMsPerCall.toFixed(2)} ms per call under the profiler; shares scaled to the unprofiled median, ${median.toFixed(2)} ms net per call.\n`);
    console.log(breakdown(profiled.profile, CALLS, median));
  }
  if (allocated) console.log(`\n${allocations(allocated, CALLS)}`);
  process.exit([...rows, ...(profiled ? [profiled.figures] : [])].every((r) => r.ok === r.calls && r.notes.length === 0) ? 0 : 1);
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
