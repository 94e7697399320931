import { alaw, mulaw } from 'alawmulaw';
import os from 'node:os';
import { allocInt16 } from './int16-pool';

/**
 * G.711 (ITU-T) µ-law and A-law, and the conversions between 16-bit little-endian PCM bytes and
 * `Int16Array` samples that every audio path of the package goes through.
 *
 * The codec itself is `alawmulaw`'s. Because a call sends and receives 50 frames a second each way,
 * its per-sample functions are evaluated once into lookup tables (64 Ki entries to encode, 256 to
 * decode, built on first use) and the tables are used from then on: same bytes, several times faster.
 */

/** The static RTP payload type of G.711 µ-law (RFC 3551). */
export const PT_PCMU = 0;
/** The static RTP payload type of G.711 A-law (RFC 3551). */
export const PT_PCMA = 8;

export type G711Law = 'ulaw' | 'alaw';

interface Tables {
  /** Index: the sample + 32768. */
  encode: Uint8Array;
  /** Index: the code byte. */
  decode: Int16Array;
}

const tables: Partial<Record<G711Law, Tables>> = {};

function tablesFor(law: G711Law): Tables {
  const cached = tables[law];
  if (cached) return cached;
  const codec = law === 'ulaw' ? mulaw : alaw;
  const encode = new Uint8Array(65536);
  for (let i = 0; i < 65536; i++) encode[i] = codec.encodeSample(i - 32768);
  const decode = new Int16Array(256);
  for (let i = 0; i < 256; i++) decode[i] = codec.decodeSample(i);
  const built = { encode, decode };
  tables[law] = built;
  return built;
}

function encodeWith(law: G711Law, pcm: Int16Array): Buffer {
  const table = tablesFor(law).encode;
  const out = Buffer.allocUnsafe(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = table[pcm[i] + 32768];
  return out;
}

function decodeWith(law: G711Law, bytes: Uint8Array, into?: Int16Array): Int16Array {
  const table = tablesFor(law).decode;
  const out = into && into.length === bytes.length ? into : allocInt16(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = table[bytes[i]];
  return out;
}

/** PCM samples to G.711 µ-law bytes (one byte a sample). */
export function encodeUlaw(pcm: Int16Array): Buffer {
  return encodeWith('ulaw', pcm);
}

/**
 * G.711 µ-law bytes to PCM samples. Any byte is a valid code: this never fails. Short results come
 * from a shared slab (see `int16-pool.ts`), as the decoders below.
 */
export function decodeUlaw(buf: Uint8Array): Int16Array {
  return decodeWith('ulaw', buf);
}

/** PCM samples to G.711 A-law bytes (one byte a sample). */
export function encodeAlaw(pcm: Int16Array): Buffer {
  return encodeWith('alaw', pcm);
}

/** G.711 A-law bytes to PCM samples. Any byte is a valid code: this never fails. */
export function decodeAlaw(buf: Uint8Array): Int16Array {
  return decodeWith('alaw', buf);
}

/** Encodes with the law of an RTP payload type: 0 µ-law, 8 A-law. */
export function encodeG711(payloadType: number, pcm: Int16Array): Buffer {
  return encodeWith(lawOfPayloadType(payloadType), pcm);
}

/**
 * Decodes with the law of an RTP payload type: 0 µ-law, 8 A-law. Into `into` when it has exactly
 * the samples' length (a caller that decodes every packet into the same array), else into a new one.
 */
export function decodeG711(payloadType: number, buf: Uint8Array, into?: Int16Array): Int16Array {
  return decodeWith(lawOfPayloadType(payloadType), buf, into);
}

/** The law of a G.711 payload type; a `TypeError` for anything but 0 and 8. */
export function lawOfPayloadType(payloadType: number): G711Law {
  if (payloadType === PT_PCMU) return 'ulaw';
  if (payloadType === PT_PCMA) return 'alaw';
  throw new TypeError(`"payloadType" must be ${PT_PCMU} (PCMU) or ${PT_PCMA} (PCMA), got ${String(payloadType)}`);
}

/** This machine stores an Int16Array's samples as 16-bit little-endian PCM (a WAV file's order). */
export const LITTLE_ENDIAN = os.endianness() === 'LE';

/**
 * 16-bit little-endian PCM bytes to samples, copied (the result never aliases the input, whatever
 * its `byteOffset`). An odd last byte is ignored. Short results come from a shared slab
 * (see `int16-pool.ts`).
 */
export function pcm16leToInt16(buf: Uint8Array): Int16Array {
  const count = buf.length >> 1;
  const out = allocInt16(count);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer, out.byteOffset, count * 2).set(buf.subarray(0, count * 2));
  } else {
    for (let i = 0; i < count; i++) out[i] = (buf[2 * i] | (buf[2 * i + 1] << 8)) << 16 >> 16;
  }
  return out;
}

/**
 * The bytes of samples as 16-bit little-endian PCM, for copying them on at once: a view of the
 * array itself on a little-endian machine (no copy: do not keep it), else a converted copy.
 */
export function pcm16leBytes(samples: Int16Array): Uint8Array {
  return LITTLE_ENDIAN ? new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength) : int16ToPcm16le(samples);
}

/** Samples to 16-bit little-endian PCM bytes, copied (whatever the array's `byteOffset`). */
export function int16ToPcm16le(samples: Int16Array): Buffer {
  const out = Buffer.allocUnsafe(samples.length * 2);
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
  } else {
    for (let i = 0; i < samples.length; i++) out.writeInt16LE(samples[i], 2 * i);
  }
  return out;
}
