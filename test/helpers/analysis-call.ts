/**
 * Feeding a far-end classifier or a CallAnalyser as a call would: 20 ms frames with `atMs` the
 * frame's end, the audio followed by silence (the call goes on: a person waits, a machine records)
 * until the analyser is done or `totalMs` have passed; `answerAtMs`: when `answered()` is called.
 */
import { ANALYSIS_FRAME_MS, ANALYSIS_FRAME_SAMPLES, AnalysisEvent, FrameAnalyser } from '../../lib/analysis/analyser';
import { createCallAnalyser } from '../../lib/analysis/analysis-host';
import { checkAnalysisOptions } from '../../lib/capabilities/analysis';
import type { CorpusFixture } from './analysis-corpus';

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

/**
 * The shortest corpus file of class `cls` (among those `accept` takes) whose offline analysis
 * (lib/analysis/analysis-host.ts's analysers with `detect: "machine"`, answered at the first frame)
 * says `cls`, with that analysis: what a call playing the file should report.
 */
export function pickCorpusFile(
  corpus: CorpusFixture,
  cls: 'machine' | 'human',
  accept: (label: CorpusFixture['corpus']['files'][string]) => boolean,
): { file: string; events: AnalysisEvent[] } {
  const files = Object.entries(corpus.corpus.files)
    .filter(([, l]) => l.class === cls && accept(l))
    .sort(([, x], [, y]) => x.durationMs - y.durationMs);
  for (const [file] of files) {
    const events = feedCall(createCallAnalyser(checkAnalysisOptions('machine')), corpus.audio(file), { totalMs: 40_000, answerAtMs: 0 });
    if (events[0]?.topic === 'far-end' && events[0].farEnd === cls) return { file, events };
  }
  throw new Error(`no ${cls} file of the corpus is classified ${cls} offline`);
}
