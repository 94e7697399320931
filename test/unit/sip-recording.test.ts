/**
 * SipAudio's recordings against a stand-in RtpSession (an EventEmitter whose `tx` ticks and
 * `audio` packets the test drives by hand): exact frames, exact alignment, failures never thrown.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SILENT_LOGGER } from '../../lib/backend';
import { Call } from '../../lib/call/call';
import { CallState } from '../../lib/call/call-state';
import type { AudioChunk, RecordingResult } from '../../lib/capabilities/audio';
import { InvalidInputError } from '../../lib/errors';
import { recordMediaEvents, RecorderSink, RecorderSpec } from '../../lib/media/call-recorder';
import { pcm16leToInt16 } from '../../lib/media/g711';
import type { RtpSession } from '../../lib/sip/rtp-session';
import { SipAudio } from '../../lib/sip/sip-audio';
import { readChannels } from '../helpers/audio-spectrum';

class FakeRtp extends EventEmitter {
  closed = false;
  tick(tx: Int16Array): void {
    this.emit('tx', tx);
  }
  packet(samples: Int16Array): void {
    this.emit('audio', samples, { timestamp: 0, sequenceNumber: 0 });
  }
  /** What RtpSession.record does over its events. */
  record(spec: RecorderSpec, sink: RecorderSink) {
    return recordMediaEvents(this, spec, sink);
  }
}

const frame = (value: number): Int16Array => new Int16Array(160).fill(value);

describe('SipAudio recordings (driven tick by tick)', () => {
  let dir: string;
  let call: Call;
  let rtp: FakeRtp;
  let audio: SipAudio;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sip-rec-unit-'));
    call = new Call({ line: 'L', direction: 'inbound', remote: { number: '100' }, state: CallState.Active, reason: { text: 't' } });
    rtp = new FakeRtp();
    audio = new SipAudio({ rtpOf: () => rtp as unknown as RtpSession, description: () => 'sip:1001@test', log: SILENT_LOGGER });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('stereo: each tick is one frame of each leg, rx from the playout (silent while priming), tx as sent', async () => {
    const file = join(dir, 'x.wav');
    const rec = await audio.record(call, { format: 'wav', direction: 'both', channels: 2, file, streamChunkMs: 20 });
    const chunks: AudioChunk[] = [];
    rec.on('chunk', (c: AudioChunk) => chunks.push(c));
    rtp.packet(frame(1));
    rtp.tick(frame(-1)); // priming: rx silent
    rtp.packet(frame(2));
    rtp.tick(frame(-2)); // rx 1
    rtp.packet(frame(3));
    rtp.tick(frame(-3)); // rx 2
    const r = await rec.stop();
    assert.deepEqual([r.channels, r.direction, r.durationMs, r.chunks, r.endedBy], [2, 'both', 60, 3, 'stop']);
    const { left, right } = readChannels(file);
    assert.deepEqual([left[0], left[160], left[320]], [0, 1, 2]);
    assert.deepEqual([right[0], right[160], right[320]], [-1, -2, -3]);
    assert.equal(left.length, 480);
    assert.deepEqual(pcm16leToInt16(Buffer.concat(chunks.map((c) => c.payload))), pcm16leToInt16(readFileSync(file).subarray(44)));
    rtp.tick(frame(9));
    assert.equal(chunks.length, 3, 'nothing after the end');
  });

  it('the call\'s end ends it (call-ended) and nothing is taken afterwards', async () => {
    const rec = await audio.record(call, { format: 'wav', direction: 'tx', streamChunkMs: 20 });
    const ended = new Promise<RecordingResult>((resolve) => rec.once('end', resolve));
    rtp.tick(frame(5));
    call.transition(CallState.Ended, { text: 'bye', end: { cause: 'normal', by: 'remote' } } as never);
    const r = await ended;
    assert.deepEqual([r.endedBy, r.chunks, r.durationMs], ['call-ended', 1, 20]);
    assert.equal(rtp.listenerCount('tx') + rtp.listenerCount('audio'), 0, 'listeners removed');
  });

  it('a file that cannot be written any more ends the recording with an error event, never a throw from the tick', async () => {
    const file = join(dir, 'gone.wav');
    const rec = await audio.record(call, { format: 'wav', direction: 'rx', file });
    const failed = new Promise<Error>((resolve) => rec.once('error', resolve));
    // A real write failure (EBADF, as a disk that went away would give): its file handle closed under it.
    (rec as unknown as { handle: { recorder: { writer: { file: { close(): Promise<void> } } } } }).handle.recorder.writer.file.close();
    for (let i = 0; i < 60; i++) assert.doesNotThrow(() => rtp.tick(frame(1)));
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 60; i++) assert.doesNotThrow(() => rtp.tick(frame(1)));
    const err = await failed;
    assert.match(err.message, new RegExp(`^the recording could not be written at ${file}: `));
    await assert.rejects(rec.stop(), (e: Error) => e === err);
  });

  it('refuses 2 channels of one leg (InvalidInputError), before anything starts', async () => {
    await assert.rejects(audio.record(call, { format: 'wav', direction: 'rx', channels: 2, streamChunkMs: 20 }), InvalidInputError);
    assert.equal(rtp.listenerCount('tx'), 0);
  });
});
