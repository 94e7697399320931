/**
 * Call audio against baresip on 127.0.0.1 (design §6): baresip plays a tone file as its microphone
 * and we record it; we play a tone and baresip's own recording (its sndfile module) has it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AudioChunk } from '../../lib/capabilities/audio';
import { pcm16leToInt16 } from '../../lib/media/g711';
import { recordingResult } from '../helpers/audio-harness';
import { dominantHz, loudMs, readChannels, toneWav } from '../helpers/audio-spectrum';
import { interopHarness } from '../helpers/interop-harness';
import { baresipDecoded, LOOPBACK, requirePeer } from '../helpers/sip-peers';

const WAIT_MS = 20_000;

describe('SIP call audio with baresip on 127.0.0.1 (integration)', function () {
  this.timeout(90_000);
  const { startLine, startBaresip } = interopHarness('interop-audio');
  let dir: string;

  before(function () {
    requirePeer(this, 'baresip');
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sip-interop-audio-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('inbound from baresip playing a 700 Hz tone: we answer and record it (700 Hz); baresip hangs up: the recording ends call-ended, the call normal by remote', async function () {
    const source = join(dir, 'tone-700.wav');
    writeFileSync(source, toneWav(700, 20_000));
    const b = await startBaresip({ account: `<sip:bob@${LOOPBACK}>;regint=0`, audioSource: source });
    const { line, events, port } = await startLine({ server: b.address });
    assert.equal((await b.command('dial', `sip:1001@${LOOPBACK}:${port}`)).ok, true);
    const incoming = await events.next('incoming');
    await line.answer(incoming.call?.id);
    await events.next('answered');
    await b.nextEvent('CALL_ESTABLISHED');
    const file = join(dir, 'from-baresip.wav');
    const rec = await line.audio.record(incoming.call?.id, { mode: 'both', direction: 'rx', path: file, chunkMs: 100 });
    const result = recordingResult(rec);
    const chunks: AudioChunk[] = [];
    await new Promise<void>((resolve) => {
      rec.on('chunk', (c: AudioChunk) => {
        chunks.push(c);
        if (chunks.length === 20) resolve();
      });
    });
    assert.equal((await b.command('hangup')).ok, true);
    const ended = await events.next('ended');
    assert.deepEqual([ended.payload.cause, ended.payload.by], ['normal', 'remote']);
    const r = await result;
    assert.deepEqual([r.endedBy, r.path, r.channels], ['call-ended', file, 1]);
    const { mono } = readChannels(file);
    assert.ok(mono.length >= 20 * 800, `at least the 2 s streamed (${mono.length} samples)`);
    assert.equal(dominantHz(mono), 700);
    assert.ok(loudMs(mono) >= 1500, `baresip's tone all along, got ${loudMs(mono)} ms`);
    assert.deepEqual(pcm16leToInt16(Buffer.concat(chunks.map((c) => c.payload))), mono, 'the stream is the file\'s samples');
  });

  it('outbound to baresip (auto-answer): we play a 1200 Hz WAV: baresip\'s recording of the call has it (1200 Hz), ours in stereo has baresip\'s 440 Hz left and our 1200 Hz right; we hang up', async function () {
    const recordDir = join(dir, 'baresip-rec');
    const source = join(dir, 'tone-1200.wav');
    writeFileSync(source, toneWav(1200, 1500));
    mkdirSync(recordDir);
    const b = await startBaresip({ account: `<sip:2000@${LOOPBACK}>;regint=0`, autoAnswer: true, recordDir });
    const { line, events } = await startLine({ server: b.address });
    const call = await line.dial('2000');
    await events.next('answered');
    await b.nextEvent('CALL_ESTABLISHED');
    // Our own stereo recording meanwhile: left baresip's microphone (ausine, 440 Hz), right our tone.
    const stereo = join(dir, 'ours-stereo.wav');
    const rec = await line.audio.record(call.id, { direction: 'stereo', path: stereo });
    const result = recordingResult(rec);
    const { outcome } = await line.audio.play(call.id, { source });
    assert.deepEqual(outcome, { playedMs: 1500, stopped: false });
    // play() resolves when our last packet has left; baresip still holds the tail in its jitter
    // buffer, and a BYE now tears its stream down before that is decoded into its recording (CI saw
    // 1340 of 1500 ms once). A caller hangs up after the far end has heard the end: half a second.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await line.hangup(call.id);
    await events.next('ended');
    assert.deepEqual([(await result).endedBy, (await result).channels], ['call-ended', 2]);
    const ours = readChannels(stereo);
    assert.equal(ours.info.channels, 2);
    assert.equal(dominantHz(ours.left), 440, 'left: baresip');
    assert.equal(dominantHz(ours.right), 1200, 'right: what we played');
    await b.nextEvent('CALL_CLOSED');
    const { samples: received, rate } = await baresipDecoded(recordDir, WAIT_MS);
    assert.equal(dominantHz(received, 10, rate), 1200);
    const loud = loudMs(received, 1000, rate);
    assert.ok(loud >= 1400 && loud <= 1600, `our 1.5 s tone, got ${loud} ms`);
  });
});
