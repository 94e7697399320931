/**
 * What `kill -9` during a recording leaves behind: `node dist/bench/record-crash.js [runs]` after
 * `npm run build` (default 10 runs).
 *
 * Each run starts a child process with two SIP lines on 127.0.0.1 (test/helpers/sip-audio-pair.ts),
 * a call between them, line A playing a tone into it and line B recording it to a WAV file (the real
 * path: lib/line/line-audio.ts → lib/sip/sip-recording.ts → lib/media/wav-writer.ts). Once the child
 * says the recording runs, the parent waits a random 1–5 s and sends SIGKILL. It then checks the file:
 * a valid WAV (its header parses and its data size matches the bytes on disk), and how much of the
 * recorded time is missing: (kill time − recording start) − the audio on disk. That includes the
 * receive path's own delay (the jitter buffer's playout), so it is an upper bound of what the crash lost.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseWav } from '../lib/media/wav-reader';

async function child(file: string): Promise<void> {
  const { connect, startPair } = await import('../test/helpers/sip-audio-pair');
  const pair = await startPair();
  const { callA, callB } = await connect(pair);
  void pair.a.audio.play(callA.id, { source: 'ringback:60000' });
  await pair.b.audio.record(callB.id, { mode: 'file', path: file });
  process.stdout.write(`recording ${Date.now()}\n`);
  setInterval(() => undefined, 1000); // stays up until killed
}

interface Run {
  valid: boolean;
  headerMatches: boolean;
  recordedMs: number;
  onDiskMs: number;
  missingMs: number;
}

function once(dir: string, n: number): Promise<Run> {
  const file = path.join(dir, `crash-${n}.wav`);
  const proc = spawn(process.execPath, [__filename, '--child', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /recording (\d+)/.exec(out);
      if (!m || proc.killed) return;
      const startedAt = Number(m[1]);
      setTimeout(() => {
        const killedAt = Date.now();
        proc.kill('SIGKILL');
        proc.once('exit', () => {
          const bytes = fs.readFileSync(file);
          let valid = true;
          let headerMatches = false;
          let onDiskMs = 0;
          try {
            const info = parseWav(bytes);
            headerMatches = !info.truncated && info.dataOffset + info.dataBytes === bytes.length;
            onDiskMs = (info.dataBytes / 2 / 8000) * 1000;
          } catch {
            valid = false;
          }
          const recordedMs = killedAt - startedAt;
          resolve({ valid, headerMatches, recordedMs, onDiskMs, missingMs: recordedMs - onDiskMs });
        });
      }, 1000 + Math.random() * 4000);
    });
    proc.once('error', reject);
  });
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 10);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'record-crash-'));
  const results: Run[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const r = await once(dir, i);
      results.push(r);
      console.log(
        `run ${i + 1}: ${r.valid ? 'valid WAV' : 'NOT A VALID WAV'}${r.headerMatches ? '' : ' (header behind the data)'}, recorded ${r.recordedMs} ms, on disk ${r.onDiskMs.toFixed(0)} ms, missing ${r.missingMs.toFixed(0)} ms`,
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const missing = results.map((r) => r.missingMs).sort((a, b) => a - b);
  console.log(
    `\n${results.filter((r) => r.valid).length}/${runs} valid WAVs, ${results.filter((r) => r.headerMatches).length}/${runs} with the header matching the data; ` +
      `missing: median ${missing[missing.length >> 1].toFixed(0)} ms, max ${missing[missing.length - 1].toFixed(0)} ms`,
  );
}

if (process.argv[2] === '--child') void child(process.argv[3]);
else void main();
