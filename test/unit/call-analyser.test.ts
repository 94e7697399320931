import assert from 'node:assert/strict';
import { AnalysisEvent } from '../../lib/analysis/analyser';
import { CallAnalyser, CallAnalyserOptions } from '../../lib/analysis/call-analyser';
import { FarEndAnalyser } from '../../lib/analysis/far-end';
import { EnergyVad } from '../../lib/analysis/vad';
import { beep, concat, silence, tones, whiteNoise } from '../../lib/media/tone-generator';
import { createCallAnalyser } from '../../lib/analysis/analysis-host';
import { checkAnalysisOptions } from '../../lib/capabilities/analysis';
import { feedCall } from '../helpers/analysis-call';
import { CorpusFixture, corpusFixture } from '../helpers/analysis-corpus';
import { toneAnalysers } from '../helpers/tone-analysers';

/**
 * The combiner's rules between the far-end classifier and the tone detectors. The classifier runs
 * on the energy VAD (every frame's verdict known: white noise is voice, zeros silence) and the
 * tones are found by the ToneDetector-based analyser of test/helpers/tone-analysers.ts.
 */

const voice = (ms: number): Int16Array => whiteNoise(ms, -10, ms);
const quiet = (ms: number): Int16Array => silence(ms);

function analyser(o: CallAnalyserOptions = {}): CallAnalyser {
  return new CallAnalyser({ farEnd: new FarEndAnalyser({ vad: new EnergyVad(), warmUpMs: 0 }), detectors: toneAnalysers().detectors, ...o });
}

const run = (a: CallAnalyser, pcm: Int16Array, totalMs = 30_000, answerAtMs = 0): AnalysisEvent[] => feedCall(a, pcm, { totalMs, answerAtMs });

const topics = (e: AnalysisEvent[]): string[] => e.map((x) => (x.topic === 'far-end' ? `far-end:${x.farEnd}` : x.topic === 'greeting-end' ? `greeting-end:${x.by}` : x.topic));

describe('call analyser: the far-end classifier and the tone detectors combined (lib/analysis/call-analyser.ts)', () => {
  it('a fax tone heard first decides fax (the classifier, which heard the CNG burst as a short greeting, is stopped)', () => {
    const a = analyser();
    const e = run(a, concat([quiet(500), tones([{ hz: 1100, levelDbfs: -15 }], 500), quiet(3000)]));
    assert.deepEqual(topics(e), ['far-end:fax']);
    assert.equal(a.farEndVerdict, 'fax');
    assert.equal(a.done, true);
  });

  it('an answering fax’s CED (2100 Hz) heard first decides fax, though the classifier hears it as voice', () => {
    const e = run(analyser(), concat([quiet(300), tones([{ hz: 2100, levelDbfs: -12 }], 1000), quiet(3000)]));
    assert.deepEqual(topics(e), ['far-end:fax']);
    assert.equal((e[0] as Extract<AnalysisEvent, { topic: 'far-end' }>).evidence.tone, 'ced');
  });

  it('a beep before any verdict decides machine (cause beep) and ends the greeting: no greeting-end follows', () => {
    const e = run(analyser(), concat([quiet(200), voice(1000), quiet(300), beep(400, 1000, -8), quiet(3000)]));
    assert.deepEqual(topics(e), ['far-end:machine', 'beep']);
    const v = e[0] as Extract<AnalysisEvent, { topic: 'far-end' }>;
    assert.equal(v.evidence.cause, 'beep');
    assert.equal(e[1].atMs, v.atMs);
  });

  it('after a machine verdict, the first beep ends the greeting (no greeting-end by silence)', () => {
    const e = run(analyser(), concat([voice(4000), quiet(400), beep(500, 850, -8), quiet(3000), beep(500, 850, -8), quiet(3000)]));
    assert.deepEqual(topics(e), ['far-end:machine', 'beep']);
    const b = e[1] as Extract<AnalysisEvent, { topic: 'beep' }>;
    assert.ok(Math.abs(b.frequencyHz - 850) < 10 && b.atMs >= 4900 && b.atMs <= 4940, JSON.stringify(b));
  });

  it('after a machine verdict without a beep, the classifier’s greeting-end (silence) ends the greeting', () => {
    const e = run(analyser(), concat([voice(4000), quiet(5000)]));
    assert.deepEqual(topics(e), ['far-end:machine', 'greeting-end:silence']);
    assert.equal(e[1].atMs, 5200);
  });

  it('a beep after a human verdict, while a greeting could still last, is reported once with afterVerdict "human" (a greeting taken for a person); the verdict is not sent again', () => {
    const a = analyser();
    const e = run(a, concat([voice(500), quiet(1000), beep(500, 1000, -8), quiet(1000), beep(500, 1000, -8), quiet(1000)]));
    assert.deepEqual(topics(e), ['far-end:human', 'beep']);
    const late = e[1] as Extract<AnalysisEvent, { topic: 'beep' }>;
    assert.equal(late.afterVerdict, 'human');
    assert.equal(late.frequencyHz, 1000);
    assert.equal(a.done, true, 'done after the late beep: the second beep is not reported');
  });

  it('after a human verdict the beep detector stops at the greeting timeout: a beep later is not reported', () => {
    const a = analyser({ farEnd: new FarEndAnalyser({ vad: new EnergyVad(), warmUpMs: 0, greetingTimeoutMs: 3000 }) });
    const e = run(a, concat([voice(500), quiet(3000), beep(500, 1000, -8), quiet(1000)]));
    assert.deepEqual(topics(e), ['far-end:human']);
    assert.equal(a.done, true);
    // The same beep inside the window is reported.
    const b = analyser({ farEnd: new FarEndAnalyser({ vad: new EnergyVad(), warmUpMs: 0, greetingTimeoutMs: 5000 }) });
    assert.deepEqual(topics(run(b, concat([voice(500), quiet(3000), beep(500, 1000, -8), quiet(1000)]))), ['far-end:human', 'beep']);
  });

  it('detect "off": no far-end verdict, beep or greeting end; network tones still pass', () => {
    const sit = concat([quiet(300), tones([{ hz: 913.8, levelDbfs: -20 }], 274), quiet(2), tones([{ hz: 1370.6, levelDbfs: -20 }], 274), quiet(2), tones([{ hz: 1776.7, levelDbfs: -20 }], 380), voice(4000), beep(400, 1000, -8)]);
    const e = run(new CallAnalyser({ detect: 'off', ...toneAnalysers() }), sit, 8000);
    assert.deepEqual(topics(e), ['tone']);
    const { evidence } = e[0] as Extract<AnalysisEvent, { topic: 'tone' }>;
    assert.equal(evidence.code, 'IC');
    assert.equal(evidence.endCause, 'not-found');
    // With detection on, the same tones pass beside the verdict.
    const on = run(analyser(toneAnalysers()), sit, 8000);
    assert.deepEqual(topics(on).filter((t) => t === 'tone'), ['tone']);
  });

  it('start "answer": early media before answered() is not classified; start "connect": it is', () => {
    const pcm = concat([voice(4000), quiet(1000), voice(500), quiet(2000)]);
    const atAnswer = run(analyser(), pcm, 30_000, 5000);
    assert.deepEqual(topics(atAnswer), ['far-end:human']);
    assert.equal((atAnswer[0] as Extract<AnalysisEvent, { topic: 'far-end' }>).decisionMs, 500 + 460);
    assert.equal(atAnswer[0].atMs, 5000 + 500 + 460);
    const atConnect = run(analyser({ start: 'connect' }), pcm, 30_000, 5000);
    assert.deepEqual(topics(atConnect), ['far-end:machine', 'greeting-end:silence']);
  });

  describe('start "connect": a SIT in early media is a network tone, not a voicemail beep', () => {
    // A SIT's first segment (913.8 / 985.2 Hz, 274 / 380 ms) is also a tone of 440–2000 Hz longer
    // than 150 ms: the beep detector takes it. While the network tone detector has heard the start of
    // a SIT (its first segments, the next one due or sounding), the combiner holds a beep.
    const sit = (segments: [number, number][], gapMs: number): Int16Array =>
      concat([quiet(300), ...segments.flatMap(([hz, ms]) => [tones([{ hz, levelDbfs: -20 }], ms), quiet(gapMs)]), voice(4000)]);
    const cases: [string, [number, number][], number][] = [
      ['Telcordia IC, 2 ms gaps', [[913.8, 274], [1370.6, 274], [1776.7, 380]], 2],
      ['Telcordia NC, 2 ms gaps', [[913.8, 380], [1370.6, 380], [1776.7, 380]], 2],
      ['Telcordia VC, 2 ms gaps', [[985.2, 380], [1370.6, 274], [1776.7, 380]], 2],
      ['ITU-T E.180, 30 ms gaps', [[950, 330], [1400, 330], [1800, 330]], 30],
    ];
    for (const [name, segments, gapMs] of cases) {
      it(`${name}: the tone comes first and no far-end verdict is caused by a beep`, () => {
        const e = run(analyser({ start: 'connect', ...toneAnalysers() }), sit(segments, gapMs), 8000, 7000);
        assert.equal(topics(e)[0], 'tone', JSON.stringify(e));
        assert.equal((e[0] as Extract<AnalysisEvent, { topic: 'tone' }>).tone, 'sit');
        assert.ok(!e.some((x) => x.topic === 'beep' || (x.topic === 'far-end' && x.evidence.cause === 'beep')), JSON.stringify(e));
      });
    }

    it('a beep in a SIT segment’s band and length followed by no second segment is still a beep, reported within 150 ms of its end', () => {
      for (const [hz, ms] of [[913.8, 274], [950, 380], [985.2, 380], [1000, 300]]) {
        const pcm = concat([quiet(200), voice(1000), quiet(300), beep(ms, hz, -8), quiet(3000)]);
        const end = 200 + 1000 + 300 + ms;
        const a = analyser({ start: 'connect', ...toneAnalysers() });
        const reported: { e: AnalysisEvent; at: number }[] = [];
        const frame = new Int16Array(160);
        for (let at = 20; at <= 6000 && !a.done; at += 20) {
          frame.fill(0);
          frame.set(pcm.subarray((at / 20 - 1) * 160, Math.min(pcm.length, (at / 20) * 160)));
          for (const e of a.push(frame, at)) reported.push({ e, at });
        }
        const what = `${hz} Hz ${ms} ms: ${JSON.stringify(reported)}`;
        assert.deepEqual(topics(reported.map((r) => r.e)), ['far-end:machine', 'beep'], what);
        assert.equal(reported[0].e.topic === 'far-end' && reported[0].e.evidence.cause, 'beep', what);
        assert.ok(reported[1].at - end <= 150 && reported[1].at > end, what);
      }
    });
  });

  it('timeoutMs is the verdict’s timeout', () => {
    const e = run(new CallAnalyser({ timeoutMs: 2000, farEnd: { vad: new EnergyVad() } }), quiet(0), 10_000);
    assert.deepEqual(topics(e), ['far-end:unknown']);
    assert.equal((e[0] as Extract<AnalysisEvent, { topic: 'far-end' }>).decisionMs, 2000);
  });

  it('rejects bad options with a TypeError naming them', () => {
    assert.throws(() => new CallAnalyser({ detect: 'human' as never }), /"detect"/);
    assert.throws(() => new CallAnalyser({ start: 'ring' as never }), /"start"/);
    assert.throws(() => new CallAnalyser({ detectors: [{}] as never }), /"detectors"/);
    assert.throws(() => new CallAnalyser({ timeoutMs: 5 }), /"timeoutMs"/);
    assert.throws(() => new CallAnalyser({ timeoutMs: 3000, farEnd: new FarEndAnalyser() }), /"timeoutMs"/);
  });

  describe('on the corpus', function () {
    this.timeout(600_000);
    let fixture: CorpusFixture;
    before(function () {
      fixture = corpusFixture(this);
    });

    const analyse = (file: string): AnalysisEvent[] => {
      const a = new CallAnalyser(toneAnalysers());
      a.answered();
      return run(a, fixture.audio(file), 60_000);
    };

    it('fax (CNG, CED, ANSam) → fax; machines → machine, their greeting ended by the beep when there is one; at most 2 % of people a machine', () => {
      let machines = 0;
      const peopleAsMachines: string[] = [];
      for (const [file, label] of Object.entries(fixture.corpus.files)) {
        if (!['fax', 'machine', 'human'].includes(label.class)) continue;
        const t = topics(analyse(file));
        assert.equal(t.filter((x) => x.startsWith('far-end')).length, 1, `${file}: ${t}`);
        if (label.class === 'fax') assert.deepEqual(t, ['far-end:fax'], file);
        if (label.class === 'human' && t[0] === 'far-end:machine') peopleAsMachines.push(file);
        if (label.class === 'machine' && t[0] === 'far-end:machine') {
          machines++;
          assert.deepEqual(t.slice(1), [label.beepEndMs === null ? 'greeting-end:silence' : 'beep'], file);
        }
      }
      const count = (cls: string): number => Object.values(fixture.corpus.files).filter((l) => l.class === cls).length;
      assert.ok(machines >= 0.95 * count('machine'), `${machines}/${count('machine')} machines`);
      assert.ok(peopleAsMachines.length <= 0.02 * count('human'), `people called machines: ${peopleAsMachines}`);
    });

    it('start "connect", early media: every SIT file gives its tone first, and no far-end verdict caused by a beep', () => {
      for (const [file, label] of Object.entries(fixture.corpus.files)) {
        if (label.class !== 'sit') continue;
        const e = feedCall(createCallAnalyser(checkAnalysisOptions({ detect: 'machine', start: 'connect' })), fixture.audio(file), { totalMs: 8000 });
        const what = `${file}: ${JSON.stringify(e)}`;
        assert.equal(e[0]?.topic, 'tone', what);
        assert.deepEqual([(e[0] as Extract<AnalysisEvent, { topic: 'tone' }>).tone, (e[0] as Extract<AnalysisEvent, { topic: 'tone' }>).evidence.code], ['sit', label.tone], what);
        assert.ok(!e.some((x) => x.topic === 'beep' || (x.topic === 'far-end' && x.evidence.cause === 'beep')), what);
      }
    });
  });
});
