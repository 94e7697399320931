/**
 * Micro-benchmarks of the media library: `node dist/bench/media.js` after `npm run build`.
 *
 * Prints ns per operation and operations per second for the hot paths of a SIP call's media
 * (G.711 frames, RTP packets, SRTP protect/unprotect, the reorder buffer), the in-band DTMF detector per second of audio,
 * and the streaming WAV writer's throughput. One process, one core; figures vary with the machine.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeAlaw, decodeUlaw, encodeAlaw, encodeUlaw } from '../lib/media/g711';
import { GoertzelDtmfDetector } from '../lib/media/goertzel-dtmf';
import { JitterBuffer } from '../lib/media/jitter-buffer';
import { parseRtp, serializeRtp } from '../lib/media/rtp-packet';
import { dtmfSequence, whiteNoise } from '../lib/media/tone-generator';
import { WavWriter } from '../lib/media/wav-writer';
import { SrtpContext } from '../lib/sip/srtp';

interface Row {
  name: string;
  nsPerOp: number;
  unit: string;
}

const rows: Row[] = [];

/** Runs `fn` for about `ms` after a warm-up, and records ns per call. */
function measure(name: string, unit: string, fn: () => void, ms = 500): void {
  const warmUntil = performance.now() + 100;
  while (performance.now() < warmUntil) fn();
  let n = 0;
  const start = process.hrtime.bigint();
  const until = performance.now() + ms;
  while (performance.now() < until) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
  }
  rows.push({ name, nsPerOp: Number(process.hrtime.bigint() - start) / n, unit });
}

function g711(): void {
  const frame = whiteNoise(20, -12, 3); // 160 samples, one 20 ms packet
  let sink = 0;
  measure('G.711 µ-law encode + decode, 20 ms frame', 'frame', () => {
    sink += decodeUlaw(encodeUlaw(frame))[5];
  });
  measure('G.711 A-law encode + decode, 20 ms frame', 'frame', () => {
    sink += decodeAlaw(encodeAlaw(frame))[5];
  });
  if (sink === 0.5) console.log(sink);
}

function rtp(): void {
  const payload = encodeUlaw(whiteNoise(20, -12, 4));
  let seq = 0;
  let sink = 0;
  measure('RTP serialize + parse, 172-byte G.711 packet', 'packet', () => {
    const bytes = serializeRtp({ payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc: 0x1234, payload });
    seq = (seq + 1) & 0xffff;
    sink += parseRtp(bytes)?.sequenceNumber ?? 0;
  });
  const jb = new JitterBuffer<number>();
  let s = 0;
  measure('Reorder buffer push (in order, 1 in 50 swapped)', 'packet', () => {
    const n = s % 50 === 0 ? s + 1 : s % 50 === 1 ? s - 1 : s;
    sink += jb.push(n & 0xffff, n).length;
    s++;
  });
  if (sink === 0.5) console.log(sink);
}

/** What SRTP adds per packet (docs/sip-srtp.md): both ends of one direction, a new sequence number each time. */
function srtp(): void {
  const payload = encodeUlaw(whiteNoise(20, -12, 5));
  let sink = 0;
  for (const suite of ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as const) {
    const key = Buffer.alloc(30, 7);
    const tx = new SrtpContext(suite, key);
    const rx = new SrtpContext(suite, key);
    let seq = 0;
    measure(`SRTP ${suite.slice(-2)}-bit tag: protect + unprotect, 172 bytes`, 'packet', () => {
      const bytes = serializeRtp({ payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc: 0x1234, payload });
      seq = (seq + 1) & 0xffff;
      const out = rx.unprotectRtp(tx.protectRtp(bytes));
      sink += typeof out === 'string' ? 1 : out.length;
    });
  }
  if (sink === 0.5) console.log(sink);
}

function goertzel(): void {
  const second = whiteNoise(1000, -20, 5);
  const detector = new GoertzelDtmfDetector();
  measure('Goertzel DTMF detector, 1 s of noise', 's of audio', () => detector.push(second), 1000);
  const keys = dtmfSequence('123456789*0#', 60, 23); // 1 s of keys
  const d2 = new GoertzelDtmfDetector();
  let digits = 0;
  d2.on('digit', () => digits++);
  measure('Goertzel DTMF detector, 1 s of keys (12 digits)', 's of audio', () => d2.push(keys), 1000);
  if (digits === 0) throw new Error('the detector found no digits in the benchmark');
}

async function wav(): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-wav-'));
  try {
    const frame = whiteNoise(20, -12, 6);
    const frames = 50 * 600; // 10 minutes of 8 kHz mono audio, 9.6 MB
    const start = process.hrtime.bigint();
    const w = await WavWriter.open(path.join(dir, 'bench.wav'));
    for (let i = 0; i < frames; i++) w.write(frame);
    const done = await w.close();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    rows.push({ name: 'WAV writer, 20 ms frames, open → close', nsPerOp: (seconds * 1e9) / frames, unit: 'frame' });
    return done.bytes / 1e6 / seconds;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  g711();
  rtp();
  srtp();
  goertzel();
  const mbPerSecond = await wav();
  console.log(`media benchmarks, Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'}`);
  for (const r of rows) {
    const perSecond = 1e9 / r.nsPerOp;
    const rate = perSecond >= 1000 ? `${Math.round(perSecond).toLocaleString('en-US')} ${r.unit}s/s` : `${perSecond.toFixed(1)} ${r.unit}/s`;
    console.log(`${r.name.padEnd(52)} ${r.nsPerOp.toFixed(0).padStart(10)} ns/${r.unit.padEnd(10)} ${rate}`);
  }
  console.log(`${'WAV writer throughput'.padEnd(52)} ${mbPerSecond.toFixed(1).padStart(10)} MB/s`);
  const goertzelRow = rows.find((r) => r.name.startsWith('Goertzel DTMF detector, 1 s of noise'));
  if (goertzelRow) {
    console.log(`${'Goertzel: streams one core can watch in real time'.padEnd(52)} ${Math.floor(1e9 / goertzelRow.nsPerOp).toString().padStart(10)}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
