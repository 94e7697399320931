/**
 * The shape every call-analysis detector has (far-end classification, beep, fax tones, network tones),
 * so that one host can run any set of them on a call's received audio: in the main thread, or in a
 * media worker (lib/media-engine), where the events cross to the main thread as plain objects.
 *
 * Time is counted in frames, not read from a clock: the host pushes the received audio in 20 ms
 * frames on its own timeline, silence where nothing arrived (lost packets, silence suppression, hold;
 * lib/analysis/analysis-host.ts), so `atMs` advances by exactly 20 per frame and a detector's
 * timings do not depend on how busy the process is. See docs/call-analysis.md.
 */

/** 8 kHz, 160 samples: one RTP packet, one media clock tick. */
export const ANALYSIS_FRAME_SAMPLES = 160;
export const ANALYSIS_FRAME_MS = 20;

/** What answered: the contract's `payload.farEnd` (design.md §3.1). */
export type FarEnd = 'human' | 'machine' | 'fax' | 'unknown';

/** Network tones heard before an answer (`msg.topic: "tone"`). */
export type NetworkTone = 'busy' | 'congestion' | 'sit';

/**
 * One result, as a flow will see it (`msg.topic` = `topic`, the rest in `msg.payload`). Plain data
 * only (numbers, strings, arrays, plain objects): it is structured-cloned between threads.
 * `atMs` is when, in the analysed audio, the thing it reports ended or was decided.
 */
export type AnalysisEvent =
  | { topic: 'far-end'; farEnd: FarEnd; evidence: Record<string, unknown>; decisionMs: number; atMs: number }
  | { topic: 'beep'; frequencyHz: number; durationMs: number; atMs: number; afterVerdict?: 'human' | 'unknown' }
  | { topic: 'greeting-end'; by: 'silence' | 'timeout'; atMs: number }
  | { topic: 'tone'; tone: NetworkTone; evidence: Record<string, unknown>; atMs: number };

export interface FrameAnalyser {
  /**
   * One frame of the received audio (`ANALYSIS_FRAME_SAMPLES` samples; the host may reuse the array
   * after the call returns, so copy what you keep). `atMs`: the frame's end, in ms since the analysis
   * started. Returns what it decided with this frame (usually nothing). Never throws on any audio.
   */
  push(frame: Int16Array, atMs: number): AnalysisEvent[];
  /** True once it has nothing more to report: the host stops feeding it. */
  readonly done: boolean;
  /**
   * Optional: true while it has heard the start of something it may still report (a SIT's first
   * segment, network-tones.ts): a combiner holds what other detectors concluded from the same
   * sounds until it turns false (call-analyser.ts).
   */
  readonly pending?: boolean;
}
