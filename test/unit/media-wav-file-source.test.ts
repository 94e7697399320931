import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileAccessError, InvalidInputError } from '../../lib/errors';
import { encodeAlaw, encodeUlaw, int16ToPcm16le } from '../../lib/media/g711';
import { decimate16kTo8k, Decimator16kTo8k, interleave } from '../../lib/media/pcm-convert';
import { beep } from '../../lib/media/tone-generator';
import { WavFileSource } from '../../lib/media/wav-file-source';
import { WavFormatError } from '../../lib/media/wav-format-error';
import { wavHeader } from '../../lib/media/wav-header';
import { decodeWav } from '../../lib/media/wav-reader';
import { drain } from '../helpers/pcm-sources';

const LIMITS = { maxBytes: 50 * 1024 * 1024, maxMs: 600_000 };

/** A WAV of any format: a canonical header with the format tag, rate, channels and bits given. */
function wav(data: Buffer, { tag = 1, rate = 8000, channels = 1, bits = 16 } = {}): Buffer {
  const h = wavHeader(rate, channels, data.length);
  h.writeUInt16LE(tag, 20);
  h.writeUInt32LE((rate * channels * bits) / 8, 28);
  h.writeUInt16LE((channels * bits) / 8, 32);
  h.writeUInt16LE(bits, 34);
  return Buffer.concat([h, data]);
}

/** Sine tones summed at 16 kHz, `ms` long (the tone generator makes 8 kHz only). */
function sines16k(hzs: number[], ms: number): Int16Array {
  const out = new Int16Array(ms * 16);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(hzs.reduce((a, hz) => a + 8000 * Math.sin((2 * Math.PI * hz * i) / 16000), 0));
  return out;
}

/** Counts the bytes every FileHandle.read asks for while `fn` runs (a spy on the real method). */
async function spyOnReads<T>(fn: (reads: { bytes: number; calls: number }) => Promise<T>): Promise<T> {
  const probe = await fs.promises.open(__filename, 'r');
  const proto = Object.getPrototypeOf(probe) as { read: (...args: unknown[]) => Promise<{ bytesRead: number }> };
  await probe.close();
  const original = proto.read;
  const reads = { bytes: 0, calls: 0 };
  proto.read = async function (this: unknown, ...args: unknown[]) {
    const r = await original.apply(this, args);
    reads.bytes += r.bytesRead;
    reads.calls++;
    return r;
  };
  try {
    return await fn(reads);
  } finally {
    proto.read = original;
  }
}

describe('media: a 16 kHz → 8 kHz decimator for audio in pieces', function () {
  it('gives the same samples as decimating the whole signal at once, whatever the pieces', function () {
    const signal = sines16k([440, 3900, 6000], 1000);
    const whole = decimate16kTo8k(signal);
    for (const piece of [1, 7, 23, 160, 4001]) {
      const d = new Decimator16kTo8k();
      const parts: Int16Array[] = [];
      for (let i = 0; i < signal.length; i += piece) parts.push(d.push(signal.subarray(i, i + piece)));
      parts.push(d.end());
      const joined = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        joined.set(p, at);
        at += p.length;
      }
      assert.deepEqual(joined, whole, `pieces of ${piece}`);
    }
  });
});

describe('media: a WAV file played as it is read', function () {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wav-source-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function file(name: string, data: Buffer): string {
    const p = path.join(dir, name);
    fs.writeFileSync(p, data);
    return p;
  }

  it('gives the same samples as decoding the whole file, for every format it plays', async function () {
    const tone = beep(3000);
    const right = beep(3000, 1000);
    const cases: [string, Buffer][] = [
      ['pcm8k.wav', wav(int16ToPcm16le(tone))],
      ['stereo16k.wav', wav(int16ToPcm16le(interleave(sines16k([440], 3000), sines16k([700, 5000], 3000))), { rate: 16000, channels: 2 })],
      ['alaw.wav', wav(encodeAlaw(tone), { tag: 6, bits: 8 })],
      ['ulaw.wav', wav(encodeUlaw(right), { tag: 7, bits: 8 })],
    ];
    for (const [name, bytes] of cases) {
      const source = await WavFileSource.open(file(name, bytes), LIMITS);
      assert.equal(source.length, decodeWav(bytes).length, name);
      assert.deepEqual(await drain(source, 333), decodeWav(bytes), name);
    }
  });

  it('never reads more than a few seconds ahead of what was taken (a spy on the file reads)', async function () {
    // 60 s of 8 kHz 16-bit: 960,000 bytes of audio.
    const bytes = wav(int16ToPcm16le(beep(60_000)));
    const p = file('long.wav', bytes);
    await spyOnReads(async (reads) => {
      const source = await WavFileSource.open(p, LIMITS);
      // Ahead: 2 s of samples buffered, plus one block (1 s) being read, plus the header read (64 KiB at most).
      const bound = (2 + 1) * 16000 + 64 * 1024;
      let worst = 0;
      while (source.position < source.length) {
        const got = source.take(160);
        worst = Math.max(worst, reads.bytes - source.position * 2);
        if (got.length === 0) await new Promise((r) => setTimeout(r, 1));
        else if (source.position % 8000 === 0) await new Promise((r) => setImmediate(r));
      }
      source.close();
      assert.ok(worst <= bound, `read ${worst} bytes ahead, bound ${bound}`);
      assert.ok(reads.bytes >= bytes.length - 44, `read it all: ${reads.bytes}`);
    });
  });

  it('refuses a file over the size limit before reading any of it', async function () {
    const p = file('big.wav', wav(int16ToPcm16le(beep(100))));
    fs.truncateSync(p, 300 * 1024 * 1024); // sparse: 300 MB on paper, nothing on disk
    await spyOnReads(async (reads) => {
      await assert.rejects(WavFileSource.open(p, LIMITS), (e: Error) => e instanceof FileAccessError && e.code === 'EFILE' && /300 MB, over the limit of 50 MB/.test(e.message));
      assert.equal(reads.bytes, 0);
    });
  });

  it('refuses audio longer than the limit from its header, reading the header only', async function () {
    const data = int16ToPcm16le(beep(2000));
    const p = file('long-header.wav', wav(data));
    await spyOnReads(async (reads) => {
      await assert.rejects(WavFileSource.open(p, { maxBytes: LIMITS.maxBytes, maxMs: 1000 }), (e: Error) => e instanceof InvalidInputError && /longer than/.test(e.message));
      assert.equal(reads.calls, 1);
    });
  });

  it('refuses what is not a regular file: a folder, a FIFO, a device', async function () {
    fs.mkdirSync(path.join(dir, 'folder.wav'));
    execFileSync('mkfifo', [path.join(dir, 'fifo.wav')]);
    fs.symlinkSync('/dev/zero', path.join(dir, 'zero.wav'));
    for (const [name, kind] of [
      ['folder.wav', 'a folder'],
      ['fifo.wav', 'a FIFO'],
      ['zero.wav', 'a device'],
    ]) {
      await assert.rejects(WavFileSource.open(path.join(dir, name), LIMITS), (e: Error) => e instanceof FileAccessError && e.message.includes(kind), name);
    }
  });

  it('refuses a file that is not a WAV it plays, from its header', async function () {
    await assert.rejects(WavFileSource.open(file('text.wav', Buffer.from('hello, world, this is text')), LIMITS), WavFormatError);
    await assert.rejects(WavFileSource.open(file('44k.wav', wav(Buffer.alloc(100), { rate: 44100 })), LIMITS), /44100 Hz/);
  });

  it('plays what there is of a file cut short (the header claims more)', async function () {
    const tone = beep(500);
    const full = wav(int16ToPcm16le(tone));
    const p = file('cut.wav', full.subarray(0, 44 + 2000));
    const source = await WavFileSource.open(p, LIMITS);
    assert.equal(source.length, 1000);
    assert.deepEqual(await drain(source), tone.subarray(0, 1000));
  });

  it('closes its file when closed before the end', async function () {
    const p = file('closed.wav', wav(int16ToPcm16le(beep(10_000))));
    const before = fs.readdirSync('/proc/self/fd').length;
    const source = await WavFileSource.open(p, LIMITS);
    assert.equal(fs.readdirSync('/proc/self/fd').length, before + 1);
    source.take(800);
    source.close();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(fs.readdirSync('/proc/self/fd').length, before);
    assert.equal(source.take(160).length, 0);
  });
});
