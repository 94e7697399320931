/**
 * A beep / fax / SIT detector as a FrameAnalyser, for the tests of the combiner (CallAnalyser): the
 * existing ToneDetector and classifyTone of lib/analysis behind the FrameAnalyser shape. The tones
 * helper's own analysers (lib/analysis/beep*.ts, fax*.ts, network-tones*.ts) take its place in
 * production; this one only reports a tone when it ends.
 */
import { AnalysisEvent, FrameAnalyser } from '../../lib/analysis/analyser';
import { classifyTone, sitFromTones } from '../../lib/analysis/call-tones';
import { ToneDetector, ToneSegment } from '../../lib/analysis/tone-detector';

export class ToneAnalyser implements FrameAnalyser {
  readonly done = false;
  private readonly detector = new ToneDetector();
  private readonly ended: ToneSegment[] = [];
  private readonly sit: ToneSegment[] = [];

  constructor(private readonly report: 'beep-fax' | 'sit') {
    this.detector.on('tone', (t) => this.ended.push(t));
  }

  push(frame: Int16Array, atMs: number): AnalysisEvent[] {
    this.detector.push(frame);
    const out: AnalysisEvent[] = [];
    for (const t of this.ended.splice(0)) {
      const kind = classifyTone(t);
      if (this.report === 'beep-fax') {
        if (kind === 'beep') out.push({ topic: 'beep', frequencyHz: t.frequencyHz, durationMs: t.durationMs, atMs });
        if (kind === 'fax-ced' || kind === 'fax-cng') out.push({ topic: 'far-end', farEnd: 'fax', evidence: { tone: kind, frequencyHz: t.frequencyHz }, decisionMs: atMs, atMs });
      } else if (kind === 'sit-segment') {
        this.sit.push(t);
        const sit = this.sit.length >= 3 ? sitFromTones(this.sit.slice(-3)) : null;
        if (sit) out.push({ topic: 'tone', tone: 'sit', evidence: { ...sit }, atMs });
      }
    }
    return out;
  }
}
