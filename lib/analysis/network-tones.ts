/**
 * Network tones heard before an answer (issue 13): busy and congestion by their cadence, and the
 * special information tones (SIT) with the end cause a dial should take from them. Reported as
 * `{ topic: 'tone', tone: 'busy' | 'congestion' | 'sit', evidence, atMs }`, once; then done.
 *
 * Busy and congestion are known frequencies switched on and off: each 20 ms frame's share of energy
 * at a plan's frequencies (Goertzel) says on, quiet or neither, and the runs of on and quiet frames
 * are matched against the plans' cadences. SIT segments are single tones of unknown exact frequency
 * (the frequency is the code), so they come from ToneDetector, like the beep and the fax tones.
 * See docs/call-analysis.md#network-tones.
 */
import { checkNumber, checkOptions } from '../media/check-option';
import { ANALYSIS_FRAME_MS, AnalysisEvent, FrameAnalyser, NetworkTone } from './analyser';
import { ANALYSIS_SAMPLE_RATE, ToneDetector, ToneSegment } from './tone-detector';
import { goertzelCoefficient, goertzelPower } from '../media/goertzel';

export interface CadencePlan {
  /** Where it is used. */
  plan: string;
  tone: Exclude<NetworkTone, 'sit'>;
  /** The frequencies sounding together, Hz. */
  hz: readonly number[];
  /** on, off[, on, off …] ms, repeated. */
  cadenceMs: readonly number[];
}

/**
 * The busy and congestion tones recognised, one entry per plan (ETSI TR 101 041-2 for the CEPT
 * countries, ANSI T1.401 / Telcordia for North America, BT SIN 350 for the UK; Australia and Japan
 * from their carriers' published tables). A new plan is one more entry.
 */
export const CADENCE_PLANS: readonly CadencePlan[] = [
  { plan: 'CEPT', tone: 'busy', hz: [425], cadenceMs: [500, 500] },
  { plan: 'CEPT', tone: 'congestion', hz: [425], cadenceMs: [250, 250] },
  { plan: 'CEPT (Italy, Spain)', tone: 'congestion', hz: [425], cadenceMs: [200, 200] },
  { plan: 'Australia', tone: 'busy', hz: [425], cadenceMs: [375, 375] },
  { plan: 'North America', tone: 'busy', hz: [480, 620], cadenceMs: [500, 500] },
  { plan: 'North America', tone: 'congestion', hz: [480, 620], cadenceMs: [250, 250] },
  { plan: 'UK', tone: 'busy', hz: [400], cadenceMs: [375, 375] },
  { plan: 'UK', tone: 'congestion', hz: [400], cadenceMs: [400, 350, 225, 525] },
  { plan: 'Japan', tone: 'busy', hz: [400], cadenceMs: [500, 500] },
];

/**
 * Decision limits. Cadence: the plans allow ±10 % (ETSI ES 201 970) and 20 ms frames measure a
 * segment to ±10 ms, so a segment matches within ±15 % or ±40 ms, whichever is wider (250 ms:
 * 210–290; 375 ms: 319–431; 500 ms: 425–575). A frame is "on" when the plan's frequencies hold
 * ≥ 70 % of its energy (a tone 16 Hz off its bin still does; 400 and 425 Hz, 25 Hz apart, are told
 * apart) and each of two frequencies ≥ 20 %; "quiet" when 20 dB under the last on-run.
 */
export const CADENCE_LIMITS = { tolerance: 0.15, toleranceMs: 40, minShare: 0.7, minPartShare: 0.2, quietDb: 20 } as const;

/** One SIT: its name, and the end cause a dial takes from it. */
export interface SitCode {
  code: string;
  endCause: 'not-found' | 'unavailable';
}

/**
 * Telcordia (SR-2275) SIT: the first segment at 913.8 (L) or 985.2 Hz (H), the second at 1370.6 (L) or
 * 1428.5 Hz (H), each short (274 ms, S) or long (380 ms, L); the third 1776.7 Hz, long. Keys: first,
 * second as frequency+length. Intercept and vacant code: the number does not exist (`not-found`);
 * no circuit, reorder, ineffective other: the network could not complete it now (`unavailable`).
 */
export const TELCORDIA_SIT: Readonly<Record<string, SitCode>> = {
  'LS LS': { code: 'IC', endCause: 'not-found' },
  'HL LS': { code: 'VC', endCause: 'not-found' },
  'LL LL': { code: 'NC', endCause: 'unavailable' },
  'HL HL': { code: 'NC-inter', endCause: 'unavailable' },
  'LS HL': { code: 'RO', endCause: 'unavailable' },
  'HS LL': { code: 'RO-inter', endCause: 'unavailable' },
  'LL LS': { code: 'IO', endCause: 'unavailable' },
};

export const SIT_HZ = { first: [913.8, 985.2], second: [1370.6, 1428.5], third: 1776.7 } as const;

/**
 * SIT decision limits. ITU-T E.180: 950 / 1400 / 1800 ± 50 Hz, each 330 ± 70 ms, gaps ≤ 30 ms;
 * Telcordia's frequencies lie inside those bands (± 0.2 %: a segment within ± 1 % of one is read as
 * Telcordia), its lengths 274 / 380 ms ± 5 %, short under 327 ms. Segments of 200–450 ms (a
 * measured 260 ms must pass, a 100 ms blip must not), gaps up to 60 ms (E.180's 30 must pass; the
 * gap is also how long a beep in the first segment's band waits for a second segment, see
 * `NetworkToneAnalyser.pending`, and that wait must stay inside the beep's 150 ms).
 */
export const SIT_LIMITS = { bandHz: 50, telcordiaTolerance: 0.01, minMs: 200, maxMs: 450, shortBelowMs: 327, maxGapMs: 60 } as const;

const BANDS = [950, 1400, 1800];

const inBand = (t: ToneSegment, band: number): boolean => Math.abs(t.frequencyHz - band) <= SIT_LIMITS.bandHz && t.durationMs >= SIT_LIMITS.minMs && t.durationMs <= SIT_LIMITS.maxMs;

/**
 * How many of the last tones (0, 1 or 2) are a SIT's first segments, in order and close enough:
 * a SIT may be under way.
 */
export function sitPrefix(tones: readonly ToneSegment[]): number {
  for (let k = Math.min(2, tones.length); k > 0; k--) {
    const last = tones.slice(-k);
    if (last.every((t, i) => inBand(t, BANDS[i]) && (i === 0 || t.startMs - last[i - 1].endMs <= SIT_LIMITS.maxGapMs))) return k;
  }
  return 0;
}

/** The SIT three consecutive tones make, or null (see SIT_LIMITS). Unknown combinations: `unavailable`. */
export function sitFromTones(tones: readonly ToneSegment[]): (SitCode & { standard: string }) | null {
  if (tones.length !== 3) return null;
  if (!tones.every((t, i) => inBand(t, BANDS[i]))) return null;
  if (tones[1].startMs - tones[0].endMs > SIT_LIMITS.maxGapMs || tones[2].startMs - tones[1].endMs > SIT_LIMITS.maxGapMs) return null;
  const near = (hz: number, target: number): boolean => Math.abs(hz / target - 1) <= SIT_LIMITS.telcordiaTolerance;
  const level = (t: ToneSegment, pair: readonly number[]): string | null => (near(t.frequencyHz, pair[0]) ? 'L' : near(t.frequencyHz, pair[1]) ? 'H' : null);
  const length = (t: ToneSegment): string => (t.durationMs < SIT_LIMITS.shortBelowMs ? 'S' : 'L');
  const [a, b, c] = tones;
  const la = level(a, SIT_HZ.first);
  const lb = level(b, SIT_HZ.second);
  if (la && lb && near(c.frequencyHz, SIT_HZ.third)) {
    const known = TELCORDIA_SIT[`${la}${length(a)} ${lb}${length(b)}`];
    return { standard: 'Telcordia', ...(known ?? { code: 'reserved', endCause: 'unavailable' }) };
  }
  // ITU-T E.180's SIT says only that the call failed, not why: `unavailable` (try again later) is
  // the safe reading; `not-found` would drop a number that may work tomorrow.
  return { standard: 'ITU-T E.180', code: 'SIT', endCause: 'unavailable' };
}

interface Segment {
  on: boolean;
  ms: number;
}

/** One set of frequencies (a Goertzel filter each) and the cadence of the frames that hold them. */
class CadenceTrack {
  readonly plans: CadencePlan[] = [];
  private readonly coefficients: number[];
  private readonly segments: Segment[] = [];
  private current: Segment | null = null;
  private edge = false;
  private onPowerSum = 0;
  private onFrames = 0;
  private refPower = 0;
  private readonly longestMs: number;

  constructor(
    readonly hz: readonly number[],
    plans: readonly CadencePlan[],
  ) {
    this.coefficients = hz.map((f) => goertzelCoefficient(f, ANALYSIS_SAMPLE_RATE));
    this.plans.push(...plans);
    this.longestMs = Math.max(...plans.flatMap((p) => p.cadenceMs.map(upper)));
  }

  /** Returns the plan a segment just completed matches, with the matching segments. */
  push(frame: Int16Array, energy: number, loud: boolean): { plan: CadencePlan; segments: number[] } | null {
    const power = energy / frame.length;
    let on = false;
    if (loud) {
      let share = 0;
      let weakest = 1;
      for (const k of this.coefficients) {
        const s = goertzelShare(frame, k, energy);
        share += s;
        weakest = Math.min(weakest, s);
      }
      on = share >= CADENCE_LIMITS.minShare && (this.coefficients.length === 1 || weakest >= CADENCE_LIMITS.minPartShare);
    }
    const cur = this.current;
    if (!on && (!cur || this.refPower === 0)) return null;
    const quiet = !on && power * 10 ** (CADENCE_LIMITS.quietDb / 10) < this.refPower;
    if (!on && !quiet) {
      // A frame part tone, part silence sits between an on-run and a quiet one; two in a row (speech,
      // music, noise) are no cadence.
      if (this.edge) this.reset();
      else this.edge = true;
      return null;
    }
    if (on) {
      this.onPowerSum += power;
      this.onFrames++;
    }
    if (!cur) {
      this.current = { on, ms: ANALYSIS_FRAME_MS };
      return null;
    }
    let matched: { plan: CadencePlan; segments: number[] } | null = null;
    if (cur.on === on) cur.ms += ANALYSIS_FRAME_MS * (this.edge ? 2 : 1);
    else {
      if (this.edge) cur.ms += ANALYSIS_FRAME_MS / 2;
      matched = this.complete(cur);
      this.current = { on, ms: ANALYSIS_FRAME_MS * (this.edge ? 1.5 : 1) };
      if (on) {
        this.onPowerSum = power;
        this.onFrames = 1;
      }
    }
    if (on) this.refPower = this.onPowerSum / this.onFrames;
    this.edge = false;
    return matched;
  }

  private reset(): void {
    this.segments.length = 0;
    this.current = null;
    this.edge = false;
    this.refPower = 0;
    this.onPowerSum = 0;
    this.onFrames = 0;
  }

  private complete(seg: Segment): { plan: CadencePlan; segments: number[] } | null {
    if (seg.ms > this.longestMs) {
      // Longer than any plan's on or off (ring-back's 1 s, a pause): the cadence starts again.
      this.segments.length = 0;
      return null;
    }
    this.segments.push(seg);
    if (this.segments.length > 16) this.segments.shift();
    for (const plan of this.plans) {
      const n = plan.cadenceMs.length + 1; // one cycle and the next on
      if (this.segments.length < n) continue;
      const last = this.segments.slice(-n);
      if (!last[0].on) continue;
      for (let r = 0; r < plan.cadenceMs.length; r += 2) {
        if (last.every((s, j) => fits(s.ms, plan.cadenceMs[(r + j) % plan.cadenceMs.length]))) return { plan, segments: last.map((s) => s.ms) };
      }
    }
    return null;
  }
}

/** How long after a SIT segment's end the next one can be heard: its gap, then one pure window (20 ms) and a hop. */
const NEXT_SEGMENT_HEARD_MS = SIT_LIMITS.maxGapMs + 30;

const upper = (ms: number): number => Math.max(ms * (1 + CADENCE_LIMITS.tolerance), ms + CADENCE_LIMITS.toleranceMs);
const fits = (ms: number, nominal: number): boolean => Math.abs(ms - nominal) <= Math.max(nominal * CADENCE_LIMITS.tolerance, CADENCE_LIMITS.toleranceMs);

/** The share of a frame's energy at one frequency (1 for a pure tone there). */
function goertzelShare(frame: Int16Array, k: number, energy: number): number {
  return (2 * goertzelPower(frame, k)) / (frame.length * energy);
}

export interface NetworkToneAnalyserOptions {
  /** The call's ToneDetector, shared with the beep and fax analysers (see beep.ts). */
  tones?: ToneDetector;
  /** The busy / congestion plans listened for (default: all of CADENCE_PLANS). */
  plans?: readonly CadencePlan[];
  /** Quietest tone frame, dBFS RMS re a full-scale sine (default −45). */
  minLevelDbfs?: number;
}

/** Reports the first busy, congestion or SIT it recognises, then is done. */
export class NetworkToneAnalyser implements FrameAnalyser {
  private readonly tones: ToneDetector;
  private readonly tracks: CadenceTrack[] = [];
  private readonly minPower: number;
  private readonly sit: ToneSegment[] = [];
  private finished = false;
  /** See {@link pending}. */
  private sitPending = false;
  /** The last segment of the SIT under way, and whether the next one has started sounding. */
  private sitLast: ToneSegment | null = null;
  private sitNextSounding = false;

  constructor(options?: NetworkToneAnalyserOptions) {
    const o = checkOptions('NetworkToneAnalyser', options);
    this.tones = o.tones ?? new ToneDetector();
    const level = checkNumber('minLevelDbfs', o.minLevelDbfs ?? -45, -90, 0);
    this.minPower = ((32767 * 32767) / 2) * 10 ** (level / 10);
    const plans = o.plans ?? CADENCE_PLANS;
    if (!Array.isArray(plans) || plans.length === 0) throw new TypeError('"plans" must be a non-empty array of cadence plans');
    const byHz = new Map<string, CadencePlan[]>();
    for (const p of plans) {
      const valid = p && ['busy', 'congestion'].includes(p.tone) && Array.isArray(p.hz) && p.hz.length >= 1 && p.hz.length <= 2 && p.hz.every((f: number) => f >= 100 && f <= 3900) && Array.isArray(p.cadenceMs) && p.cadenceMs.length >= 2 && p.cadenceMs.length % 2 === 0 && p.cadenceMs.every((ms: number) => ms >= 60 && ms <= 5000);
      if (!valid) throw new TypeError(`"plans": ${JSON.stringify(p)} is not a plan { plan, tone: busy|congestion, hz: [1 or 2 Hz], cadenceMs: [on, off, …] }`);
      const key = p.hz.join('+');
      byHz.set(key, [...(byHz.get(key) ?? []), p]);
    }
    for (const ps of byHz.values()) this.tracks.push(new CadenceTrack(ps[0].hz, ps));
  }

  get done(): boolean {
    return this.finished;
  }

  /**
   * A SIT may be under way: the last tones heard are its first segment(s), and the next one is
   * sounding or may still start (within `SIT_LIMITS.maxGapMs` of the last one's end, plus a window
   * to hear it). A combiner holds a voicemail beep while this is true (call-analyser.ts): a SIT's
   * first segment is a tone of 440–2000 Hz longer than 150 ms too. Counted on the frames' time line:
   * a beep in the first segment's band is held until 90 ms after its end when nothing follows.
   */
  get pending(): boolean {
    return !this.finished && this.sitPending;
  }

  push(frame: Int16Array, atMs: number): AnalysisEvent[] {
    if (this.finished) return [];
    for (const tone of this.tones.pushFrame(frame, atMs)) {
      this.sit.push(tone);
      if (this.sit.length > 3) this.sit.shift();
      const sit = sitFromTones(this.sit);
      if (sit) {
        this.finished = true;
        const segments = this.sit.map((t) => ({ hz: t.frequencyHz, ms: Math.round(t.durationMs) }));
        return [{ topic: 'tone', tone: 'sit', evidence: { ...sit, segments }, atMs: tone.endMs }];
      }
    }
    this.sitPending = this.sitUnderWay(atMs);
    let energy = 0;
    for (let i = 0; i < frame.length; i++) energy += frame[i] * frame[i];
    const loud = energy / Math.max(1, frame.length) >= this.minPower;
    if (energy === 0) energy = 1;
    for (const track of this.tracks) {
      const m = track.push(frame, energy, loud);
      if (m) {
        this.finished = true;
        return [{ topic: 'tone', tone: m.plan.tone, evidence: { plan: m.plan.plan, hz: [...m.plan.hz], cadenceMs: m.segments }, atMs }];
      }
    }
    return [];
  }

  /** See {@link pending}. */
  private sitUnderWay(atMs: number): boolean {
    const k = sitPrefix(this.sit);
    if (k === 0) return false;
    const last = this.sit[this.sit.length - 1];
    if (last !== this.sitLast) {
      this.sitLast = last;
      this.sitNextSounding = false;
    }
    const since = atMs - last.endMs;
    if (!this.sitNextSounding && since <= NEXT_SEGMENT_HEARD_MS) {
      this.sitNextSounding = this.tones.pureWindowsHz().some((hz) => Math.abs(hz - BANDS[k]) <= SIT_LIMITS.bandHz);
    }
    // The next segment sounds: held until it ends (and is a SIT's or not), at most its longest.
    if (this.sitNextSounding) return since <= NEXT_SEGMENT_HEARD_MS + SIT_LIMITS.maxMs + 40;
    return since <= NEXT_SEGMENT_HEARD_MS;
  }
}
