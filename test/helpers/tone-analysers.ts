/**
 * The tone analysers of one call as the combiner (CallAnalyser) takes them: beep and fax as its
 * `detectors`, busy / congestion / SIT as its `networkTones`, all three over one shared ToneDetector
 * so that each frame is analysed once (lib/analysis/beep.ts).
 */
import { BeepAnalyser } from '../../lib/analysis/beep';
import { FaxAnalyser } from '../../lib/analysis/fax';
import { NetworkToneAnalyser } from '../../lib/analysis/network-tones';
import { ToneDetector } from '../../lib/analysis/tone-detector';

export function toneAnalysers(): { detectors: [BeepAnalyser, FaxAnalyser]; networkTones: [NetworkToneAnalyser] } {
  const tones = new ToneDetector();
  return { detectors: [new BeepAnalyser({ tones }), new FaxAnalyser({ tones })], networkTones: [new NetworkToneAnalyser({ tones })] };
}
