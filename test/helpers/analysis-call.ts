/**
 * Feeding a far-end classifier or a CallAnalyser as a call would: 20 ms frames with `atMs` the
 * frame's end, the audio followed by silence (the call goes on: a person waits, a machine records)
 * until the analyser is done or `totalMs` have passed; `answerAtMs`: when `answered()` is called.
 */
import { ANALYSIS_FRAME_MS, ANALYSIS_FRAME_SAMPLES, AnalysisEvent, FrameAnalyser } from '../../lib/analysis/analyser';

export function feedCall(a: FrameAnalyser & { answered?: () => void }, pcm: Int16Array, options: { totalMs?: number; answerAtMs?: number } = {}): AnalysisEvent[] {
  const totalMs = options.totalMs ?? 40_000;
  const events: AnalysisEvent[] = [];
  const frame = new Int16Array(ANALYSIS_FRAME_SAMPLES);
  for (let at = ANALYSIS_FRAME_MS; at <= totalMs && !a.done; at += ANALYSIS_FRAME_MS) {
    if (at - ANALYSIS_FRAME_MS === options.answerAtMs) a.answered?.();
    const i = (at / ANALYSIS_FRAME_MS - 1) * ANALYSIS_FRAME_SAMPLES;
    frame.fill(0);
    if (i < pcm.length) frame.set(pcm.subarray(i, Math.min(pcm.length, i + ANALYSIS_FRAME_SAMPLES)));
    events.push(...a.push(frame, at));
  }
  return events;
}
