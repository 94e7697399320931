import assert from 'node:assert/strict';
import { requireAudioTools, speak } from '../../scripts/corpus/audio-tools';
import { DTMF_KEYS, Law, detectAll, throughG711 } from '../helpers/dtmf-edges';
import { concat, dtmfTone, silence } from '../../lib/media/tone-generator';

/**
 * Talk-off: speech must give no key (ITU-T Q.24). The speech is generated here by espeak-ng (several
 * voices, low to very high pitch: a high voice's harmonics are the likeliest to pass for a tone
 * pair), through G.711 at a loud and a quiet level.
 */
const TEXT =
  'Hello, you have reached the office of doctor Smith. Please leave your name, number and a short message after the tone, ' +
  'and we will call you back as soon as possible. Seven, eight, nine, one two three four. Thank you, and have a wonderful day.';
const VOICES: { voice: string; pitch: number }[] = [
  { voice: 'en', pitch: 50 },
  { voice: 'en+f3', pitch: 80 },
  { voice: 'en+f5', pitch: 99 },
  { voice: 'en-us', pitch: 99 },
  { voice: 'fr', pitch: 99 },
  { voice: 'de', pitch: 30 },
];

/** `pcm` scaled so that its peak is at `peakDbfs`. */
function atPeak(pcm: Int16Array, peakDbfs: number): Int16Array {
  const peak = pcm.reduce((m, x) => Math.max(m, Math.abs(x)), 1);
  const g = (32767 * 10 ** (peakDbfs / 20)) / peak;
  return Int16Array.from(pcm, (x) => Math.round(x * g));
}

describe('GoertzelDtmfDetector talk-off (espeak-ng speech)', function () {
  this.timeout(300_000);
  const speech: { name: string; pcm: Int16Array }[] = [];

  before(function () {
    requireAudioTools(this);
    for (const v of VOICES) speech.push({ name: `${v.voice} pitch ${v.pitch}`, pcm: speak(TEXT, v) });
  });

  it('hears no key in speech, loud or quiet, through μ-law and A-law', () => {
    let seconds = 0;
    for (const { name, pcm } of speech) {
      for (const peakDbfs of [-1, -20]) {
        for (const law of ['ulaw', 'alaw'] as Law[]) {
          const audio = throughG711(atPeak(pcm, peakDbfs), law);
          seconds += audio.length / 8000;
          const r = detectAll(audio);
          assert.deepEqual(r.digits, [], `${name}, peak ${peakDbfs} dBFS, ${law}`);
        }
      }
    }
    assert.ok(seconds > 120, `only ${seconds} s of speech`);
  });

  it('hears 40 ms keys pressed after the same speech (the detector is not simply deaf)', () => {
    for (const { name, pcm } of speech) {
      const keys = DTMF_KEYS.slice(0, 4);
      const audio = concat([atPeak(pcm, -6), ...[...keys].flatMap((k) => [silence(60), dtmfTone(k, 40, { twistDb: -4 })]), silence(60)]);
      assert.equal(detectAll(throughG711(audio, 'ulaw')).digits.map((d) => d.digit).join(''), keys, name);
    }
  });
});
