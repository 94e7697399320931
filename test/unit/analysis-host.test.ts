/**
 * The wiring of call analysis without a network: the options (lib/capabilities/analysis.ts), the host
 * that feeds a CallAnalyser one frame per tick or per 160 samples of a stream
 * (lib/analysis/analysis-host.ts), and RtpSession.analyse on a clock ticked by hand.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { AnalysisEvent } from '../../lib/analysis/analyser';
import { analyseMediaEvents, AnalysisHost, createCallAnalyser, IDLE_LAG_FRAMES } from '../../lib/analysis/analysis-host';
import { CallAnalyser } from '../../lib/analysis/call-analyser';
import { FarEndAnalyser } from '../../lib/analysis/far-end';
import { EnergyVad } from '../../lib/analysis/vad';
import { ANALYSIS_DEFAULTS, analysisIsIdle, checkAnalysisOptions } from '../../lib/capabilities/analysis';
import { sitHangup } from '../../lib/capabilities/analysis-run';
import { InvalidInputError } from '../../lib/errors';
import { concat, silence, tones, whiteNoise } from '../../lib/media/tone-generator';
import { feedCall } from '../helpers/analysis-call';

const sit = (): Int16Array =>
  concat([tones([{ hz: 913.8, levelDbfs: -16 }], 274), silence(2), tones([{ hz: 1370.6, levelDbfs: -16 }], 274), silence(2), tones([{ hz: 1776.7, levelDbfs: -16 }], 380), silence(500)]);

/** A CallAnalyser whose classifier runs on the energy VAD (white noise is voice, zeros silence: every frame's verdict known). */
const energyAnalyser = (timeoutMs = 2000, greetingTimeoutMs = 30_000): CallAnalyser =>
  new CallAnalyser({ farEnd: new FarEndAnalyser({ vad: new EnergyVad(), warmUpMs: 0, timeoutMs, greetingTimeoutMs }) });

describe('call analysis options (checkAnalysisOptions)', () => {
  it('fills the defaults, takes "machine" / "off" as the detect shorthand, a numeric string for timeoutMs', () => {
    assert.deepEqual(checkAnalysisOptions(undefined), ANALYSIS_DEFAULTS);
    assert.deepEqual(ANALYSIS_DEFAULTS, { detect: 'machine', timeoutMs: 5000, start: 'answer', tones: true, sitEndsCall: true });
    assert.deepEqual(checkAnalysisOptions('off'), { ...ANALYSIS_DEFAULTS, detect: 'off' });
    assert.deepEqual(checkAnalysisOptions({ timeoutMs: '8000', start: 'connect' }), { ...ANALYSIS_DEFAULTS, timeoutMs: 8000, start: 'connect' });
    assert.deepEqual(checkAnalysisOptions({}, { detect: 'off', tones: false }), { ...ANALYSIS_DEFAULTS, detect: 'off', tones: false });
    assert.equal(analysisIsIdle(checkAnalysisOptions({ detect: 'off', tones: false })), true);
    assert.equal(analysisIsIdle(checkAnalysisOptions('off')), false, 'network tones still run');
    assert.deepEqual([1000, 30000].map((t) => checkAnalysisOptions({ timeoutMs: t }).timeoutMs), [1000, 30000]);
  });

  it('refuses anything else with an InvalidInputError that names the option', () => {
    const bad: Array<[unknown, RegExp]> = [
      [42, /must be "machine", "off" or an object with detect, timeoutMs, start, tones, sitEndsCall, got number 42/],
      ['human', /"detect" must be "machine" \(say who answered\) or "off", got string human/],
      [{ timeoutMs: 999 }, /"timeoutMs" must be a number of milliseconds from 1000 to 30000, got number 999/],
      [{ timeoutMs: 30001 }, /"timeoutMs"/],
      [{ timeoutMs: 'soon' }, /"timeoutMs".*got string soon/],
      [{ start: 'ring' }, /"start" must be "answer" or "connect"/],
      [{ tones: 'true' }, /"tones" must be true or false, got string true/],
      [{ sitEndsCall: null }, /"sitEndsCall" must be true or false, got null/],
      [{ detect: 'machine', farEnd: {} }, /have no "farEnd": use detect, timeoutMs, start, tones, sitEndsCall/],
    ];
    for (const [value, message] of bad) assert.throws(() => checkAnalysisOptions(value), (e: Error) => e instanceof InvalidInputError && message.test(e.message), JSON.stringify(value));
  });

  it('a SIT ends a dial by its code: not-found (Q.850 1) or unavailable, the reason naming it', () => {
    assert.deepEqual(sitHangup({ code: 'IC', endCause: 'not-found' }), {
      signal: 'normal',
      endCause: 'not-found',
      q850: 1,
      text: 'special information tone (SIT IC) heard before the answer: the number is not in service',
    });
    const ro = sitHangup({ code: 'RO', endCause: 'unavailable' });
    assert.deepEqual([ro.signal, ro.endCause, ro.q850], ['unavailable', 'unavailable', undefined]);
    assert.match(ro.text, /SIT RO/);
  });
});

describe('AnalysisHost: the received audio\'s own timeline (lib/analysis/analysis-host.ts)', () => {
  const collect = (): { sink: { event(e: AnalysisEvent): void }; events: AnalysisEvent[] } => {
    const events: AnalysisEvent[] = [];
    return { sink: { event: (e) => void events.push(e) }, events };
  };

  it('a far end that sends nothing: the ticks make time pass, IDLE_LAG_FRAMES behind, so the verdict is unknown at the timeout', () => {
    const { sink, events } = collect();
    // After `unknown` a late beep is listened for until the greeting timeout (3 s from the answer).
    const host = new AnalysisHost(energyAnalyser(2000, 3000), sink);
    for (let i = 0; i < 500; i++) host.tick();
    assert.equal(host.elapsedMs, 0, 'no frame before audio or the answer');
    host.answered();
    for (let i = 0; i < 100 + IDLE_LAG_FRAMES - 1; i++) host.tick();
    assert.equal(events.length, 0);
    host.tick();
    assert.equal(host.elapsedMs, 2000);
    assert.deepEqual(events.map((e) => [e.topic, e.topic === 'far-end' ? e.farEnd : '', e.atMs]), [['far-end', 'unknown', 2000]]);
    assert.equal(host.done, false, 'a late beep is still listened for');
    for (let i = 0; i < 50; i++) host.tick();
    assert.equal(host.elapsedMs, 3000);
    assert.equal(host.done, true, 'done once the analyser has nothing more to say (the greeting timeout)');
    assert.equal(events.length, 1);
  });

  it('received audio is analysed in order as it comes, in bursts too: a talker then silence is a person, decided as the frames say', () => {
    const { sink, events } = collect();
    const host = new AnalysisHost(energyAnalyser(5000), sink);
    host.answered();
    const pcm = concat([whiteNoise(600, -10, 3), silence(1000)]);
    // Packets in bursts of 5 after 5 ticks, as a jittery network (or a late thread) brings them.
    for (let p = 0; p < pcm.length / 160 && !host.done; p += 5) {
      for (let t = 0; t < 5; t++) host.tick();
      for (let k = p; k < p + 5 && k < pcm.length / 160; k++) host.pushRx(pcm.subarray(k * 160, (k + 1) * 160), 1000 + k * 160);
    }
    assert.equal(events.length, 1);
    const v = events[0] as Extract<AnalysisEvent, { topic: 'far-end' }>;
    assert.deepEqual([v.farEnd, v.decisionMs], ['human', 1060], '600 ms of voice (a short greeting), then 460 ms of silence');
  });

  /** The events of the real analysers (detect machine, answered at once) on `pcm`, with nothing in between. */
  const offlineEvents = (pcm: Int16Array): AnalysisEvent[] => feedCall(createCallAnalyser(checkAnalysisOptions('machine')), pcm, { totalMs: 12_000, answerAtMs: 0 });

  it('a starved media clock (ticks late, in bursts, before the packets that waited) cuts no tone and shifts no timing: the same events as the file alone', () => {
    const pcm = concat([silence(500), tones([{ hz: 850, levelDbfs: -10 }], 500), silence(2500)]);
    const expected = offlineEvents(pcm);
    assert.deepEqual(expected.map((e) => e.topic), ['far-end', 'beep'], 'offline: a beep before any verdict');
    const { sink, events } = collect();
    const host = new AnalysisHost(createCallAnalyser(checkAnalysisOptions('machine')), sink);
    host.answered();
    const packets = Math.ceil(12_000 / 20);
    const frame = (k: number): Int16Array => (k * 160 < pcm.length ? pcm.subarray(k * 160, (k + 1) * 160) : new Int16Array(160));
    // The thread blocked 40 ticks (800 ms) at a time: the clock catches up first, then the socket's packets are read.
    for (let p = 0; p < packets && !host.done; p += 40) {
      for (let t = 0; t < 40; t++) host.tick();
      for (let k = p; k < p + 40 && k < packets; k++) host.pushRx(frame(k), (0xfffff000 + k * 160) >>> 0); // across the timestamp's wrap
    }
    assert.deepEqual(events, expected);
  });

  it('lost packets and silence suppression (gaps in the RTP timestamps) are analysed as that much silence', () => {
    const pcm = concat([silence(500), tones([{ hz: 850, levelDbfs: -10 }], 500), silence(1000), tones([{ hz: 1400, levelDbfs: -10 }], 300), silence(2000)]);
    const sent = (k: number): boolean => k * 160 < 1000 * 8 || k * 160 >= 2000 * 8; // nothing sent during the silence between the tones (DTX)
    const lost = new Set([3, 4, 100, 101, 102]);
    const heard = Int16Array.from(pcm);
    for (let k = 0; k < pcm.length / 160; k++) if (!sent(k) || lost.has(k)) heard.fill(0, k * 160, (k + 1) * 160);
    const { sink, events } = collect();
    const host = new AnalysisHost(createCallAnalyser(checkAnalysisOptions('machine')), sink);
    host.answered();
    for (let k = 0; k < pcm.length / 160; k++) {
      host.tick();
      if (sent(k) && !lost.has(k)) host.pushRx(pcm.subarray(k * 160, (k + 1) * 160), 5000 + k * 160);
    }
    assert.deepEqual(events, offlineEvents(heard).filter((e) => e.atMs <= pcm.length / 8));
    assert.ok(events.length >= 2, events.map((e) => e.topic).join());
  });

  it('a stream that clocks itself: every 160 samples are one frame, in any chunking; a SIT before the answer is a tone event', () => {
    const { sink, events } = collect();
    const host = new AnalysisHost(createCallAnalyser(checkAnalysisOptions({ detect: 'off' })), sink);
    const pcm = concat([silence(300), sit()]);
    for (let i = 0; i < pcm.length; i += 97) host.pushStream(pcm.subarray(i, i + 97));
    assert.equal(events.length, 1);
    const tone = events[0] as Extract<AnalysisEvent, { topic: 'tone' }>;
    assert.deepEqual([tone.tone, tone.evidence.code, tone.evidence.endCause], ['sit', 'IC', 'not-found']);
    assert.ok(tone.atMs > 300 + 274 + 274 && tone.atMs <= pcm.length / 8, `at ${tone.atMs} ms`);
    assert.equal(host.done, true, 'detect off and its one tone reported: done');
  });

  it('network tones are heard until the answer only; with start "answer" a SIT-like tone before it is no beep (no machine verdict)', () => {
    const before = collect();
    const early = new AnalysisHost(createCallAnalyser(checkAnalysisOptions('machine')), before.sink);
    early.pushStream(concat([silence(200), tones([{ hz: 1000, levelDbfs: -10 }], 400), silence(400)]));
    assert.deepEqual(before.events, [], 'a 1 kHz tone of 400 ms in early media: no beep, no verdict');
    const after = collect();
    const answered = new AnalysisHost(createCallAnalyser(checkAnalysisOptions({ detect: 'off' })), after.sink);
    answered.answered();
    assert.equal(answered.done, true, 'detect off, answered: nothing left to listen for');
    answered.pushStream(sit());
    assert.deepEqual(after.events, []);
  });

  it('analyseMediaEvents: listens to the media\'s audio and ticks, and stops listening when done or stopped', () => {
    const media = new EventEmitter();
    const { sink, events } = collect();
    const handle = analyseMediaEvents(media as never, checkAnalysisOptions({ detect: 'off' }), sink);
    assert.deepEqual([media.listenerCount('audio'), media.listenerCount('tx')], [1, 1]);
    const pcm = concat([sit(), silence(200)]);
    for (let i = 0; i < pcm.length; i += 160) {
      media.emit('audio', pcm.subarray(i, i + 160));
      media.emit('tx', new Int16Array(160));
    }
    for (let i = 0; i < 5; i++) media.emit('tx', new Int16Array(160));
    assert.deepEqual(events.map((e) => e.topic), ['tone']);
    assert.deepEqual([media.listenerCount('audio'), media.listenerCount('tx')], [0, 0], 'done: no longer listening');
    const again = analyseMediaEvents(media as never, checkAnalysisOptions('machine'), sink);
    again.stop();
    again.stop();
    assert.deepEqual([media.listenerCount('audio'), media.listenerCount('tx')], [0, 0]);
  });
});
