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
 *   than 1 Hz. A tone is accepted within ±2.5 % (half-way between the two limits). The energy share
 *   is then judged on powers corrected for the filter's loss at that offset, so that an
 *   off-frequency tone does not also look weaker.
 * - Level and twist are judged on each tone's amplitude fitted by least squares to the samples of
 *   the tone (two sines at the measured frequencies), not on the filters' powers: a 105-sample
 *   window leaks about −24 dB of one tone into the other's filter, and with a 2.5 ms hop that leak
 *   keeps nearly the same phase from window to window when the tones are ~400 Hz apart (key 0:
 *   941/1336 Hz), so averaging windows does not remove it: the filters misjudged twist by up to
 *   0.6 dB on clean 40 ms tones. The fit separates the two tones exactly (figures in docs/dtmf.md).
 * - Twist: the high tone may be up to 8 dB weaker than the low one ("normal" twist: lines lose more
 *   at high frequencies) and up to 4 dB stronger ("reverse" twist). Q.24 asks that these be
 *   accepted; the decision limits sit 1 dB beyond them (9 and 5 dB), so that a key measured at
 *   −8.3 or +4.001 dB is still a key, and twist of −10 / +6 dB is rejected.
 * - Duration: Q.24 asks that 40 ms tones be accepted and tones under 23 ms rejected; after G.711 and
 *   noise a 40 ms tone can measure 37.5 ms (the timing is to one hop), so the limit is 30 ms.
 * - The two fitted tones must hold ≥ 90 % of the energy of the samples they were fitted to (noise and
 *   speech spread theirs: keys with white noise 15 dB under the weaker tone, through G.711, hold
 *   ≥ 96 %; 11 minutes of espeak-ng speech in 10 voices gave no candidate above 79 %), each
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
/** Samples kept for the amplitude fit: the last 2.1 s (a tone's first 2 s of windows, and one window). */
const HISTORY = 2 * MAX_RECORDS * GOERTZEL_HOP + 2 * GOERTZEL_WINDOW;
/** The fit leaves out this many samples at each edge of the measured tone (the timing is to ±1 hop). */
const FIT_MARGIN = GOERTZEL_HOP;
/** Windows with at least this share of the strongest window's power are (nearly) filled by the tone. */
const FULL_WINDOW = 0.8;
/** The fit uses at most this many samples (100 ms) from the middle of a tone. */
const FIT_MAX = 800;

const FREQS = [...DTMF_LOW_HZ, ...DTMF_HIGH_HZ];

export interface GoertzelDtmfOptions {
  /** Shortest tone accepted (as measured), ms (default 30: Q.24 accepts 40 ms, rejects under 23 ms). */
  minDurationMs?: number;
  /** Shortest pause that ends a tone, ms (default 25); shorter interruptions are bridged. */
  minPauseMs?: number;
  /** Largest accepted frequency error, as a fraction (default 0.025, i.e. ±2.5 %). */
  maxFrequencyError?: number;
  /** How much weaker the high tone may be than the low one, dB (default 9: Q.24's 8 dB and a margin). */
  normalTwistDb?: number;
  /** How much stronger the high tone may be than the low one, dB (default 5: Q.24's 4 dB and a margin). */
  reverseTwistDb?: number;
  /** Weakest accepted tone, dBFS (default −40). */
  minLevelDbfs?: number;
  /** Least share of the signal energy the two tones must hold (default 0.9). */
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
  /** The last HISTORY samples, for the amplitude fit; `total` counts every sample pushed. */
  private readonly history = new Float64Array(HISTORY);
  private total = 0;
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
    this.minHops = msToHops(checkInt('minDurationMs', o.minDurationMs ?? 30, 20, 1000));
    this.pauseHops = Math.max(1, msToHops(checkInt('minPauseMs', o.minPauseMs ?? 25, 5, 500)) - PAUSE_SHRINK_HOPS);
    this.maxError = checkNumber('maxFrequencyError', o.maxFrequencyError ?? 0.025, 0.005, 0.05);
    this.minTwist = -checkNumber('normalTwistDb', o.normalTwistDb ?? 9, 0, 20);
    this.maxTwist = checkNumber('reverseTwistDb', o.reverseTwistDb ?? 5, 0, 20);
    const minLevel = checkNumber('minLevelDbfs', o.minLevelDbfs ?? -40, -80, 0);
    this.minPower = toneWindowPower(minLevel);
    this.minShare = checkNumber('minToneShare', o.minToneShare ?? 0.9, 0.3, 1);
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
      this.history[this.total++ % HISTORY] = x;
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
    this.history.fill(0);
    this.ringAt = this.hop = this.sinceHop = this.total = 0;
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
    // The fit runs over the longest stretch of windows the tone fills (a bridged interruption
    // would otherwise count as residual energy), inside the tone's measured extent.
    const run = longestRun(c.records.filter((r) => pairPower(r) >= FULL_WINDOW * peak).map((r) => r.hop));
    const fitFrom = Math.max(startSample, (run[0] + 1) * GOERTZEL_HOP - GOERTZEL_WINDOW);
    const fitTo = Math.min(startSample + hops * GOERTZEL_HOP, (run[1] + 1) * GOERTZEL_HOP);
    const fitted = this.fitAmplitudes(fitFrom, fitTo, lowHz, highHz);
    const lowPower = fitted ? toneWindowPower(amplitudeToDbfs(fitted[0])) : mean((r) => r.lowPower) / lowGain;
    const highPower = fitted ? toneWindowPower(amplitudeToDbfs(fitted[1])) : mean((r) => r.highPower) / highGain;
    const share = fitted
      ? fitted[2]
      : mean((r) => (2 * (r.lowPower / lowGain + r.highPower / highGain)) / (GOERTZEL_WINDOW * r.energy));
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
  /**
   * The amplitudes of two sines at `lowHz` and `highHz` fitted by least squares to the samples
   * [from, to) less FIT_MARGIN at each end (at most FIT_MAX from the middle), or null when fewer
   * than a window's worth of them are still kept. Written here (four unknowns: the cosine and sine
   * part of each tone) because no npm package does a small linear least-squares fit on typed arrays
   * without pulling a matrix library in for a 4×4 solve.
   */
  private fitAmplitudes(from: number, to: number, lowHz: number, highHz: number): [number, number, number] | null {
    let a = Math.max(Math.round(from) + FIT_MARGIN, this.total - HISTORY, 0);
    let b = Math.min(Math.round(to) - FIT_MARGIN, this.total);
    if (b - a > FIT_MAX) {
      const mid = Math.round((a + b) / 2);
      a = mid - FIT_MAX / 2;
      b = mid + FIT_MAX / 2;
    }
    if (b - a < GOERTZEL_WINDOW) return null;
    const wl = (2 * Math.PI * lowHz) / DTMF_SAMPLE_RATE;
    const wh = (2 * Math.PI * highHz) / DTMF_SAMPLE_RATE;
    // Normal equations M·p = v for x[n] ≈ p0·cos(wl·n) + p1·sin(wl·n) + p2·cos(wh·n) + p3·sin(wh·n).
    const m = Array.from({ length: 4 }, () => new Float64Array(5));
    const basis = new Float64Array(4);
    let energy = 0;
    for (let n = a; n < b; n++) {
      const t = n - a;
      basis[0] = Math.cos(wl * t);
      basis[1] = Math.sin(wl * t);
      basis[2] = Math.cos(wh * t);
      basis[3] = Math.sin(wh * t);
      const x = this.history[n % HISTORY];
      energy += x * x;
      for (let i = 0; i < 4; i++) {
        for (let j = i; j < 4; j++) m[i][j] += basis[i] * basis[j];
        m[i][4] += basis[i] * x;
      }
    }
    for (let i = 0; i < 4; i++) for (let j = 0; j < i; j++) m[i][j] = m[j][i];
    const p = solve4(m);
    if (!p) return null;
    const al = Math.hypot(p[0], p[1]);
    const ah = Math.hypot(p[2], p[3]);
    return [al, ah, energy > 0 ? ((al * al + ah * ah) / 2) * ((b - a) / energy) : 0];
  }
}

/** Solves a 4×4 system given as rows [a0 a1 a2 a3 | b] by Gaussian elimination with pivoting; null if singular. */
function solve4(m: Float64Array[]): number[] | null {
  for (let c = 0; c < 4; c++) {
    let pivot = c;
    for (let r = c + 1; r < 4; r++) if (Math.abs(m[r][c]) > Math.abs(m[pivot][c])) pivot = r;
    if (Math.abs(m[pivot][c]) < 1e-9) return null;
    [m[c], m[pivot]] = [m[pivot], m[c]];
    for (let r = c + 1; r < 4; r++) {
      const f = m[r][c] / m[c][c];
      for (let k = c; k < 5; k++) m[r][k] -= f * m[c][k];
    }
  }
  const x = [0, 0, 0, 0];
  for (let r = 3; r >= 0; r--) {
    let v = m[r][4];
    for (let k = r + 1; k < 4; k++) v -= m[r][k] * x[k];
    x[r] = v / m[r][r];
  }
  return x;
}

/** The first and last of the longest run of consecutive numbers in `hops` (ascending). */
function longestRun(hops: readonly number[]): [number, number] {
  let best: [number, number] = [hops[0], hops[0]];
  let first = hops[0];
  for (let i = 1; i <= hops.length; i++) {
    if (i < hops.length && hops[i] === hops[i - 1] + 1) continue;
    if (hops[i - 1] - first > best[1] - best[0]) best = [first, hops[i - 1]];
    first = hops[i];
  }
  return best;
}

function amplitudeToDbfs(amplitude: number): number {
  return 20 * Math.log10(Math.max(amplitude, 1e-9) / 32767);
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
