/**
 * The voicemail beep (issue 13): a stable single tone of 440–2000 Hz lasting ≥ 150 ms, reported
 * `{ topic: 'beep', frequencyHz, durationMs, atMs }` as soon as it ends (`atMs`: its end), so a flow
 * starts its message after it. A FrameAnalyser (analyser.ts) over ToneDetector's tones; see
 * docs/call-analysis.md#the-voicemail-beep.
 */
import { AnalysisEvent, FrameAnalyser } from './analyser';
import { ToneDetector, ToneSegment } from './tone-detector';

/**
 * The decision limits, put between what must pass and what must not (tones are measured to about
 * ±0.5 % in frequency and ±10–20 ms in length):
 * - 440 Hz must pass; 425 Hz (the CEPT dial, ring and busy tone frequency) must not: 432 Hz.
 * - 2000 Hz must pass; 2100 Hz (fax CED / ANSam) must not: 2050 Hz.
 * - 150 ms must pass; 100 ms (a click, a key tone) must not: 120 ms.
 */
export const BEEP_LIMITS = { minHz: 432, maxHz: 2050, minMs: 120 } as const;

/** Whether a tone is a beep by the limits above. */
export function isBeep(tone: ToneSegment): boolean {
  return tone.frequencyHz >= BEEP_LIMITS.minHz && tone.frequencyHz <= BEEP_LIMITS.maxHz && tone.durationMs >= BEEP_LIMITS.minMs;
}

export interface BeepAnalyserOptions {
  /**
   * The call's ToneDetector, shared with the fax and network tone analysers of the same call (each
   * frame is then analysed once); a new one by default.
   */
  tones?: ToneDetector;
}

/** Reports the first beep it hears, then is done. */
export class BeepAnalyser implements FrameAnalyser {
  private readonly tones: ToneDetector;
  private finished = false;

  constructor(options?: BeepAnalyserOptions) {
    this.tones = options?.tones ?? new ToneDetector();
  }

  get done(): boolean {
    return this.finished;
  }

  push(frame: Int16Array, atMs: number): AnalysisEvent[] {
    if (this.finished) return [];
    const beep = this.tones.pushFrame(frame, atMs).find(isBeep);
    if (!beep) return [];
    this.finished = true;
    return [{ topic: 'beep', frequencyHz: Math.round(beep.frequencyHz), durationMs: Math.round(beep.durationMs), atMs: beep.endMs }];
  }
}
