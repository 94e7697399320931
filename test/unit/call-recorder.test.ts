/**
 * CallRecorder (lib/media/call-recorder.ts), driven tick by tick with no call, no line and no
 * RtpSession: the frames it records, the file it leaves, the chunks, how it ends; then the same over
 * an emitter's `audio` / `tx` events (recordMediaEvents) and a real RtpSession's record().
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AudioChunk } from '../../lib/media/audio-chunker';
import { CallRecorder, recordMediaEvents, RecorderResult, RecorderSink, RecorderSpec } from '../../lib/media/call-recorder';
import { pcm16leToInt16 } from '../../lib/media/g711';
import { parseWav } from '../../lib/media/wav-reader';
import { ManualClock, mediaScope } from '../helpers/rtp-harness';
import { readChannels } from '../helpers/audio-spectrum';

const frame = (value: number): Int16Array => new Int16Array(160).fill(value);

/** A sink that keeps what it hears, and fails the test on anything after the end. */
class Collect implements RecorderSink {
  readonly chunks: AudioChunk[] = [];
  readonly ends: RecorderResult[] = [];
  readonly after: string[] = [];
  chunk(c: AudioChunk): void {
    if (this.ends.length > 0) this.after.push(`chunk ${c.audio.seq}`);
    this.chunks.push(c);
  }
  end(r: RecorderResult): void {
    this.ends.push(r);
  }
  get pcm(): Int16Array {
    return pcm16leToInt16(Buffer.concat(this.chunks.map((c) => c.payload)));
  }
}

describe('CallRecorder', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'call-rec-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function running(spec: RecorderSpec, sink = new Collect()): Promise<{ rec: CallRecorder; sink: Collect }> {
    const rec = new CallRecorder(spec, sink);
    assert.equal(await rec.open(), null);
    assert.equal(rec.running, true);
    return { rec, sink };
  }

  it('both, mono: each tick mixes one frame of each leg (saturating), rx through the playout (silent while priming)', async () => {
    const file = join(dir, 'mix.wav');
    const { rec, sink } = await running({ direction: 'both', channels: 1, file, streamChunkMs: 20 });
    rec.pushRx(frame(100));
    rec.tick(frame(-30)); // priming: rx silent
    rec.pushRx(frame(20000));
    rec.tick(frame(7)); // rx 100
    rec.pushRx(frame(5));
    rec.tick(frame(20000)); // rx 20000 + 20000: clipped
    const r = await rec.finish('stop');
    const mono = readChannels(file).mono;
    assert.deepEqual([mono.length, mono[0], mono[160], mono[320], mono[479]], [480, -30, 107, 32767, 32767]);
    assert.deepEqual(sink.pcm, mono, 'the stream carries the very samples of the file');
    assert.deepEqual([r.frames, r.durationMs, r.bytes, r.chunks, r.endedBy, r.path], [3, 60, 44 + 960, 3, 'stop', file]);
  });

  it('stereo: left rx, right tx, interleaved, in the file (2 channels) and the chunks', async () => {
    const file = join(dir, 'st.wav');
    const { rec, sink } = await running({ direction: 'both', channels: 2, file, streamChunkMs: 40 });
    for (let i = 1; i <= 4; i++) {
      rec.pushRx(frame(i));
      rec.tick(frame(-i));
    }
    const r = await rec.finish('stop');
    const { info, left, right } = readChannels(file);
    assert.equal(info.channels, 2);
    assert.deepEqual([...[0, 160, 320, 480].map((i) => left[i])], [0, 1, 2, 3]);
    assert.deepEqual([...[0, 160, 320, 480].map((i) => right[i])], [-1, -2, -3, -4]);
    assert.deepEqual(
      sink.chunks.map((c) => [c.audio.seq, c.audio.timestamp, c.audio.channels, c.audio.direction, c.payload.length]),
      [
        [0, 0, 2, 'both', 40 * 32],
        [1, 40, 2, 'both', 40 * 32],
      ],
    );
    assert.deepEqual([r.channels, r.direction, r.durationMs, r.chunks], [2, 'both', 80, 2]);
  });

  it('rx: a gap in what arrives is silence until the reserve has built up again (counted as an underrun)', async () => {
    const file = join(dir, 'rx.wav');
    const { rec } = await running({ direction: 'rx', channels: 1, file });
    rec.pushRx(frame(1));
    rec.pushRx(frame(2));
    rec.tick(frame(0)); // 1 (primed: two frames waited)
    rec.tick(frame(0)); // 2
    rec.tick(frame(0)); // nothing: underrun, silence
    rec.pushRx(frame(3));
    rec.tick(frame(0)); // one frame waiting: still priming, silence
    rec.pushRx(frame(4));
    rec.tick(frame(0)); // 3
    const r = await rec.finish('stop');
    const mono = readChannels(file).mono;
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => mono[i * 160]), [1, 2, 0, 0, 3]);
    assert.deepEqual(r.rx, { received: 640, dropped: 0, silentFrames: 2, underruns: 1 });
  });

  it('tx: what was sent, as it was; the last, shorter chunk comes before the end, nothing after it', async () => {
    const { rec, sink } = await running({ direction: 'tx', channels: 1, streamChunkMs: 100 });
    for (let i = 0; i < 7; i++) rec.tick(frame(i));
    assert.equal(sink.chunks.length, 1, 'one full 100 ms chunk so far');
    const r = await rec.finish('stop');
    rec.tick(frame(9));
    assert.deepEqual(
      sink.chunks.map((c) => [c.audio.seq, c.audio.timestamp, c.payload.length]),
      [
        [0, 0, 1600],
        [1, 100, 640],
      ],
    );
    assert.deepEqual(sink.pcm, Int16Array.from({ length: 7 * 160 }, (_, i) => Math.floor(i / 160)));
    assert.deepEqual([r.frames, r.durationMs, r.bytes, r.chunks, r.path, r.rx], [7, 140, 0, 2, undefined, undefined]);
    assert.deepEqual([sink.ends.length, sink.after], [1, []]);
  });

  it('the WAV file is valid while it grows (read back before the end) and holds every frame at the end', async () => {
    const file = join(dir, 'grow.wav');
    const { rec } = await running({ direction: 'tx', channels: 1, file });
    for (let i = 0; i < 60; i++) rec.tick(frame(i)); // 1.2 s: two 500 ms writes are due
    await new Promise((r) => setTimeout(r, 100));
    const growing = parseWav(readFileSync(file));
    assert.equal(growing.truncated, false);
    assert.equal(growing.dataBytes, 2 * 8000, 'two half-second writes, the header covering them');
    const r = await rec.finish('stop');
    const bytes = readFileSync(file);
    assert.deepEqual(parseWav(bytes), { encoding: 'pcm16', sampleRate: 8000, channels: 1, dataOffset: 44, dataBytes: 60 * 320, truncated: false });
    assert.deepEqual([r.bytes, r.durationMs], [bytes.length, 1200]);
    assert.deepEqual(readChannels(file).mono, Int16Array.from({ length: 60 * 160 }, (_, i) => Math.floor(i / 160)));
  });

  it('a file that cannot be written any more ends it with a write error: once, never a throw from the tick, nothing after', async () => {
    const file = join(dir, 'gone.wav');
    const { rec, sink } = await running({ direction: 'rx', channels: 1, file, streamChunkMs: 20 });
    // A real write failure (as a disk that went away would give): its file handle closed under it.
    await (rec as unknown as { writer: { file: { close(): Promise<void> } } }).writer.file.close();
    for (let i = 0; i < 30; i++) assert.doesNotThrow(() => rec.tick(frame(1)));
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 30; i++) assert.doesNotThrow(() => rec.tick(frame(1)));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(sink.ends.length, 1);
    const r = sink.ends[0];
    assert.equal(r.endedBy, 'error');
    assert.equal(r.error?.kind, 'write');
    assert.match(r.error?.message ?? '', new RegExp(`^the recording could not be written at ${file}: \\S`));
    const chunks = sink.chunks.length;
    assert.ok(chunks >= 25 && chunks <= 31, `${chunks} chunks, all before the failure`);
    assert.equal(await rec.finish('stop'), r, 'stop() after it: the same result');
    rec.tick(frame(1));
    assert.deepEqual([sink.chunks.length, sink.ends.length], [chunks, 1]);
  });

  it('a path that cannot be opened: open() resolves with the error (kind open), it has ended, the folder is created otherwise', async () => {
    writeFileSync(join(dir, 'a-file'), 'x');
    const bad = join(dir, 'a-file', 'sub', 'x.wav');
    const sink = new Collect();
    const rec = new CallRecorder({ direction: 'both', channels: 1, file: bad }, sink);
    const err = await rec.open();
    assert.equal(err?.kind, 'open');
    assert.match(err?.message ?? '', new RegExp(`^the recording cannot be written at ${bad}: `));
    const r = await rec.finish('stop');
    assert.deepEqual([r.endedBy, r.error, r.path, sink.ends.length], ['error', err, undefined, 1]);
    const deep = join(dir, 'new', 'folder', 'y.wav');
    const { rec: ok } = await running({ direction: 'tx', channels: 1, file: deep });
    assert.equal((await ok.finish('stop')).path, deep);
  });

  it('stop(): one result for every call, plain data (it crosses to and from a worker as it is)', async () => {
    const file = join(dir, 's.wav');
    const { rec, sink } = await running({ direction: 'both', channels: 2, file, streamChunkMs: 20 });
    rec.pushRx(frame(1));
    rec.tick(frame(2));
    const [a, b] = await Promise.all([rec.finish('stop'), rec.finish('media-closed')]);
    assert.equal(a, b);
    assert.equal(sink.ends[0], a);
    assert.deepEqual(structuredClone(a), a);
    assert.deepEqual(a, {
      direction: 'both',
      channels: 2,
      path: file,
      bytes: 44 + 640,
      durationMs: 20,
      frames: 1,
      chunks: 1,
      endedBy: 'stop',
      rx: { received: 160, dropped: 0, silentFrames: 1, underruns: 0 },
    });
  });

  it('finish() while the file opens: the file is closed and nothing is taken', async () => {
    const file = join(dir, 'early.wav');
    const sink = new Collect();
    const rec = new CallRecorder({ direction: 'tx', channels: 1, file }, sink);
    const opened = rec.open();
    const r = await rec.finish('media-closed');
    assert.equal(await opened, null);
    rec.tick(frame(1));
    assert.deepEqual([r.endedBy, r.frames, r.bytes, r.path, rec.running], ['media-closed', 0, 44, file, false]);
    assert.equal(parseWav(readFileSync(file)).dataBytes, 0);
  });

  it('a sink whose chunk() throws ends it with an internal error, not the tick', async () => {
    const sink = new Collect();
    sink.chunk = () => {
      throw new Error('flow broke');
    };
    const { rec } = await running({ direction: 'tx', channels: 1, streamChunkMs: 20 }, sink);
    assert.doesNotThrow(() => rec.tick(frame(1)));
    const r = await rec.finish('stop');
    assert.deepEqual([r.endedBy, r.error], ['error', { kind: 'internal', message: 'flow broke' }]);
  });

  it('refuses a spec that is not one (TypeError), before anything is opened', () => {
    const sink = new Collect();
    assert.throws(() => new CallRecorder({ direction: 'rx', channels: 2 }, sink), TypeError);
    assert.throws(() => new CallRecorder({ direction: 'up' as never, channels: 1 }, sink), TypeError);
    assert.throws(() => new CallRecorder({ direction: 'tx', channels: 1, streamChunkMs: 5 }, sink), /"chunkMs" must be a whole number from 20 to 1000/);
    assert.throws(() => new CallRecorder({ direction: 'tx', channels: 1, file: '' }, sink), TypeError);
  });
});

describe('recordMediaEvents / RtpSession.record', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'call-rec-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('takes the media\'s audio and tx from the moment its file is open, and lets go when it ends', async () => {
    const media = new EventEmitter();
    const sink = new Collect();
    const file = join(dir, 'm.wav');
    const h = recordMediaEvents(media as never, { direction: 'both', channels: 2, file, streamChunkMs: 20 }, sink);
    media.emit('tx', frame(9)); // before the file is open: not recorded
    assert.equal(await h.started, null);
    assert.deepEqual([media.listenerCount('audio'), media.listenerCount('tx')], [1, 1]);
    media.emit('audio', frame(1));
    media.emit('tx', frame(2));
    h.mediaClosed();
    const r = await h.stop();
    assert.deepEqual([r.endedBy, r.frames, sink.ends.length], ['media-closed', 1, 1]);
    assert.deepEqual([media.listenerCount('audio'), media.listenerCount('tx')], [0, 0]);
  });

  describe('on a real RtpSession', () => {
    const scope = mediaScope();

    it('records its tx ticks; its close() ends the recording (media-closed); a closed session ends it at once', async () => {
      const clock = new ManualClock();
      const peer = await scope.peer();
      const session = await scope.session({ codec: 'PCMU', clock, remote: peer.endpoint });
      const sink = new Collect();
      const h = session.record({ direction: 'tx', channels: 1, streamChunkMs: 20 }, sink);
      assert.equal(await h.started, null);
      session.play(frame(1000));
      clock.tick(3);
      await session.close();
      const r = await h.stop();
      assert.deepEqual([r.endedBy, r.frames, sink.ends.length], ['media-closed', 3, 1]);
      // What went out, G.711 round-tripped, then silence (nothing queued any more).
      assert.ok(Math.abs(sink.pcm[0] - 1000) < 40, `${sink.pcm[0]}`);
      assert.deepEqual([...sink.pcm.subarray(160)], new Array(320).fill(0));
      const late = session.record({ direction: 'rx', channels: 1 }, new Collect());
      const early = await late.started;
      assert.equal(early?.endedBy, 'media-closed');
    });
  });
});
