/**
 * Memory of playing WAV files: `node dist/bench/play-memory.js` after `npm run build` (each
 * measurement runs in a process of its own, with --expose-gc).
 *
 * 1. A 300 MB `.wav` (sparse: 300 MB to read, nothing on disk) is offered to voice-play's file path
 *    (lib/line/line-audio.ts `openSource`, the default 50 MB limit): refused from its size. Beside it,
 *    what reading it whole (fs.readFile, as voice-play did before) costs.
 * 2. A 10-minute 16 kHz stereo WAV (38.4 MB, the largest that plays) is played from start to end as
 *    fast as it can be taken (no real-time pacing: the worst case for the read-ahead), and the peak
 *    RSS growth and the most file bytes read ahead of what was taken are reported. Beside it, reading
 *    and decoding it whole (lib/media/wav-reader.ts decodeWav).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSource } from '../lib/line/line-audio';
import { int16ToPcm16le } from '../lib/media/g711';
import { interleave } from '../lib/media/pcm-convert';
import { DEFAULT_MAX_WAV_BYTES, WavFileSource } from '../lib/media/wav-file-source';
import { wavHeader } from '../lib/media/wav-header';
import { decodeWav } from '../lib/media/wav-reader';

const MiB = 1024 * 1024;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

function rss(): number {
  gc();
  return process.memoryUsage().rss / MiB;
}

function tenMinutes16kStereo(file: string): void {
  const fd = fs.openSync(file, 'w');
  const seconds = 600;
  fs.writeSync(fd, wavHeader(16000, 2, seconds * 16000 * 4));
  const left = new Int16Array(16000);
  const right = new Int16Array(16000);
  for (let i = 0; i < 16000; i++) {
    left[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16000));
    right[i] = Math.round(8000 * Math.sin((2 * Math.PI * 700 * i) / 16000));
  }
  const second = int16ToPcm16le(interleave(left, right));
  for (let s = 0; s < seconds; s++) fs.writeSync(fd, second);
  fs.closeSync(fd);
}

type Part = 'refuse-big' | 'read-big-whole' | 'stream-long' | 'decode-long-whole';

/** One measurement, alone in its process (RSS does not shrink back after a big allocation). */
async function part(which: Part, file: string): Promise<void> {
  const before = rss();
  let peak = before;
  let note = '';
  if (which === 'refuse-big') {
    note = await openSource(file, { maxBytes: DEFAULT_MAX_WAV_BYTES }).then(
      () => 'played (unexpected)',
      (e: Error & { code?: string }) => `${e.code}: ${e.message}`,
    );
  } else if (which === 'read-big-whole' || which === 'decode-long-whole') {
    const bytes = await fs.promises.readFile(file);
    if (which === 'decode-long-whole') note = `${decodeWav(bytes).length} samples`;
  } else {
    let aheadMax = 0;
    const source = (await openSource(file, { maxBytes: DEFAULT_MAX_WAV_BYTES })) as WavFileSource;
    const started = Date.now();
    while (source.position < source.length) {
      const got = source.take(160);
      aheadMax = Math.max(aheadMax, source.bytesRead - source.position * 8); // 16 kHz stereo: 8 file bytes per 8 kHz sample
      if (got.length === 0) await new Promise((r) => setImmediate(r));
      if (source.position % 8000 === 0) peak = Math.max(peak, process.memoryUsage().rss / MiB);
    }
    source.close();
    note = `${source.length} samples in ${Date.now() - started} ms, at most ${(aheadMax / 1024).toFixed(0)} KiB of the file read ahead`;
  }
  peak = Math.max(peak, process.memoryUsage().rss / MiB);
  console.log(`${which}: RSS ${before.toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB (+${(peak - before).toFixed(1)})${note ? `; ${note}` : ''}`);
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'play-memory-'));
  try {
    const big = path.join(dir, 'big.wav');
    fs.writeFileSync(big, wavHeader(8000, 1, 0xfffff000));
    fs.truncateSync(big, 300 * MiB);
    const long = path.join(dir, 'long.wav');
    tenMinutes16kStereo(long);
    console.log(`files: ${big} 300 MB (sparse), ${long} ${(fs.statSync(long).size / MiB).toFixed(1)} MB (10 min, 16 kHz stereo)`);
    for (const [which, file] of [
      ['refuse-big', big],
      ['read-big-whole', big],
      ['stream-long', long],
      ['decode-long-whole', long],
    ] as [Part, string][]) {
      execFileSync(process.execPath, ['--expose-gc', __filename, which, file], { stdio: 'inherit' });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] && process.argv[3]) void part(process.argv[2] as Part, process.argv[3]);
else void main();
