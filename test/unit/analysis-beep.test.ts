import assert from 'node:assert/strict';
import { BEEP_LIMITS, BeepAnalyser } from '../../lib/analysis/beep';
import { ToneDetector } from '../../lib/analysis/tone-detector';
import { mixMono } from '../../lib/media/pcm-convert';
import { beep, concat, ringback, silence, tones, whiteNoise } from '../../lib/media/tone-generator';
import { corpusFixture, feedFrames } from '../helpers/analysis-corpus';
import { throughG711 } from '../helpers/dtmf-edges';

const beepsIn = (audio: Int16Array) => feedFrames(audio, [new BeepAnalyser()]);

/** A tone of `hz` for `ms` between silences, over noise 25 dB down, through μ-law. */
const toneAudio = (hz: number, ms: number, level = -12): Int16Array => {
  const clean = concat([silence(400), beep(ms, hz, level), silence(400)]);
  return throughG711(mixMono(clean, whiteNoise(clean.length / 8, level - 25, hz * 7 + ms)), 'ulaw');
};

describe('lib/analysis BeepAnalyser', () => {
  it('reports a beep of 440–2000 Hz, ≥ 150 ms, within 150 ms of its end, with its frequency, length and end; then is done', () => {
    for (const hz of [440, 500, 1000, 1400, 2000]) {
      for (const ms of [150, 300, 1000]) {
        const a = new BeepAnalyser();
        const heard = feedFrames(toneAudio(hz, ms), [a]);
        const what = `${hz} Hz ${ms} ms: ${JSON.stringify(heard)}`;
        assert.equal(heard.length, 1, what);
        const { event, reportedAtMs } = heard[0];
        assert.ok(event.topic === 'beep', what);
        assert.ok(Math.abs(event.frequencyHz / hz - 1) < 0.01, what);
        assert.ok(Math.abs(event.durationMs - ms) <= 20, what);
        assert.ok(Math.abs(event.atMs - (400 + ms)) <= 20, what);
        assert.ok(reportedAtMs - (400 + ms) <= 150 && reportedAtMs >= event.atMs, what);
        assert.equal(a.done, true);
      }
    }
  });

  it('frequency edges: 440 and 2000 Hz are beeps, 425 Hz (CEPT tones) and 2100 Hz (fax CED) are not; the limits lie between', () => {
    assert.ok(BEEP_LIMITS.minHz > 425 && BEEP_LIMITS.minHz < 440 && BEEP_LIMITS.maxHz > 2000 && BEEP_LIMITS.maxHz < 2100);
    assert.equal(beepsIn(toneAudio(440, 400)).length, 1);
    assert.equal(beepsIn(toneAudio(2000, 400)).length, 1);
    assert.deepEqual(beepsIn(toneAudio(425, 400)), []);
    assert.deepEqual(beepsIn(toneAudio(2100, 400)), []);
  });

  it('length edges: 150 ms is a beep, 100 ms is not (the limit, 120 ms, lies between: tones are timed to ±20 ms)', () => {
    assert.ok(BEEP_LIMITS.minMs > 100 && BEEP_LIMITS.minMs < 150);
    for (const hz of [440, 1000, 2000]) {
      assert.equal(beepsIn(toneAudio(hz, 150)).length, 1, `${hz} Hz 150 ms`);
      assert.deepEqual(beepsIn(toneAudio(hz, 100)), [], `${hz} Hz 100 ms`);
    }
  });

  it('reports nothing for two tones at once (busy, US ring-back), CEPT ring-back, white noise or silence', () => {
    assert.deepEqual(beepsIn(tones([{ hz: 480, levelDbfs: -16 }, { hz: 620, levelDbfs: -16 }], 2000)), []);
    assert.deepEqual(beepsIn(ringback(6000, { style: 'us' })), []);
    assert.deepEqual(beepsIn(ringback(6000, { style: 'etsi' })), []); // 425 Hz, 1 s: under the beep's band
    assert.deepEqual(beepsIn(whiteNoise(3000, -10)), []);
    assert.deepEqual(beepsIn(silence(1000)), []);
  });

  it('shares a ToneDetector with other analysers of the call: the same beep as alone', () => {
    const audio = toneAudio(800, 500);
    const tones1 = new ToneDetector();
    const together = feedFrames(audio, [new BeepAnalyser({ tones: tones1 }), new BeepAnalyser({ tones: tones1 })]);
    const alone = beepsIn(audio);
    assert.deepEqual(together, [...alone, ...alone]);
  });

  describe('on the corpus (scripts/make-corpus.ts, seed 13)', function () {
    this.timeout(900_000);
    let fixture: ReturnType<typeof corpusFixture>;
    before(function () {
      fixture = corpusFixture(this);
    });

    it('reports every greeting\'s beep within 150 ms of its end, at its frequency; none in speech, music or greetings without one', () => {
      let beeps = 0;
      for (const [file, label] of Object.entries(fixture.corpus.files)) {
        if (label.class !== 'human' && label.class !== 'machine') continue;
        const heard = beepsIn(fixture.audio(file));
        if (label.class === 'machine' && label.beepEndMs != null) {
          beeps++;
          const what = `${file} (${label.beepHz} Hz, ends ${label.beepEndMs}): ${JSON.stringify(heard)}`;
          assert.equal(heard.length, 1, what);
          const { event, reportedAtMs } = heard[0];
          assert.ok(event.topic === 'beep' && Math.abs(event.frequencyHz / (label.beepHz as number) - 1) < 0.02, what);
          assert.ok(reportedAtMs >= label.beepEndMs && reportedAtMs - label.beepEndMs <= 150, what);
        } else assert.deepEqual(heard, [], file);
      }
      assert.ok(beeps >= 10);
    });
  });
});
