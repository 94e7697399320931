import assert from 'node:assert/strict';
import { alaw, mulaw } from 'alawmulaw';
import fc from 'fast-check';
import {
  PT_PCMA,
  PT_PCMU,
  decodeAlaw,
  decodeG711,
  decodeUlaw,
  encodeAlaw,
  encodeG711,
  encodeUlaw,
  int16ToPcm16le,
  lawOfPayloadType,
  pcm16leToInt16,
} from '../../lib/media/g711';

/** Every 16-bit value once. */
const ALL_SAMPLES = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);
const ALL_CODES = Uint8Array.from({ length: 256 }, (_, i) => i);

describe('G.711', () => {
  it('encodes every sample exactly as alawmulaw does', () => {
    assert.deepEqual([...encodeUlaw(ALL_SAMPLES)], [...mulaw.encode(ALL_SAMPLES)]);
    assert.deepEqual([...encodeAlaw(ALL_SAMPLES)], [...alaw.encode(ALL_SAMPLES)]);
  });

  it('decodes every code exactly as alawmulaw does', () => {
    assert.deepEqual([...decodeUlaw(ALL_CODES)], [...mulaw.decode(ALL_CODES)]);
    assert.deepEqual([...decodeAlaw(ALL_CODES)], [...alaw.decode(ALL_CODES)]);
  });

  it('knows the silence codes and full scale (0xFF µ-law, 0xD5 A-law)', () => {
    assert.deepEqual([...encodeUlaw(new Int16Array([0]))], [0xff]);
    assert.deepEqual([...encodeAlaw(new Int16Array([0]))], [0xd5]);
    assert.ok(decodeUlaw(Buffer.from([0x80]))[0] > 32000);
    assert.ok(decodeAlaw(Buffer.from([0xaa]))[0] > 32000);
  });

  it('round-trips within the companding error (about 1/16 of the value)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -32768, max: 32767 }), (x) => {
        for (const [enc, dec] of [
          [encodeUlaw, decodeUlaw],
          [encodeAlaw, decodeAlaw],
        ] as const) {
          const y = dec(enc(new Int16Array([x])))[0];
          assert.ok(Math.abs(y - x) <= Math.max(16, Math.abs(x) / 16 + 8), `${x} → ${y}`);
        }
      }),
    );
  });

  it('decodes from a view with an odd byteOffset without reading the bytes around it', () => {
    const big = Buffer.from([0x00, 0xff, 0x80, 0x00, 0x7f]);
    const view = big.subarray(1, 3);
    assert.deepEqual([...decodeUlaw(view)], [...mulaw.decode(new Uint8Array([0xff, 0x80]))]);
  });

  it('decodes into a given array of the same length, and into a new one otherwise', () => {
    const bytes = encodeUlaw(Int16Array.from([1000, -1000, 30000]));
    const into = new Int16Array(3);
    assert.equal(decodeG711(PT_PCMU, bytes, into), into, 'the given array, filled');
    assert.deepEqual([...into], [...decodeUlaw(bytes)]);
    const other = new Int16Array(4);
    const out = decodeG711(PT_PCMU, bytes, other);
    assert.notEqual(out, other);
    assert.deepEqual([...out], [...decodeUlaw(bytes)]);
    assert.deepEqual([...other], [0, 0, 0, 0], 'an array of another length is left alone');
  });

  it('picks the law from the RTP payload type', () => {
    const pcm = Int16Array.from([1000, -1000, 30000]);
    assert.deepEqual(encodeG711(PT_PCMU, pcm), encodeUlaw(pcm));
    assert.deepEqual(encodeG711(PT_PCMA, pcm), encodeAlaw(pcm));
    assert.deepEqual(decodeG711(PT_PCMA, encodeAlaw(pcm)), decodeAlaw(encodeAlaw(pcm)));
    assert.equal(lawOfPayloadType(0), 'ulaw');
    assert.throws(() => lawOfPayloadType(18), /"payloadType" must be 0 \(PCMU\) or 8 \(PCMA\), got 18/);
  });

  describe('16-bit little-endian PCM', () => {
    it('reads little-endian samples from a Buffer at an odd byteOffset', () => {
      const bytes = Buffer.from([0xaa, 0x34, 0x12, 0xff, 0xff, 0x00, 0x80, 0xbb]);
      const view = bytes.subarray(1, 7);
      assert.equal(view.byteOffset % 2, 1);
      assert.deepEqual([...pcm16leToInt16(view)], [0x1234, -1, -32768]);
    });

    it('copies: the result does not alias the (possibly pooled) input', () => {
      const bytes = Buffer.from([1, 0, 2, 0]);
      const samples = pcm16leToInt16(bytes);
      bytes[0] = 9;
      assert.equal(samples[0], 1);
      assert.notEqual(samples.buffer, bytes.buffer);
    });

    it('ignores an odd last byte', () => {
      assert.deepEqual([...pcm16leToInt16(Buffer.from([1, 0, 7]))], [1]);
      assert.equal(pcm16leToInt16(Buffer.alloc(0)).length, 0);
    });

    it('writes samples of an Int16Array view with a byteOffset, and copies them', () => {
      const all = Int16Array.from([7, 0x1234, -2, 9]);
      const view = all.subarray(1, 3);
      const bytes = int16ToPcm16le(view);
      assert.deepEqual([...bytes], [0x34, 0x12, 0xfe, 0xff]);
      all[1] = 0;
      assert.equal(bytes.readInt16LE(0), 0x1234);
    });

    it('round-trips any samples, at any byteOffset', () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: -32768, max: 32767 })), fc.nat(5), (values, pad) => {
          const samples = Int16Array.from(values);
          const padded = Buffer.concat([Buffer.alloc(pad), int16ToPcm16le(samples)]).subarray(pad);
          assert.deepEqual([...pcm16leToInt16(padded)], values);
        }),
      );
    });
  });
});
