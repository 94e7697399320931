import { checkNumber, checkOneOf, checkOptions } from './check-option';
import { clamp16 } from './pcm-convert';
import { dtmfKeyToEvent } from './telephone-event';

/**
 * Call-progress and signalling tones as 8 kHz 16-bit PCM: DTMF, ring-back, beep, silence (and white
 * noise, for tests). Levels are in dBFS per tone: 0 dBFS is a sine whose peaks reach full scale
 * (±32767); −10 dBFS is a third of that. A sum of tones that would clip is clipped.
 */

export const SAMPLE_RATE = 8000;

/** DTMF rows (low group) and columns (high group), in Hz. */
export const DTMF_LOW_HZ = [697, 770, 852, 941] as const;
export const DTMF_HIGH_HZ = [1209, 1336, 1477, 1633] as const;
/** The keypad, row by row: the key at row r, column c is `DTMF_KEYPAD[r][c]`. */
export const DTMF_KEYPAD = ['123A', '456B', '789C', '*0#D'] as const;

/** The default level of each DTMF tone, dBFS (typical keypads send about −7 dBm0 per tone). */
export const DEFAULT_DTMF_LEVEL_DBFS = -10;

export interface DtmfToneOptions {
  /** The level of each tone in dBFS (default −10). */
  levelDbfs?: number;
  /**
   * The high group's level minus the low group's, in dB (default 0). Negative: the high tone is
   * weaker (what a line does to it).
   */
  twistDb?: number;
  /** Multiplies the low tone's frequency (default 1; 1.015 is 1.5 % high). For tests. */
  lowFactor?: number;
  /** Multiplies the high tone's frequency (default 1). For tests. */
  highFactor?: number;
}

/** The low and high frequencies of a DTMF key (`0`–`9`, `*`, `#`, `A`–`D`). */
export function dtmfFrequencies(key: string): [low: number, high: number] {
  const event = dtmfKeyToEvent(key);
  if (event === null) throw new TypeError(`"digit" must be one of 0-9, *, #, A-D, got ${JSON.stringify(key)}`);
  const upper = key.toUpperCase();
  const row = DTMF_KEYPAD.findIndex((r) => r.includes(upper));
  return [DTMF_LOW_HZ[row], DTMF_HIGH_HZ[DTMF_KEYPAD[row].indexOf(upper)]];
}

/** One DTMF key held for `durationMs`. */
export function dtmfTone(key: string, durationMs: number, options?: DtmfToneOptions): Int16Array {
  const o = checkOptions('dtmfTone', options);
  const [low, high] = dtmfFrequencies(key);
  const level = checkNumber('levelDbfs', o.levelDbfs ?? DEFAULT_DTMF_LEVEL_DBFS, -120, 0);
  const twist = checkNumber('twistDb', o.twistDb ?? 0, -40, 40);
  const lowFactor = checkNumber('lowFactor', o.lowFactor ?? 1, 0.5, 2);
  const highFactor = checkNumber('highFactor', o.highFactor ?? 1, 0.5, 2);
  return tones(
    [
      { hz: low * lowFactor, levelDbfs: level },
      { hz: high * highFactor, levelDbfs: level + twist },
    ],
    durationMs,
  );
}

/**
 * DTMF keys one after the other, each `toneMs` long and followed by `gapMs` of silence (defaults
 * 100 and 100 ms).
 */
export function dtmfSequence(keys: string, toneMs = 100, gapMs = 100, options?: DtmfToneOptions): Int16Array {
  return concat([...keys].flatMap((k) => [dtmfTone(k, toneMs, options), silence(gapMs)]));
}

export type RingbackStyle = 'etsi' | 'us';

export interface RingbackOptions {
  /** `etsi`: 425 Hz, 1 s on, 4 s off (default). `us`: 440 + 480 Hz, 2 s on, 4 s off. */
  style?: RingbackStyle;
  levelDbfs?: number;
}

/** Ring-back (the tone a caller hears while the other phone rings), cadenced, `durationMs` long. */
export function ringback(durationMs: number, options?: RingbackOptions): Int16Array {
  const o = checkOptions('ringback', options);
  const style = checkOneOf('style', o.style ?? 'etsi', ['etsi', 'us'] as const);
  const level = checkNumber('levelDbfs', o.levelDbfs ?? -16, -120, 0);
  const [parts, onMs, periodMs] =
    style === 'etsi' ? [[{ hz: 425, levelDbfs: level }], 1000, 5000] : [[440, 480].map((hz) => ({ hz, levelDbfs: level })), 2000, 6000];
  const out = tones(parts, durationMs);
  const onSamples = msToSamples(onMs);
  const period = msToSamples(periodMs);
  for (let i = 0; i < out.length; i++) if (i % period >= onSamples) out[i] = 0;
  return out;
}

/** A beep: one sine (default 1000 Hz at −10 dBFS). */
export function beep(durationMs: number, hz = 1000, levelDbfs = -10): Int16Array {
  return tones([{ hz: checkNumber('hz', hz, 1, SAMPLE_RATE / 2), levelDbfs: checkNumber('levelDbfs', levelDbfs, -120, 0) }], durationMs);
}

/** Silence. */
export function silence(durationMs: number): Int16Array {
  return new Int16Array(msToSamples(durationMs));
}

/**
 * Deterministic white noise (uniform, from a seeded generator) at an RMS level in dBFS (the RMS of
 * a 0 dBFS sine, 0.707 of full scale, is the reference). For tests and benchmarks.
 */
export function whiteNoise(durationMs: number, levelDbfs: number, seed = 1): Int16Array {
  const out = new Int16Array(msToSamples(durationMs));
  const rms = dbfsToAmplitude(checkNumber('levelDbfs', levelDbfs, -120, 0)) / Math.SQRT2;
  const amplitude = rms * Math.sqrt(3); // a uniform distribution on [-a, a] has RMS a/√3
  let state = seed >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = clamp16(Math.round(((state >>> 0) / 0xffffffff - 0.5) * 2 * amplitude));
  }
  return out;
}

/** Sums sines for `durationMs`; each tone's phase starts at 0. */
export function tones(parts: readonly { hz: number; levelDbfs: number }[], durationMs: number): Int16Array {
  const out = new Int16Array(msToSamples(durationMs));
  const waves = parts.map((p) => ({ w: (2 * Math.PI * p.hz) / SAMPLE_RATE, a: dbfsToAmplitude(p.levelDbfs) }));
  for (let i = 0; i < out.length; i++) {
    let v = 0;
    for (const { w, a } of waves) v += a * Math.sin(w * i);
    out[i] = clamp16(Math.round(v));
  }
  return out;
}

/** Joins pieces of audio end to end. */
export function concat(pieces: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The peak amplitude of a sine at `dbfs`. */
export function dbfsToAmplitude(dbfs: number): number {
  return 32767 * 10 ** (dbfs / 20);
}

function msToSamples(ms: number): number {
  return Math.round((checkNumber('durationMs', ms, 0, 3_600_000) * SAMPLE_RATE) / 1000);
}
