/**
 * What a call recording costs, alone (no RTP, no SIP, no flow): `npm run build && node --expose-gc
 * dist/bench/recorder.js [--calls 500] [--seconds 20] [--only name,name] [--flush-ms 500]`,
 * or `--fs-api` (what one file write costs through FileHandle.write and fs.write).
 *
 * `--calls` recordings (lib/media/call-recorder.ts) run side by side, as a media worker would host
 * them: each tick of the (simulated) media clock, every recording gets one received frame and one
 * sent frame; then the event loop turns (so the file writes go on as they would). Time is compressed:
 * the ticks follow each other as fast as the process can, so `--seconds` of calls take less. For each
 * variant it prints:
 *
 * - CPU per call-second: the process's CPU time (every thread: the per-tick work, the fs calls and
 *   libuv's threads that do them; `process.cpuUsage()`), divided by calls × seconds recorded;
 *   and what share of a core 1 call is (the same figure / 10⁶ × 100);
 * - of which the main thread's (the per-tick work and the fs calls' JavaScript side: what a media
 *   worker's event loop pays; the rest is libuv's threads doing the writes), from /proc (Linux);
 * - fs calls per call-second (writes of samples and headers);
 * - memory per recording in its steady state (heap + ArrayBuffers, after a GC, with the
 *   recordings' phases spread so their write buffers are as full as on average).
 *
 * The reference row (`mix only`) does the same frames through the same playout and mixing with no
 * file and no stream: what recording adds is the difference. Run it on a quiet machine and note
 * `uptime` beside the figures (docs/benchmarks.md).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import type { AudioChunk } from '../lib/media/audio-chunker';
import { legFrame, LegLayout } from '../lib/media/call-legs';
import { CallRecorder, RecorderResult, RecorderSink, RecorderSpec } from '../lib/media/call-recorder';
import { RxPlayout } from '../lib/media/rx-playout';
import { whiteNoise } from '../lib/media/tone-generator';

interface Variant {
  name: string;
  /** What is recorded (`file`: a WAV in the run's folder). */
  spec: Omit<RecorderSpec, 'file'> & { file: boolean };
  reference?: boolean;
}

const VARIANTS: Variant[] = [
  { name: 'mix only (reference)', spec: { direction: 'both', channels: 1, file: false }, reference: true },
  { name: 'both mixed → WAV', spec: { direction: 'both', channels: 1, file: true } },
  { name: 'both stereo → WAV', spec: { direction: 'both', channels: 2, file: true } },
  { name: 'both mixed → WAV + 100 ms stream', spec: { direction: 'both', channels: 1, file: true, streamChunkMs: 100 } },
  { name: 'rx → WAV', spec: { direction: 'rx', channels: 1, file: true } },
];

interface Ticked {
  pushRx(samples: Int16Array): void;
  tick(tx: Int16Array): void;
}

/** The reference: the same playout and legs as a recording (into buffers it keeps, as CallRecorder does), the frame dropped. */
class MixOnly implements Ticked {
  private readonly playout = new RxPlayout();
  private readonly rx = new Int16Array(160);
  private readonly out: Int16Array;
  private sum = 0;
  constructor(private readonly layout: LegLayout) {
    this.out = new Int16Array(160 * layout.channels);
  }
  pushRx(samples: Int16Array): void {
    this.playout.push(samples);
  }
  tick(tx: Int16Array): void {
    this.sum += legFrame(this.layout, this.playout.take(this.rx), tx, this.out)[7];
  }
}

const NULL_SINK: RecorderSink = {
  chunk(_c: AudioChunk): void {},
  end(_r: RecorderResult): void {},
};

interface Row {
  name: string;
  cpuUsPerCallSecond: number;
  mainUsPerCallSecond: number;
  fsCallsPerCallSecond: number;
  heapKiB: number;
  wallMs: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

/** CPU time of this process's main thread, µs (Linux: /proc/self/task/<pid>/stat utime + stime; NaN elsewhere). */
function mainThreadCpuUs(): number {
  try {
    const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat (utime, stime), in clock ticks (USER_HZ, 100 on Linux).
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
  } catch {
    return NaN;
  }
}

const gc = (globalThis as { gc?: () => void }).gc;

function memory(): number {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Counts the file writes (samples and headers) the recordings make: `fs.write` and `FileHandle.write`. */
async function countFileWrites(dir: string): Promise<{ count: () => number }> {
  let n = 0;
  const probe = await fs.promises.open(path.join(dir, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { write: (...a: unknown[]) => Promise<unknown> };
  await probe.close();
  const handleWrite = proto.write;
  proto.write = function (this: unknown, ...a: unknown[]) {
    n++;
    return handleWrite.apply(this, a);
  };
  const fsWrite = fs.write as (...a: unknown[]) => void;
  (fs as { write: unknown }).write = function (this: unknown, ...a: unknown[]) {
    n++;
    return fsWrite.apply(this, a);
  };
  return { count: () => n };
}

async function run(v: Variant, calls: number, seconds: number, dir: string, writes: { count: () => number }, flushMs?: number): Promise<Row> {
  const rx = Array.from({ length: 50 }, (_, i) => whiteNoise(20, -20, 100 + i));
  const tx = Array.from({ length: 50 }, (_, i) => whiteNoise(20, -20, 200 + i));
  const before = memory();
  const recs: Ticked[] = [];
  const recorders: CallRecorder[] = [];
  for (let c = 0; c < calls; c++) {
    if (v.reference) {
      recs.push(new MixOnly({ direction: v.spec.direction, channels: v.spec.channels }));
      continue;
    }
    const { file, ...rest } = v.spec;
    const rec = new CallRecorder({ ...rest, ...(file ? { file: path.join(dir, `${c}.wav`) } : {}) }, NULL_SINK, { flushMs });
    const err = await rec.open();
    if (err) throw new Error(err.message);
    recs.push(rec);
    recorders.push(rec);
  }
  // Spread the recordings' phases (call c is c % 25 ticks ahead), as calls that started at
  // different moments: their 500 ms write buffers are then filled on average, not all at once.
  for (let c = 0; c < calls; c++) {
    for (let k = 0; k < c % 25; k++) {
      recs[c].pushRx(rx[k]);
      recs[c].tick(tx[k]);
    }
  }
  await turn();
  const ticks = seconds * 50;
  const writes0 = writes.count();
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuUs();
  const wall0 = performance.now();
  let gcCpuUs = 0;
  let steady = before;
  for (let t = 0; t < ticks; t++) {
    const r = rx[t % 50];
    const x = tx[t % 50];
    for (const rec of recs) {
      rec.pushRx(r);
      rec.tick(x);
    }
    if (t === Math.min(ticks - 1, 60)) {
      const g0 = process.cpuUsage();
      steady = memory();
      const g = process.cpuUsage(g0);
      gcCpuUs += g.user + g.system;
    }
    await turn();
  }
  const results = await Promise.all(recorders.map((r) => r.finish('stop')));
  const cpu = process.cpuUsage(cpu0);
  const mainUs = mainThreadCpuUs() - main0;
  const wallMs = performance.now() - wall0;
  const failed = results.find((r) => r.error);
  if (failed) throw new Error(`a recording failed: ${failed.error?.message}`);
  const callSeconds = calls * seconds;
  return {
    name: v.name,
    cpuUsPerCallSecond: (cpu.user + cpu.system - gcCpuUs) / callSeconds,
    mainUsPerCallSecond: (mainUs - gcCpuUs) / callSeconds,
    fsCallsPerCallSecond: (writes.count() - writes0) / callSeconds,
    heapKiB: (steady - before) / 1024 / calls,
    wallMs,
  };
}

/**
 * `--fs-api`: what one positional write costs through `FileHandle.write` and through `fs.write` with a
 * callback (what WavWriter uses), 200 files, an 8 KB write then a 44-byte one at 0 per file and round,
 * as a recording's flush does. Per call: all the process's CPU, and the main thread's.
 */
async function fsApi(): Promise<void> {
  const files = 200;
  const rounds = 50;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-recorder-fs-'));
  const data = Buffer.alloc(8000, 1);
  const header = Buffer.alloc(44, 2);
  const measure = async (name: string, open: (f: string) => Promise<{ put(b: Buffer, pos: number): Promise<void>; close(): Promise<void> }>): Promise<void> => {
    const handles = await Promise.all(Array.from({ length: files }, (_, i) => open(path.join(dir, `${name}-${i}`))));
    const cpu0 = process.cpuUsage();
    const main0 = mainThreadCpuUs();
    for (let r = 0; r < rounds; r++) {
      await Promise.all(
        handles.map(async (h) => {
          await h.put(data, 44 + r * data.length);
          await h.put(header, 0);
        }),
      );
    }
    const cpu = process.cpuUsage(cpu0);
    const mainUs = mainThreadCpuUs() - main0;
    await Promise.all(handles.map((h) => h.close()));
    const calls = files * rounds * 2;
    console.log(`| ${name} | ${((cpu.user + cpu.system) / calls).toFixed(1)} | ${(mainUs / calls).toFixed(1)} |`);
  };
  console.log('| API | CPU µs per write | of which main thread |');
  console.log('|---|---|---|');
  try {
    for (let k = 0; k < 2; k++) {
      await measure('FileHandle.write', async (f) => {
        const h = await fs.promises.open(f, 'w');
        return { put: async (b, pos) => void (await h.write(b, 0, b.length, pos)), close: () => h.close() };
      });
      await measure('fs.write (callback)', async (f) => {
        const fd = fs.openSync(f, 'w');
        return {
          put: (b, pos) => new Promise<void>((resolve, reject) => fs.write(fd, b, 0, b.length, pos, (err) => (err ? reject(err) : resolve()))),
          close: async () => fs.closeSync(fd),
        };
      });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--fs-api')) return fsApi();
  const calls = Number(arg('calls', '500'));
  const seconds = Number(arg('seconds', '20'));
  const flushMs = process.argv.includes('--flush-ms') ? Number(arg('flush-ms', '500')) : undefined;
  const only = arg('only', '')
    .split(',')
    .filter(Boolean);
  if (!Number.isInteger(calls) || calls < 1 || !Number.isInteger(seconds) || seconds < 2) throw new Error('--calls ≥ 1 and --seconds ≥ 2, whole numbers');
  if (!gc) console.log('(run with node --expose-gc for the memory figures)');
  const rows: Row[] = [];
  const counting = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-recorder-'));
  const writes = await countFileWrites(counting);
  fs.rmSync(counting, { recursive: true, force: true });
  const variants = VARIANTS.filter((v) => only.length === 0 || only.some((o) => v.name.includes(o)));
  // A short run of each first, not counted: the code of every variant is compiled and warm, and the
  // process has the memory of `calls` recordings mapped, before any is measured (else the first
  // variant measured pays for both: up to a third more).
  for (const v of variants) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-recorder-'));
    await run(v, calls, 2, dir, writes, flushMs).finally(() => fs.rmSync(dir, { recursive: true, force: true }));
  }
  for (const v of variants) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-recorder-'));
    try {
      rows.push(await run(v, calls, seconds, dir, writes, flushMs));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const [load1] = os.loadavg();
  console.log(
    `recorder bench: ${calls} recordings × ${seconds} s (time compressed), WAV writes every ${flushMs ?? 500} ms, Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, ` +
      `${os.availableParallelism()} cores, load ${load1.toFixed(2)}`,
  );
  console.log('| variant | CPU µs per call-second | % of a core per call | of which main thread | fs calls per call-second | memory per recording: heap + buffers KiB | wall s |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${r.cpuUsPerCallSecond.toFixed(0)} | ${(r.cpuUsPerCallSecond / 1e4).toFixed(3)} | ${r.mainUsPerCallSecond.toFixed(0)} | ` +
        `${r.fsCallsPerCallSecond.toFixed(2)} | ${gc ? r.heapKiB.toFixed(1) : '—'} | ${(r.wallMs / 1000).toFixed(1)} |`,
    );
  }
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exitCode = 1;
});
