/**
 * The far-end classifier (lib/analysis/far-end.ts) over the labelled corpus (scripts/make-corpus.ts,
 * already through G.711): people → human, people → machine, machines → machine, decision times,
 * greeting ends, and CPU per second of call audio; beside reference runs in the same process:
 * Asterisk app_amd's rules and fixed energy threshold, and app_amd's rules on WebRTC's VAD.
 *
 * The figures are given for each half of the corpus (labels' `split`): the rules are tuned on the
 * `tuning` half only; the `held-out` half's figures are the ones to quote.
 *
 *   npm run corpus && npm run bench:far-end [-- corpus] [--verbose] [--sweep] [--no-cost]
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { ANALYSIS_FRAME_MS, ANALYSIS_FRAME_SAMPLES, AnalysisEvent, FrameAnalyser } from '../lib/analysis/analyser';
import { APP_AMD_SETTINGS, FarEndAnalyser, FarEndOptions } from '../lib/analysis/far-end';
import { EnergyVad, VoiceActivityDetector, WebRtcVad } from '../lib/analysis/vad';
import { pcm16leToInt16 } from '../lib/media/g711';
import { parseWav } from '../lib/media/wav-reader';
import { createCallAnalyser } from '../lib/analysis/analysis-host';
import { checkAnalysisOptions } from '../lib/capabilities/analysis';
import type { Corpus, CorpusLabel, CorpusSplit } from '../scripts/make-corpus';

const args = process.argv.slice(2);
const verbose = args.includes('--verbose');
/** --no-cost: leave out the CPU measurement (for tuning sweeps). */
const skipCost = args.includes('--no-cost');
const dir = args.find((a) => !a.startsWith('--')) ?? 'corpus';
const corpus = JSON.parse(readFileSync(join(dir, 'labels.json'), 'utf8')) as Corpus;

interface Run {
  name: string;
  make: () => FarEndAnalyser;
  /** A tuning sweep's run: one line, the tuning half only, no CPU figure. */
  sweep?: boolean;
}

const RUNS: Run[] = [
  { name: 'app_amd (energy threshold 256, app_amd rules)', make: () => new FarEndAnalyser({ ...APP_AMD_SETTINGS, vad: new EnergyVad() }) },
  { name: 'app_amd rules on WebRTC VAD (mode 3)', make: () => new FarEndAnalyser({ ...APP_AMD_SETTINGS, vad: new WebRtcVad() }) },
  { name: 'far-end defaults (WebRTC VAD, this package)', make: () => new FarEndAnalyser() },
];

/**
 * Extra runs for tuning, selected with --sweep: the rules' thresholds on a grid around the defaults,
 * and the VAD's modes; one line each, figures of the TUNING half only (choose on it, then read the
 * held-out half of the chosen settings in the full rows above).
 */
if (args.includes('--sweep')) {
  const add = (name: string, o: FarEndOptions, vad: () => VoiceActivityDetector = () => new WebRtcVad({ mode: 0 })): void => {
    RUNS.push({ name, make: () => new FarEndAnalyser({ ...o, vad: vad() }), sweep: true });
  };
  for (const mode of [1, 2, 3] as const) add(`VAD mode ${mode}`, {}, () => new WebRtcVad({ mode }));
  for (const timeoutVoiceMs of [0, 2500, 2600, 2700, 2800, 2900, 3100])
    for (const afterGreetingSilenceMs of [500, 600, 700, 800])
      for (const greetingMs of [3000, 3500, 4000]) add(`timeoutVoiceMs ${timeoutVoiceMs} afterGreetingSilenceMs ${afterGreetingSilenceMs} greetingMs ${greetingMs}`, { timeoutVoiceMs, afterGreetingSilenceMs, greetingMs });
  for (const afterGreetingSilenceMs of [600, 700, 800])
    for (const shortGreetingMs of [0, 1000, 1200, 1400, 1600, 1800])
      for (const afterShortGreetingSilenceMs of [300, 400, 440, 460, 500, 600])
        add(`afterGreetingSilenceMs ${afterGreetingSilenceMs} shortGreetingMs ${shortGreetingMs} afterShortGreetingSilenceMs ${afterShortGreetingSilenceMs}`, { afterGreetingSilenceMs, shortGreetingMs, afterShortGreetingSilenceMs });
  for (const maxWords of [0, 4, 8]) add(`maxWords ${maxWords}`, { maxWords });
  add('initialSilence machine', { initialSilence: 'machine' });
}

function load(file: string): Int16Array {
  const buf = readFileSync(join(dir, file));
  const info = parseWav(buf);
  return pcm16leToInt16(buf.subarray(info.dataOffset, info.dataOffset + info.dataBytes));
}

const files = Object.entries(corpus.files).filter(([, l]) => l.class === 'human' || l.class === 'machine');
const audio = new Map(files.map(([f]) => [f, load(f)]));

const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (n: number, d: number): string => `${((100 * n) / d).toFixed(1)} % (${n}/${d})`;

interface Outcome {
  verdict: string;
  decisionMs: number;
  cause: string;
  greetingEnd?: AnalysisEvent;
  /** The frame (ms) the first `beep` event came on, if any. */
  beepAt?: number;
}

/** Feeds a file, then silence, to a far-end classifier or a whole call's analyser. */
function analyse(run: { make: () => FrameAnalyser & { stop(): void } }, pcm: Int16Array): { outcome: Outcome; audioMs: number } {
  const frame = new Int16Array(ANALYSIS_FRAME_SAMPLES);
  const a = run.make();
  let outcome: Outcome = { verdict: 'none', decisionMs: NaN, cause: '' };
  let at = 0;
  // After the file, the call goes on in silence (the person waits; the machine records) until the
  // analyser is done or a minute has passed.
  for (let i = 0; !a.done && i < 60 * 8000; i += ANALYSIS_FRAME_SAMPLES) {
    if (i + ANALYSIS_FRAME_SAMPLES <= pcm.length) frame.set(pcm.subarray(i, i + ANALYSIS_FRAME_SAMPLES));
    else frame.fill(0);
    at += ANALYSIS_FRAME_MS;
    for (const e of a.push(frame, at)) {
      if (e.topic === 'far-end') outcome = { verdict: e.farEnd, decisionMs: e.decisionMs, cause: String(e.evidence.cause) };
      if (e.topic === 'greeting-end') outcome.greetingEnd = e;
      if (e.topic === 'beep') outcome.beepAt ??= at;
    }
  }
  if (!a.done) a.stop();
  return { outcome, audioMs: at };
}

/** CPU time (user + system, this process) per second of call audio analysed, ms: `REPEAT` passes over the files after one to warm up. */
const REPEAT = 5;
function cost(run: Run): number {
  const pass = (): number => {
    let audioMs = 0;
    for (const [file] of files) audioMs += analyse(run, audio.get(file) as Int16Array).audioMs;
    return audioMs;
  };
  pass();
  const before = process.cpuUsage();
  let audioMs = 0;
  for (let i = 0; i < REPEAT; i++) audioMs += pass();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / (audioMs / 1000);
}

console.log(`load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${os.availableParallelism()} cores`);
console.log(`far-end classifier over ${dir}/ (seed ${corpus.seed}): ${files.filter(([, l]) => l.class === 'human').length} people, ${files.filter(([, l]) => l.class === 'machine').length} machines; Node ${process.version}`);
const SPLITS: CorpusSplit[] = ['held-out', 'tuning'];
for (const run of RUNS) {
  if (!run.sweep) console.log(`\n${run.name}`);
  const results = new Map(files.map(([file]) => [file, analyse(run, audio.get(file) as Int16Array).outcome]));
  for (const split of run.sweep ? (['tuning'] as const) : SPLITS) {
    let humans = 0;
    let humanOk = 0;
    let humanAsMachine = 0;
    let machines = 0;
    let machineOk = 0;
    const humanMs: number[] = [];
    const machineMs: number[] = [];
    const wrong: string[] = [];
    const greetingEnds: string[] = [];
    for (const [file, label] of files) {
      if ((label.split ?? 'tuning') !== split) continue;
      const o = results.get(file) as Outcome;
      const l: CorpusLabel = label;
      if (l.class === 'human') {
        humans++;
        if (o.verdict === 'human') {
          humanOk++;
          humanMs.push(o.decisionMs);
        } else wrong.push(`${file} [${l.kind}] → ${o.verdict} (${o.cause}, ${o.decisionMs} ms; "${l.text}" at ${l.speechStartMs}–${l.speechEndMs} ms, noise ${l.noiseDbfs ?? 'none'}, level ${l.levelDb})`);
        if (o.verdict === 'machine') humanAsMachine++;
      } else {
        machines++;
        if (o.verdict === 'machine') {
          machineOk++;
          machineMs.push(o.decisionMs);
        } else wrong.push(`${file} [${l.kind}] → ${o.verdict} (${o.cause}, ${o.decisionMs} ms; greeting ${l.speechStartMs}–${l.speechEndMs} ms, music ${l.musicMs ?? 0}, level ${l.levelDb})`);
        if (o.greetingEnd && o.greetingEnd.topic === 'greeting-end') {
          const end = l.beepEndMs ?? (l.speechEndMs as number);
          greetingEnds.push(`${o.greetingEnd.by} ${o.greetingEnd.atMs - end}`);
        }
      }
    }
    if (humans + machines === 0) continue;
    if (run.sweep) {
      console.log(`sweep (tuning half) ${run.name}: people → human ${pct(humanOk, humans)}, → machine ${pct(humanAsMachine, humans)}; machines → machine ${pct(machineOk, machines)}; median people ${median(humanMs)} ms, machines ${median(machineMs)} ms`);
      continue;
    }
    console.log(`  ${split} half: ${humans} people, ${machines} machines`);
    console.log(`    people → human     ${pct(humanOk, humans)}`);
    console.log(`    people → machine   ${pct(humanAsMachine, humans)}`);
    console.log(`    machines → machine ${pct(machineOk, machines)}`);
    console.log(`    decision time, median: people ${median(humanMs)} ms, machines ${median(machineMs)} ms (max ${Math.max(...machineMs)} ms)`);
    if (verbose) {
      for (const w of wrong) console.log(`      ${w}`);
      console.log(`      greeting-end (by, ms after the beep's end or the greeting's end): ${greetingEnds.join(', ')}`);
    }
  }
  if (skipCost || run.sweep) continue;
  const msPerSecond = cost(run);
  console.log(`  CPU: ${msPerSecond.toFixed(3)} ms per call-second (process CPU time over ${REPEAT} passes, while analysing) → one core ≈ ${Math.floor(1000 / msPerSecond)} calls at once`);
}

/**
 * The whole of a call's analysis, as a call runs it (analysis-host.ts `createCallAnalyser`: the
 * classifier above, the beep and fax detectors and the network tone detector combined by
 * call-analyser.ts), from the answer and from the connect: the far-end verdict as a flow gets it (a
 * beep before the classifier's verdict makes a machine), and for greetings with a beep, whether the
 * beep event came within 150 ms of the beep's labelled end (the frame it was reported on).
 */
for (const start of ['answer', 'connect'] as const) {
  console.log(`\nthe whole call analysis (createCallAnalyser, detect machine, start ${start})`);
  for (const split of SPLITS) {
    let humans = 0;
    let humanOk = 0;
    let humanAsMachine = 0;
    let machines = 0;
    let machineOk = 0;
    let beeps = 0;
    let beepsOnTime = 0;
    /** Beep events where there is no beep: in people's calls (also after their verdict) and greetings without one. */
    let falseBeeps = 0;
    let noBeepFiles = 0;
    const humanMs: number[] = [];
    const beepDelays: number[] = [];
    const late: string[] = [];
    for (const [file, label] of files) {
      if ((label.split ?? 'tuning') !== split) continue;
      const make = (): ReturnType<typeof createCallAnalyser> => {
        const a = createCallAnalyser(checkAnalysisOptions({ detect: 'machine', start }));
        if (start === 'answer') a.answered();
        return a;
      };
      const { verdict, decisionMs, beepAt } = analyse({ make }, audio.get(file) as Int16Array).outcome;
      if (label.beepEndMs === null || label.beepEndMs === undefined) {
        noBeepFiles++;
        if (beepAt !== undefined) {
          falseBeeps++;
          late.push(`${file} (${verdict}, a beep reported at ${beepAt} ms where there is none)`);
        }
      }
      if (label.class === 'human') {
        humans++;
        if (verdict === 'human') {
          humanOk++;
          humanMs.push(decisionMs);
        }
        if (verdict === 'machine') humanAsMachine++;
        continue;
      }
      machines++;
      if (verdict === 'machine') machineOk++;
      if (label.beepEndMs !== null && label.beepEndMs !== undefined) {
        beeps++;
        const delay = beepAt === undefined ? Infinity : beepAt - label.beepEndMs;
        if (delay >= 0 && delay <= 150) {
          beepsOnTime++;
          beepDelays.push(delay);
        } else late.push(`${file} (${verdict}, beep ${beepAt === undefined ? 'not reported' : `${delay} ms after its end`})`);
      }
    }
    console.log(`  ${split} half: people → human ${pct(humanOk, humans)}, → machine ${pct(humanAsMachine, humans)}; machines → machine ${pct(machineOk, machines)}; median people ${median(humanMs)} ms`);
    console.log(`    beep reported within 150 ms of its end: ${pct(beepsOnTime, beeps)} (delay median ${median(beepDelays)} ms, max ${Math.max(...beepDelays)} ms); a beep reported where there is none: ${falseBeeps} of ${noBeepFiles} files`);
    if (verbose) for (const l of late) console.log(`      ${l}`);
  }
}
