import assert from 'node:assert/strict';
import { AnalysisEvent } from '../../lib/analysis/analyser';
import { FarEndAnalyser, FarEndOptions } from '../../lib/analysis/far-end';
import { EnergyVad, WebRtcVad } from '../../lib/analysis/vad';
import { decodeAlaw, encodeAlaw } from '../../lib/media/g711';
import { concat, silence, whiteNoise } from '../../lib/media/tone-generator';
import { feedCall } from '../helpers/analysis-call';

/**
 * The far-end classifier's rules, on synthetic audio judged by the energy VAD, so that every frame's
 * verdict is known (voice: white noise at −10 dBFS, mean |x| ≈ 8000; silence: zeros) and each
 * threshold is tested on both sides, one frame (20 ms) apart.
 */

const voice = (ms: number): Int16Array => whiteNoise(ms, -10, ms);
const quiet = (ms: number): Int16Array => silence(ms);

function run(o: FarEndOptions, pcm: Int16Array, totalMs = 40_000): AnalysisEvent[] {
  return feedCall(new FarEndAnalyser({ vad: new EnergyVad(), warmUpMs: 0, ...o }), pcm, { totalMs });
}

function verdict(events: AnalysisEvent[]): Extract<AnalysisEvent, { topic: 'far-end' }> {
  const v = events.filter((e) => e.topic === 'far-end');
  assert.equal(v.length, 1, JSON.stringify(events));
  return v[0] as Extract<AnalysisEvent, { topic: 'far-end' }>;
}

describe('far-end classifier (lib/analysis/far-end.ts)', () => {
  it('a short greeting (≤ 1400 ms of voice), then 460 ms of silence → human, with its evidence and decision time; a longer one waits 800 ms', () => {
    const v = verdict(run({}, concat([quiet(300), voice(1000)])));
    assert.equal(v.farEnd, 'human');
    assert.equal(v.decisionMs, 300 + 1000 + 460);
    assert.equal(v.atMs, 1760);
    assert.deepEqual(v.evidence, { cause: 'after-greeting-silence', initialSilenceMs: 300, greetingMs: 1000, words: 1, silenceMs: 460, vad: 'EnergyVad' });
    assert.equal(verdict(run({}, concat([quiet(300), voice(1400)]))).decisionMs, 300 + 1400 + 460);
    assert.equal(verdict(run({}, concat([quiet(300), voice(1420)]))).decisionMs, 300 + 1420 + 800);
    // shortGreetingMs 0: one silence for all (app_amd's rule).
    assert.equal(verdict(run({ shortGreetingMs: 0 }, concat([quiet(300), voice(1000)]))).decisionMs, 300 + 1000 + 800);
  });

  it('a pause shorter than the silence due is not the greeting’s end: 440 ms after a short one (460 is), 780 after a longer one (800 is)', () => {
    const two = (first: number, gap: number): Int16Array => concat([voice(first), quiet(gap), voice(500)]);
    const short = verdict(run({}, two(500, 440)));
    assert.equal(short.decisionMs, 500 + 440 + 500 + 460);
    assert.equal(short.evidence.words, 2);
    assert.equal(verdict(run({}, two(500, 460))).decisionMs, 500 + 460);
    const long = verdict(run({}, two(1500, 780)));
    assert.equal(long.decisionMs, 1500 + 780 + 500 + 800);
    assert.equal(verdict(run({}, two(1500, 800))).decisionMs, 1500 + 800);
  });

  it('3480 ms of voice then silence → human; 3500 ms → machine (long greeting) as the 3500th ms is heard', () => {
    assert.equal(verdict(run({}, voice(3480))).farEnd, 'human');
    const m = verdict(run({}, concat([quiet(200), voice(3500)])));
    assert.equal(m.farEnd, 'machine');
    assert.equal(m.evidence.cause, 'long-greeting');
    assert.equal(m.decisionMs, 200 + 3500);
    // greetingMs counts voice in all, across the greeting's pauses.
    assert.equal(verdict(run({}, concat([voice(1800), quiet(400), voice(1700)]))).decisionMs, 3900);
  });

  it('nothing said → unknown at the timeout (5 s by default, or timeoutMs), with the initial silence as evidence', () => {
    const v = verdict(run({}, quiet(0)));
    assert.deepEqual([v.farEnd, v.decisionMs, v.evidence.cause, v.evidence.initialSilenceMs, v.evidence.words], ['unknown', 5000, 'timeout', 5000, 0]);
    assert.equal(verdict(run({ timeoutMs: 3000 }, quiet(0))).decisionMs, 3000);
    // With app_amd's timeout (timeoutVoiceMs 0), speech going on at the timeout is unknown too.
    const late = verdict(run({ timeoutVoiceMs: 0 }, concat([quiet(3000), voice(3000)])));
    assert.deepEqual([late.farEnd, late.decisionMs, late.evidence.greetingMs], ['unknown', 5000, 2000]);
  });

  it('at the timeout, speech going on: 2800 ms of voice heard → machine, 2780 → human (timeoutVoiceMs), cause "timeout"', () => {
    // Voice from 2200 ms: 2800 ms of it at the 5 s timeout (under greetingMs, no pause to end it).
    const m = verdict(run({}, concat([quiet(2200), voice(4000)])));
    assert.deepEqual([m.farEnd, m.decisionMs, m.evidence.cause, m.evidence.greetingMs], ['machine', 5000, 'timeout', 2800]);
    const h = verdict(run({}, concat([quiet(2220), voice(4000)])));
    assert.deepEqual([h.farEnd, h.decisionMs, h.evidence.cause, h.evidence.greetingMs], ['human', 5000, 'timeout', 2780]);
    // The threshold is an option, counted over the whole answer (voice across pauses).
    assert.equal(verdict(run({ timeoutVoiceMs: 2000 }, concat([quiet(2220), voice(4000)]))).farEnd, 'machine');
    const paused = verdict(run({}, concat([quiet(1500), voice(1000), quiet(400), voice(3000)])));
    assert.deepEqual([paused.farEnd, paused.evidence.cause, paused.evidence.greetingMs, paused.evidence.words], ['machine', 'timeout', 3100, 2]);
    // A machine verdict at the timeout is followed by the greeting's end, as any other.
    const e = run({}, concat([quiet(2200), voice(4000)]));
    assert.deepEqual(e[1], { topic: 'greeting-end', by: 'silence', atMs: 2200 + 4000 + 1200 });
  });

  it('initialSilence "machine" (app_amd) decides machine after 2500 ms of silence, not after 2480', () => {
    const v = verdict(run({ initialSilence: 'machine' }, quiet(0)));
    assert.deepEqual([v.farEnd, v.decisionMs, v.evidence.cause], ['machine', 2500, 'initial-silence']);
    assert.equal(verdict(run({ initialSilence: 'machine' }, concat([quiet(2480), voice(300)]))).farEnd, 'human');
  });

  it('maxWords (app_amd’s word count): a third word → machine; two words → human', () => {
    const words = (n: number): Int16Array => concat(Array.from({ length: n }, () => [voice(200), quiet(100)]).flat());
    const m = verdict(run({ maxWords: 2 }, words(3)));
    assert.deepEqual([m.farEnd, m.evidence.cause, m.evidence.words, m.decisionMs], ['machine', 'max-words', 3, 700]);
    assert.equal(verdict(run({ maxWords: 2 }, words(2))).farEnd, 'human');
    // A word is 100 ms of voice after 50 ms of silence: 80 ms blips are no words.
    assert.equal(verdict(run({ maxWords: 2 }, concat([voice(200), quiet(60), voice(80), quiet(60), voice(200)]))).evidence.words, 2);
  });

  it('after a machine verdict: greeting-end by 1200 ms of silence (a 1180 ms pause does not end it)', () => {
    const e = run({}, concat([voice(4000), quiet(1180), voice(1000)]));
    assert.deepEqual(e.map((x) => x.topic), ['far-end', 'greeting-end']);
    assert.deepEqual(e[1], { topic: 'greeting-end', by: 'silence', atMs: 4000 + 1180 + 1000 + 1200 });
  });

  it('after a machine verdict: greeting-end by timeout when the greeting goes on (greetingTimeoutMs from the start)', () => {
    const e = run({ greetingTimeoutMs: 8000 }, voice(20_000));
    assert.deepEqual(e[1], { topic: 'greeting-end', by: 'timeout', atMs: 8000 });
  });

  it('does not believe the VAD in the first 160 ms (warmUpMs): a blip there is no word', () => {
    assert.equal(verdict(run({ warmUpMs: 160 }, voice(160))).farEnd, 'unknown');
    // Line noise (no voice to the energy VAD, but sound) for 160 ms: the warm-up is over.
    assert.equal(verdict(run({ warmUpMs: 160 }, concat([whiteNoise(160, -60, 5), voice(160)]))).farEnd, 'human');
    assert.equal(verdict(run({ warmUpMs: 0 }, voice(160))).farEnd, 'human');
  });

  it('counts the warm-up from the first sound, not from digital silence before it (a call\'s first frames may be nothing received)', () => {
    // Through A-law, silence decodes to ±8, which libfvad calls voice for its first ~140 ms.
    const line = decodeAlaw(encodeAlaw(silence(5000)));
    for (const lead of [0, 300, 1000]) {
      const v = verdict(feedCall(new FarEndAnalyser(), concat([quiet(lead), line]), { totalMs: 6000 }));
      assert.deepEqual([v.farEnd, v.evidence.words], ['unknown', 0], `${lead} ms of zeros first`);
    }
    // Digital silence first: the first 160 ms of sound are still the warm-up.
    assert.equal(verdict(run({ warmUpMs: 160 }, concat([quiet(300), voice(160)]))).farEnd, 'unknown');
    assert.equal(verdict(run({ warmUpMs: 160 }, concat([quiet(300), voice(280)]))).farEnd, 'human');
  });

  it('is done after its verdict (human) or the greeting’s end (machine), frees its VAD, and reports nothing more', () => {
    const vad = new WebRtcVad();
    const a = new FarEndAnalyser({ vad, timeoutMs: 500 });
    let events: AnalysisEvent[] = [];
    for (let at = 20; at <= 500; at += 20) events = events.concat(a.push(new Int16Array(160), at));
    assert.equal(a.done, true);
    assert.equal(events.length, 1);
    assert.deepEqual(a.push(new Int16Array(160), 520), []);
    assert.throws(() => vad.isVoice(new Int16Array(160)), /after free/);
  });

  it('takes frames of any length without throwing', () => {
    const a = new FarEndAnalyser();
    for (const n of [0, 1, 80, 160, 161, 1000]) assert.deepEqual(a.push(new Int16Array(n), 20), []);
    a.stop();
  });

  it('rejects bad options with a TypeError naming them', () => {
    assert.throws(() => new FarEndAnalyser({ timeoutMs: 10 }), /"timeoutMs"/);
    assert.throws(() => new FarEndAnalyser({ initialSilence: 'maybe' as never }), /"initialSilence"/);
    assert.throws(() => new FarEndAnalyser({ greetingMs: 1.5 }), /"greetingMs"/);
    assert.throws(() => new FarEndAnalyser({ timeoutVoiceMs: -1 }), /"timeoutVoiceMs"/);
    assert.throws(() => new FarEndAnalyser([] as never), TypeError);
  });
});
