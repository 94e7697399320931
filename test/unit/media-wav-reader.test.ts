import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { encodeAlaw, encodeUlaw, int16ToPcm16le } from '../../lib/media/g711';
import { interleave } from '../../lib/media/pcm-convert';
import { beep, tones } from '../../lib/media/tone-generator';
import { WavFormatError } from '../../lib/media/wav-format-error';
import { decodeWav, parseWav, readWavFile } from '../../lib/media/wav-reader';

interface Fmt {
  tag?: number;
  channels?: number;
  rate?: number;
  bits?: number;
  extensible?: number;
}

function chunk(id: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.write(id, 0, 'latin1');
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body, body.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
}

function fmtChunk({ tag = 1, channels = 1, rate = 8000, bits = 16, extensible }: Fmt): Buffer {
  const body = Buffer.alloc(extensible === undefined ? 16 : 40);
  body.writeUInt16LE(extensible === undefined ? tag : 0xfffe, 0);
  body.writeUInt16LE(channels, 2);
  body.writeUInt32LE(rate, 4);
  body.writeUInt32LE((rate * channels * bits) / 8, 8);
  body.writeUInt16LE((channels * bits) / 8, 12);
  body.writeUInt16LE(bits, 14);
  if (extensible !== undefined) {
    body.writeUInt16LE(22, 16);
    body.writeUInt16LE(extensible, 24);
  }
  return chunk('fmt ', body);
}

/** A WAV file from chunks, in the order given. */
function wav(...chunks: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from('WAVE'), ...chunks]);
  const head = Buffer.alloc(8);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}

/** The level, dB relative to full-scale sine, of a signal. */
function rmsDb(x: Int16Array): number {
  const ms = x.reduce((s, v) => s + v * v, 0) / x.length;
  return 10 * Math.log10(ms / (32767 * 32767 * 0.5));
}

describe('WAV reader', () => {
  const tone = beep(200, 1000, -6);

  it('reads 8 kHz 16-bit mono PCM', () => {
    assert.deepEqual(decodeWav(wav(fmtChunk({}), chunk('data', int16ToPcm16le(tone)))), tone);
  });

  it('finds the chunks in any order and skips unknown ones (LIST, fact, odd sizes)', () => {
    const list = chunk('LIST', Buffer.from('INFOISFT\x05\x00\x00\x00Lavf\x00', 'latin1'));
    const odd = chunk('junk', Buffer.from([1, 2, 3]));
    const fact = chunk('fact', Buffer.from([0x40, 0x06, 0, 0]));
    const file = wav(list, odd, fmtChunk({}), fact, chunk('data', int16ToPcm16le(tone)), chunk('id3 ', Buffer.alloc(10)));
    assert.deepEqual(decodeWav(file), tone);
    const dataFirst = wav(chunk('data', int16ToPcm16le(tone)), fmtChunk({}));
    assert.deepEqual(decodeWav(dataFirst), tone);
  });

  it('reads A-law (format 6) and µ-law (format 7), plain and WAVE_FORMAT_EXTENSIBLE', () => {
    const a = decodeWav(wav(fmtChunk({ tag: 6, bits: 8 }), chunk('data', encodeAlaw(tone))));
    const u = decodeWav(wav(fmtChunk({ extensible: 7, bits: 8 }), chunk('data', encodeUlaw(tone))));
    for (const decoded of [a, u]) {
      assert.equal(decoded.length, tone.length);
      assert.ok(Math.abs(rmsDb(decoded) - rmsDb(tone)) < 0.2);
    }
    assert.deepEqual(decodeWav(wav(fmtChunk({ extensible: 1 }), chunk('data', int16ToPcm16le(tone)))), tone);
  });

  it('mixes stereo down to mono', () => {
    const left = Int16Array.from([100, 200, -300]);
    const right = Int16Array.from([300, -200, -301]);
    const file = wav(fmtChunk({ channels: 2 }), chunk('data', int16ToPcm16le(interleave(left, right))));
    assert.deepEqual([...decodeWav(file)], [200, 0, -301]);
  });

  it('turns 16 kHz into 8 kHz: a 1 kHz tone keeps its level, 5 kHz (which would alias to 3 kHz) is removed', () => {
    const at16k = (hz: number): Int16Array => {
      const x = new Int16Array(3200);
      for (let i = 0; i < x.length; i++) x[i] = Math.round(16000 * Math.sin((2 * Math.PI * hz * i) / 16000));
      return x;
    };
    const pass = decodeWav(wav(fmtChunk({ rate: 16000 }), chunk('data', int16ToPcm16le(at16k(1000)))));
    const stop = decodeWav(wav(fmtChunk({ rate: 16000, channels: 1 }), chunk('data', int16ToPcm16le(at16k(5000)))));
    assert.equal(pass.length, 1600);
    const middle = (x: Int16Array): Int16Array => x.subarray(100, x.length - 100);
    assert.ok(Math.abs(rmsDb(middle(pass)) - rmsDb(at16k(1000))) < 0.5, `1 kHz: ${rmsDb(middle(pass))}`);
    assert.ok(rmsDb(middle(stop)) < rmsDb(at16k(5000)) - 40, `5 kHz: ${rmsDb(middle(stop))} dB`);
    // and the 1 kHz tone is still 1 kHz at 8 kHz: compare with a generated one
    const ref = tones([{ hz: 1000, levelDbfs: 20 * Math.log10(16000 / 32767) }], 200);
    let corr = 0;
    for (let i = 100; i < 1500; i++) corr += pass[i] * ref[i];
    assert.ok(corr > 0);
  });

  it('reads a file cut short (a crashed recording by another program): what is there', () => {
    const full = wav(fmtChunk({}), chunk('data', int16ToPcm16le(tone)));
    const info = parseWav(full.subarray(0, 44 + 101));
    assert.equal(info.truncated, true);
    assert.equal(info.dataBytes, 100);
  });

  it('explains in words what it cannot play', () => {
    const cases: Array<[Buffer, RegExp]> = [
      [Buffer.from('ID3\x04'), /not a WAV file: it is too short/],
      [Buffer.from('OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00'), /not a WAV file: it does not start with RIFF/],
      [wav(fmtChunk({ rate: 44100, bits: 24 }), chunk('data', Buffer.alloc(6))), /^only 16-bit PCM or G\.711 WAV at 8 or 16 kHz is supported, this file is 44100 Hz 24-bit$/],
      [wav(fmtChunk({ tag: 3, rate: 8000, bits: 32 }), chunk('data', Buffer.alloc(8))), /this file is 8000 Hz 32-bit float/],
      [wav(fmtChunk({ tag: 6, rate: 8000, bits: 16 }), chunk('data', Buffer.alloc(8))), /this file is 8000 Hz 16-bit A-law/],
      [wav(fmtChunk({ tag: 0x55, rate: 8000, bits: 0 }), chunk('data', Buffer.alloc(8))), /\(format 85\)/],
      [wav(fmtChunk({ channels: 6 }), chunk('data', Buffer.alloc(12))), /only mono or stereo WAV is supported, this file has 6 channels/],
      [wav(chunk('data', Buffer.alloc(4))), /no "fmt " chunk/],
      [wav(fmtChunk({})), /no audio \(no "data" chunk\)/],
      [wav(chunk('fmt ', Buffer.alloc(8)), chunk('data', Buffer.alloc(2))), /damaged "fmt " chunk/],
      [Buffer.from('RF64\xff\xff\xff\xffWAVE', 'latin1'), /RF64/],
    ];
    for (const [bytes, message] of cases) {
      assert.throws(() => decodeWav(bytes), (err: unknown) => {
        assert.ok(err instanceof WavFormatError, String(err));
        assert.equal(err.code, 'EWAVFORMAT');
        assert.match(err.message, message);
        return true;
      });
    }
  });

  it('throws only WavFormatError on random bytes, even after a valid RIFF header', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (a, riff) => {
        const bytes = riff ? Buffer.concat([Buffer.from('RIFF\x00\x00\x00\x00WAVE', 'latin1'), Buffer.from(a)]) : Buffer.from(a);
        try {
          decodeWav(bytes);
        } catch (err) {
          assert.ok(err instanceof WavFormatError, String(err));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('reads a file from disk', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'media-wavr-'));
    try {
      const file = path.join(dir, 't.wav');
      fs.writeFileSync(file, wav(fmtChunk({}), chunk('data', int16ToPcm16le(tone))));
      assert.deepEqual(await readWavFile(file), tone);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
