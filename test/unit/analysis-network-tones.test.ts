import assert from 'node:assert/strict';
import { AnalysisEvent } from '../../lib/analysis/analyser';
import { CADENCE_LIMITS, CADENCE_PLANS, CadencePlan, NetworkToneAnalyser, sitFromTones, SIT_LIMITS } from '../../lib/analysis/network-tones';
import { ToneSegment } from '../../lib/analysis/tone-detector';
import { mixMono } from '../../lib/media/pcm-convert';
import { beep, concat, ringback, silence, tones, whiteNoise } from '../../lib/media/tone-generator';
import { corpusFixture, feedFrames } from '../helpers/analysis-corpus';
import { Law, throughG711 } from '../helpers/dtmf-edges';

type ToneEvent = Extract<AnalysisEvent, { topic: 'tone' }>;

function heardIn(audio: Int16Array, law: Law = 'ulaw'): { event: ToneEvent; reportedAtMs: number }[] {
  return feedFrames(throughG711(audio, law), [new NetworkToneAnalyser()]) as { event: ToneEvent; reportedAtMs: number }[];
}

/** `hz` switched on and off by `cadenceMs` (on, off, …, repeated) for `totalMs`, after 300 ms of silence. */
function cadenced(hz: readonly number[], cadenceMs: readonly number[], totalMs = 5000, levelDbfs = -16): Int16Array {
  const pieces: Int16Array[] = [silence(300)];
  for (let k = 0, left = totalMs; left > 0; k++) {
    const ms = Math.min(cadenceMs[k % cadenceMs.length], left);
    pieces.push(k % 2 === 0 ? tones(hz.map((f) => ({ hz: f, levelDbfs })), ms) : silence(ms));
    left -= ms;
  }
  return concat(pieces);
}

const scaled = (plan: CadencePlan, factor: number): number[] => plan.cadenceMs.map((ms) => Math.round(ms * factor));

/** Three SIT segments (Hz, ms), 2 ms apart, then silence. */
const sitAudio = (segments: [number, number][], gapMs = 2): Int16Array => concat([silence(200), ...segments.flatMap(([hz, ms]) => [beep(ms, hz, -20), silence(gapMs)]), silence(600)]);

describe('lib/analysis NetworkToneAnalyser', () => {
  it('recognises busy and congestion of every plan in CADENCE_PLANS, naming the plan, within two cycles; then is done', () => {
    for (const plan of CADENCE_PLANS) {
      for (const law of ['ulaw', 'alaw'] as Law[]) {
        const a = new NetworkToneAnalyser();
        const heard = feedFrames(throughG711(cadenced(plan.hz, plan.cadenceMs), law), [a]) as { event: ToneEvent; reportedAtMs: number }[];
        const what = `${plan.plan} ${plan.tone} ${law}: ${JSON.stringify(heard)}`;
        assert.equal(heard.length, 1, what);
        assert.equal(heard[0].event.tone, plan.tone, what);
        assert.equal(heard[0].event.evidence.plan, plan.plan, what);
        const cycle = plan.cadenceMs.reduce((s, x) => s + x, 0);
        assert.ok(heard[0].reportedAtMs - 300 <= 2 * cycle, what);
        assert.equal(a.done, true);
      }
    }
  });

  it('cadence tolerance: ±10 % (what the plans allow) is recognised; a 425 Hz 300 / 300 ms cadence (between congestion and Australia\'s busy) and 700 / 700 ms are not', () => {
    for (const plan of CADENCE_PLANS) {
      for (const factor of [0.9, 1.1]) {
        const heard = heardIn(cadenced(plan.hz, scaled(plan, factor), 6000));
        assert.equal(heard[0]?.event.tone, plan.tone, `${plan.plan} ${plan.tone} × ${factor}: ${JSON.stringify(heard)}`);
      }
    }
    assert.ok(250 * (1 + CADENCE_LIMITS.tolerance) < 300 && 375 * (1 - CADENCE_LIMITS.tolerance) > 300);
    assert.deepEqual(heardIn(cadenced([425], [300, 300], 6000)), []);
    assert.deepEqual(heardIn(cadenced([425], [700, 700], 6000)), []);
    assert.deepEqual(heardIn(cadenced([480, 620], [700, 700], 6000)), []);
    // 280 ms (inside 250 ± 15 %) is congestion, 310 ms is nothing.
    assert.equal(heardIn(cadenced([425], [280, 280], 6000))[0]?.event.tone, 'congestion');
    assert.deepEqual(heardIn(cadenced([425], [310, 310], 6000)), []);
  });

  it('frequency: a 425 Hz cadence is not read as a 400 Hz plan (UK / Japan), nor 400 Hz as 425 Hz; 480 Hz alone is not the North American pair', () => {
    assert.equal(heardIn(cadenced([425], [500, 500]))[0]?.event.evidence.plan, 'CEPT');
    assert.equal(heardIn(cadenced([400], [500, 500]))[0]?.event.evidence.plan, 'Japan');
    assert.equal(heardIn(cadenced([425], [375, 375]))[0]?.event.evidence.plan, 'Australia');
    assert.equal(heardIn(cadenced([400], [375, 375]))[0]?.event.evidence.plan, 'UK');
    assert.deepEqual(heardIn(cadenced([480], [250, 250])), []);
    assert.deepEqual(heardIn(cadenced([1000], [500, 500])), []);
  });

  it('works over line noise 25 dB under the tone, and at −40 dBFS', () => {
    const busy = cadenced([480, 620], [500, 500]);
    assert.equal(heardIn(mixMono(busy, whiteNoise(busy.length / 8, -16 - 25, 4)))[0]?.event.tone, 'busy');
    assert.equal(heardIn(cadenced([425], [250, 250], 5000, -40))[0]?.event.tone, 'congestion');
  });

  it('reports nothing for ring-back (CEPT and US), a continuous tone, white noise or silence', () => {
    assert.deepEqual(heardIn(ringback(12000, { style: 'etsi' })), []);
    assert.deepEqual(heardIn(ringback(12000, { style: 'us' })), []);
    assert.deepEqual(heardIn(tones([{ hz: 425, levelDbfs: -16 }], 5000)), []);
    assert.deepEqual(heardIn(whiteNoise(5000, -20, 2)), []);
    assert.deepEqual(heardIn(silence(3000)), []);
  });

  it('SIT: every Telcordia code with its endCause (intercept and vacant code: not-found; the others: unavailable), reported within 150 ms of the third segment\'s end', () => {
    const S = 274;
    const L = 380;
    const cases: [[number, number][], string, string][] = [
      [[[913.8, S], [1370.6, S]], 'IC', 'not-found'],
      [[[985.2, L], [1370.6, S]], 'VC', 'not-found'],
      [[[913.8, L], [1370.6, L]], 'NC', 'unavailable'],
      [[[985.2, L], [1428.5, L]], 'NC-inter', 'unavailable'],
      [[[913.8, S], [1428.5, L]], 'RO', 'unavailable'],
      [[[985.2, S], [1370.6, L]], 'RO-inter', 'unavailable'],
      [[[913.8, L], [1370.6, S]], 'IO', 'unavailable'],
      [[[985.2, S], [1428.5, S]], 'reserved', 'unavailable'],
    ];
    for (const [first2, code, endCause] of cases) {
      const segments: [number, number][] = [...first2, [1776.7, L]];
      const heard = heardIn(sitAudio(segments), 'alaw');
      const what = `${code}: ${JSON.stringify(heard)}`;
      assert.equal(heard.length, 1, what);
      assert.equal(heard[0].event.tone, 'sit', what);
      assert.deepEqual([heard[0].event.evidence.code, heard[0].event.evidence.endCause], [code, endCause], what);
      const end = 200 + segments.reduce((s, [, ms]) => s + ms + 2, 0) - 2;
      assert.ok(heard[0].reportedAtMs - end <= 150 && Math.abs(heard[0].event.atMs - end) <= 20, what);
    }
  });

  it('SIT: ITU-T E.180 (950 / 1400 / 1800 Hz, 330 ms, 30 ms gaps) is a SIT ending `unavailable`; 260 and 400 ms segments pass, 150 ms ones and gaps of 150 ms do not', () => {
    const itu = heardIn(sitAudio([[950, 330], [1400, 330], [1800, 330]], 30));
    assert.deepEqual([itu[0]?.event.tone, itu[0]?.event.evidence.standard, itu[0]?.event.evidence.endCause], ['sit', 'ITU-T E.180', 'unavailable']);
    for (const ms of [260, 400]) assert.equal(heardIn(sitAudio([[950, ms], [1400, ms], [1800, ms]], 30)).length, 1, `${ms} ms`);
    assert.ok(SIT_LIMITS.minMs > 150 && SIT_LIMITS.minMs < 260 && SIT_LIMITS.maxMs > 400);
    assert.deepEqual(heardIn(sitAudio([[950, 150], [1400, 150], [1800, 150]], 30)), []);
    assert.deepEqual(heardIn(sitAudio([[913.8, 274], [1370.6, 274], [1776.7, 380]], 150)), []);
    // Out of order, or a band missed: no SIT.
    assert.deepEqual(heardIn(sitAudio([[1370.6, 274], [913.8, 274], [1776.7, 380]])), []);
    assert.deepEqual(heardIn(sitAudio([[913.8, 274], [1370.6, 274], [2000, 380]])), []);
  });

  it('sitFromTones needs exactly three segments', () => {
    const seg = (frequencyHz: number, startMs: number, durationMs: number): ToneSegment => ({ frequencyHz, startMs, endMs: startMs + durationMs, durationMs, levelDbfs: -20 });
    assert.equal(sitFromTones([seg(913.8, 0, 274), seg(1370.6, 276, 274)]), null);
    assert.equal(sitFromTones([seg(913.8, 0, 274), seg(1370.6, 276, 274), seg(1776.7, 552, 380)])?.code, 'IC');
  });

  it('validates its options with a TypeError naming them', () => {
    assert.throws(() => new NetworkToneAnalyser({ minLevelDbfs: 5 }), /"minLevelDbfs"/);
    assert.throws(() => new NetworkToneAnalyser({ plans: [] }), /"plans"/);
    assert.throws(() => new NetworkToneAnalyser({ plans: [{ plan: 'x', tone: 'busy', hz: [425], cadenceMs: [500] }] }), /"plans"/);
  });

  describe('on the corpus (scripts/make-corpus.ts, seed 13)', function () {
    this.timeout(900_000);
    let fixture: ReturnType<typeof corpusFixture>;
    before(function () {
      fixture = corpusFixture(this);
    });

    it('recognises every busy, congestion (with its plan) and SIT file (with its code and endCause), and hears no network tone in speech, music or fax', () => {
      const seen = new Set<string>();
      for (const [file, label] of Object.entries(fixture.corpus.files)) {
        const heard = feedFrames(fixture.audio(file), [new NetworkToneAnalyser()]) as { event: ToneEvent; reportedAtMs: number }[];
        const what = `${file}: ${JSON.stringify(heard)}`;
        if (label.class === 'busy' || label.class === 'congestion') {
          assert.deepEqual([heard.length, heard[0].event.tone, heard[0].event.evidence.plan], [1, label.class, label.plan], what);
          seen.add(label.class);
        } else if (label.class === 'sit') {
          assert.deepEqual([heard.length, heard[0].event.tone, heard[0].event.evidence.code, heard[0].event.evidence.endCause], [1, 'sit', label.tone, label.outcome], what);
          seen.add('sit');
        } else assert.deepEqual(heard, [], what);
      }
      assert.equal(seen.size, 3);
    });
  });
});
