/**
 * Fax tones (issue 13): the calling fax's CNG (ITU-T T.30: 1100 Hz ± 38 Hz, 0.5 s on, 3 s off) and
 * the answering fax's CED (T.30 / V.25: 2100 Hz ± 15 Hz, 2.6–4 s) or ANSam (V.8: the same 2100 Hz,
 * amplitude-modulated 20 % at 15 Hz, its phase reversed every 450 ms). The verdict is the far-end
 * event the combiner passes on: `{ topic: 'far-end', farEnd: 'fax', evidence: { tone: 'cng' | 'ced' |
 * 'ansam', … }, decisionMs, atMs }`. A FrameAnalyser (analyser.ts) over ToneDetector's tones; see
 * docs/call-analysis.md#fax-tones.
 */
import { ANALYSIS_FRAME_MS, AnalysisEvent, FrameAnalyser } from './analyser';
import { ToneDetector, ToneSegment } from './tone-detector';

/**
 * Decision limits, between what must pass (the standards' tolerances) and what must not:
 * - CNG: 1100 ± 38 Hz must pass (T.30), ± 50 Hz is not CNG: ± 44 Hz. 0.5 s ± 15 % must pass (425–575 ms,
 *   measured ± 20 ms); 300 ms and 800 ms must not: 400–700 ms. The silence between two bursts:
 *   3 s ± 15 % must pass: 2400–3600 ms.
 * - CED / ANSam: 2100 ± 15 Hz must pass (V.25), 2050 Hz (a beep may reach 2000 Hz) must not: ± 25 Hz.
 *   Heard for 700 ms (CED lasts 2.6–4 s), counting pieces split by phase reversals (gaps up to
 *   100 ms). ANSam is told from CED by its AM (below), as phase reversals do not always split the tone.
 */
export const FAX_LIMITS = {
  cngHz: 1100,
  cngToleranceHz: 44,
  cngMinMs: 400,
  cngMaxMs: 700,
  cngMinOffMs: 2400,
  cngMaxOffMs: 3600,
  /** A first CNG burst is a fax at once when at most this much other sound came before it. */
  cngMaxOtherSoundMs: 300,
  answerHz: 2100,
  answerToleranceHz: 25,
  answerMs: 700,
  answerMaxGapMs: 100,
  /**
   * ANSam's 15 Hz AM (20 %) shows in the 20 ms frames' RMS as a modulation of about 0.17 (20 ms
   * averages a 15 Hz sine down by sinc(0.3) ≈ 0.86); a plain CED, through G.711 and noise 25 dB down,
   * stays under 0.03.
   */
  ansamMinAm: 0.08,
} as const;

/** "Other sound": a frame at least this loud (dBFS, RMS re a full-scale sine) that is no tone. */
const SOUND_DBFS = -40;
const SOUND_POWER = ((32767 * 32767) / 2) * 10 ** (SOUND_DBFS / 10);

export function isCng(tone: ToneSegment): boolean {
  return Math.abs(tone.frequencyHz - FAX_LIMITS.cngHz) <= FAX_LIMITS.cngToleranceHz && tone.durationMs >= FAX_LIMITS.cngMinMs && tone.durationMs <= FAX_LIMITS.cngMaxMs;
}

const isAnswerHz = (hz: number): boolean => Math.abs(hz - FAX_LIMITS.answerHz) <= FAX_LIMITS.answerToleranceHz;

export interface FaxAnalyserOptions {
  /** The call's ToneDetector, shared with the beep and network tone analysers (see beep.ts). */
  tones?: ToneDetector;
}

/** Reports `far-end` `fax` once, on CNG or CED / ANSam, then is done. */
export class FaxAnalyser implements FrameAnalyser {
  private readonly tones: ToneDetector;
  private finished = false;
  private originMs = Number.NaN;
  /** Loud frames so far, and the length of the tones among them. */
  private loudMs = 0;
  private tonesMs = 0;
  private lastCng: ToneSegment | null = null;
  /** 2100 Hz heard in closed pieces (a phase reversal may split the tone), the last piece's end. */
  private answerMs = 0;
  private answerEndMs = Number.NEGATIVE_INFINITY;
  /** The RMS of frames inside the 2100 Hz tone: count, sum, sum of squares (for the 15 Hz AM). */
  private amN = 0;
  private amSum = 0;
  private amSumSq = 0;

  constructor(options?: FaxAnalyserOptions) {
    this.tones = options?.tones ?? new ToneDetector();
  }

  get done(): boolean {
    return this.finished;
  }

  push(frame: Int16Array, atMs: number): AnalysisEvent[] {
    if (this.finished) return [];
    if (Number.isNaN(this.originMs)) this.originMs = atMs - ANALYSIS_FRAME_MS;
    let energy = 0;
    for (let i = 0; i < frame.length; i++) energy += frame[i] * frame[i];
    const power = energy / Math.max(1, frame.length);
    if (power >= SOUND_POWER) this.loudMs += ANALYSIS_FRAME_MS;
    for (const tone of this.tones.pushFrame(frame, atMs)) {
      this.tonesMs += tone.durationMs + ANALYSIS_FRAME_MS; // its ragged edges too
      if (isAnswerHz(tone.frequencyHz)) this.answerPiece(tone);
      const cng = isCng(tone) ? this.cng(tone) : null;
      if (cng) return this.decide(cng, atMs);
    }
    const now = this.tones.current();
    if (now && isAnswerHz(now.frequencyHz)) {
      if (this.answerMs > 0 && now.startMs - this.answerEndMs > FAX_LIMITS.answerMaxGapMs) this.resetAnswer();
      // The window ending with this frame was part of the tone: its RMS samples the 15 Hz envelope.
      if (Math.abs(now.endMs - atMs) < 1) {
        const rms = Math.sqrt(power);
        this.amN++;
        this.amSum += rms;
        this.amSumSq += rms * rms;
      }
      const heard = this.answerMs + now.durationMs;
      if (heard >= FAX_LIMITS.answerMs) {
        const am = this.amDepth();
        return this.decide({ tone: am >= FAX_LIMITS.ansamMinAm ? 'ansam' : 'ced', frequencyHz: Math.round(now.frequencyHz), heardMs: Math.round(heard), amDepth: Math.round(am * 1000) / 1000 }, atMs);
      }
    }
    return [];
  }

  private decide(evidence: Record<string, unknown>, atMs: number): AnalysisEvent[] {
    this.finished = true;
    return [{ topic: 'far-end', farEnd: 'fax', evidence, decisionMs: atMs - this.originMs, atMs }];
  }

  /**
   * A CNG burst: a fax at once when (almost) nothing but tones came before it (a calling fax is
   * silent between its bursts); otherwise (a 1100 Hz voicemail beep after a greeting) only when a
   * second burst follows on CNG's cadence.
   */
  private cng(tone: ToneSegment): Record<string, unknown> | null {
    const otherSoundMs = Math.max(0, this.loudMs - this.tonesMs);
    const evidence = { tone: 'cng', frequencyHz: Math.round(tone.frequencyHz), durationMs: Math.round(tone.durationMs) };
    const last = this.lastCng;
    this.lastCng = tone;
    if (last) {
      const offMs = tone.startMs - last.endMs;
      if (offMs >= FAX_LIMITS.cngMinOffMs && offMs <= FAX_LIMITS.cngMaxOffMs) return { ...evidence, bursts: 2, offMs: Math.round(offMs) };
    }
    if (otherSoundMs <= FAX_LIMITS.cngMaxOtherSoundMs) return { ...evidence, bursts: 1, otherSoundMs };
    return null;
  }

  /**
   * A piece of 2100 Hz ended. A phase reversal spoils the tone fit of one or two windows (one, which
   * the detector rides over, when it falls near a window's edge): the pieces count together.
   */
  private answerPiece(tone: ToneSegment): void {
    if (this.answerMs > 0 && tone.startMs - this.answerEndMs > FAX_LIMITS.answerMaxGapMs) this.resetAnswer();
    this.answerMs += tone.durationMs;
    this.answerEndMs = tone.endMs;
  }

  private resetAnswer(): void {
    this.answerMs = 0;
    this.answerEndMs = Number.NEGATIVE_INFINITY;
    this.amN = 0;
    this.amSum = 0;
    this.amSumSq = 0;
  }

  /** The envelope's modulation: √2 × the frames' RMS coefficient of variation (a sine's depth). */
  private amDepth(): number {
    if (this.amN < 5) return 0;
    const mean = this.amSum / this.amN;
    const variance = Math.max(0, this.amSumSq / this.amN - mean * mean);
    return mean > 0 ? (Math.SQRT2 * Math.sqrt(variance)) / mean : 0;
  }
}
