import assert from 'node:assert/strict';
import { AnalysisEvent } from '../../lib/analysis/analyser';
import { FAX_LIMITS, FaxAnalyser } from '../../lib/analysis/fax';
import { mixMono } from '../../lib/media/pcm-convert';
import { beep, concat, silence, whiteNoise } from '../../lib/media/tone-generator';
import { ansam } from '../../scripts/make-corpus';
import { corpusFixture, feedFrames } from '../helpers/analysis-corpus';
import { throughG711 } from '../helpers/dtmf-edges';

type FarEndEvent = Extract<AnalysisEvent, { topic: 'far-end' }>;

function faxIn(audio: Int16Array): { event: FarEndEvent; reportedAtMs: number }[] {
  return feedFrames(throughG711(audio, 'alaw'), [new FaxAnalyser()]) as { event: FarEndEvent; reportedAtMs: number }[];
}

/** CNG bursts of `hz` for `onMs`, `offMs` apart, after `lead` audio. */
const cng = (lead: Int16Array, bursts: number, hz = 1100, onMs = 500, offMs = 3000): Int16Array =>
  concat([lead, ...Array.from({ length: bursts }, () => [beep(onMs, hz, -15), silence(offMs)]).flat()]);

/** 2 s of sound that is no tone (noise at a speech level): what a greeting puts before its beep. */
const talk = (): Int16Array => whiteNoise(2000, -20, 5);

describe('lib/analysis FaxAnalyser', () => {
  it('CNG: one 1100 Hz burst of 0.5 s after silence is a fax, reported at its end', () => {
    const heard = faxIn(cng(silence(700), 1));
    assert.equal(heard.length, 1, JSON.stringify(heard));
    const { event, reportedAtMs } = heard[0];
    assert.equal(event.farEnd, 'fax');
    assert.equal(event.evidence.tone, 'cng');
    assert.equal(event.evidence.bursts, 1);
    assert.ok(reportedAtMs - 1200 <= 60 && event.decisionMs === reportedAtMs, JSON.stringify(heard));
  });

  it('CNG after other sound (a 1100 Hz voicemail beep?) needs a second burst on the cadence: 3 s apart yes, 1.5 s or 4.5 s apart no', () => {
    assert.deepEqual(faxIn(cng(talk(), 1)), []);
    const heard = faxIn(cng(talk(), 2));
    assert.equal(heard.length, 1);
    assert.equal(heard[0].event.evidence.bursts, 2);
    assert.ok(Math.abs((heard[0].event.evidence.offMs as number) - 3000) <= 40);
    assert.deepEqual(faxIn(cng(talk(), 3, 1100, 500, 1500)), []);
    assert.deepEqual(faxIn(cng(talk(), 3, 1100, 500, 4500)), []);
    for (const off of [2600, 3400]) assert.equal(faxIn(cng(talk(), 2, 1100, 500, off)).length, 1, `${off} ms off`);
  });

  it('CNG frequency edges: 1100 ± 38 Hz (T.30) is CNG, ± 55 Hz is not', () => {
    assert.ok(FAX_LIMITS.cngToleranceHz > 38 && FAX_LIMITS.cngToleranceHz < 55);
    for (const hz of [1062, 1138]) assert.equal(faxIn(cng(silence(300), 1, hz)).length, 1, `${hz} Hz`);
    for (const hz of [1045, 1155]) assert.deepEqual(faxIn(cng(silence(300), 2, hz)), [], `${hz} Hz`);
  });

  it('CNG length edges: 425 and 575 ms (0.5 s ± 15 %) are CNG, 300 and 800 ms are not', () => {
    for (const ms of [425, 575]) assert.equal(faxIn(cng(silence(300), 1, 1100, ms)).length, 1, `${ms} ms`);
    for (const ms of [300, 800]) assert.deepEqual(faxIn(cng(silence(300), 2, 1100, ms)), [], `${ms} ms`);
  });

  it('CED (2100 Hz) and ANSam (2100 Hz, 15 Hz AM, phase reversals) are told apart by the AM, within a second of the tone starting', () => {
    const ced = faxIn(concat([silence(500), beep(3000, 2100, -12), silence(500)]));
    assert.equal(ced.length, 1);
    assert.equal(ced[0].event.evidence.tone, 'ced');
    assert.ok((ced[0].event.evidence.amDepth as number) < FAX_LIMITS.ansamMinAm);
    assert.ok(ced[0].reportedAtMs - 500 <= 1000, JSON.stringify(ced));
    for (const lead of [500, 505, 517]) {
      const am = faxIn(concat([silence(lead), ansam(3000, -14), silence(500)]));
      assert.equal(am.length, 1);
      assert.equal(am[0].event.evidence.tone, 'ansam', JSON.stringify(am));
      assert.ok(am[0].reportedAtMs - lead <= 1000, JSON.stringify(am));
    }
    // With noise 25 dB down, CED stays CED.
    const noisy = concat([silence(500), beep(3000, 2100, -12), silence(500)]);
    assert.equal(faxIn(mixMono(noisy, whiteNoise(noisy.length / 8, -37, 3)))[0]?.event.evidence.tone, 'ced');
  });

  it('CED frequency and length edges: 2085 and 2115 Hz are CED, 2050 Hz is not; 500 ms of 2100 Hz is no verdict yet', () => {
    assert.ok(FAX_LIMITS.answerToleranceHz > 15 && FAX_LIMITS.answerToleranceHz < 50);
    for (const hz of [2085, 2115]) assert.equal(faxIn(concat([silence(300), beep(2600, hz, -12)])).length, 1, `${hz} Hz`);
    assert.deepEqual(faxIn(concat([silence(300), beep(2600, 2050, -12)])), []);
    assert.deepEqual(faxIn(concat([silence(300), beep(500, 2100, -12), silence(1000)])), []);
  });

  it('reports nothing in white noise, silence or a 1000 Hz beep after talk', () => {
    assert.deepEqual(faxIn(whiteNoise(4000, -15, 9)), []);
    assert.deepEqual(faxIn(silence(4000)), []);
    assert.deepEqual(faxIn(concat([talk(), silence(300), beep(500, 1000, -10), silence(3000)])), []);
  });

  describe('on the corpus (scripts/make-corpus.ts, seed 13)', function () {
    this.timeout(900_000);
    let fixture: ReturnType<typeof corpusFixture>;
    before(function () {
      fixture = corpusFixture(this);
    });

    it('calls every fax file a fax with its tone (CNG, CED, ANSam), and nothing else a fax', () => {
      let faxes = 0;
      for (const [file, label] of Object.entries(fixture.corpus.files)) {
        const heard = feedFrames(fixture.audio(file), [new FaxAnalyser()]);
        if (label.class === 'fax') {
          faxes++;
          assert.equal(heard.length, 1, file);
          const e = heard[0].event as FarEndEvent;
          assert.deepEqual([e.farEnd, e.evidence.tone], ['fax', label.tone?.toLowerCase()], file);
          assert.ok(e.decisionMs <= 5000, `${file}: decided after ${e.decisionMs} ms`);
        } else assert.deepEqual(heard, [], file);
      }
      assert.equal(faxes, 6);
    });
  });
});
