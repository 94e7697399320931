/**
 * Call analysis in SIP calls (docs/call-analysis.md, "In a call"), on 127.0.0.1, with the media in
 * the main thread (`mediaWorkers: 0`) and in media workers (the default):
 *
 * - two of our lines: B answers and plays a corpus file (an answering machine's greeting with its
 *   beep; a person's "hello"), A dials with `analysis: { detect: "machine" }`; the events, their
 *   order, and the verdict against the same file analysed offline (lib/analysis, no call);
 * - the analysis started on a connected call (`line.analysis.start`), on the answering side;
 * - SIPp as a network that plays a SIT (or a busy tone) in early media: the `tone` event, and the
 *   dial ended `not-found` by us (a CANCEL, which SIPp's scenario requires) or, for busy, left alone;
 * - bad options refused before anything is sent.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AnalysisEvent } from '../../lib/analysis/analyser';
import type { FarEndResult } from '../../lib/capabilities/analysis';
import { InvalidInputError } from '../../lib/errors';
import type { VoiceEvent } from '../../lib/line/voice-line';
import { encodeUlaw } from '../../lib/media/g711';
import { concat, silence, tones } from '../../lib/media/tone-generator';
import { RemoteRtpSession } from '../../lib/media-engine/remote-rtp-session';
import { pickCorpusFile } from '../helpers/analysis-call';
import { CorpusFixture, corpusFixture } from '../helpers/analysis-corpus';
import { interopHarness } from '../helpers/interop-harness';
import { rtpOf, SipAudioPair, startPair } from '../helpers/sip-audio-pair';
import { pickSippMediaPort, requirePeer, sippScenario } from '../helpers/sip-peers';

const ANALYSIS_TOPICS = ['far-end', 'beep', 'greeting-end', 'tone'];

/** The topics of a line's events that tell the story of a call's analysis, in order. */
const story = (events: readonly VoiceEvent[], callId: string): string[] =>
  events
    .filter((e) => e.call?.id === callId && ['answered', 'ended', ...ANALYSIS_TOPICS].includes(e.topic))
    .map((e) => (e.topic === 'far-end' ? `far-end:${String(e.payload.farEnd)}` : e.topic === 'tone' ? `tone:${String(e.payload.tone)}` : e.topic));

for (const mediaWorkers of [0, 'auto'] as const) {
  describe(`call analysis in SIP calls, media ${mediaWorkers === 0 ? 'in the main thread' : 'in media workers'} (integration)`, function () {
    this.timeout(120_000);
    let pair: SipAudioPair | undefined;

    afterEach(async function () {
      if (this.currentTest?.state === 'failed' && pair) console.log(pair.log.lines.slice(-60).join('\n'));
      await pair?.stop();
      pair = undefined;
    });

    describe('two of our lines: B plays a corpus file, A dials with detect "machine"', () => {
      let corpus: CorpusFixture;
      before(function () {
        this.timeout(600_000);
        corpus = corpusFixture(this);
      });

      /** B answers A's call and plays `file` into it; A's call, B's call, and what A's line reported. */
      async function call(file: string, analysis: unknown = { detect: 'machine' }) {
        pair = await startPair({ mediaWorkers });
        const p = pair;
        const callA = await p.a.dial('2002', { analysis });
        const incoming = await p.evB.next('incoming');
        const callB = await p.b.answer(incoming.call?.id);
        const played = p.b.audio.play(callB.id, { source: join(corpus.dir, file) });
        await p.evA.next('answered');
        return { callA, callB, played };
      }

      it('an answering machine with a beep: answered, far-end machine, then the beep, where the file has it; result() gives the verdict', async () => {
        const { file, events } = pickCorpusFile(corpus, 'machine', (l) => l.beepEndMs !== null && !l.musicMs);
        const label = corpus.corpus.files[file];
        const { callA } = await call(file);
        const p = pair!;
        if (mediaWorkers !== 0) assert.ok(rtpOf(p.a, callA) instanceof RemoteRtpSession, 'A\'s media runs in a worker');
        const result = await p.a.analysis.result(callA);
        const beep = await p.evA.next('beep', (e) => e.call?.id === callA.id, 30_000);
        assert.deepEqual(story(p.evA.events, callA.id), ['answered', 'far-end:machine', 'beep']);
        const farEnd = p.evA.events.find((e) => e.topic === 'far-end')!;
        assert.ok(result && result.farEnd === 'machine', JSON.stringify(result));
        assert.deepEqual(result, farEnd.payload, 'result() is the far-end event\'s payload');
        // Timings in frames from the answer: the call's match the file's own, up to B's start and the playout's reserve.
        const expected = events.find((e) => e.topic === 'beep') as Extract<AnalysisEvent, { topic: 'beep' }>;
        const heard = beep.payload as { frequencyHz: number; durationMs: number; atMs: number };
        assert.ok(Math.abs(heard.frequencyHz - (label.beepHz as number)) <= 0.02 * (label.beepHz as number), `beep at ${heard.frequencyHz} Hz, the file's at ${label.beepHz} Hz`);
        assert.ok(Math.abs(heard.durationMs - expected.durationMs) <= 60, `beep of ${heard.durationMs} ms, offline ${expected.durationMs} ms`);
        assert.ok(heard.atMs >= expected.atMs - 40 && heard.atMs <= expected.atMs + 400, `beep ended at ${heard.atMs} ms of the call, at ${expected.atMs} ms of the file`);
        assert.ok((result as FarEndResult).atMs <= heard.atMs);
        await p.a.hangup(callA.id);
        await p.evA.next('ended');
        assert.deepEqual(story(p.evA.events, callA.id), ['answered', 'far-end:machine', 'beep', 'ended'], 'nothing more after the beep');
      });

      it('a person: answered, far-end human with its evidence and decision time, no beep or greeting-end', async () => {
        const { file, events } = pickCorpusFile(corpus, 'human', (l) => !l.noiseDbfs);
        const { callA } = await call(file);
        const p = pair!;
        const farEnd = await p.evA.next('far-end', (e) => e.call?.id === callA.id, 30_000);
        assert.equal(farEnd.payload.farEnd, 'human');
        const expected = events[0] as Extract<AnalysisEvent, { topic: 'far-end' }>;
        const decisionMs = farEnd.payload.decisionMs as number;
        assert.ok(Math.abs(decisionMs - expected.decisionMs) <= 200, `decided after ${decisionMs} ms in the call, ${expected.decisionMs} ms offline`);
        assert.equal(typeof (farEnd.payload.evidence as Record<string, unknown>), 'object');
        assert.deepEqual(await p.a.analysis.result(callA.id), farEnd.payload);
        await new Promise((r) => setTimeout(r, 1500));
        assert.deepEqual(story(p.evA.events, callA.id), ['answered', 'far-end:human']);
        await p.a.hangup(callA.id);
      });

      it('started on a connected call (line.analysis.start, the answering side): B hears A\'s "hello" as a person; stop() and a call without analysis give null', async () => {
        const { file } = pickCorpusFile(corpus, 'human', (l) => !l.noiseDbfs);
        pair = await startPair({ mediaWorkers });
        const p = pair;
        const callA = await p.a.dial('2002');
        const incoming = await p.evB.next('incoming');
        const callB = await p.b.answer(incoming.call?.id);
        await p.evA.next('answered');
        assert.equal(await p.a.analysis.result(callA.id), null, 'no analysis on A\'s call');
        await p.b.analysis.start(callB.id, { detect: 'machine', timeoutMs: 8000 });
        void p.a.audio.play(callA.id, { source: join(corpus.dir, file) });
        const verdict = await p.b.analysis.result(callB);
        assert.equal(verdict?.farEnd, 'human', JSON.stringify(verdict));
        assert.deepEqual(story(p.evB.events, callB.id), ['answered', 'far-end:human']);
        // Stopped: a waiting result() resolves null.
        await p.b.analysis.start(callB.id, 'machine');
        const waiting = p.b.analysis.result(callB.id);
        p.b.analysis.stop(callB.id);
        assert.equal(await waiting, null);
        await p.a.hangup(callA.id);
      });
    });

    describe('bad options', () => {
      it('are refused with an InvalidInputError naming the option, before anything is sent; start() on an ended or unknown call is refused', async () => {
        pair = await startPair({ mediaWorkers });
        const p = pair;
        const bad: Array<[unknown, RegExp]> = [
          ['human', /"detect" must be "machine".*got string human/],
          [{ detect: 'machine', timeoutMs: 500 }, /"timeoutMs" must be a number of milliseconds from 1000 to 30000, got number 500/],
          [{ start: 'ring' }, /"start" must be "answer" or "connect"/],
          [{ tones: 'yes' }, /"tones" must be true or false/],
          [{ sitEndsCall: 1 }, /"sitEndsCall" must be true or false/],
          [{ detect: 'machine', beep: true }, /have no "beep": use detect, timeoutMs, start, tones, sitEndsCall/],
          [[1, 2], /must be "machine", "off" or an object/],
        ];
        for (const [analysis, message] of bad) {
          await assert.rejects(p.a.dial('2002', { analysis }), (err: Error) => err instanceof InvalidInputError && message.test(err.message));
        }
        assert.deepEqual(p.evB.topics().filter((t) => t !== 'line-up'), [], 'no call reached B');
        assert.equal(p.a.activeCalls().length, 0);
        await assert.rejects(p.a.analysis.start('no-such-call', 'machine'), /not in progress on this line/);
        await assert.rejects(p.a.analysis.start(undefined, 'machine'), /there is no call to analyse/);
      });
    });
  });
}

describe('call analysis: network tones in early media from SIPp (integration)', function () {
  this.timeout(90_000);
  const { startLine, startSipp } = interopHarness('sip-analysis');

  before(function () {
    requirePeer(this, 'sipp');
  });

  /** SIPp that answers our INVITE with a 183 and streams `pcm`, and waits for our CANCEL. */
  async function network(pcm: Int16Array) {
    const media = await pickSippMediaPort();
    return startSipp({ scenario: sippScenario('early-media-announcement-uas.xml'), calls: 1, extraArgs: ['-mp', String(media)], files: { 'announcement.ulaw': encodeUlaw(pcm) } });
  }

  // Telcordia IC (intercept: 913.8 Hz short, 1370.6 Hz short, 1776.7 Hz long), then the announcement's silence.
  const sitIC = concat([silence(300), tones([{ hz: 913.8, levelDbfs: -16 }], 274), silence(2), tones([{ hz: 1370.6, levelDbfs: -16 }], 274), silence(2), tones([{ hz: 1776.7, levelDbfs: -16 }], 380), silence(4000)]);

  for (const [mediaWorkers, start] of [[0, 'answer'], ['auto', 'answer'], [0, 'connect'], ['auto', 'connect']] as const) {
    it(`a SIT (IC) in early media (media ${mediaWorkers === 0 ? 'in the main thread' : 'in workers'}, detection from the ${start}): the tone event, then the dial ended not-found by us, the reason naming the SIT; SIPp got our CANCEL`, async () => {
      const uas = await network(sitIC);
      const { line, events } = await startLine({ server: uas.address, mediaWorkers });
      const call = await line.dial('2000', { analysis: { detect: 'machine', start } });
      const ended = await events.next('ended', (e) => e.call?.id === call.id);
      assert.deepEqual(story(events.events, call.id), ['tone:sit', 'ended']);
      const tone = events.events.find((e) => e.topic === 'tone')!;
      assert.equal(tone.payload.tone, 'sit');
      assert.deepEqual([(tone.payload.evidence as Record<string, unknown>).code, (tone.payload.evidence as Record<string, unknown>).endCause], ['IC', 'not-found']);
      assert.deepEqual([ended.payload.cause, ended.payload.by, ended.payload.q850], ['not-found', 'local', 1]);
      assert.match(String(ended.payload.text), /SIT IC/);
      assert.equal(await line.analysis.result(call.id), null, 'no far-end verdict for a call that was never answered');
      assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-2000));
    });
  }

  it('start "connect": a person heard in early media is classified before any answer (the dial goes on until the flow ends it)', async function () {
    this.timeout(600_000);
    const corpus = corpusFixture(this);
    const { file, events: offline } = pickCorpusFile(corpus, 'human', (l) => !l.noiseDbfs);
    const uas = await network(concat([corpus.audio(file), silence(3000)]));
    const { line, events } = await startLine({ server: uas.address, mediaWorkers: 'auto' });
    const call = await line.dial('2000', { analysis: { detect: 'machine', start: 'connect' } });
    const farEnd = await events.next('far-end', (e) => e.call?.id === call.id);
    assert.equal(farEnd.payload.farEnd, 'human');
    assert.equal(call.state, 'early-media', 'decided before the answer');
    const expected = offline[0] as Extract<AnalysisEvent, { topic: 'far-end' }>;
    assert.ok(Math.abs((farEnd.payload.decisionMs as number) - expected.decisionMs) <= 200, `${String(farEnd.payload.decisionMs)} ms in the call, ${expected.decisionMs} ms offline`);
    await line.hangup(call.id);
    const ended = await events.next('ended', (e) => e.call?.id === call.id);
    assert.deepEqual([ended.payload.cause, ended.payload.by], ['cancelled', 'local']);
    assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-2000));
  });

  it('sitEndsCall false: the SIT is reported and the dial goes on until the flow ends it; a busy tone is reported, never ends a dial', async () => {
    const busy = concat([silence(200), ...Array.from({ length: 6 }, () => concat([tones([{ hz: 425, levelDbfs: -16 }], 500), silence(500)]))]);
    for (const [pcm, analysis, tone] of [
      [sitIC, { detect: 'off', sitEndsCall: false }, 'sit'],
      [busy, { detect: 'off' }, 'busy'],
    ] as const) {
      const uas = await network(pcm);
      const { line, events } = await startLine({ server: uas.address, mediaWorkers: 0 });
      const call = await line.dial('2000', { analysis });
      const heard = await events.next('tone', (e) => e.call?.id === call.id);
      assert.equal(heard.payload.tone, tone);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(call.state, 'early-media', `still dialling after the ${tone}`);
      await line.hangup(call.id);
      const ended = await events.next('ended', (e) => e.call?.id === call.id);
      assert.deepEqual([ended.payload.cause, ended.payload.by], ['cancelled', 'local']);
      assert.equal(await uas.exitCode(), 0, uas.process.text().slice(-2000));
    }
  });
});
