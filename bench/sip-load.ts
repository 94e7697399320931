/**
 * bench/sip-load: how many calls a Node-RED flow on a SIP `voice-line` carries, and how fast it takes
 * them, with SIPp placing the calls (docs/benchmarks.md, "SIP load", says what each figure means).
 *
 * The flow, in a real Node-RED runtime in this process (embedded API, the package's nodes from the
 * build): `voice-events` (incoming, waiting) → `voice-answer` → `delay` (hold) → `voice-hangup`, and
 * with `--record` also `voice-answer` → `voice-record` (to a WAV file per call). The line is in trunk
 * mode (`register: false`) with SIPp's address as its server.
 *
 * SIPp (UAC, a scenario of bench/sip-load/scenarios.ts) offers G.711 with the media address of the
 * bench's RTP peer (bench/sip-load/rtp-peer.ts, a child process): the peer plays SIPp's g711a.pcap
 * audio to each call and times each of our RTP packets (loss, send jitter, lateness against the
 * stream's 20 ms grid, at the receiver). Each step also says where the CPU went (/proc: the callee,
 * the peer, SIPp, the rest of the machine).
 *
 * Two searches, stepping up until a step fails or the time budget is spent:
 * - concurrency: N calls at once (SIPp `-l N`), 2N calls in all, each held `--hold` s (longer when
 *   filling N slots in 0.8 × hold would need more than `--ramp-cps` calls per second);
 * - setup rate: R calls per second for `--rate-secs` s, each held 1 s.
 * The same loads against `sipp -sn uas -rtp_echo` (SIPp as the callee, the peer's streams echoed)
 * as the reference, at the last passing and first failing step of each search (`--reference-all`:
 * at every step).
 *
 * `--workers 0,1,2`: every step once per value of the line's `mediaWorkers` setting (media worker
 * threads; 0 = in the main thread), side by side; a value `N:priority` (`2:realtime`, `auto:high`)
 * also sets the line's `mediaPriority` (docs/media-engine.md, "Priority"). `--capture`: the packets
 * sent to the RTP peer (ours, or SIPp's echo in the reference rows) are also timed by the kernel as
 * they leave (tcpdump on lo, test/helpers/pcap-capture.ts): lateness against the grid with nothing
 * of the receiver's scheduling in it; the stall step then judges that. `--load-priority P`: the RTP
 * peer's priority (a real-time callee otherwise starves it). `--stall`: instead of the searches, the stall step
 * (test/helpers/media-stall.ts): `--stall-calls` calls (100) held `--stall-hold` s (20) while a
 * function node blocks the flow's thread 200 ms every second; it passes with no RTP packet late by
 * more than 5 ms against its stream's grid and no loss.
 *
 * Run: `node dist/bench/sip-load.js [--quick] [--record [rx|tx|both]] [--levels 50,100,...]
 * [--rates 20,50,...] [--hold S] [--rate-secs S] [--budget S] [--no-reference] [--reference-all]
 * [--ramp-cps R] [--max-jitter-ms MS] [--cpu-prof-level N] [--only concurrency|rate]
 * [--workers 0,1,2|auto|2:realtime] [--capture] [--load-priority normal|high|realtime] [--worker-prof] [--all-levels] [--stall [--stall-calls N] [--stall-hold S]] [--reference-only]
 * [--detect] [--warmup N]`.
 *
 * `--warmup N` (session 10): before each flow step is measured, N calls of the step's own load (its
 * rate, at most its calls at once, its hold) through the flow just deployed, then nothing of them is
 * counted: no CPU, call, packet or recording. V8 compiles the flow's, sip.js's and the media
 * worker's hot code as each gets hot (~4.5 s of CPU in the first 45 s of a 500-call step, with
 * `node --trace-opt`), once per process and worker; a Node-RED that has been carrying calls has
 * paid it. Without `--warmup` (0) a step measures from cold, as before session 10.
 *
 * `--detect` (issue 13, the cost of call analysis through calls): every flow step runs twice, without
 * and with a `voice-detect` node after `voice-answer` (far-end detection from the answer, timeout
 * 30 s: the analyser runs until its verdict and, for a machine, the greeting's end); the CPU of the
 * callee process (the flow's thread and the media workers) is compared between the two, per call
 * and per second of audio analysed (from each call's analysis events, `atMs`).
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { VoiceEvent, VoiceLine } from '../lib/line/voice-line';
import type { SipBackend } from '../lib/sip/sip-backend';
import type { RtpMedia } from '../lib/media-engine/rtp-media';
import { sharedMediaClock } from '../lib/media/media-clock';
import { mediaEngine } from '../lib/media-engine/media-engine';
import { SIP_LINE_SETTINGS } from '../lib/sip/sip-line-settings';
import { LOOPBACK, PeerProcess, havePeer, pickPorts, pickSippMediaPort, waitFor } from '../test/helpers/sip-peers';
import { NodeRedHost } from './sip-load/node-red-host';
import { RtpLoadPeer, PeerReport } from './sip-load/rtp-peer';
import { StallWatch, stallNodes, STALL_EVERY_MS, STALL_MS } from '../test/helpers/media-stall';
import { CpuMeter, CpuSplit, openFilesLimit, procSample, ProcSample, threadCount } from './sip-load/proc-stat';
import { parseSippCounts, uacScenario } from './sip-load/scenarios';
import { PcapCapture, readPcap, rtpSendTiming, SendTiming, tcpdumpUsable } from '../test/helpers/pcap-capture';
import { MEDIA_PRIORITIES, MediaPriority } from '../lib/media-engine/thread-priority';

// ───────────────────────────── options ─────────────────────────────

const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(`--${name}`);
const value = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined && !argv[i + 1].startsWith('--') ? argv[i + 1] : undefined;
};
const numbers = (name: string, fallback: number[]): number[] => {
  const v = value(name);
  if (v === undefined) return fallback;
  const list = v.split(',').map(Number);
  if (list.some((n) => !Number.isInteger(n) || n <= 0)) throw new TypeError(`--${name} must be whole numbers, comma-separated`);
  return list;
};
const number = (name: string, fallback: number): number => {
  const v = value(name);
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new TypeError(`--${name} must be a positive number`);
  return n;
};

const QUICK = flag('quick');
const RECORD = flag('record') ? (['rx', 'tx', 'both'].includes(value('record') ?? '') ? (value('record') as string) : 'both') : null;
const LEVELS = numbers('levels', QUICK ? [50, 200] : [50, 100, 200, 300, 500, 700, 1000]);
const RATES = numbers('rates', QUICK ? [20, 50] : [20, 50, 100, 150, 200, 300]);
const HOLD_S = number('hold', QUICK ? 5 : 10);
const RATE_SECS = number('rate-secs', QUICK ? 5 : 8);
/** The concurrency search sets calls up at most this fast (it holds them longer instead). */
const RAMP_CPS = number('ramp-cps', 40);
const BUDGET_S = number('budget', QUICK ? 100 : 540);
const REFERENCE = !flag('no-reference');
const REFERENCE_ALL = flag('reference-all');
/** `--reference-only`: the reference at every step, no flow: what the load side (peer, SIPp, SIPp's echo) carries alone. */
const REFERENCE_ONLY = flag('reference-only');
if (REFERENCE_ONLY && !REFERENCE) throw new TypeError('--reference-only and --no-reference exclude each other');
/** `--only concurrency` or `--only rate`: one search (the soak, bench:soak, is the concurrency one). */
const ONLY = value('only');
if (ONLY !== undefined && ONLY !== 'concurrency' && ONLY !== 'rate') throw new TypeError('--only must be concurrency or rate');
const CPU_PROF_LEVEL = value('cpu-prof-level') === undefined ? null : number('cpu-prof-level', 1);
/**
 * `--worker-prof`: every media worker thread runs with `--cpu-prof` and writes its profile when it
 * ends (each step's redeploy ends them) into `sip-load-worker-prof/<search>-<target>-w<workers>/`;
 * `node dist/bench/profile-summary.js <dir>` says where the time went.
 */
const WORKER_PROF = flag('worker-prof');
/**
 * `--all-levels`: every level (and rate) is stepped even after one failed: on a machine shared with
 * other work a low step may fail on the machine's noise and the search would end there.
 */
const ALL_LEVELS = flag('all-levels');
/** `--detect`: each flow step without, then with far-end detection on every call (see the file's comment). */
const DETECT: boolean[] = flag('detect') ? [false, true] : [false];
/**
 * `--workers 0,1,2`: the line's `mediaWorkers` per run of each step; `auto` = one per core. Without
 * it the setting is left out of the flow (the line's default).
 */
type Workers = number | 'auto' | `${number | 'auto'}:${MediaPriority}` | undefined;
const WORKERS: Workers[] = ((): Workers[] => {
  const v = value('workers');
  if (v === undefined) return [undefined];
  return v.split(',').map((w) => {
    const [count, priority] = w.split(':');
    if (priority !== undefined && !MEDIA_PRIORITIES.includes(priority as MediaPriority)) throw new TypeError(`--workers: the priority after ':' must be one of ${MEDIA_PRIORITIES.join(', ')}`);
    const n = count === 'auto' ? 'auto' : Number(count);
    if (n !== 'auto' && (!Number.isInteger(n) || n < 0)) throw new TypeError('--workers must be whole numbers ≥ 0 or auto (each with :priority or not), comma-separated');
    return priority === undefined ? n : (`${n}:${priority}` as Workers);
  });
})();
/** The line settings a --workers value stands for. */
function mediaSettings(w: Workers): Record<string, unknown> {
  if (w === undefined) return {};
  if (typeof w === 'number' || w === 'auto') return { mediaWorkers: w };
  const [count, priority] = w.split(':');
  return { mediaWorkers: count === 'auto' ? 'auto' : Number(count), mediaPriority: priority };
}
/** `--capture`: the kernel's timestamps of the packets the peer is sent (tcpdump on lo). */
const CAPTURE = flag('capture');
/**
 * `--load-priority realtime|high`: the RTP peer's scheduling priority (default normal). With the
 * callee's media at `realtime` on a busy machine, a normal-priority peer is starved and its figures
 * (loss, lateness at the receiver) measure that, not the callee.
 */
const LOAD_PRIORITY = (value('load-priority') ?? 'normal') as MediaPriority;
if (!MEDIA_PRIORITIES.includes(LOAD_PRIORITY)) throw new TypeError(`--load-priority must be one of ${MEDIA_PRIORITIES.join(', ')}`);
/** Does this build's line know the setting? (Until the media engine lands, a line ignores it.) */
const WORKERS_KNOWN = 'mediaWorkers' in SIP_LINE_SETTINGS;
const workersText = (w: Workers): string => (w === undefined ? 'default' : String(w));
const STALL = flag('stall');
const STALL_CALLS = number('stall-calls', 100);
const STALL_HOLD_S = number('stall-hold', 20);
const PCAP = '/usr/share/sip-tester/g711a.pcap';
/** The line's RTP range: room for 5000 calls. */
const RTP_MIN = 30000;
const RTP_MAX = 39999;

/** Pass criteria of a step (the issue's). */
const MAX_LOSS = 0.001;
/** `--max-jitter-ms`: on a shared machine the scheduler's noise alone can exceed 5 ms (see the reference rows). */
const MAX_JITTER_P99_MS = number('max-jitter-ms', 5);
const WARMUP_CALLS = value('warmup') === undefined ? 0 : Math.round(number('warmup', 1));

const started = Date.now();
const elapsedS = (): number => (Date.now() - started) / 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (text: string): void => {
  process.stderr.write(`[${elapsedS().toFixed(0).padStart(4)} s] ${text}\n`);
};

/** Temp folders of the run, removed at exit whatever happens (also on Ctrl-C). */
const tempDirs = new Set<string>();
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}
function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}
process.on('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
// Ctrl-C or a kill: exit through process.exit, so that the exit hooks run (test/helpers/sip-peers.ts
// kills every SIPp it started, whose process groups a terminal's signal does not reach).
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => process.exit(130));

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

// ───────────────────────────── results ─────────────────────────────

type Search = 'concurrency' | 'rate';

interface StepResult {
  search: Search | 'stall';
  who: 'flow' | 'sipp-uas';
  /** The line's mediaWorkers setting asked for (flow rows). */
  workers: Workers;
  /** --detect: whether the calls ran far-end detection, the audio analysed (s) and the verdicts. */
  detect: boolean;
  analysedS: number | null;
  verdicts: string | null;
  /** Threads of the callee process at full load (flow rows: media worker threads show here). */
  threads: number | null;
  /** Lateness of the packets the peer received against their stream's 20 ms grid. */
  lateness: PeerReport['lateness'] | null;
  /** The same net of the peer's own hold-ups (PeerReport.latenessNet). */
  latenessNet: PeerReport['latenessNet'] | null;
  /** The flow's thread's longest event-loop delay over the step (ms): the stall, seen from inside. */
  loopDelayMaxMs: number | null;
  /** `--capture`: the same packets timed by the kernel as they left the sender (null: not captured), and what the capture missed. */
  kernel: (SendTiming & { droppedByKernel: number }) | null;
  /** Where the CPU went over the step (callee, RTP peer, SIPp, machine, others), % of one core. */
  split: CpuSplit | null;
  /** Calls at once (concurrency) or calls per second (rate). */
  target: number;
  calls: number;
  succeeded: number;
  failed: number;
  failures: string[];
  /** Most calls in progress at once (ours: the line's; reference: the target). */
  peak: number;
  /** Calls per second achieved from the first to the last call set up (rate search). */
  achievedCps: number | null;
  /** Our packets the receiver missed, and the peer's packets we missed (fractions), null if not measured. */
  lossOut: number | null;
  lossIn: number | null;
  jitter: PeerReport['jitter'] | null;
  /** Our media clock's tick lateness p99 (ms): the send jitter as the sender sees it. */
  clockP99Ms: number | null;
  clockSkipped: number | null;
  /** CPU of the callee process (user + sys) / wall over the full-load window, as % of one core. */
  cpuPct: number;
  /** CPU over the whole step / call-seconds carried: % of one core per call in progress. */
  cpuPerCallPct: number;
  /** CPU ms per call over the whole step (set up, media, tear down). */
  cpuMsPerCall: number;
  /** (RSS at full load − RSS before) / calls in progress, KiB; heap the same (ours only). */
  rssPerCallKb: number;
  /** The same less the idle baseline of the media worker threads the step ran (each measured once at the start): what each call adds. */
  rssNetPerCallKb: number | null;
  /** Media worker threads running at full load. */
  mediaThreads: number | null;
  heapPerCallKb: number | null;
  recordings: string | null;
  /** How late the RTP peer's own timer ran at most (ms): the peer itself held up, the machine the limit. */
  peerSelfLateMaxMs: number | null;
  /** The RTP peer's own CPU over the step, % of a core (it must not be the bottleneck). */
  peerCpuPct: number;
  load: string;
  wallS: number;
  pass: boolean;
}

const results: StepResult[] = [];

/** What one idle media worker thread adds to the process's RSS (bytes), measured at the start when a step runs workers. */
let idleWorkerRss: number | null = null;

async function measureIdleWorker(): Promise<number> {
  gc();
  await sleep(300);
  const before = process.memoryUsage().rss;
  const lease = mediaEngine.acquire(1); // starts one thread
  await sleep(1500);
  const after = process.memoryUsage().rss;
  await lease.release();
  return after - before;
}

/** Starts timing, in the kernel, what is sent to the RTP peer's port (--capture), or null. */
async function startCapture(dir: string, peerPort: number): Promise<PcapCapture | null> {
  return CAPTURE ? PcapCapture.start(join(dir, 'to-peer.pcap'), `udp and dst port ${peerPort}`) : null;
}

async function endCapture(capture: PcapCapture | null): Promise<StepResult['kernel']> {
  if (!capture) return null;
  const counts = await capture.stop();
  return { ...rtpSendTiming(readPcap(capture.file)), droppedByKernel: counts.droppedByKernel };
}

// ───────────────────────────── the flow ─────────────────────────────

function flow(linePort: number, sippPort: number, holdMs: number, recordDir: string | null, workers: Workers, stall: boolean, detect = false): object[] {
  // Ids unlike any property value: Node-RED takes a property equal to a node id for a reference.
  const z = 'bench-tab';
  return [
    { id: z, type: 'tab', label: 'sip-load' },
    {
      id: 'bench-line', type: 'voice-line', z, name: 'bench', backend: 'sip', server: `${LOOPBACK}:${sippPort}`, transport: 'udp', username: '1001',
      domain: '', register: false, localPort: linePort, rtpPortMin: RTP_MIN, rtpPortMax: RTP_MAX, displayName: 'bench', autoAnswer: 0, autoReject: false,
      ...mediaSettings(workers),
    },
    { id: 'bench-events', type: 'voice-events', z, line: 'bench-line', events: ['incoming', 'waiting'], wires: [['bench-answer']] },
    { id: 'bench-answer', type: 'voice-answer', z, line: 'bench-line', wires: [['bench-hold', ...(recordDir ? ['bench-record'] : []), ...(detect ? ['bench-detect'] : [])]] },
    ...(detect ? [{ id: 'bench-detect', type: 'voice-detect', z, line: 'bench-line', detectTimeout: 30, detectStart: 'answer', wires: [[]] }] : []),
    {
      id: 'bench-hold', type: 'delay', z, pauseType: 'delay', timeout: String(holdMs), timeoutUnits: 'milliseconds', rate: '1', nbRateUnits: '1',
      rateUnits: 'second', randomFirst: '1', randomLast: '5', randomUnits: 'seconds', drop: false, allowrate: false, outputs: 1, wires: [['bench-hangup']],
    },
    { id: 'bench-hangup', type: 'voice-hangup', z, line: 'bench-line', mode: 'hangup', wires: [[]] },
    ...(recordDir
      ? [{ id: 'bench-record', type: 'voice-record', z, line: 'bench-line', mode: 'file', format: 'wav', direction: RECORD, folder: recordDir, autoRecord: false, wires: [[]] }]
      : []),
    // The stall starts once the calls are coming in (a second in) and runs to the end of the step.
    ...(stall ? stallNodes(z, 'bench-stall', 1) : []),
  ];
}

/** Everything a step needs to know of the calls on our line. */
class CallTracker {
  offered = 0;
  answered = 0;
  ok = 0;
  readonly failures: string[] = [];
  readonly nodeErrors: string[] = [];
  callSeconds = 0;
  firstOfferMs: number | null = null;
  lastOfferMs: number | null = null;
  rxReceived = 0;
  rxLost = 0;
  /**
   * With media workers, each worker's clock lateness p99 as the last call on it to end reported it
   * (`sendJitter`). The clock's figures cover the worker's whole life, so the first calls' reports
   * rest on a few dozen ticks, the cold start's among them: the highest over all calls was a figure of
   * the first second (p99 20–23 ms at 100 and 200 cps, when the packets' own lateness had p99 1.5 ms).
   */
  private readonly workerClockP99 = new Map<number, number>();
  private readonly sessions = new Map<string, RtpMedia>();

  /** The highest of the workers' clock lateness p99 (see {@link workerClockP99}), 0 without a call on a worker. */
  get workerClockP99Ms(): number {
    return Math.max(0, ...this.workerClockP99.values());
  }
  /** --detect: audio analysed in all (s), the verdicts, and per call the analysis's last `atMs` and whether it was done. */
  analysedS = 0;
  readonly verdicts: Record<string, number> = {};
  private readonly analysis = new Map<string, { atMs: number; done: boolean }>();

  constructor(
    private readonly line: VoiceLine,
    private readonly detect = false,
  ) {}

  readonly onEvent = (e: VoiceEvent): void => {
    const id = e.call?.id;
    if (!id) return;
    if (e.topic === 'far-end' || e.topic === 'beep' || e.topic === 'greeting-end') {
      const p = e.payload as { farEnd?: string; atMs?: number };
      if (e.topic === 'far-end') this.verdicts[String(p.farEnd)] = (this.verdicts[String(p.farEnd)] ?? 0) + 1;
      this.analysis.set(id, { atMs: p.atMs ?? 0, done: e.topic !== 'far-end' || p.farEnd !== 'machine' });
      return;
    }
    if (e.topic === 'incoming' || e.topic === 'waiting') {
      if (e.topic === 'incoming' && this.sessions.has(id)) return; // a waiting call that became incoming
      this.offered++;
      this.firstOfferMs ??= Date.now();
      this.lastOfferMs = Date.now();
    } else if (e.topic === 'answered') {
      this.answered++;
      const call = this.line.activeCalls().find((c) => c.id === id);
      const rtp = call ? (this.line.backend as unknown as SipBackend).rtpOf(call) : undefined;
      if (rtp) this.sessions.set(id, rtp);
    } else if (e.topic === 'ended') {
      const p = e.payload as { cause?: string; by?: string; sipCode?: number; duration?: number };
      if (p.cause === 'normal' && p.by === 'local' && e.call?.answeredAt) this.ok++;
      else this.failures.push(`${p.cause} by ${p.by}${p.sipCode ? ` (${p.sipCode})` : ''}${e.call?.answeredAt ? '' : ', not answered'}`);
      if (typeof p.duration === 'number') this.callSeconds += p.duration;
      if (this.detect) {
        // Analysed: up to its last event when it finished, else the whole call (it ran to the end).
        const a = this.analysis.get(id);
        this.analysedS += a?.done ? a.atMs / 1000 : (p.duration ?? 0);
        this.analysis.delete(id);
      }
      const rtp = this.sessions.get(id);
      this.sessions.delete(id);
      if (rtp) {
        const s = rtp.stats();
        this.rxReceived += s.packetsReceived;
        this.rxLost += s.lost;
        this.workerClockP99.set((rtp as { threadId?: number }).threadId ?? 0, s.sendJitter.p99Ms);
      }
    }
  };
}

// ───────────────────────────── one step ─────────────────────────────

interface StepPlan {
  search: Search | 'stall';
  target: number;
  /** SIPp: rate (calls/s), limit (calls at once), total calls, hold (ms). */
  rate: number;
  limit: number;
  calls: number;
  holdMs: number;
}

function plan(search: Search | 'stall', target: number): StepPlan {
  if (search === 'stall') {
    // All the calls up at once (set up at RAMP_CPS at most), held while the flow stalls.
    return { search, target, rate: Math.min(RAMP_CPS, target), limit: target, calls: target, holdMs: Math.round(STALL_HOLD_S * 1000) };
  }
  if (search === 'concurrency') {
    // Fill the N slots in 0.8 × hold, keep them full (SIPp -l) until 2N calls were placed. The
    // calls are held longer when that would take more than RAMP_CPS calls per second, so that this
    // search measures carrying calls, not setting them up (the rate search does that).
    const holdS = Math.max(HOLD_S, (1.25 * target) / RAMP_CPS);
    return { search, target, rate: Math.ceil((1.25 * target) / holdS), limit: target, calls: 2 * target, holdMs: Math.round(holdS * 1000) };
  }
  return { search, target, rate: target, limit: target * 10, calls: Math.round(target * RATE_SECS), holdMs: 1000 };
}

function sippArgs(p: StepPlan, scenarioFile: string, sippPort: number, peerPort: number, remote: string): string[] {
  const expectedS = p.calls / p.rate + p.holdMs / 1000;
  return [
    '-sf', scenarioFile, '-i', LOOPBACK, '-p', String(sippPort), '-r', String(p.rate), '-rp', '1000', '-l', String(p.limit), '-m', String(p.calls),
    '-s', '1001', '-set', 'peerport', String(peerPort), '-nostdin', '-timeout', `${Math.ceil(expectedS * 3 + 60)}s`, '-max_socket', '100',
    remote,
  ];
}

/** `--warmup`: WARMUP_CALLS calls of the step's load through the flow just deployed, ended and forgotten (their recordings deleted) before the step is measured. */
async function warmUp(line: VoiceLine, p: StepPlan, dir: string, sippPort: number, linePort: number, peerPort: number, recordDir: string | null): Promise<void> {
  const w: StepPlan = { ...p, calls: WARMUP_CALLS, limit: Math.min(p.limit, WARMUP_CALLS) };
  const started = Date.now();
  const sipp = new PeerProcess('sipp-warmup', 'sipp', sippArgs(w, writeScenario(dir, w, true), sippPort, peerPort, `${LOOPBACK}:${linePort}`), dir);
  const exit = await sipp.exited;
  await waitFor('every warm-up call ended', () => line.activeCalls().length === 0, 30_000);
  const counts = parseSippCounts(sipp.text());
  if (recordDir) for (const f of safeList(recordDir)) rmSync(join(recordDir, f), { force: true });
  log(`  warm-up: ${counts ? `${counts.successful} calls ok, ${counts.failed} failed` : `SIPp exit ${exit.code}`} in ${((Date.now() - started) / 1000).toFixed(0)} s (not counted)`);
}

function writeScenario(dir: string, p: StepPlan, calleeHangsUp: boolean): string {
  const file = join(dir, calleeHangsUp ? 'uac-bye-from-callee.xml' : 'uac-bye-from-caller.xml');
  writeFileSync(file, uacScenario({ calleeHangsUp, holdMs: p.holdMs, byeTimeoutMs: p.holdMs + 30_000 }));
  return file;
}

const loadText = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');

interface Sample {
  t: number;
  active: number;
  cpu: NodeJS.CpuUsage;
  rss: number;
  heap: number;
  other: ProcSample | null;
}

/** The samples taken while the load was full: ours ≥ 90 % of the target at once (concurrency), else all. */
function fullLoadWindow(samples: Sample[], p: StepPlan): [Sample, Sample] | null {
  if (p.search === 'rate') return samples.length >= 2 ? [samples[0], samples[samples.length - 1]] : null;
  // concurrency, stall
  const full = samples.filter((s) => s.active >= 0.9 * p.target);
  return full.length >= 2 ? [full[0], full[full.length - 1]] : null;
}

async function runFlowStep(host: NodeRedHost, peer: RtpLoadPeer, p: StepPlan, profile: boolean, workers: Workers, detect = false): Promise<{ result: StepResult; window: [number, number] | null }> {
  const dir = tempDir('bench-sip-load-');
  const recordDir = RECORD ? join(dir, 'recordings') : null;
  const base = await pickPorts(2);
  const [linePort, sippPort] = [base, base + 1];
  let sipp: PeerProcess | undefined;
  let tracker: CallTracker | undefined;
  let line: VoiceLine | undefined;
  let inspector: Session | undefined;
  try {
    if (WORKER_PROF) {
      const profDir = join(process.cwd(), 'sip-load-worker-prof', `${p.search}-${p.target}-w${workersText(workers)}`);
      mediaEngine.execArgv = ['--cpu-prof', `--cpu-prof-dir=${profDir}`];
      log(`media worker profiles go to ${profDir} (written when the step's workers end)`);
    }
    await host.deploy(flow(linePort, sippPort, p.holdMs, recordDir, workers, p.search === 'stall', detect));
    // The deploy resolves before the nodes start.
    await waitFor('the flow started', () => Boolean(host.node('bench-line')?.line), 15_000);
    line = host.node('bench-line').line as VoiceLine;
    await waitFor(`line ready (${line.status.text})`, () => line?.status.state === 'ready', 15_000);
    if (WARMUP_CALLS > 0) await warmUp(line, p, dir, sippPort, linePort, peer.port, recordDir);
    const t = new CallTracker(line, detect);
    tracker = t;
    line.on('event', t.onEvent);
    for (const id of ['bench-events', 'bench-answer', 'bench-hold', 'bench-hangup', 'bench-record']) {
      const node = host.node(id);
      if (!node) continue;
      const original = node.error.bind(node);
      node.error = (err: unknown, msg?: unknown) => {
        t.nodeErrors.push(`${id}: ${err instanceof Error ? err.message : String(err)}`);
        original(err, msg);
      };
    }
    gc();
    await sleep(200);
    const before = { rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed };
    sharedMediaClock.resetStats();
    await peer.report(); // starts the peer's counts over
    if (profile) {
      inspector = new Session();
      inspector.connect();
      await post(inspector, 'Profiler.enable');
      await post(inspector, 'Profiler.start');
    }
    const scenario = writeScenario(dir, p, true);
    const meter = new CpuMeter({ callee: process.pid, 'rtp peer': peer.pid }, cpus().length);
    const capture = await startCapture(dir, peer.port);
    const watch = new StallWatch();
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    sipp = new PeerProcess('sipp', 'sipp', sippArgs(p, scenario, sippPort, peer.port, `${LOOPBACK}:${linePort}`), dir);
    meter.add('sipp', sipp.pid);
    const samples: Sample[] = [];
    let peak = 0;
    let threads = 0;
    let mediaThreads = 0;
    const running = sipp;
    while (running.running) {
      const m = process.memoryUsage();
      const active = line.activeCalls().length;
      peak = Math.max(peak, active);
      if (active >= 0.9 * p.target) {
        threads = Math.max(threads, threadCount());
        mediaThreads = Math.max(mediaThreads, mediaEngine.workers.length);
      }
      samples.push({ t: Date.now() - t0, active, cpu: process.cpuUsage(cpu0), rss: m.rss, heap: m.heapUsed, other: null });
      meter.sample();
      await sleep(250);
    }
    const exit = await sipp.exited;
    await waitFor('every call of the line ended', () => line?.activeCalls().length === 0, 15_000).catch(() => undefined);
    const loopDelay = watch.stop();
    const split = meter.split();
    const cpuAll = process.cpuUsage(cpu0);
    const wallMs = Date.now() - t0;
    if (inspector) {
      const { profile: prof } = (await post(inspector, 'Profiler.stop')) as { profile: unknown };
      const file = join(process.cwd(), `sip-load-${p.search}-${p.target}.cpuprofile`);
      writeFileSync(file, JSON.stringify(prof));
      log(`CPU profile written to ${file} (open it in Chrome DevTools, Performance)`);
    }
    const report = await peer.report();
    const kernel = await endCapture(capture);
    const clock = sharedMediaClock.stats();
    const counts = parseSippCounts(sipp.text());
    const failures = [...t.failures, ...t.nodeErrors];
    if (!counts) failures.push(`SIPp printed no statistics (exit ${exit.code}): ${sipp.text().slice(-500)}`);
    else if (counts.failed > 0) failures.push(`SIPp counted ${counts.failed} failed calls`);
    if (t.offered < p.calls) failures.push(`${p.calls - t.offered} calls never reached the flow`);
    let recordings: string | null = null;
    if (recordDir) {
      const files = safeList(recordDir);
      const sizes = files.map((f) => statSync(join(recordDir, f)).size);
      const minBytes = Math.min(...sizes);
      // 16-bit 8 kHz mono (`both` is the two directions mixed), from the answer to the hang-up; the
      // recording starts once voice-answer's message reached voice-record, so a little later.
      const expectedBytes = (p.holdMs / 1000) * 8000 * 2 * 0.5;
      recordings = `${files.length} files, smallest ${(minBytes / 1024).toFixed(0)} KiB`;
      if (files.length < t.answered) failures.push(`${t.answered - files.length} answered calls have no recording`);
      else if (minBytes < expectedBytes) failures.push(`a recording is shorter than expected (${minBytes} bytes < ${expectedBytes.toFixed(0)})`);
    }
    const window = fullLoadWindow(samples, p);
    const full = window ? samples.filter((s) => s.t >= window[0].t && s.t <= window[1].t) : [];
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const atFull = full.length ? median(full.map((s) => s.active)) : peak;
    const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;
    const cpuPct = window ? (100 * (cpuMs(window[1].cpu) - cpuMs(window[0].cpu))) / Math.max(1, window[1].t - window[0].t) : (100 * cpuMs(cpuAll)) / wallMs;
    const lossOut = report.expected ? report.lost / report.expected : null;
    const lossIn = t.rxReceived + t.rxLost ? t.rxLost / (t.rxReceived + t.rxLost) : null;
    const result: StepResult = {
      search: p.search,
      who: 'flow',
      workers,
      detect,
      analysedS: detect ? t.analysedS : null,
      verdicts: detect ? Object.entries(t.verdicts).map(([v, n]) => `${v} ${n}`).join(', ') : null,
      threads: threads || null,
      lateness: report.lateness,
      latenessNet: report.latenessNet,
      loopDelayMaxMs: loopDelay.maxMs,
      kernel,
      split,
      target: p.target,
      calls: p.calls,
      succeeded: t.ok,
      failed: Math.max(p.calls - t.ok, counts?.failed ?? 0),
      failures,
      peak,
      achievedCps: p.search === 'rate' && t.firstOfferMs && t.lastOfferMs && t.lastOfferMs > t.firstOfferMs ? ((t.offered - 1) * 1000) / (t.lastOfferMs - t.firstOfferMs) : null,
      lossOut,
      lossIn,
      jitter: report.jitter,
      // With media workers the main thread's clock does not tick: each worker's own, as its calls reported it (the highest).
      clockP99Ms: clock.ticks ? clock.lateness.p99Ms : t.workerClockP99Ms || null,
      clockSkipped: clock.ticks ? clock.skipped : null,
      cpuPct,
      cpuPerCallPct: t.callSeconds ? (100 * cpuMs(cpuAll)) / (t.callSeconds * 1000) : 0,
      cpuMsPerCall: cpuMs(cpuAll) / Math.max(1, t.offered),
      rssPerCallKb: full.length ? (median(full.map((s) => s.rss)) - before.rss) / 1024 / Math.max(1, atFull) : 0,
      rssNetPerCallKb: full.length && idleWorkerRss !== null ? (median(full.map((s) => s.rss)) - before.rss - mediaThreads * idleWorkerRss) / 1024 / Math.max(1, atFull) : null,
      mediaThreads,
      heapPerCallKb: full.length ? (median(full.map((s) => s.heap)) - before.heap) / 1024 / Math.max(1, atFull) : null,
      recordings,
      peerCpuPct: (100 * report.cpuMs) / Math.max(1, report.wallMs),
      peerSelfLateMaxMs: report.selfLate.maxMs,
      load: loadText(),
      wallS: wallMs / 1000,
      pass: false,
    };
    const misses = thresholdMisses(result);
    if (t.ok < p.calls && failures.length === 0) misses.push(`${p.calls - t.ok} calls did not end by our hang-up`);
    if (p.search === 'rate' && p.calls >= 2 && (result.achievedCps ?? 0) < 0.95 * p.target) misses.push(`only ${result.achievedCps?.toFixed(1) ?? 0} cps achieved`);
    if (p.search !== 'rate' && peak < p.target) misses.push(`only ${peak} calls at once`);
    if (p.search === 'stall') misses.push(...stallMisses(result));
    result.failures.push(...misses);
    result.pass = result.failures.length === 0;
    return { result, window: window ? [window[0].t, window[1].t] : null };
  } finally {
    if (line && tracker) line.off('event', tracker.onEvent);
    inspector?.disconnect();
    await sipp?.stop();
    await host.deploy([]);
    removeTempDir(dir);
  }
}

/** The same calls against `sipp -sn uas -rtp_echo`, the peer's streams echoed by it. */
async function runReferenceStep(peer: RtpLoadPeer, p: StepPlan, window: [number, number] | null): Promise<StepResult> {
  const dir = tempDir('bench-sip-load-ref-');
  const base = await pickPorts(2);
  const [uasPort, uacPort, echoPort] = [base, base + 1, await pickSippMediaPort()];
  let uas: PeerProcess | undefined;
  let uac: PeerProcess | undefined;
  const streams = p.search === 'rate' ? Math.round((p.rate * p.holdMs) / 1000) : p.target;
  try {
    uas = new PeerProcess('sipp-uas', 'sipp', ['-sn', 'uas', '-rtp_echo', '-i', LOOPBACK, '-p', String(uasPort), '-mp', String(echoPort), '-rtp_buffsize', String(8 << 20), '-nostdin'], dir);
    const u = uas;
    await waitFor('the SIPp UAS is up', () => (procSample(u.pid)?.rss ?? 0) > 0, 10_000, () => u.running);
    await sleep(300);
    const before = procSample(uas.pid);
    await peer.report();
    const capture = await startCapture(dir, peer.port);
    const scenario = writeScenario(dir, p, false);
    const meter = new CpuMeter({ callee: uas.pid, 'rtp peer': peer.pid }, cpus().length);
    const t0 = Date.now();
    uac = new PeerProcess('sipp-uac', 'sipp', sippArgs(p, scenario, uacPort, peer.port, `${LOOPBACK}:${uasPort}`), dir);
    meter.add('sipp', uac.pid);
    let originating = false;
    const samples: Array<{ t: number; s: ProcSample | null }> = [];
    while (uac.running) {
      const t = Date.now() - t0;
      // The echoed streams run while the calls would be up (from the first call to the last one's end).
      if (!originating && t > 200) {
        await peer.originate(LOOPBACK, echoPort, streams);
        originating = true;
      }
      samples.push({ t, s: procSample(uas.pid) });
      meter.sample();
      await sleep(250);
    }
    await uac.exited;
    if (originating) await peer.stopOriginate();
    const wallMs = Date.now() - t0;
    const after = procSample(uas.pid);
    const split = meter.split();
    const report = await peer.report();
    const kernel = await endCapture(capture);
    const counts = parseSippCounts(uac.text());
    const failures: string[] = [];
    if (!counts) failures.push(`SIPp (UAC) printed no statistics: ${uac.text().slice(-300)}`);
    else if (counts.failed > 0) failures.push(`SIPp counted ${counts.failed} failed calls`);
    // The flow step's full-load window; without one (--reference-only), the whole step.
    const inWindow = window ? samples.filter((x) => x.t >= window[0] && x.t <= window[1] && x.s) : samples.filter((x) => x.s);
    const first = inWindow[0]?.s;
    const last = inWindow[inWindow.length - 1]?.s;
    const cpuPct = first && last && inWindow.length >= 2 ? (100 * (last.cpuMs - first.cpuMs)) / Math.max(1, inWindow[inWindow.length - 1].t - inWindow[0].t) : 0;
    const peakRss = Math.max(...samples.map((x) => x.s?.rss ?? 0));
    const callSeconds = (p.calls * p.holdMs) / 1000;
    const totalCpu = (after?.cpuMs ?? 0) - (before?.cpuMs ?? 0);
    const lossOut = report.expected ? report.lost / report.expected : null;
    const result: StepResult = {
      search: p.search,
      who: 'sipp-uas',
      workers: undefined,
      detect: false,
      analysedS: null,
      verdicts: null,
      threads: null,
      lateness: report.lateness,
      latenessNet: report.latenessNet,
      loopDelayMaxMs: null,
      kernel,
      split,
      target: p.target,
      calls: p.calls,
      succeeded: counts?.successful ?? 0,
      failed: counts?.failed ?? p.calls,
      failures,
      peak: streams,
      achievedCps: null,
      lossOut,
      lossIn: null,
      jitter: report.jitter,
      clockP99Ms: null,
      clockSkipped: null,
      cpuPct,
      cpuPerCallPct: (100 * totalCpu) / (callSeconds * 1000),
      cpuMsPerCall: totalCpu / p.calls,
      rssPerCallKb: before ? (peakRss - before.rss) / 1024 / Math.max(1, streams) : 0,
      rssNetPerCallKb: null,
      mediaThreads: null,
      heapPerCallKb: null,
      recordings: null,
      peerCpuPct: (100 * report.cpuMs) / Math.max(1, report.wallMs),
      peerSelfLateMaxMs: report.selfLate.maxMs,
      load: loadText(),
      wallS: wallMs / 1000,
      pass: false,
    };
    if (result.succeeded < p.calls && failures.length === 0) failures.push(`${p.calls - result.succeeded} calls did not succeed`);
    failures.push(...thresholdMisses(result));
    if (p.search === 'stall') failures.push(...stallMisses(result));
    result.pass = failures.length === 0;
    return result;
  } finally {
    await uac?.stop();
    await uas?.stop();
    removeTempDir(dir);
  }
}

/** The media criteria a step missed, each as a reason. */
function thresholdMisses(r: StepResult): string[] {
  const misses: string[] = [];
  if (r.lossOut === null) misses.push('none of our RTP reached the peer');
  else if (r.lossOut >= MAX_LOSS) misses.push(`RTP loss ${r.who === 'flow' ? 'ours' : 'echoed'}→peer ${pct(r.lossOut)}`);
  if (r.lossIn !== null && r.lossIn >= MAX_LOSS) misses.push(`RTP loss peer→ours ${pct(r.lossIn)}`);
  if (r.who === 'flow' && r.lossIn === null) misses.push('none of the peer\'s RTP reached us');
  if (r.jitter && r.jitter.p99Ms >= MAX_JITTER_P99_MS) misses.push(`send jitter p99 ${r.jitter.p99Ms} ms`);
  return misses;
}

/** The stall step's criteria (the issue's): no RTP packet late by more than 5 ms against its grid, no loss at all. */
function stallMisses(r: StepResult): string[] {
  const misses: string[] = [];
  // With --capture the sender's own timing (the kernel's), else the receiver's.
  if (r.kernel) {
    if (r.kernel.lateness.overLimit > 0) misses.push(`${r.kernel.lateness.overLimit} RTP packets left more than ${r.kernel.lateness.limitMs} ms late (kernel timestamps; max ${r.kernel.lateness.maxMs} ms)`);
    if (r.kernel.missing > 0) misses.push(`${r.kernel.missing} RTP packets never sent (kernel capture)`);
    if (r.kernel.droppedByKernel > 0) misses.push(`the capture dropped ${r.kernel.droppedByKernel} packets: its figures are incomplete`);
  } else if (r.lateness && r.lateness.overLimit > 0) misses.push(`${r.lateness.overLimit} RTP packets late by more than ${r.lateness.limitMs} ms (max ${r.lateness.maxMs} ms)`);
  // Loss from 0.1 % up is already a miss of every step (thresholdMisses).
  if (r.lossOut !== null && r.lossOut > 0 && r.lossOut < MAX_LOSS) misses.push(`RTP loss ${r.who === 'flow' ? 'ours' : 'echoed'}→peer ${pct(r.lossOut)} (the stall step allows none)`);
  if (r.lossIn !== null && r.lossIn > 0 && r.lossIn < MAX_LOSS) misses.push(`RTP loss peer→ours ${pct(r.lossIn)} (the stall step allows none)`);
  if (r.who === 'flow' && (r.loopDelayMaxMs ?? 0) < 0.75 * STALL_MS) misses.push(`the flow's thread never stalled (longest event-loop delay ${r.loopDelayMaxMs?.toFixed(0)} ms): the step proves nothing`);
  return misses;
}

function post(session: Session, method: string): Promise<unknown> {
  return new Promise((resolve, reject) => session.post(method, (err, res) => (err ? reject(err) : resolve(res))));
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.wav'));
  } catch {
    return [];
  }
}

// ───────────────────────────── the searches ─────────────────────────────

async function search(host: NodeRedHost, peer: RtpLoadPeer, kind: Search, targets: number[], budgetEndS: number): Promise<void> {
  let lastPass: { p: StepPlan; window: [number, number] | null } | null = null;
  let firstFail: { p: StepPlan; window: [number, number] | null } | null = null;
  // Each mediaWorkers value is stepped up until it fails; the search ends when none is left.
  let active = [...WORKERS];
  for (const target of targets) {
    const p = plan(kind, target);
    const expectedS = p.calls / p.rate + p.holdMs / 1000 + 5;
    if (elapsedS() + expectedS * (active.length + (REFERENCE ? 1 : 0)) > budgetEndS) {
      log(`${kind} ${target}: skipped (time budget)`);
      break;
    }
    if (REFERENCE_ONLY) {
      const passed = await reference(peer, p, null);
      if (!passed && !ALL_LEVELS) break;
      continue;
    }
    let window: [number, number] | null = null;
    const failed = new Set<Workers>();
    for (const workers of active) {
      for (const detect of DETECT) {
        log(`${kind} ${target}: ${p.calls} calls, SIPp -r ${p.rate} -l ${p.limit}, hold ${p.holdMs} ms, ${workersLine(workers)}${DETECT.length > 1 ? `, far-end detection ${detect ? 'on' : 'off'}` : ''} (load ${loadText()})`);
        const step = await runFlowStep(host, peer, p, CPU_PROF_LEVEL === target, workers, detect);
        results.push(step.result);
        window ??= step.window;
        log(`  flow: ${step.result.pass ? 'pass' : 'FAIL'} ${summary(step.result)}${detect ? `; analysed ${step.result.analysedS?.toFixed(0)} s of audio, verdicts ${step.result.verdicts}` : ''}`);
        if (!step.result.pass) failed.add(workers);
      }
    }
    if (REFERENCE_ALL && REFERENCE) await reference(peer, p, window);
    if (failed.size < active.length) lastPass = { p, window };
    if (!ALL_LEVELS) active = active.filter((w) => !failed.has(w));
    if (active.length === 0) {
      firstFail = { p, window };
      break;
    }
  }
  if (REFERENCE && !REFERENCE_ALL && !REFERENCE_ONLY) {
    for (const step of [lastPass, firstFail]) {
      if (step && elapsedS() + step.p.calls / step.p.rate + step.p.holdMs / 1000 + 5 <= budgetEndS + 20) await reference(peer, step.p, step.window);
    }
  }
}

/** The stall step (issue 12 part 3), once per mediaWorkers value, and the reference at the same load. */
async function stallStep(host: NodeRedHost, peer: RtpLoadPeer): Promise<void> {
  const p = plan('stall', STALL_CALLS);
  let window: [number, number] | null = null;
  for (const workers of WORKERS) {
    log(`stall: ${p.calls} calls held ${p.holdMs} ms, the flow's thread blocked ${STALL_MS} ms every ${STALL_EVERY_MS} ms, ${workersLine(workers)} (load ${loadText()})`);
    const step = await runFlowStep(host, peer, p, false, workers);
    results.push(step.result);
    window ??= step.window;
    log(`  flow: ${step.result.pass ? 'pass' : 'FAIL'} ${summary(step.result)}`);
  }
  if (REFERENCE) await reference(peer, p, window);
}

/** The mediaWorkers setting asked for, and whether this build's line knows it (else it is ignored). */
function workersLine(w: Workers): string {
  const known = WORKERS_KNOWN ? 'in force' : 'IGNORED: this build\'s line has no mediaWorkers setting, media runs in the main thread';
  if (w === undefined) return `mediaWorkers not set (the line's default${WORKERS_KNOWN ? `: auto = ${availableParallelism()}` : ''})`;
  return `mediaWorkers ${w} (${known})`;
}

async function reference(peer: RtpLoadPeer, p: StepPlan, window: [number, number] | null): Promise<boolean> {
  log(`  reference (sipp -sn uas -rtp_echo) at ${p.search} ${p.target}`);
  const r = await runReferenceStep(peer, p, window);
  results.push(r);
  log(`  sipp-uas: ${r.pass ? 'pass' : 'FAIL'} ${summary(r)}`);
  return r.pass;
}

function summary(r: StepResult): string {
  const f = r.failures.length ? ` — ${[...new Set(r.failures)].slice(0, 4).join('; ')}` : '';
  const late = r.lateness ? `, late > ${r.lateness.limitMs} ms ${r.lateness.overLimit} (max ${r.lateness.maxMs} ms; the peer's own timer late max ${r.peerSelfLateMaxMs} ms)` : '';
  const k = r.kernel ? `; kernel: late > ${r.kernel.lateness.limitMs} ms ${r.kernel.lateness.overLimit} of ${r.kernel.packets} (p99 ${r.kernel.lateness.p99Ms}, max ${r.kernel.lateness.maxMs} ms; ticks started late p99 ${r.kernel.tickStart.p99Ms} ms, tick span p99 ${r.kernel.tickSpan.p99Ms} ms)` : '';
  return `${r.succeeded}/${r.calls} ok, peak ${r.peak}, jitter p99 ${r.jitter?.p99Ms ?? '—'} ms${late}${k}, loss out ${pct(r.lossOut)} in ${pct(r.lossIn)}, CPU ${splitText(r.split)}${f}`;
}

const pct = (x: number | null): string => (x === null ? '—' : `${(100 * x).toFixed(3)} %`);

/**
 * --detect: each flow step with far-end detection against the same step without (same run): the
 * callee's CPU at full load (% of one core), CPU per call over the whole step, and the difference per
 * second of audio analysed, stated for 500 calls analysing at once.
 */
function detectCost(): string {
  const lines = ['Far-end detection through calls (callee process: flow thread + media workers; same step without detection before it):'];
  for (const on of results.filter((r) => r.who === 'flow' && r.detect)) {
    const off = results.find((r) => r.who === 'flow' && !r.detect && r.search === on.search && r.target === on.target && r.workers === on.workers);
    if (!off) continue;
    const extraMs = (on.cpuMsPerCall - off.cpuMsPerCall) * on.calls;
    const perSecond = on.analysedS ? extraMs / on.analysedS : Number.NaN;
    lines.push(
      `  ${on.search} ${on.target}, mediaWorkers ${workersText(on.workers)}: CPU at full load ${off.cpuPct.toFixed(1)} → ${on.cpuPct.toFixed(1)} % of a core; per call ${off.cpuMsPerCall.toFixed(1)} → ${on.cpuMsPerCall.toFixed(1)} ms; ` +
        `${on.analysedS?.toFixed(0)} s of audio analysed (verdicts ${on.verdicts}): ${perSecond.toFixed(3)} ms CPU per second analysed → 500 calls analysing at once ≈ ${(perSecond * 500 / 10).toFixed(1)} % of one core (loads ${off.load} / ${on.load})`,
    );
  }
  return lines.join('\n');
}

/** "callee 80 %, rtp peer 30 %, sipp 5 %, machine 190 % of 200 (others 75 %)". */
function splitText(split: CpuSplit | null): string {
  if (!split) return '—';
  const named = Object.entries(split.processes).map(([name, v]) => `${name} ${v.toFixed(0)} %`);
  return `${named.join(', ')}; machine ${split.machine.toFixed(0)} % of ${100 * split.cores} (others ${split.others.toFixed(0)} %)`;
}

/** Where the CPU went, the lateness and the workers, per step: the second table. */
function splitTable(): string {
  const head = '| search | callee | target | mediaWorkers | threads | lateness vs grid p99 / max (ms) | packets late > 5 ms | the same net of the peer\'s hold-ups | RTP peer\'s own timer late max (ms) | kernel: late > 5 ms, p99 / max (ms) | kernel: tick start late p99 / max, tick span p99 (ms) | flow thread stall max (ms) | callee CPU | RTP peer CPU | SIPp (caller) CPU | load side (peer + SIPp caller) | machine busy (of 200 %) | others | pass |';
  const c = (r: StepResult, name: string): string => (r.split ? `${r.split.processes[name]?.toFixed(0) ?? '—'} %` : '—');
  const rows = results.map((r) =>
    [
      r.search,
      r.who,
      r.search === 'rate' ? `${r.target} cps` : String(r.target),
      r.who === 'flow' ? workersText(r.workers) : '—',
      r.threads === null ? '—' : String(r.threads),
      r.lateness ? `${r.lateness.p99Ms} / ${r.lateness.maxMs}` : '—',
      r.lateness ? `${r.lateness.overLimit} of ${r.lateness.samples}` : '—',
      r.latenessNet ? `${r.latenessNet.overLimit} (max ${r.latenessNet.maxMs})` : '—',
      r.peerSelfLateMaxMs === null ? '—' : String(r.peerSelfLateMaxMs),
      r.kernel ? `${r.kernel.lateness.overLimit} of ${r.kernel.packets}, ${r.kernel.lateness.p99Ms} / ${r.kernel.lateness.maxMs}` : '—',
      r.kernel ? `${r.kernel.tickStart.p99Ms} / ${r.kernel.tickStart.maxMs}, ${r.kernel.tickSpan.p99Ms}` : '—',
      r.loopDelayMaxMs === null ? '—' : r.loopDelayMaxMs.toFixed(0),
      c(r, 'callee'),
      c(r, 'rtp peer'),
      c(r, 'sipp'),
      r.split ? `${((r.split.processes['rtp peer'] ?? 0) + (r.split.processes.sipp ?? 0)).toFixed(0)} %` : '—',
      r.split ? `${r.split.machine.toFixed(0)} %` : '—',
      r.split ? `${r.split.others.toFixed(0)} %` : '—',
      r.pass ? 'yes' : 'NO',
    ].join(' | '),
  );
  return [head.replace('200 %', `${100 * cpus().length} %`), `|${'---|'.repeat(19)}`, ...rows.map((r) => `| ${r} |`)].join('\n');
}

function table(): string {
  const head = '| search | callee | workers | target | calls ok / placed | peak at once | setup rate achieved | loss ours→peer | loss peer→ours | send jitter p50 / p99 / max (ms) | clock lateness p99 (ms) | CPU at full load (% of a core) | CPU per call in progress (% of a core) | CPU per call (ms) | RSS per call (KiB) | RSS per call net of the idle media threads (KiB) | heap per call (KiB) | recordings | load avg | pass |';
  const rows = results.map((r) =>
    [
      r.search,
      r.who,
      r.who === 'flow' ? workersText(r.workers) : '—',
      r.search === 'rate' ? `${r.target} cps` : String(r.target),
      `${r.succeeded} / ${r.calls}`,
      String(r.peak),
      r.achievedCps === null ? '—' : `${r.achievedCps.toFixed(1)} cps`,
      pct(r.lossOut),
      pct(r.lossIn),
      r.jitter ? `${r.jitter.p50Ms} / ${r.jitter.p99Ms} / ${r.jitter.maxMs}` : '—',
      r.clockP99Ms === null ? '—' : `${r.clockP99Ms}${r.clockSkipped ? ` (${r.clockSkipped} skipped)` : ''}`,
      r.cpuPct.toFixed(0),
      r.cpuPerCallPct.toFixed(3),
      r.cpuMsPerCall.toFixed(1),
      r.rssPerCallKb.toFixed(0),
      r.rssNetPerCallKb === null ? '—' : `${r.rssNetPerCallKb.toFixed(0)}${r.mediaThreads ? ` (${r.mediaThreads} × ${((idleWorkerRss ?? 0) / 1048576).toFixed(1)} MiB)` : ''}`,
      r.heapPerCallKb === null ? '—' : r.heapPerCallKb.toFixed(0),
      r.recordings ?? '—',
      r.load,
      r.pass ? 'yes' : 'NO',
    ].join(' | '),
  );
  return [head, `|${'---|'.repeat(20)}`, ...rows.map((r) => `| ${r} |`)].join('\n');
}

function verdict(): string {
  const best = (kind: Search, who: StepResult['who'], workers: Workers) =>
    results.filter((r) => r.search === kind && r.who === who && r.workers === workers && r.pass).reduce<number | null>((m, r) => Math.max(m ?? 0, r.target), null);
  const lines = [
    `Criteria of a passing step: every call answered and ended by our hang-up, SIPp counting no failure, RTP loss under ${100 * MAX_LOSS} % each way, send jitter p99 under ${MAX_JITTER_P99_MS} ms (and, for a rate, 95 % of it achieved; for the stall, no packet late by more than 5 ms and no loss at all)`,
  ];
  for (const w of WORKERS) {
    const tag = WORKERS.length > 1 || w !== undefined ? `, mediaWorkers ${workersText(w)}` : '';
    if (results.some((r) => r.who === 'flow' && r.search === 'concurrency' && r.workers === w)) lines.push(`Most concurrent calls carried (flow${RECORD ? `, recording ${RECORD}` : ', no recording'}${tag}): ${best('concurrency', 'flow', w) ?? 'none of the steps'} (target 500)`);
    if (results.some((r) => r.who === 'flow' && r.search === 'rate' && r.workers === w)) lines.push(`Highest setup rate sustained (flow${tag}): ${best('rate', 'flow', w) ?? 'none of the steps'} cps (target 100)`);
  }
  if (WORKERS.some((w) => w !== undefined) && !WORKERS_KNOWN) lines.push('mediaWorkers was IGNORED: this build\'s line has no such setting (media ran in the main thread in every flow row)');
  // Where the machine itself was the limit: the cores near full while the reference (load side + SIPp's echo) failed.
  for (const r of results.filter((x) => x.who === 'sipp-uas' && !x.pass && x.split && x.split.machine >= 90 * x.split.cores)) {
    lines.push(`  the cores were full when the reference failed at ${r.search} ${r.target}: ${splitText(r.split)}${(r.split?.others ?? 0) > 50 ? ' — much of it other work on the machine, not this bench' : ''}`);
  }
  for (const r of results.filter((x) => !x.pass)) lines.push(`  ${r.who}${r.who === 'flow' ? ` (mediaWorkers ${workersText(r.workers)})` : ''} ${r.search} ${r.target} failed: ${[...new Set(r.failures)].slice(0, 5).join('; ')}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  if (!havePeer('sipp')) {
    console.error('bench/sip-load needs SIPp (apt-get install sip-tester)');
    process.exit(2);
  }
  if (CAPTURE) {
    const t = tcpdumpUsable();
    if (!t.ok) {
      console.error(`bench/sip-load --capture: ${t.why}`);
      process.exit(2);
    }
  }
  const fds = openFilesLimit();
  const need = 4 * Math.max(...LEVELS) + 1000;
  if (fds !== null && fds < need) log(`warning: ulimit -n is ${fds}; ${Math.max(...LEVELS)} calls need about ${need} (raise it with ulimit -n)`);
  log(`bench:sip — ${cpus().length} cores, ${cpus()[0]?.model}, Node ${process.version}; levels ${LEVELS.join(',')}; rates ${RATES.join(',')}; hold ${HOLD_S} s; record ${RECORD ?? 'off'}; ${WARMUP_CALLS ? `warm-up ${WARMUP_CALLS} calls before each flow step (not counted)` : 'no warm-up (cold)'}; load ${loadText()}`);
  const peer = await RtpLoadPeer.start(await pickPorts(1), PCAP, undefined, LOAD_PRIORITY);
  log(
    `RTP peer on port ${peer.port}, receive buffer ${(peer.recvBuffer / 1024).toFixed(0)} KiB (what the kernel granted of 8 MiB; net.core.rmem_max caps it); ` +
      (peer.noKernelTimes === null ? "arrival times the kernel's (SO_TIMESTAMPNS)" : `arrival times when its event loop read each packet (${peer.noKernelTimes})`),
  );
  for (const w of WORKERS) log(workersLine(w));
  if (WORKERS.some((w) => w !== 0)) {
    idleWorkerRss = await measureIdleWorker();
    log(`an idle media worker thread adds ${(idleWorkerRss / 1048576).toFixed(1)} MiB of RSS (the RSS per call is also given net of it)`);
  }
  const host = await NodeRedHost.start(join(__dirname, '..', 'nodes'));
  const cleanup = (): void => peer.stop();
  process.on('exit', cleanup);
  try {
    // The concurrency search gets about two thirds of the budget, the rate search the rest.
    if (STALL) await stallStep(host, peer);
    else {
      if (ONLY !== 'rate') await search(host, peer, 'concurrency', LEVELS, ONLY ? BUDGET_S : BUDGET_S * 0.68);
      if (ONLY !== 'concurrency') await search(host, peer, 'rate', RATES, BUDGET_S);
    }
  } finally {
    await host.stop().catch(() => undefined);
    peer.stop();
  }
  console.log(`\nbench:sip — ${cpus().length} × ${cpus()[0]?.model}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}, load average at the end ${loadText()}, ${elapsedS().toFixed(0)} s\n`);
  console.log(table());
  console.log(`\nWhere the CPU went (% of one core, over each step; /proc), the packets' lateness against their stream's 20 ms grid, the media workers:\n`);
  console.log(splitTable());
  console.log(`\n${verdict()}`);
  if (DETECT.length > 1) console.log(`\n${detectCost()}`);
  process.exit(0);
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  if (results.length) console.log(`${table()}\n\n${splitTable()}`);
  process.exit(1);
});
