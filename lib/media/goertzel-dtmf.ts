import { EventEmitter } from 'node:events';
import { checkInt, checkNumber, checkOptions } from './check-option';
import { DTMF_HIGH_HZ, DTMF_KEYPAD, DTMF_LOW_HZ } from './tone-generator';

/*
 * In-band DTMF detection on 8 kHz PCM (ITU-T Q.23 / Q.24), written because the npm
 * `dtmf-detection-stream` package ignores buffer offsets and drops digits (design §5).
 *
 * Parameters, and why:
 *
 * - WINDOW = 105 samples (13.1 ms). A Goertzel filter over N samples is a DFT bin 8000/N = 76 Hz
 *   wide whose first nulls are 76 Hz either side. The closest DTMF frequencies are 73 Hz apart
 *   (697/770), so at N ≈ 105 each tone falls near the null of its neighbours' filters, while the
 *   window stays short enough to time a 40 ms tone. (205 samples would separate neighbours better
 *   but smears 40 ms tones and 40 ms pauses; a 13 ms window sliding in small steps does both.)
 * - HOP = 20 samples (2.5 ms): the window slides 20 samples at a time. With silence around a tone,
 *   a window's tone power grows with the square of the part of the window the tone fills, so the
 *   windows holding at least a quarter of the strongest window's power are exactly those whose
 *   centre is inside the tone: counting them times the tone to ±2.5 ms. That is what lets 30 ms be
 *   rejected and 45 ms accepted against the 40 ms minimum.
 * - Frequency tolerance (accept ±1.5 %, reject ±3.5 %) cannot be judged from a filter's magnitude:
 *   a 76 Hz bin loses about as much at 697 Hz + 3.5 % (24 Hz off) as at 1633 Hz + 1.5 % (25 Hz off),
 *   and an unknown level hides either. So each tone's frequency is measured: the Goertzel output's
 *   phase advances by 2π·Δf·HOP/8000 per hop for a tone Δf away from the filter, and the
 *   least-squares slope of the unwrapped phase over the windows inside the tone gives Δf to better
 *   than 1 Hz. A tone is accepted within ±2.5 % (half-way between the two limits). Level, twist and
 *   energy share are then judged on powers corrected for the filter's loss at that offset, so that
 *   an off-frequency tone does not also look weaker.
 * - Twist: the high tone may be up to 8 dB weaker than the low one ("normal" twist: lines lose more
 *   at high frequencies) and up to 4 dB stronger ("reverse" twist).
 * - The two tones must hold ≥ 70 % of the signal's energy (noise and speech spread theirs), each
 *   must be ≥ 6 dB above the other filters of its group, and at least −40 dBFS (about −37 dBm0).
 * - Interruptions shorter than 25 ms inside a tone are bridged (Q.24 asks that 10 ms be); a pause
 *   of 25 ms or more ends the key press, so 40 ms pauses always separate two presses.
 *
 * The decision is made when the tone ends, so `digit` carries its duration.
 */

export const DTMF_SAMPLE_RATE = 8000;
export const GOERTZEL_WINDOW = 105;
export const GOERTZEL_HOP = 20;
/** Windows whose centre is this many hops from the tone's edge are wholly inside it. */
const EDGE_HOPS = Math.ceil(GOERTZEL_WINDOW / 2 / GOERTZEL_HOP);
/**
 * A window that holds at least this share of its energy in two DTMF filters may be part of a tone
 * (the tone is then measured on the windows that hold at least half of it).
 */
const TONAL_SHARE = 0.3;
/**
 * Windows down to TONAL_SHARE reach (0.5 − TONAL_SHARE)·WINDOW samples beyond each edge of a tone,
 * so a pause looks this many hops shorter than it is.
 */
const PAUSE_SHRINK_HOPS = Math.round((2 * (0.5 - TONAL_SHARE) * GOERTZEL_WINDOW) / GOERTZEL_HOP);
/** At most this many windows of one tone are kept for measuring (2 s); longer tones are still timed. */
const MAX_RECORDS = 800;

const FREQS = [...DTMF_LOW_HZ, ...DTMF_HIGH_HZ];

export interface GoertzelDtmfOptions {
  /** Shortest tone accepted, ms (default 40). */
  minDurationMs?: number;
  /** Shortest pause that ends a tone, ms (default 25); shorter interruptions are bridged. */
  minPauseMs?: number;
  /** Largest accepted frequency error, as a fraction (default 0.025, i.e. ±2.5 %). */
  maxFrequencyError?: number;
  /** How much weaker the high tone may be than the low one, dB (default 8). */
  normalTwistDb?: number;
  /** How much stronger the high tone may be than the low one, dB (default 4). */
  reverseTwistDb?: number;
  /** Weakest accepted tone, dBFS (default −40). */
  minLevelDbfs?: number;
  /** Least share of the signal energy the two tones must hold (default 0.7). */
  minToneShare?: number;
  /** Least ratio of each tone to the other filters of its group, dB (default 6). */
  minRelativePeakDb?: number;
}

export interface DtmfDetection {
  digit: string;
  /** When the tone started, ms from the first sample pushed. */
  startMs: number;
  durationMs: number;
  /** Measured frequencies. */
  lowHz: number;
  highHz: number;
  /** Level of the low and high tone, dBFS. */
  lowDbfs: number;
  highDbfs: number;
}

export type DtmfRejectReason = 'too-short' | 'frequency' | 'twist' | 'level' | 'energy' | 'peak';

export interface DtmfRejection extends DtmfDetection {
  reason: DtmfRejectReason;
}

export interface GoertzelDtmfEvents {
  digit: [DtmfDetection];
  /** A tone that looked like a key but failed a test (for diagnostics). */
  reject: [DtmfRejection];
}

/** One analysed window of a candidate tone. */
interface WindowRecord {
  hop: number;
  lowPower: number;
  highPower: number;
  /** The strongest other filter of each group. */
  lowRival: number;
  highRival: number;
  /** Σx² over the window. */
  energy: number;
  lowRe: number;
  lowIm: number;
  highRe: number;
  highIm: number;
}

interface Candidate {
  low: number;
  high: number;
  /** The last window that looked like this key. */
  lastHop: number;
  records: WindowRecord[];
}

/**
 * A streaming DTMF detector: `push()` 8 kHz 16-bit samples in chunks of any size; it emits `digit`
 * once per key press, when the key is released (or at `end()`). The result does not depend on how
 * the audio was cut into chunks.
 */
export class GoertzelDtmfDetector extends EventEmitter<GoertzelDtmfEvents> {
  private readonly minHops: number;
  private readonly pauseHops: number;
  private readonly maxError: number;
  private readonly minTwist: number;
  private readonly maxTwist: number;
  private readonly minPower: number;
  private readonly minShare: number;
  private readonly minRelativePeak: number;
  /**
   * The last WINDOW samples (zeros before the stream began). Every sample is written twice, at i and
   * i + WINDOW, so that a window is always contiguous.
   */
  private readonly ring = new Float64Array(2 * GOERTZEL_WINDOW);
  private ringAt = 0;
  private hop = 0;
  private sinceHop = 0;
  private candidate: Candidate | null = null;
  private readonly coef = FREQS.map((f) => 2 * Math.cos((2 * Math.PI * f) / DTMF_SAMPLE_RATE));
  private readonly cos = FREQS.map((f) => Math.cos((2 * Math.PI * f) / DTMF_SAMPLE_RATE));
  private readonly sin = FREQS.map((f) => Math.sin((2 * Math.PI * f) / DTMF_SAMPLE_RATE));
  private readonly power = new Float64Array(8);
  private readonly re = new Float64Array(8);
  private readonly im = new Float64Array(8);

  constructor(options?: GoertzelDtmfOptions) {
    super();
    const o = checkOptions('GoertzelDtmfDetector', options);
    const msToHops = (ms: number): number => Math.round((ms * DTMF_SAMPLE_RATE) / 1000 / GOERTZEL_HOP);
    this.minHops = msToHops(checkInt('minDurationMs', o.minDurationMs ?? 40, 20, 1000));
    this.pauseHops = Math.max(1, msToHops(checkInt('minPauseMs', o.minPauseMs ?? 25, 5, 500)) - PAUSE_SHRINK_HOPS);
    this.maxError = checkNumber('maxFrequencyError', o.maxFrequencyError ?? 0.025, 0.005, 0.05);
    this.minTwist = -checkNumber('normalTwistDb', o.normalTwistDb ?? 8, 0, 20);
    this.maxTwist = checkNumber('reverseTwistDb', o.reverseTwistDb ?? 4, 0, 20);
    const minLevel = checkNumber('minLevelDbfs', o.minLevelDbfs ?? -40, -80, 0);
    this.minPower = toneWindowPower(minLevel);
    this.minShare = checkNumber('minToneShare', o.minToneShare ?? 0.7, 0.3, 1);
    this.minRelativePeak = checkNumber('minRelativePeakDb', o.minRelativePeakDb ?? 6, 0, 30);
  }

  /** Feeds samples (8 kHz mono). */
  push(samples: Int16Array): void {
    const ring = this.ring;
    for (let i = 0; i < samples.length; i++) {
      const x = samples[i];
      ring[this.ringAt] = x;
      ring[this.ringAt + GOERTZEL_WINDOW] = x;
      this.ringAt = this.ringAt + 1 === GOERTZEL_WINDOW ? 0 : this.ringAt + 1;
      if (++this.sinceHop === GOERTZEL_HOP) {
        this.sinceHop = 0;
        this.analyse();
      }
    }
  }

  /** The input has ended: decides on a tone still sounding. */
  end(): void {
    this.finish();
  }

  /** Forgets the input so far (the time base restarts at 0). */
  reset(): void {
    this.ring.fill(0);
    this.ringAt = this.hop = this.sinceHop = 0;
    this.candidate = null;
  }

  /** Runs the eight filters over the window that ends now. */
  private analyse(): void {
    const hop = this.hop++;
    const start = this.ringAt; // the oldest sample of the window
    const ring = this.ring;
    let energy = 0;
    for (let n = start; n < start + GOERTZEL_WINDOW; n++) energy += ring[n] * ring[n];
    for (let k = 0; k < 8; k++) {
      const c = this.coef[k];
      let s1 = 0;
      let s2 = 0;
      for (let n = start; n < start + GOERTZEL_WINDOW; n++) {
        const s = ring[n] + c * s1 - s2;
        s2 = s1;
        s1 = s;
      }
      this.power[k] = s1 * s1 + s2 * s2 - c * s1 * s2;
      this.re[k] = s1 - s2 * this.cos[k];
      this.im[k] = s2 * this.sin[k];
    }
    const low = argmax(this.power, 0);
    const high = argmax(this.power, 4);
    const pair = this.power[low] + this.power[high];
    const share = energy > 0 ? (2 * pair) / (GOERTZEL_WINDOW * energy) : 0;
    const tonal = share >= TONAL_SHARE && pair >= this.minPower / 16;
    const c = this.candidate;
    if (c && (!tonal || c.low !== low || c.high !== high)) {
      if (tonal || hop - c.lastHop >= this.pauseHops) this.finish();
    }
    if (!tonal) return;
    const record: WindowRecord = {
      hop,
      lowPower: this.power[low],
      highPower: this.power[high],
      lowRival: rival(this.power, 0, low),
      highRival: rival(this.power, 4, high),
      energy,
      lowRe: this.re[low],
      lowIm: this.im[low],
      highRe: this.re[high],
      highIm: this.im[high],
    };
    if (!this.candidate) this.candidate = { low, high, lastHop: hop, records: [] };
    const cand = this.candidate;
    cand.lastHop = hop;
    if (cand.records.length < MAX_RECORDS) cand.records.push(record);
  }

  /** Decides on the candidate tone, if any. */
  private finish(): void {
    const c = this.candidate;
    this.candidate = null;
    if (!c) return;
    // The tone's extent: the windows holding at least half of it, i.e. (the tone's contribution
    // being coherent) at least a quarter of the strongest window's power.
    const pairPower = (r: WindowRecord): number => r.lowPower + r.highPower;
    const peak = c.records.reduce((m, r) => Math.max(m, pairPower(r)), 0);
    const half = c.records.filter((r) => pairPower(r) >= peak / 4);
    const firstHop = half[0].hop;
    const lastHop = half[half.length - 1].hop;
    const hops = lastHop - firstHop + 1;
    if (hops < this.minHops / 2) return; // a blip, not worth a `reject`
    // Window h ends at sample (h + 1)·HOP (the first windows see silence before the stream began);
    // the tone began about where the first of those windows had its centre.
    const startSample = (firstHop + 1) * GOERTZEL_HOP - GOERTZEL_WINDOW / 2 - GOERTZEL_HOP / 2;
    const core = half.filter((r) => r.hop >= firstHop + EDGE_HOPS && r.hop <= lastHop - EDGE_HOPS);
    const used = core.length >= 2 ? core : half;
    const mean = (f: (r: WindowRecord) => number): number => used.reduce((sum, r) => sum + f(r), 0) / used.length;
    const lowNominal = FREQS[c.low];
    const highNominal = FREQS[c.high];
    const lowHz = lowNominal + frequencyOffset(used, c.low, 'low');
    const highHz = highNominal + frequencyOffset(used, c.high, 'high');
    // Powers corrected for the filter's loss at the measured frequency (within the tolerance), so
    // that level, twist and energy share judge the tones, not how far they are off the filters.
    const lowGain = filterGain(lowHz - lowNominal, lowNominal * this.maxError);
    const highGain = filterGain(highHz - highNominal, highNominal * this.maxError);
    const lowPower = mean((r) => r.lowPower) / lowGain;
    const highPower = mean((r) => r.highPower) / highGain;
    const share = mean((r) => (2 * (r.lowPower / lowGain + r.highPower / highGain)) / (GOERTZEL_WINDOW * r.energy));
    const result: DtmfDetection = {
      digit: DTMF_KEYPAD[c.low][c.high - 4],
      startMs: round1(Math.max(0, (startSample * 1000) / DTMF_SAMPLE_RATE)),
      durationMs: round1((hops * GOERTZEL_HOP * 1000) / DTMF_SAMPLE_RATE),
      lowHz: round1(lowHz),
      highHz: round1(highHz),
      lowDbfs: round1(powerToDbfs(lowPower)),
      highDbfs: round1(powerToDbfs(highPower)),
    };
    const twist = 10 * Math.log10(highPower / lowPower);
    let reason: DtmfRejectReason | null = null;
    if (hops < this.minHops) reason = 'too-short';
    else if (Math.abs(lowHz / lowNominal - 1) > this.maxError || Math.abs(highHz / highNominal - 1) > this.maxError) {
      reason = 'frequency';
    } else if (Math.min(lowPower, highPower) < this.minPower) reason = 'level';
    else if (!(twist >= this.minTwist && twist <= this.maxTwist)) reason = 'twist';
    else if (share < this.minShare) reason = 'energy';
    else if (
      10 * Math.log10(mean((r) => r.lowPower) / mean((r) => r.lowRival)) < this.minRelativePeak ||
      10 * Math.log10(mean((r) => r.highPower) / mean((r) => r.highRival)) < this.minRelativePeak
    ) {
      reason = 'peak';
    }
    if (reason) this.emit('reject', { ...result, reason });
    else this.emit('digit', result);
  }
}

/**
 * The power gain of a WINDOW-sample Goertzel filter for a tone `offsetHz` away from its frequency
 * (the Dirichlet kernel squared, 1 at 0 Hz), with the offset limited to ±`maxHz`.
 */
function filterGain(offsetHz: number, maxHz: number): number {
  const x = (Math.PI * Math.min(Math.abs(offsetHz), maxHz)) / DTMF_SAMPLE_RATE;
  if (x === 0) return 1;
  return (Math.sin(GOERTZEL_WINDOW * x) / (GOERTZEL_WINDOW * Math.sin(x))) ** 2;
}

/**
 * The tone's offset from filter `k`'s frequency, in Hz: the least-squares slope of the unwrapped
 * phase of the filter's output over consecutive windows, less the filter's own advance per hop.
 * Runs of consecutive windows (a bridged interruption splits them) are fitted with one slope.
 */
function frequencyOffset(records: readonly WindowRecord[], k: number, group: 'low' | 'high'): number {
  const advance = (2 * Math.PI * FREQS[k] * GOERTZEL_HOP) / DTMF_SAMPLE_RATE;
  const ca = Math.cos(advance);
  const sa = Math.sin(advance);
  let num = 0;
  let den = 0;
  let run: { t: number; phase: number }[] = [];
  const fit = (): void => {
    if (run.length >= 2) {
      const tm = run.reduce((s, p) => s + p.t, 0) / run.length;
      const pm = run.reduce((s, p) => s + p.phase, 0) / run.length;
      for (const p of run) {
        num += (p.t - tm) * (p.phase - pm);
        den += (p.t - tm) ** 2;
      }
    }
    run = [];
  };
  let prev: WindowRecord | null = null;
  for (const r of records) {
    const re = group === 'low' ? r.lowRe : r.highRe;
    const im = group === 'low' ? r.lowIm : r.highIm;
    if (prev && r.hop === prev.hop + 1) {
      const pre = group === 'low' ? prev.lowRe : prev.highRe;
      const pim = group === 'low' ? prev.lowIm : prev.highIm;
      // y · conj(y_prev) · e^(−j·advance): the phase step beyond the filter's own.
      const xr = re * pre + im * pim;
      const xi = im * pre - re * pim;
      const step = Math.atan2(xi * ca - xr * sa, xr * ca + xi * sa);
      run.push({ t: r.hop, phase: run[run.length - 1].phase + step });
    } else {
      fit();
      run.push({ t: r.hop, phase: 0 });
    }
    prev = r;
  }
  fit();
  const radPerHop = den > 0 ? num / den : 0;
  return (radPerHop * DTMF_SAMPLE_RATE) / (2 * Math.PI * GOERTZEL_HOP);
}

function argmax(power: Float64Array, from: number): number {
  let best = from;
  for (let k = from + 1; k < from + 4; k++) if (power[k] > power[best]) best = k;
  return best;
}

function rival(power: Float64Array, from: number, best: number): number {
  let r = 0;
  for (let k = from; k < from + 4; k++) if (k !== best && power[k] > r) r = power[k];
  return r;
}

/** The Goertzel power of a tone at `dbfs` filling a window: (A·N/2)². */
function toneWindowPower(dbfs: number): number {
  return ((32767 * 10 ** (dbfs / 20) * GOERTZEL_WINDOW) / 2) ** 2;
}

function powerToDbfs(power: number): number {
  return 20 * Math.log10((2 * Math.sqrt(power)) / GOERTZEL_WINDOW / 32767);
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
