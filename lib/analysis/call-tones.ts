/**
 * What a single tone heard on a call is (issue 13): a fax's CNG or CED / ANSam, a segment of a
 * special information tone, or a voicemail beep; and which SIT three segments make. Pure functions
 * over `ToneSegment`s from `ToneDetector`.
 */
import { ToneSegment } from './tone-detector';

export type ToneKind = 'fax-cng' | 'fax-ced' | 'sit-segment' | 'beep';

/** The special information tones' frequencies (Telcordia): first segment low/high, second, third. */
export const SIT_HZ = { first: [913.8, 985.2], second: [1370.6, 1428.5], third: 1776.7 } as const;

/**
 * A beep: 440–2000 Hz, at least 150 ms (issue 13; FreeSWITCH mod_avmd looks for the same). Tones
 * are timed to ±10–20 ms, so the limit sits below 150 ms (120), above the 100 ms that is no beep.
 */
export const BEEP_MIN_HZ = 440;
export const BEEP_MAX_HZ = 2000;
export const BEEP_MIN_MS = 120;

const near = (hz: number, target: number, tolerance: number): boolean => Math.abs(hz / target - 1) <= tolerance;

/**
 * What `tone` is, or null. The fax tones are checked first: CED is 2100 Hz ± 15 Hz for ≥ 400 ms
 * (ANSam's phase reversals every 450 ms cut it into such pieces); CNG is 1100 Hz ± 38 Hz for
 * 400–700 ms (0.5 s nominal). SIT segments: the SIT frequencies (± 1 %: a 1000 Hz beep is 1.5 % above 985.2 Hz) for 200–450 ms (274 or
 * 380 ms nominal). Anything else of 440–2000 Hz lasting ≥ BEEP_MIN_MS is a beep.
 */
export function classifyTone(tone: ToneSegment): ToneKind | null {
  const hz = tone.frequencyHz;
  const ms = tone.durationMs;
  if (Math.abs(hz - 2100) <= 15 && ms >= 400) return 'fax-ced';
  if (Math.abs(hz - 1100) <= 38 && ms >= 400 && ms <= 700) return 'fax-cng';
  const sitHz = [...SIT_HZ.first, ...SIT_HZ.second, SIT_HZ.third];
  if (ms >= 200 && ms <= 450 && sitHz.some((f) => near(hz, f, 0.01))) return 'sit-segment';
  if (hz >= BEEP_MIN_HZ * 0.99 && hz <= BEEP_MAX_HZ * 1.01 && ms >= BEEP_MIN_MS) return 'beep';
  return null;
}

export interface SitResult {
  /** Telcordia code: IC, VC, NC, NC-inter, RO, RO-inter, IO, or `unknown` for other combinations. */
  code: string;
  /** What a dial should end with. */
  outcome: 'not-found' | 'unavailable';
}

/** [first segment high?, long?, second high?, long?] → code (third: 1776.7 Hz, long). */
const SIT_CODES: Record<string, SitResult> = {
  'LS LS': { code: 'IC', outcome: 'not-found' },
  'HL LS': { code: 'VC', outcome: 'not-found' },
  'LL LL': { code: 'NC', outcome: 'unavailable' },
  'HL HL': { code: 'NC-inter', outcome: 'unavailable' },
  'LL HS': { code: 'RO', outcome: 'unavailable' },
  'HS LL': { code: 'RO-inter', outcome: 'unavailable' },
  'LS HL': { code: 'IO', outcome: 'unavailable' },
};

/**
 * The SIT that three consecutive tones make, or null: first ≈ 913.8 / 985.2 Hz, second ≈ 1370.6 /
 * 1428.5 Hz, third ≈ 1776.7 Hz, each 200–450 ms, each starting within 100 ms of the previous one's
 * end. Short is under 327 ms (between 274 and 380).
 */
export function sitFromTones(tones: readonly ToneSegment[]): SitResult | null {
  if (tones.length !== 3) return null;
  const [a, b, c] = tones;
  if (!tones.every((t) => classifyTone(t) === 'sit-segment')) return null;
  if (b.startMs - a.endMs > 100 || c.startMs - b.endMs > 100) return null;
  if (!near(c.frequencyHz, SIT_HZ.third, 0.01)) return null;
  const level = (t: ToneSegment, pair: readonly number[]): string | null =>
    near(t.frequencyHz, pair[0], 0.01) ? 'L' : near(t.frequencyHz, pair[1], 0.01) ? 'H' : null;
  const la = level(a, SIT_HZ.first);
  const lb = level(b, SIT_HZ.second);
  if (!la || !lb) return null;
  const len = (t: ToneSegment): string => (t.durationMs < 327 ? 'S' : 'L');
  return SIT_CODES[`${la}${len(a)} ${lb}${len(b)}`] ?? { code: 'unknown', outcome: 'unavailable' };
}
