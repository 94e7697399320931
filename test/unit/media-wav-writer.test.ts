import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WAV_HEADER_SIZE } from '../../lib/media/wav-header';
import { decodeWav, parseWav } from '../../lib/media/wav-reader';
import { WavWriter } from '../../lib/media/wav-writer';
import { beep, concat } from '../../lib/media/tone-generator';

describe('WavWriter', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'media-wav-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes a valid 8 kHz mono WAV and reports path, bytes and duration on close', async () => {
    const file = path.join(dir, 'a.wav');
    const w = await WavWriter.open(file);
    const tone = beep(1000);
    for (let i = 0; i < tone.length; i += 160) w.write(tone.subarray(i, i + 160));
    const result = await w.close();
    assert.deepEqual(result, { path: file, bytes: WAV_HEADER_SIZE + 16000, durationMs: 1000 });
    const bytes = fs.readFileSync(file);
    assert.equal(bytes.length, result.bytes);
    assert.equal(bytes.readUInt32LE(4), bytes.length - 8, 'RIFF size');
    assert.deepEqual(parseWav(bytes), { encoding: 'pcm16', sampleRate: 8000, channels: 1, dataOffset: 44, dataBytes: 16000, truncated: false });
    assert.deepEqual(decodeWav(bytes), tone);
  });

  it('keeps every byte in order whatever mix of frames, odd Buffers and flush boundaries it is given', async () => {
    const file = path.join(dir, 'mixed.wav');
    // 30 ms: 480 bytes a write, so 320-byte frames straddle the writes; odd Buffers leave half a sample pending.
    const w = await WavWriter.open(file, { flushMs: 30 });
    const written: Buffer[] = [];
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 200; i++) {
      if (i % 5 === 4) {
        const b = Buffer.alloc(1 + (next() % 9));
        for (let j = 0; j < b.length; j++) b[j] = next() & 0xff;
        w.write(b);
        written.push(b);
      } else {
        const frame = new Int16Array(i % 3 === 0 ? 160 : 1 + (next() % 200)).map(() => (next() % 65536) - 32768);
        w.write(frame);
        written.push(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
      }
    }
    const all = Buffer.concat(written);
    const expected = all.subarray(0, all.length - (all.length % 2)); // a last half sample is not written
    const result = await w.close();
    assert.equal(result.bytes, WAV_HEADER_SIZE + expected.length);
    assert.deepEqual(fs.readFileSync(file).subarray(WAV_HEADER_SIZE), expected);
  });

  it('keeps every byte when each write has reached the file before the next (its buffer used again)', async () => {
    // A write's buffer becomes the next pending one once it is on disk: frames written after that
    // must not land in, or overwrite, what an earlier write carried.
    const file = path.join(dir, 'reused.wav');
    const w = await WavWriter.open(file, { flushMs: 20 }); // one 160-sample frame a write
    const frames = Array.from({ length: 12 }, (_, i) => new Int16Array(160).fill(i * 1000 - 6000));
    for (const f of frames) {
      w.write(f);
      await w.settled();
    }
    await w.close();
    assert.deepEqual(decodeWav(fs.readFileSync(file)), concat(frames));
  });

  it('keeps the header valid as the file grows: after 2.5 s, without closing, the file parses with ≥ 2 s', async () => {
    const file = path.join(dir, 'crash.wav');
    const w = await WavWriter.open(file);
    const tone = beep(2510);
    for (let i = 0; i < tone.length; i += 160) w.write(tone.subarray(i, i + 160));
    await w.settled(); // the writes already started have landed; nothing is forced out
    const onDisk = fs.readFileSync(file); // what a crash now would leave
    const info = parseWav(onDisk);
    assert.equal(info.truncated, false);
    assert.ok(info.dataBytes >= 2 * 16000, `header covers ${info.dataBytes} bytes`);
    assert.equal(onDisk.readUInt32LE(40), info.dataBytes);
    assert.equal(onDisk.readUInt32LE(4), 36 + info.dataBytes);
    assert.deepEqual(decodeWav(onDisk), tone.subarray(0, info.dataBytes / 2));
    const done = await w.close();
    assert.equal(done.durationMs, 2510);
  });

  it('patches the header at least once per second of audio, whatever flushMs', async () => {
    const file = path.join(dir, 'b.wav');
    const w = await WavWriter.open(file, { flushMs: 1000 });
    w.write(new Int16Array(7999));
    await w.settled();
    assert.equal(fs.readFileSync(file).readUInt32LE(40), 0, 'under a second: still pending');
    w.write(new Int16Array(1));
    await w.settled();
    assert.equal(fs.readFileSync(file).readUInt32LE(40), 16000);
    await w.flush();
    await w.close();
  });

  it('writes stereo (interleaved), 16 kHz, and 16-bit LE Buffers', async () => {
    const file = path.join(dir, 's.wav');
    const w = await WavWriter.open(file, { channels: 2, sampleRate: 16000 });
    w.write(Int16Array.from([1, -1, 2, -2]));
    const raw = Buffer.from([3, 0, 0xfd, 0xff]);
    w.write(raw);
    raw.fill(0); // the writer copied it
    const r = await w.close();
    assert.equal(r.bytes, 44 + 12);
    const bytes = fs.readFileSync(file);
    assert.equal(bytes.readUInt16LE(22), 2);
    assert.equal(bytes.readUInt32LE(24), 16000);
    assert.equal(bytes.readUInt32LE(28), 64000);
    assert.equal(bytes.readUInt16LE(32), 4);
    assert.deepEqual([...new Int16Array(bytes.buffer.slice(bytes.byteOffset + 44, bytes.byteOffset + 56))], [1, -1, 2, -2, 3, -3]);
  });

  it('drops a partial stereo frame at the end, ignores writes after close, and closes once', async () => {
    const file = path.join(dir, 'p.wav');
    const w = await WavWriter.open(file, { channels: 2 });
    w.write(Int16Array.from([1, 2, 3]));
    const first = w.close();
    w.write(Int16Array.from([4, 5]));
    assert.equal(w.close(), first);
    assert.equal((await first).bytes, 48);
  });

  it('rejects close() with the write error after the file became unwritable', async () => {
    const w = await WavWriter.open(path.join(dir, 'x.wav'), { flushMs: 20 });
    await (w as unknown as { file: fs.promises.FileHandle }).file.close(); // the disk goes away
    w.write(new Int16Array(160));
    await w.settled();
    assert.ok(w.error);
    await assert.rejects(w.close(), /EBADF|closed/);
  });

  it('fails to open in a missing folder, and validates its options', async () => {
    await assert.rejects(WavWriter.open(path.join(dir, 'no', 'such.wav')), /ENOENT/);
    await assert.rejects(WavWriter.open(path.join(dir, 'y.wav'), { channels: 3 as 1 }), /"channels" must be one of 1, 2/);
    await assert.rejects(WavWriter.open(path.join(dir, 'y.wav'), { flushMs: 2000 }), /"flushMs"/);
    await assert.rejects(WavWriter.open(''), /"path"/);
  });
});
