/**
 * What call analysis costs per call (issue 13: "detection on 500 calls at once fits in one core"),
 * measured where a call's analysis runs with media workers: in a worker thread. The worker runs one
 * `CallAnalyser` per corpus file as a call would (lib/analysis/analysis-host.ts `createCallAnalyser`,
 * `detect: "machine"`, network tones on, answered at the first frame; the file, then silence, until
 * the analyser is done: its verdict and, for a machine, its beep or greeting end), and counts the
 * thread's own CPU time (/proc/thread-self/schedstat, ns) over the frames it analysed. Reference in
 * the same thread: G.711 μ-law decoding of the same frames (what every received frame costs anyway).
 *
 * Figures: µs per 20 ms frame while a call is analysed (mean over all frames, and by class), how
 * long a call's analysis runs (s), and so how much of a core 500 calls analysing at once take. The
 * same through real calls: `node dist/bench/sip-load.js ... --detect` (docs/benchmarks.md).
 *
 *   npm run corpus && node dist/bench/analysis-cost.js [corpus] [--passes N]
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { ANALYSIS_FRAME_SAMPLES } from '../lib/analysis/analyser';
import { createCallAnalyser } from '../lib/analysis/analysis-host';
import { checkAnalysisOptions } from '../lib/capabilities/analysis';
import { decodeUlaw, encodeUlaw, pcm16leToInt16 } from '../lib/media/g711';
import { parseWav } from '../lib/media/wav-reader';
import type { Corpus } from '../scripts/make-corpus';

interface Result {
  /** Per start mode and class: frames analysed, thread CPU ns for them, calls. */
  byClass: Record<string, Record<string, { frames: number; ns: number; calls: number }>>;
  refFrames: number;
  refNs: number;
}

/**
 * `answer`: answered at the first frame (what a dial with the default `start: "answer"` runs after
 * the answer: classifier, beep, fax; the network tones stop at the answer). `connect`: never
 * answered, `start: "connect"`: everything at once on every frame (classifier, beep, fax and the
 * network tones), the most a call's analysis does; over as many frames as the same file's
 * `answer` run (the far-end question's span; after it only the network tones would run on).
 */
const MODES = ['answer', 'connect'] as const;

/** This thread's CPU time, ns (Linux: the scheduler's own count for the thread). */
function threadNs(): number {
  return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
}

function runInWorker(dir: string, passes: number): Result {
  const corpus = JSON.parse(readFileSync(join(dir, 'labels.json'), 'utf8')) as Corpus;
  const files = Object.entries(corpus.files).map(([file, label]) => {
    const buf = readFileSync(join(dir, file));
    const info = parseWav(buf);
    return { file, cls: label.class, pcm: pcm16leToInt16(buf.subarray(info.dataOffset, info.dataOffset + info.dataBytes)) };
  });
  const frame = new Int16Array(ANALYSIS_FRAME_SAMPLES);
  const byClass: Result['byClass'] = {};
  let refFrames = 0;
  let refNs = 0;
  for (let pass = 0; pass <= passes; pass++) {
    const counting = pass > 0; // pass 0 warms up (JIT, the VAD's WebAssembly)
    const span = new Map<string, number>();
    for (const mode of MODES) for (const { file, cls, pcm } of files) {
      const limit = mode === 'answer' ? 3000 : (span.get(file) as number);
      const a = createCallAnalyser(checkAnalysisOptions({ detect: 'machine', start: mode }));
      if (mode === 'answer') a.answered();
      let frames = 0;
      const t0 = threadNs();
      for (let at = 20; !a.done && frames < limit; at += 20) {
        const i = (at / 20 - 1) * ANALYSIS_FRAME_SAMPLES;
        frame.fill(0);
        if (i < pcm.length) frame.set(pcm.subarray(i, Math.min(pcm.length, i + ANALYSIS_FRAME_SAMPLES)));
        a.push(frame, at);
        frames++;
      }
      const ns = threadNs() - t0;
      a.stop();
      if (mode === 'answer') span.set(file, frames);
      if (!counting) continue;
      const c = ((byClass[mode] ??= {})[cls] ??= { frames: 0, ns: 0, calls: 0 });
      c.frames += frames;
      c.ns += ns;
      c.calls++;
      if (mode !== 'answer') continue;
      // Reference: decoding the same number of frames of this file from μ-law.
      const ulaw = encodeUlaw(pcm.subarray(0, Math.min(pcm.length, frames * ANALYSIS_FRAME_SAMPLES)));
      const r0 = threadNs();
      for (let i = 0; i + ANALYSIS_FRAME_SAMPLES <= ulaw.length; i += ANALYSIS_FRAME_SAMPLES) decodeUlaw(ulaw.subarray(i, i + ANALYSIS_FRAME_SAMPLES));
      refNs += threadNs() - r0;
      refFrames += Math.floor(ulaw.length / ANALYSIS_FRAME_SAMPLES);
    }
  }
  return { byClass, refFrames, refNs };
}

if (!isMainThread) {
  const { dir, passes } = workerData as { dir: string; passes: number };
  parentPort?.postMessage(runInWorker(dir, passes));
} else {
  const args = process.argv.slice(2);
  const passesAt = args.indexOf('--passes');
  const passes = passesAt >= 0 ? Number(args[passesAt + 1]) : 3;
  const dir = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--passes') ?? 'corpus';
  const load0 = loadavg()[0];
  const worker = new Worker(__filename, { workerData: { dir, passes } });
  worker.once('error', (err) => {
    console.error(err);
    process.exitCode = 1;
  });
  worker.once('message', (r: Result) => {
    const us = (ns: number, frames: number): string => (ns / 1000 / Math.max(1, frames)).toFixed(1);
    console.log(`call analysis in a worker thread over ${dir}/ (${passes} passes after one to warm up), Node ${process.version}, load ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)}`);
    console.log('| start | class | calls | µs per 20 ms frame | analysis runs, mean (s) |');
    console.log('|---|---|---|---|---|');
    for (const mode of MODES) {
      let frames = 0;
      let ns = 0;
      let calls = 0;
      for (const [cls, c] of Object.entries(r.byClass[mode])) {
        frames += c.frames;
        ns += c.ns;
        calls += c.calls;
        console.log(`| ${mode} | ${cls} | ${c.calls / passes} | ${us(c.ns, c.frames)} | ${((c.frames * 0.02) / c.calls).toFixed(1)} |`);
      }
      const perFrameUs = ns / 1000 / frames;
      console.log(`| ${mode} | all | ${calls / passes} | **${perFrameUs.toFixed(1)}** | ${((frames * 0.02) / calls).toFixed(1)} |`);
      // 500 calls all analysing at once, 50 frames a second each.
      console.log(`  start ${mode}: 500 calls analysing at once = 500 × 50 frames/s × ${perFrameUs.toFixed(1)} µs = ${((500 * 50 * perFrameUs) / 1e4).toFixed(1)} % of one core`);
    }
    console.log(`reference, same thread: G.711 μ-law decoding ${us(r.refNs, r.refFrames)} µs per frame`);
  });
}
