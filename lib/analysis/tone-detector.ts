/**
 * Single-frequency tone detection on 8 kHz PCM, for call analysis (issue 13): the voicemail beep (a
 * stable tone of 440–2000 Hz for ≥ 150 ms), fax CNG (1100 Hz) and CED / ANSam (2100 Hz), and the
 * special information tones (913.8 / 985.2, 1370.6 / 1428.5, 1776.7 Hz). Pure library code: no
 * Node-RED, no sockets, no timers; `push()` frames as they arrive.
 *
 * Method. Every 10 ms, the last 20 ms (160 samples) are fitted with the second-order recurrence a
 * pure sine obeys, x[n−1] + x[n+1] = 2·cos(ω)·x[n]: the least-squares cos(ω) gives the frequency
 * and the residual, relative to the signal's energy, says how pure the tone is (0 for one sine; about
 * 1 for white noise; speech, music and two-tone signals such as busy tones stay well above the
 * limit). This is the idea of FreeSWITCH mod_avmd's DESA-2 estimator (Teager–Kaiser energy of the
 * signal and its difference) in its least-squares form; written here because no npm package
 * estimates a single tone's frequency on PCM frames, and it costs ~5 multiply-adds a sample.
 * A tone is a run of pure frames whose frequency stays within ±3 % of the run's running mean; it is
 * returned when it ends (with its frequency, start and length), 30–40 ms after its end.
 *
 * It is the one single-tone mechanism of lib/analysis: the beep (beep.ts), fax (fax.ts) and SIT
 * (network-tones.ts) analysers read its tones. Analysers of one call may share one detector
 * (`pushFrame` with the same frame and time runs it once), so the tone work is done once a frame.
 */
import { checkNumber, checkOptions } from '../media/check-option';

export const ANALYSIS_SAMPLE_RATE = 8000;
/** The analysis frame (hop), samples: 10 ms. */
export const TONE_HOP = 80;
/** The analysis window, samples: 20 ms. */
export const TONE_WINDOW = 160;

/** The least share of a window's energy a Goertzel filter at the estimated frequency must hold. */
const MIN_SHARE = 0.9;
/**
 * How far (as a fraction) a window's frequency may stray from the run's mean: at 440 Hz, noise 20 dB
 * under the tone moves single 20 ms estimates by ±2 %; speech's pitch glides further.
 */
const STABLE = 0.03;
/**
 * Stray windows passed over inside a tone. With noise 20 dB under 500 ms beeps of 440–2000 Hz, two
 * stray windows in a row (at 440–600 Hz) cut 6 of 50 in two when one was passed over; passing over
 * two, 1 of 50. A tone is then returned 30–40 ms after its end.
 */
const MAX_STRAY = 2;
/** How many frames before a tone's first pure window are looked at for its start. */
const LOOKBACK = TONE_WINDOW / TONE_HOP + 2;

export interface ToneDetectorOptions {
  /** Lowest and highest frequency tracked, Hz (default 300 and 3400). */
  minHz?: number;
  maxHz?: number;
  /** Shortest tone reported, ms (default 100). */
  minDurationMs?: number;
  /** Largest residual share of a frame that still counts as a pure tone (default 0.1). */
  maxResidual?: number;
  /** Quietest frame considered, dBFS RMS (default −45). */
  minLevelDbfs?: number;
}

export interface ToneSegment {
  /** The tone's mean frequency, Hz. */
  frequencyHz: number;
  /** From the first sample pushed, ms. */
  startMs: number;
  endMs: number;
  durationMs: number;
  /** The mean level of its frames, dBFS (RMS re a full-scale sine). */
  levelDbfs: number;
}

interface Run {
  firstFrame: number;
  lastFrame: number;
  sumHz: number;
  sumPower: number;
  frames: number;
  /** How many windows in a row, up to the last, did not fit the run. */
  missed: number;
}

/** What `fitSine` finds in a window. */
export interface SineFit {
  /** cos ω of the best-fitting sine (ω in radians per sample); outside [−1, 1] when nothing fits. */
  cos: number;
  /** What the fit leaves, as a share of the signal (0 for one pure sine, about 1 for white noise). */
  residual: number;
  /** The window's mean square (its inner samples). */
  meanSquare: number;
}

/**
 * Fits `w[s, s + n)` with the recurrence a sine obeys, x[n−1] + x[n+1] = 2·cos ω·x[n], by least
 * squares with x[n+2] and x[n+3] as instruments: Σ z·y = 2c·Σ z·x holds for a sine, and noise in x
 * does not bias these sums as it biases Σ x·x (two instruments, as Σ x[n+2]·x[n] vanishes at 1000 Hz).
 * The DESA-2 idea (FreeSWITCH mod_avmd) over a whole window at once: compared in bench/call-tones.ts.
 */
export function fitSine(w: ArrayLike<number>, s: number, n: number): SineFit {
  let energy = 0;
  let xy = 0; // Σ x[n]·(x[n−1] + x[n+1])
  let yy = 0; // Σ (x[n−1] + x[n+1])²
  let zy2 = 0;
  let zx2 = 0;
  let zy3 = 0;
  let zx3 = 0;
  for (let i = s + 1; i < s + n - 1; i++) {
    const y = w[i - 1] + w[i + 1];
    energy += w[i] * w[i];
    xy += w[i] * y;
    yy += y * y;
    if (i < s + n - 3) {
      zy2 += w[i + 2] * y;
      zx2 += w[i + 2] * w[i];
      zy3 += w[i + 3] * y;
      zx3 += w[i + 3] * w[i];
    }
  }
  const den = 2 * (zx2 * zx2 + zx3 * zx3);
  const c = den === 0 ? 2 : (zy2 * zx2 + zy3 * zx3) / den;
  // Residual Σ (y − 2c·x)² = yy − 4c·xy + 4c²·energy, relative to Σ y² ≈ 4cos²ω·energy for a sine.
  const residual = energy === 0 ? 1 : (yy - 4 * c * xy + 4 * c * c * energy) / (2 * energy);
  return { cos: c, residual, meanSquare: energy / (n - 2) };
}

/** Streams 8 kHz samples in; returns each stable single tone once, when it ends (or at `end()`). */
export class ToneDetector {
  private readonly minCos: number;
  private readonly maxCos: number;
  private readonly minFrames: number;
  private readonly maxResidual: number;
  private readonly minPower: number;
  private readonly window = new Float64Array(2 * TONE_WINDOW);
  private at = 0;
  private filled = 0;
  private sinceHop = 0;
  private frame = 0;
  private run: Run | null = null;
  /** Mean square of the last LOOKBACK frames' windows, by frame number modulo LOOKBACK. */
  private readonly frameMeanSquare = new Float64Array(LOOKBACK);
  private lastClosed = -1;
  private closed: ToneSegment[] = [];
  /** Where sample 0 is on the caller's time line, ms (set by the first `pushFrame`). */
  private originMs = 0;
  private pushed = 0;
  private lastFrameAtMs = Number.NaN;
  private lastFrameTones: readonly ToneSegment[] = [];
  /** The frequencies of the pure windows of the samples last pushed (see {@link pureWindowsHz}). */
  private pure: number[] = [];

  constructor(options?: ToneDetectorOptions) {
    const o = checkOptions('ToneDetector', options);
    const minHz = checkNumber('minHz', o.minHz ?? 300, 50, 3900);
    const maxHz = checkNumber('maxHz', o.maxHz ?? 3400, minHz, 3950);
    this.maxCos = Math.cos((2 * Math.PI * minHz) / ANALYSIS_SAMPLE_RATE);
    this.minCos = Math.cos((2 * Math.PI * maxHz) / ANALYSIS_SAMPLE_RATE);
    this.minFrames = Math.ceil(checkNumber('minDurationMs', o.minDurationMs ?? 100, 20, 60_000) / 10);
    this.maxResidual = checkNumber('maxResidual', o.maxResidual ?? 0.1, 0.001, 1);
    const rms = (32767 / Math.SQRT2) * 10 ** (checkNumber('minLevelDbfs', o.minLevelDbfs ?? -45, -90, 0) / 20);
    this.minPower = rms * rms;
  }

  /** Samples of any count; returns the tones that ended in them. */
  push(samples: Int16Array): ToneSegment[] {
    this.pushed += samples.length;
    this.pure = [];
    for (let i = 0; i < samples.length; i++) {
      this.window[this.at] = samples[i];
      this.window[this.at + TONE_WINDOW] = samples[i];
      this.at = (this.at + 1) % TONE_WINDOW;
      if (this.filled < TONE_WINDOW) this.filled++;
      if (++this.sinceHop === TONE_HOP) {
        this.sinceHop = 0;
        this.analyse();
      }
    }
    return this.take();
  }

  /**
   * One frame of a FrameAnalyser host (`atMs`: the frame's end on the host's time line, which the
   * tones' times then follow). Called again with the same `atMs` (another analyser of the same call
   * sharing this detector), it returns the same tones without analysing the frame twice.
   */
  pushFrame(frame: Int16Array, atMs: number): readonly ToneSegment[] {
    if (atMs === this.lastFrameAtMs) return this.lastFrameTones;
    if (this.pushed === 0) this.originMs = atMs - (frame.length * 1000) / ANALYSIS_SAMPLE_RATE;
    this.lastFrameAtMs = atMs;
    this.lastFrameTones = this.push(frame);
    return this.lastFrameTones;
  }

  /** The tone in progress (its frequency and length so far), or null. */
  current(): ToneSegment | null {
    const r = this.run;
    if (!r || r.frames <= 2) return null;
    return this.segment(r, (r.firstFrame + 1) * TONE_HOP - TONE_WINDOW);
  }

  /**
   * The frequencies of the windows of the samples last pushed that were a pure tone, Hz, whether or
   * not they belong to a tone yet (a run is a tone from its third window on: see {@link current}):
   * what sounds right now, for an analyser waiting for a tone to start (network-tones.ts, the SIT's
   * next segment).
   */
  pureWindowsHz(): readonly number[] {
    return this.pure;
  }

  /** The end of the audio: returns the tone in progress, if any. */
  end(): ToneSegment[] {
    this.close();
    return this.take();
  }

  private take(): ToneSegment[] {
    if (this.closed.length === 0) return [];
    const out = this.closed;
    this.closed = [];
    return out;
  }

  private segment(r: Run, startSample: number): ToneSegment {
    const endSample = (r.lastFrame + 1) * TONE_HOP;
    const power = r.sumPower / r.frames;
    const start = Math.max(0, startSample);
    return {
      frequencyHz: Math.round((r.sumHz / r.frames) * 10) / 10,
      startMs: this.originMs + (start * 1000) / ANALYSIS_SAMPLE_RATE,
      endMs: this.originMs + (endSample * 1000) / ANALYSIS_SAMPLE_RATE,
      durationMs: ((endSample - start) * 1000) / ANALYSIS_SAMPLE_RATE,
      levelDbfs: Math.round(10 * Math.log10(power / ((32767 * 32767) / 2)) * 10) / 10,
    };
  }

  private analyse(): void {
    const f = this.frame++;
    if (this.filled < TONE_WINDOW) return;
    const w = this.window;
    const s = this.at; // the oldest sample
    const fit = fitSine(w, s, TONE_WINDOW);
    this.frameMeanSquare[f % LOOKBACK] = fit.meanSquare;
    const energy = fit.meanSquare * (TONE_WINDOW - 2);
    let pure = false;
    let hz = 0;
    if (fit.meanSquare >= this.minPower) {
      const c = fit.cos;
      const residual = fit.residual;
      if (c >= this.minCos && c <= this.maxCos && residual <= this.maxResidual) {
        // Two close tones (busy: 480 + 620 Hz) also nearly obey one recurrence (their cos(ω) are
        // close): a Goertzel filter at the estimated frequency must hold the window's energy too.
        const k = 2 * c;
        let s1 = 0;
        let s2 = 0;
        for (let n = s; n < s + TONE_WINDOW; n++) {
          const s0 = w[n] + k * s1 - s2;
          s2 = s1;
          s1 = s0;
        }
        const windowEnergy = energy + w[s] * w[s] + w[s + TONE_WINDOW - 1] * w[s + TONE_WINDOW - 1];
        const share = (2 * (s1 * s1 + s2 * s2 - k * s1 * s2)) / (TONE_WINDOW * windowEnergy);
        if (share >= MIN_SHARE) {
          pure = true;
          hz = (Math.acos(c) * ANALYSIS_SAMPLE_RATE) / (2 * Math.PI);
          this.pure.push(hz);
        }
      }
    }
    const r = this.run;
    if (r && (!pure || Math.abs(hz / (r.sumHz / r.frames) - 1) > STABLE)) {
      // A run of one or two windows is the tone's ragged start (a window part silence, part tone):
      // dropped, so that the steady tone after it starts a run of its own. Up to MAX_STRAY windows
      // in a row inside a steady tone (noise, a phase reversal) are passed over; one more ends it.
      if (pure && r.frames <= 2) this.run = null;
      else if (r.frames > 2 && r.missed < MAX_STRAY) {
        r.missed++;
        return;
      } else this.close();
    }
    if (!pure) return;
    if (!this.run) this.run = { firstFrame: f, lastFrame: f, sumHz: 0, sumPower: 0, frames: 0, missed: 0 };
    const run = this.run;
    run.lastFrame = f;
    run.missed = 0;
    run.sumHz += hz;
    run.sumPower += fit.meanSquare;
    run.frames++;
  }

  private close(): void {
    const r = this.run;
    this.run = null;
    if (!r) return;
    const power = r.sumPower / r.frames;
    // Frame f's window ends at sample (f + 1)·HOP. The first windows over the tone's start are not
    // pure; those holding at least half the tone's power have their centre inside the tone, so the
    // tone started about at the centre of the earliest of them.
    let first = r.firstFrame;
    while (first - 1 > this.lastClosed && r.firstFrame - (first - 1) < LOOKBACK && this.frameMeanSquare[(first - 1) % LOOKBACK] >= power / 2) first--;
    const startSample = first < r.firstFrame ? (first + 1) * TONE_HOP - TONE_WINDOW / 2 : (r.firstFrame + 1) * TONE_HOP - TONE_WINDOW;
    const endSample = (r.lastFrame + 1) * TONE_HOP;
    if ((endSample - startSample) / TONE_HOP < this.minFrames) return;
    this.lastClosed = r.lastFrame;
    this.closed.push(this.segment(r, startSample));
  }
}
