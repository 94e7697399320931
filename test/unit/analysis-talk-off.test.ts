import assert from 'node:assert/strict';
import { FrameAnalyser } from '../../lib/analysis/analyser';
import { BeepAnalyser } from '../../lib/analysis/beep';
import { FaxAnalyser } from '../../lib/analysis/fax';
import { NetworkToneAnalyser } from '../../lib/analysis/network-tones';
import { ToneDetector } from '../../lib/analysis/tone-detector';
import { seededRandom } from '../../lib/seeded-random';
import { music, requireAudioTools, speak } from '../../scripts/corpus/audio-tools';
import { feedFrames } from '../helpers/analysis-corpus';
import { Law, throughG711 } from '../helpers/dtmf-edges';

/** The three tone analysers of a call, sharing one ToneDetector. */
function analysers(): FrameAnalyser[] {
  const tones = new ToneDetector();
  return [new BeepAnalyser({ tones }), new FaxAnalyser({ tones }), new NetworkToneAnalyser({ tones })];
}

const TEXT =
  'Hello, you have reached the office of doctor Smith. Please leave your name, number and a short message after the tone, ' +
  'and we will call you back as soon as possible. Seven, eight, nine, one two three four. Thank you, and have a wonderful day.';

/**
 * Beyond the corpus: no beep, fax or network tone in several minutes of espeak-ng speech (low to very
 * high voices: a high voice's harmonics are the likeliest to pass for a tone) and sox music (plucked
 * chords and unisons, notes of 150–300 ms), through μ-law and A-law; and no exception on any audio.
 */
describe('lib/analysis tone analysers: talk-off and odd audio', function () {
  this.timeout(300_000);

  it('report nothing in speech of seven voices or in twelve pieces of music, through μ-law and A-law', function () {
    requireAudioTools(this);
    const sounds: { name: string; pcm: Int16Array }[] = [];
    for (let s = 1; s <= 12; s++) sounds.push({ name: `music ${s}`, pcm: music(8000, seededRandom(s), 150 + 50 * (s % 4)) });
    const voices: [string, number][] = [['en', 50], ['en+f3', 80], ['en+f5', 99], ['en-us', 99], ['fr', 99], ['de', 30], ['en+m3', 20]];
    for (const [voice, pitch] of voices) sounds.push({ name: `${voice} pitch ${pitch}`, pcm: speak(TEXT, { voice, pitch }) });
    let seconds = 0;
    for (const { name, pcm } of sounds) {
      for (const law of ['ulaw', 'alaw'] as Law[]) {
        seconds += pcm.length / 8000;
        assert.deepEqual(feedFrames(throughG711(pcm, law), analysers()), [], `${name} ${law}`);
      }
    }
    assert.ok(seconds > 300, `only ${seconds} s`);
  });

  it('never throw on any audio: full scale, square waves, random samples, short and empty frames', () => {
    const rand = seededRandom(7);
    const frames: Int16Array[] = [
      new Int16Array(160).fill(32767),
      new Int16Array(160).fill(-32768),
      Int16Array.from({ length: 160 }, (_, i) => (i % 2 ? 32767 : -32768)),
      Int16Array.from({ length: 160 }, (_, i) => (i % 8 < 4 ? 20000 : -20000)),
      new Int16Array(0),
      new Int16Array(37).fill(1000),
      ...Array.from({ length: 50 }, () => Int16Array.from({ length: 160 }, () => Math.floor(rand() * 65536) - 32768)),
    ];
    const set = analysers();
    let atMs = 0;
    for (let round = 0; round < 20; round++) {
      for (const f of frames) {
        atMs += 20;
        for (const a of set) for (const e of a.push(f, atMs)) assert.equal(typeof e.topic, 'string');
      }
    }
  });
});
