/**
 * Call audio on SIP lines: two VoiceLines on 127.0.0.1 in trunk mode calling each other (no PBX);
 * what one line plays, the other records, checked by its frequencies in the WAV file / the stream.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AudioChunk, Recording, RecordingResult } from '../../lib/capabilities/audio';
import { CallStateError, CommandFailedError, NotSupportedError } from '../../lib/errors';
import { int16ToPcm16le, pcm16leToInt16 } from '../../lib/media/g711';
import { parseWav } from '../../lib/media/wav-reader';
import { beep } from '../../lib/media/tone-generator';
import { recordingResult } from '../helpers/audio-harness';
import { dominantHz, loudMs, onsetMs, powerAt, readChannels, toneWav } from '../helpers/audio-spectrum';
import { connect, SipAudioPair, startPair, WAIT_MS } from '../helpers/sip-audio-pair';

/** A recording's chunks as they come, with a wait for the n-th. */
class Chunks {
  readonly all: AudioChunk[] = [];
  private waiters: Array<() => void> = [];
  constructor(rec: Recording) {
    rec.on('chunk', (c: AudioChunk) => {
      this.all.push(c);
      for (const w of this.waiters.splice(0)) w();
    });
  }
  async count(n: number, timeoutMs = WAIT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.all.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${this.all.length} of ${n} chunks within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

/** Fails the test if `rec` emits anything from now on (after its end). */
function silentAfterEnd(rec: Recording): { check(): void } {
  const late: string[] = [];
  for (const name of ['chunk', 'end', 'error']) rec.on(name, () => late.push(name));
  return { check: () => assert.deepEqual(late, [], 'nothing emitted after the end') };
}

describe('SIP call audio: two lines on 127.0.0.1, one plays, the other records (integration)', function () {
  this.timeout(60_000);
  let p: SipAudioPair;
  let dir: string;

  beforeEach(async function () {
    dir = mkdtempSync(join(tmpdir(), 'sip-audio-'));
    p = await startPair();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log(p.log.lines.slice(-60).join('\n'));
    await p?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('A plays a 1 kHz WAV (16 kHz PCM); B records rx to a file and a stream: the header is valid while it grows, the file and the stream hold the same samples, the tone is 1 kHz; A hangs up: call-ended', async function () {
    const { callA, callB } = await connect(p);
    const tone = join(dir, 'tone-16k.wav');
    writeFileSync(tone, toneWav(1000, 2000, 16000));
    const file = join(dir, 'rec', 'b-rx.wav');
    const rec = await p.b.audio.record(callB.id, { mode: 'both', direction: 'rx', path: file, chunkMs: 100 });
    const chunks = new Chunks(rec);
    const result = recordingResult(rec);
    const played = p.a.audio.play(callA.id, { source: tone });

    // While it runs: a valid WAV whose header covers what is on disk, growing.
    await chunks.count(8);
    const early = parseWav(readFileSync(file));
    await chunks.count(20);
    const later = parseWav(readFileSync(file));
    for (const info of [early, later]) {
      assert.deepEqual([info.encoding, info.sampleRate, info.channels, info.truncated], ['pcm16', 8000, 1, false]);
    }
    assert.ok(early.dataBytes > 0, 'the header counts the samples written (flushed every 500 ms)');
    assert.ok(later.dataBytes > early.dataBytes, `the header grows with the file (${early.dataBytes} → ${later.dataBytes})`);

    const outcome = await played;
    assert.deepEqual(outcome.outcome, { playedMs: 2000, stopped: false });
    await p.a.hangup(callA.id);
    const r: RecordingResult = await result;
    const after = silentAfterEnd(rec);
    assert.equal(r.endedBy, 'call-ended');
    assert.deepEqual([r.path, r.format, r.direction, r.channels], [file, 'wav', 'rx', 1]);
    assert.equal(r.bytes, statSync(file).size);
    const { info, mono } = readChannels(file);
    assert.equal(info.dataBytes, r.bytes - 44, 'the final header covers the whole file');
    assert.equal(r.durationMs, Math.round(mono.length / 8));
    assert.equal(dominantHz(mono), 1000);
    const loud = loudMs(mono);
    assert.ok(loud >= 1800 && loud <= 2100, `about 2 s of tone in the recording, got ${loud} ms`);

    // The stream: design §3's shape, 100 ms chunks, seq from 0, and exactly the file's samples.
    assert.equal(r.chunks, chunks.all.length);
    chunks.all.forEach((c, i) => {
      assert.deepEqual(c.audio, { format: 'pcm16le', sampleRate: 8000, channels: 1, direction: 'rx', seq: i, timestamp: i * 100 });
      if (i < chunks.all.length - 1) assert.equal(c.payload.length, 1600);
    });
    assert.ok(chunks.all.at(-1)!.payload.length <= 1600);
    assert.deepEqual(pcm16leToInt16(Buffer.concat(chunks.all.map((c) => c.payload))), mono);
    await new Promise((r) => setTimeout(r, 300));
    after.check();
  });

  it('stereo: A plays 1 kHz, B plays 600 Hz and records both legs: left is A (1 kHz), right is B\'s own 600 Hz, aligned; the stream is interleaved 2-channel', async function () {
    const { callA, callB } = await connect(p);
    const file = join(dir, 'b-stereo.wav');
    const rec = await p.b.audio.record(callB.id, { mode: 'both', direction: 'stereo', path: file, chunkMs: 200 });
    const chunks = new Chunks(rec);
    // Both start on the same tick of the one media clock the two lines share.
    const playA = p.a.audio.play(callA.id, { source: int16ToPcm16le(beep(1500, 1000)) });
    const playB = p.b.audio.play(callB.id, { source: int16ToPcm16le(beep(1500, 600)) });
    await Promise.all([playA, playB]);
    const [r] = await p.b.audio.stopRecording(callB.id);
    assert.deepEqual([r.endedBy, r.direction, r.channels], ['stop', 'both', 2]);
    const { info, left, right } = readChannels(file);
    assert.equal(info.channels, 2);
    assert.equal(dominantHz(left), 1000, 'left: the remote party (A)');
    assert.equal(dominantHz(right), 600, 'right: what B sent');
    assert.ok(powerAt(left, 600) < powerAt(left, 1000) / 100, 'B\'s own tone is not on the left');
    assert.ok(powerAt(right, 1000) < powerAt(right, 600) / 100, 'A\'s tone is not on the right');
    // Aligned: A's tone reaches the left channel at most a few frames after B's own starts on the right
    // (the network, here none, plus the received leg's 40 ms reserve); never before it.
    const lag = onsetMs(left) - onsetMs(right);
    assert.ok(lag >= 0 && lag <= 160, `left lags right by ${lag} ms`);
    for (const ch of [left, right]) {
      const loud = loudMs(ch);
      assert.ok(loud >= 1400 && loud <= 1600, `1.5 s of tone on each channel, got ${loud} ms`);
    }
    // The stream: 200 ms of stereo = 1600 frames = 6400 bytes per chunk, interleaved like the file.
    chunks.all.forEach((c, i) => {
      assert.deepEqual(c.audio, { format: 'pcm16le', sampleRate: 8000, channels: 2, direction: 'both', seq: i, timestamp: i * 200 });
      if (i < chunks.all.length - 1) assert.equal(c.payload.length, 6400);
    });
    const data = readFileSync(file).subarray(44);
    assert.ok(Buffer.concat(chunks.all.map((c) => c.payload)).equals(data), 'the stream is the file\'s samples');
    await p.a.hangup(callA.id);
  });

  it('a tx stream carries what B plays (a 1 kHz beep among silence), and ends call-ended when A hangs up', async function () {
    const { callA, callB } = await connect(p);
    const rec = await p.b.audio.record(callB.id, { mode: 'stream', direction: 'tx', chunkMs: 20 });
    const chunks = new Chunks(rec);
    const result = recordingResult(rec);
    await chunks.count(5);
    await p.b.audio.play(callB.id, { source: 'beep:600' });
    await chunks.count(chunks.all.length + 5);
    await p.a.hangup(callA.id);
    const r = await result;
    assert.deepEqual([r.endedBy, r.bytes, r.path, r.chunks], ['call-ended', 0, undefined, chunks.all.length]);
    const tx = pcm16leToInt16(Buffer.concat(chunks.all.map((c) => c.payload)));
    assert.equal(r.durationMs, tx.length / 8);
    assert.ok(chunks.all.slice(0, -1).every((c) => c.payload.length === 320), '20 ms chunks');
    assert.equal(dominantHz(tx), 1000);
    const loud = loudMs(tx);
    assert.ok(loud >= 580 && loud <= 620, `the 600 ms beep, got ${loud} ms`);
  });

  it('play queue: requests play one after the other; stopPlaying stops the current one and drops the rest', async function () {
    const { callA, callB } = await connect(p);
    const rec = await p.b.audio.record(callB.id, { mode: 'stream', direction: 'rx', chunkMs: 100 });
    const chunks = new Chunks(rec);
    const first = p.a.audio.play(callA.id, { source: 'beep:400' });
    const second = p.a.audio.play(callA.id, { source: int16ToPcm16le(beep(400, 600)) });
    const third = p.a.audio.play(callA.id, { source: 'ringback:10000' });
    const fourth = p.a.audio.play(callA.id, { source: 'beep:400' });
    assert.deepEqual((await first).outcome, { playedMs: 400, stopped: false });
    assert.deepEqual((await second).outcome, { playedMs: 400, stopped: false });
    await chunks.count(chunks.all.length + 3); // the ringback is playing
    assert.equal(p.a.audio.stopPlaying(callA.id), 2);
    const stopped = (await third).outcome;
    assert.equal(stopped.stopped, true);
    assert.ok(stopped.playedMs > 0 && stopped.playedMs < 10000, `${stopped.playedMs}`);
    assert.deepEqual((await fourth).outcome, { playedMs: 0, stopped: true, skipped: true });
    await p.b.audio.stopRecording(callB.id);
    // What B heard: the 1 kHz beep, then the 600 Hz one, in that order.
    const rx = pcm16leToInt16(Buffer.concat(chunks.all.map((c) => c.payload)));
    const start = onsetMs(rx) * 8;
    assert.equal(dominantHz(rx.subarray(start + 400, start + 2800)), 1000);
    assert.equal(dominantHz(rx.subarray(start + 3600, start + 6000)), 600);
    await p.a.hangup(callA.id);
  });

  it('barge-in: B presses 5 during A\'s long prompt: the prompt stops with digit 5', async function () {
    const { callA, callB } = await connect(p);
    const prompt = p.a.audio.play(callA.id, { source: 'ringback:20000', bargeIn: true });
    await new Promise((r) => setTimeout(r, 300));
    await p.b.dtmf.send(callB.id, '5');
    const { outcome } = await prompt;
    assert.equal(outcome.digit, '5');
    assert.equal(outcome.stopped, true);
    assert.ok(outcome.playedMs < 20000);
    await p.a.hangup(callA.id);
  });

  it('the call\'s end stops a playback (stopped) and a recording (call-ended); nothing afterwards', async function () {
    const { callA, callB } = await connect(p);
    const rec = await p.a.audio.record(callA.id, { mode: 'stream', direction: 'both', chunkMs: 100 });
    const chunks = new Chunks(rec);
    const result = recordingResult(rec);
    const prompt = p.a.audio.play(callA.id, { source: 'ringback:20000' });
    await chunks.count(3);
    await p.b.hangup(callB.id);
    const { outcome } = await prompt;
    assert.equal(outcome.stopped, true);
    assert.ok(outcome.playedMs > 0 && outcome.playedMs < 20000);
    const r = await result;
    assert.equal(r.endedBy, 'call-ended');
    const after = silentAfterEnd(rec);
    await new Promise((r) => setTimeout(r, 300));
    after.check();
    await assert.rejects(p.a.audio.play(callA.id, { source: 'beep' }), /no call|ended|not/i);
  });

  it('refused: AMR (NotSupportedError naming the line), a call that is not connected (CallStateError), a folder that cannot be made (CommandFailedError)', async function () {
    const callA = await p.a.dial('2002');
    await p.evB.next('incoming');
    await p.evA.next('ringing');
    const ringing = await p.a.backend!.audio!.record(callA, { format: 'wav', direction: 'rx', streamChunkMs: 100 }).catch((e: Error) => e);
    assert.ok(ringing instanceof CallStateError, String(ringing));
    const incoming = p.b.activeCalls()[0];
    await p.b.answer(incoming.id);
    await p.evA.next('answered');
    await assert.rejects(
      p.a.audio.record(callA.id, { format: 'amr', path: dir }),
      (e: Error) => e instanceof NotSupportedError && /^recording in AMR is not supported on a SIP line \(sip:1001@.*\): it records WAV/.test(e.message),
    );
    writeFileSync(join(dir, 'a-file'), 'x');
    await assert.rejects(
      p.a.audio.record(callA.id, { path: join(dir, 'a-file', 'sub', 'x.wav') }),
      (e: Error) => e instanceof CommandFailedError && e.message.startsWith(`the recording cannot be written at ${join(dir, 'a-file', 'sub', 'x.wav')}:`),
    );
    await p.a.hangup(callA.id);
  });
});
