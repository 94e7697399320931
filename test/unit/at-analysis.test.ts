/**
 * Call analysis on an AT line (lib/at/features/analysis.ts): on the emulator's EC25 the call's
 * downlink comes over the PCM port (AT+QPCMV=1,0), where the far end says a corpus file
 * (`farEndSays`); the verdicts match the same file analysed offline. A module without a PCM port
 * refuses far-end detection before dialing, and drops network tones alone silently.
 */
import assert from 'node:assert/strict';
import { AnalysisEvent } from '../../lib/analysis/analyser';
import type { EmulatorAudio } from '../../lib/at/emulator/features/audio';
import { EventEmitter } from 'node:events';
import { AtAnalysis } from '../../lib/at/features/analysis';
import type { AtAudio } from '../../lib/at/features/audio';
import type { AtFeatureContext } from '../../lib/at/at-feature';
import { SILENT_LOGGER } from '../../lib/backend';
import { NotSupportedError } from '../../lib/errors';
import { pickCorpusFile } from '../helpers/analysis-call';
import { CorpusFixture, corpusFixture } from '../helpers/analysis-corpus';
import { Harness, startLine } from '../helpers/at-harness';
import { AUDIO_COMMAND, until } from '../helpers/audio-harness';

const topicsOf = (h: Harness, callId: string): string[] =>
  h.events
    .filter((e) => e.call?.id === callId && ['answered', 'far-end', 'beep', 'greeting-end', 'tone', 'ended'].includes(e.topic))
    .map((e) => (e.topic === 'far-end' ? `far-end:${String(e.payload.farEnd)}` : e.topic));

const pcmCommands = (h: Harness): string[] => h.modem().commands.filter((c) => AUDIO_COMMAND.test(c) && c.startsWith('AT+QPCMV=') && !c.endsWith('?'));

describe('call analysis on an AT line (the PCM port)', function () {
  this.timeout(60_000);
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  describe('EC25 (emulated PCM port): the corpus said on the downlink', () => {
    let corpus: CorpusFixture;
    before(function () {
      this.timeout(600_000);
      corpus = corpusFixture(this);
    });

    it('a dial with detect "machine" to an answering machine: far-end machine, then its beep, counted in frames of the stream; the PCM stream is on only while it listens', async () => {
      const { file, events } = pickCorpusFile(corpus, 'machine', (l) => l.beepEndMs !== null && !l.musicMs);
      h = await startLine('ec25');
      h.modem().feature<EmulatorAudio>('audio').farEndSays(corpus.audio(file));
      h.modem().setDialBehaviour('answer');
      const call = await h.line.dial('5550123', { analysis: { detect: 'machine' } });
      const beep = await h.next('beep', (e) => e.call?.id === call.id, 30_000);
      assert.deepEqual(topicsOf(h, call.id), ['answered', 'far-end:machine', 'beep']);
      const expected = events.find((e) => e.topic === 'beep') as Extract<AnalysisEvent, { topic: 'beep' }>;
      // The stream is the module's downlink from its first sample: the same frames as offline, up to where QPCMV came on.
      assert.ok(Math.abs((beep.payload.atMs as number) - expected.atMs) <= 200, `beep at ${String(beep.payload.atMs)} ms, offline ${expected.atMs} ms`);
      assert.equal(beep.payload.frequencyHz, expected.frequencyHz);
      assert.equal((await h.line.analysis.result(call.id))?.farEnd, 'machine');
      // Done after the beep: the stream is turned off at once (the module's own audio path is back).
      await until('QPCMV off', () => pcmCommands(h!).length === 2);
      assert.deepEqual(pcmCommands(h), ['AT+QPCMV=1,0', 'AT+QPCMV=0']);
      await h.line.hangup(call.id);
    });

    it('line.analysis.start on a connected call: a person says hello → far-end human', async () => {
      const { file } = pickCorpusFile(corpus, 'human', (l) => !l.noiseDbfs);
      h = await startLine('ec25');
      const incoming = h.next('incoming');
      h.modem().incomingCall('5550100');
      await incoming;
      const call = await h.line.answer();
      await h.next('answered');
      h.modem().feature<EmulatorAudio>('audio').farEndSays(corpus.audio(file));
      await h.line.analysis.start(call.id, { detect: 'machine' });
      const verdict = await h.line.analysis.result(call.id);
      assert.equal(verdict?.farEnd, 'human', JSON.stringify(verdict));
      assert.deepEqual(topicsOf(h, call.id), ['answered', 'far-end:human']);
      // After a person, a late voicemail beep is still listened for (docs/call-analysis.md): the stream
      // stays on until the greeting timeout, or, as here, until the flow stops the analysis.
      assert.deepEqual(pcmCommands(h), ['AT+QPCMV=1,0']);
      h.line.analysis.stop(call.id);
      await until('QPCMV off', () => pcmCommands(h!).length === 2);
      assert.equal(h.modem().feature<EmulatorAudio>('audio').pcmEnabled, false);
      await h.line.hangup(call.id);
    });
  });

  for (const [profile, model] of [
    ['ec600n', 'Quectel EC600N (quectel-asr)'],
    ['generic', 'Generic GSM Modem (generic)'],
  ] as const) {
    it(`${profile} (no PCM port): detect "machine" refused before dialing, network tones alone dial without analysis, start() refused`, async () => {
      h = await startLine(profile);
      const message = `call analysis needs the call's audio; this line (${model}) has no PCM port`;
      await assert.rejects(h.line.dial('5550123', { analysis: 'machine' }), (e: Error) => e instanceof NotSupportedError && e.message === message);
      assert.equal(h.modem().commands.filter((c) => c.startsWith('ATD')).length, 0, 'nothing dialled');
      h.modem().setDialBehaviour('answer');
      const call = await h.line.dial('5550123', { analysis: { detect: 'off' } });
      await h.next('answered');
      await assert.rejects(h.line.analysis.start(call.id, 'machine'), (e: Error) => e instanceof NotSupportedError && e.message === message);
      assert.equal(await h.line.analysis.result(call.id), null);
      assert.deepEqual(pcmCommands(h), [], 'no PCM stream asked for');
      await h.line.hangup(call.id);
    });
  }

  it('on hardware the audio path is the pcmPort setting: a module with AT+QPCMV but no port set has none', () => {
    const analysis = (pcmPort: string | undefined, streams = true): AtAnalysis =>
      new AtAnalysis(
        { log: SILENT_LOGGER, options: { pcmPort }, device: () => ({ emulator: null }), describeModem: () => 'Quectel EC25 (quectel-ec2x)' } as unknown as AtFeatureContext,
        { pcm: new EventEmitter(), streamSupport: () => streams } as unknown as AtAudio,
        async () => undefined,
      );
    assert.equal(analysis(undefined).available, false);
    assert.equal(analysis('  ').available, false);
    assert.equal(analysis('/dev/ttyUSB1').available, true);
    assert.equal(analysis('/dev/ttyUSB1', false).available, false, 'no AT+QPCMV: no stream whatever the port');
    assert.throws(() => analysis(undefined).acceptsDial({ detect: 'machine', timeoutMs: 5000, start: 'answer', tones: true, sitEndsCall: true }), /this line \(Quectel EC25 \(quectel-ec2x\)\) has no PCM port/);
    assert.equal(analysis(undefined).acceptsDial({ detect: 'off', timeoutMs: 5000, start: 'answer', tones: true, sitEndsCall: true }), false);
  });
});
