/**
 * Key presses at the edges of ITU-T Q.24, as a line delivers them: a tone pair with a given twist,
 * frequency error, level and length, white noise under it, and (optionally) a pass through G.711
 * μ-law or A-law. Shared by the detector's unit tests and `bench/dtmf-edges.ts`.
 */
import { DtmfDetection, DtmfRejection, GoertzelDtmfDetector, GoertzelDtmfOptions } from '../../lib/media/goertzel-dtmf';
import { decodeAlaw, decodeUlaw, encodeAlaw, encodeUlaw } from '../../lib/media/g711';
import { mixMono } from '../../lib/media/pcm-convert';
import { concat, dtmfTone, silence, whiteNoise } from '../../lib/media/tone-generator';

export const DTMF_KEYS = '0123456789*#ABCD';

export type Law = 'none' | 'ulaw' | 'alaw';

export interface EdgePress {
  key: string;
  toneMs: number;
  /** Level of the low tone, dBFS (the high one is this plus the twist). */
  levelDbfs: number;
  twistDb?: number;
  lowFactor?: number;
  highFactor?: number;
  /** White noise this many dB under the weaker tone (none when absent). */
  snrDb?: number;
  law?: Law;
  /** Seeds the noise and the silence before the tone (0–19 ms more, so that tones start anywhere in a hop). */
  seed?: number;
}

/** The audio of one press: silence, the tone, silence; noise over all of it; through G.711. */
export function edgePressAudio(p: EdgePress): Int16Array {
  const seed = p.seed ?? 1;
  const lead = 30 + (seed % 20);
  const tone = dtmfTone(p.key, p.toneMs, { levelDbfs: p.levelDbfs, twistDb: p.twistDb ?? 0, lowFactor: p.lowFactor, highFactor: p.highFactor });
  let audio = concat([silence(lead), tone, silence(80)]);
  if (p.snrDb !== undefined) {
    const weaker = p.levelDbfs + Math.min(0, p.twistDb ?? 0);
    audio = mixMono(audio, whiteNoise(audio.length / 8, weaker - p.snrDb, seed * 7919 + 13));
  }
  return throughG711(audio, p.law ?? 'none');
}

export function throughG711(audio: Int16Array, law: Law): Int16Array {
  if (law === 'ulaw') return decodeUlaw(encodeUlaw(audio));
  if (law === 'alaw') return decodeAlaw(encodeAlaw(audio));
  return audio;
}

export interface DetectResult {
  digits: DtmfDetection[];
  rejects: DtmfRejection[];
}

/** Runs audio through a fresh detector in one push, then ends it. */
export function detectAll(audio: Int16Array, options?: GoertzelDtmfOptions): DetectResult {
  const d = new GoertzelDtmfDetector(options);
  const result: DetectResult = { digits: [], rejects: [] };
  d.on('digit', (e) => result.digits.push(e));
  d.on('reject', (e) => result.rejects.push(e));
  d.push(audio);
  d.end();
  return result;
}
