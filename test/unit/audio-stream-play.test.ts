import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { AudioChunk, Recording, RecordingResult } from '../../lib/capabilities/audio';
import { NotSupportedError } from '../../lib/errors';
import { PcmPacer, TickClock } from '../../lib/at/features/audio-pacer';
import { Pcm16Framer, PcmSession, pick } from '../../lib/at/features/audio-pcm';
import type { AtFeatureContext } from '../../lib/at/at-feature';
import { SILENT_LOGGER } from '../../lib/backend';
import { Duplex } from 'node:stream';
import { pcm16leToInt16 } from '../../lib/media/g711';
import { beep } from '../../lib/media/tone-generator';
import { AudioHarness, expectedRx, recordingResult, startCall, until } from '../helpers/audio-harness';
import { sleep } from '../helpers/at-harness';
import { laggingSource } from '../helpers/pcm-sources';

/** Collects a stream recording's chunks and its end. */
function collect(rec: Recording): { chunks: AudioChunk[]; result: Promise<RecordingResult> } {
  const chunks: AudioChunk[] = [];
  rec.on('chunk', (c: AudioChunk) => chunks.push(c));
  return { chunks, result: recordingResult(rec) };
}

/** A clock the test ticks by hand. */
class ManualClock implements TickClock {
  readonly periodMs = 20;
  private fn: ((tick: number) => void) | null = null;
  subscriptions = 0;
  subscribe(fn: (tick: number) => void): () => void {
    this.fn = fn;
    this.subscriptions++;
    return () => {
      if (this.fn === fn) this.fn = null;
    };
  }
  tick(n: number): void {
    this.fn?.(n);
  }
  get subscribed(): boolean {
    return this.fn !== null;
  }
}

describe('PCM framing of the stream port', function () {
  it('keeps samples aligned whatever the chunking: an odd byte waits for the next chunk', function () {
    const framer = new Pcm16Framer();
    const out: Int16Array[] = [];
    framer.on('data', (s: Int16Array) => out.push(s));
    // Samples 0x0201, -2 (0xfffe), 0x7fff split as [01] [02 fe] [ff ff 7f]
    framer.write(Buffer.from([0x01]));
    framer.write(Buffer.from([0x02, 0xfe]));
    framer.write(Buffer.from([0xff, 0xff, 0x7f]));
    framer.end(Buffer.from([0x05]));
    assert.deepEqual(out.map((a) => [...a]), [[0x0201], [-2, 0x7fff]]);
    assert.equal(framer.droppedBytes, 1, 'half a sample at the end is dropped and counted');
  });

  it('mixes rx and tx for "both", clipping instead of wrapping', function () {
    const rx = Int16Array.from([1000, 30000, -30000]);
    const tx = Int16Array.from([24, 10000, -10000]);
    assert.deepEqual([...pick('both', rx, tx)], [1024, 32767, -32768]);
    assert.equal(pick('rx', rx, tx), rx);
    assert.equal(pick('tx', rx, tx), tx);
  });
});

describe('PcmSession: one QPCMV switch for every user of the line', function () {
  /** A session over a fake channel (it records the commands) and fake ports. */
  function session() {
    const commands: string[] = [];
    /** Each port opened, and the module's side of it (what it sends, the downlink). */
    const ports: { port: Duplex; downlink: PassThrough }[] = [];
    const ctx = {
      log: SILENT_LOGGER,
      channel: () => ({ send: async (cmd: string) => void commands.push(cmd) }),
    } as unknown as AtFeatureContext;
    const pcm = new PcmSession(ctx, async () => {
      const downlink = new PassThrough();
      const port = Duplex.from({ readable: downlink, writable: new PassThrough() });
      ports.push({ port, downlink });
      return port;
    });
    return { pcm, commands, ports };
  }

  it('the first user turns it on, the last one off', async function () {
    const { pcm, commands, ports } = session();
    const a = {};
    const b = {};
    await Promise.all([pcm.acquire(a), pcm.acquire(b)]);
    assert.deepEqual(commands, ['AT+QPCMV=1,0']);
    assert.equal(ports.length, 1);
    await pcm.release(a);
    assert.deepEqual(commands, ['AT+QPCMV=1,0']);
    await pcm.release(b);
    assert.deepEqual(commands, ['AT+QPCMV=1,0', 'AT+QPCMV=0']);
    assert.equal(ports[0].port.destroyed, true, 'the port is closed');
  });

  it('is switched on again after the line comes back (AT+QPCMV is volatile)', async function () {
    const { pcm, commands, ports } = session();
    const user = {};
    await pcm.acquire(user);
    pcm.onDown();
    await pcm.onReady();
    assert.deepEqual(commands, ['AT+QPCMV=1,0', 'AT+QPCMV=1,0']);
    assert.equal(ports.length, 2, 'a new port');
    assert.equal(ports[0].port.destroyed, true);
    assert.equal(pcm.active, true);
    await pcm.stop();
    assert.equal(commands.at(-1), 'AT+QPCMV=0');
  });

  it('delivers the downlink with the uplink played meanwhile, zero-filled', async function () {
    const { pcm, ports } = session();
    await pcm.acquire({});
    const got: [number[], number[]][] = [];
    pcm.tap((rx, tx) => got.push([[...rx], [...tx]]));
    pcm.write(Int16Array.from([7, 8, 9]));
    const tick = () => new Promise((r) => setImmediate(r));
    ports[0].downlink.write(Buffer.from([1, 0, 2, 0]));
    await tick();
    ports[0].downlink.write(Buffer.from([3, 0, 4, 0]));
    await tick();
    assert.deepEqual(got, [
      [[1, 2], [7, 8]],
      [[3, 4], [9, 0]],
    ]);
  });
});

describe('PcmPacer: real-time pace on one clock', function () {
  it('writes 20 ms per tick after a 40 ms lead, ends when the last sample is due', function () {
    const clock = new ManualClock();
    const writes: number[] = [];
    const pacer = new PcmPacer(new Int16Array(800), (s) => writes.push(s.length), clock);
    let done = 0;
    pacer.on('done', () => done++);
    pacer.start();
    for (let t = 100; t <= 105; t++) clock.tick(t);
    // tick 100: lead 320; 101: +160 ... up to 800 at tick 103; done at tick 105 (5 × 160 = 800 elapsed)
    assert.deepEqual(writes, [320, 160, 160, 160]);
    assert.equal(done, 1);
    assert.equal(pacer.playedMs, 100);
    assert.equal(clock.subscribed, false, 'unsubscribed when done');
  });

  it('does not drift: skipped ticks are made up from the tick numbers', function () {
    const clock = new ManualClock();
    const writes: number[] = [];
    const pacer = new PcmPacer(new Int16Array(8000), (s) => writes.push(s.length), clock, 0);
    pacer.start();
    clock.tick(0);
    clock.tick(10); // nine ticks late: 200 ms of audio is due at once
    assert.deepEqual(writes, [1600]);
    clock.tick(11);
    assert.deepEqual(writes, [1600, 160]);
    assert.equal(pacer.writtenSamples, 1760);
  });

  it('a source whose reader is behind: waits for it, writes every sample once, ends only when all is written', function () {
    const clock = new ManualClock();
    const writes: number[] = [];
    const pcm = Int16Array.from({ length: 480 }, (_, i) => i);
    const { source, ready } = laggingSource(pcm);
    const got: number[] = [];
    const pacer = new PcmPacer(source, (s) => {
      writes.push(s.length);
      got.push(...s);
    }, clock);
    let done = 0;
    pacer.on('done', () => done++);
    pacer.start();
    for (let t = 0; t <= 5; t++) clock.tick(t); // nothing ready: nothing written, not done though its time passed
    assert.deepEqual(writes, []);
    assert.equal(done, 0);
    ready(480);
    clock.tick(6);
    assert.deepEqual(writes, [480]);
    assert.deepEqual(got, [...pcm]);
    assert.equal(done, 1);
  });

  it('stop() writes nothing more', function () {
    const clock = new ManualClock();
    let written = 0;
    const pacer = new PcmPacer(new Int16Array(8000), (s) => (written += s.length), clock);
    pacer.start();
    clock.tick(0);
    pacer.stop();
    clock.tick(5);
    assert.equal(written, 320);
  });
});

describe('call audio stream and playback over AT+QPCMV', function () {
  this.timeout(20000);
  let h: AudioHarness;
  afterEach(async () => h?.close());

  it('EC25: streams the downlink as chunks of raw 16-bit PCM, the first one from the first sample, no header', async function () {
    h = await startCall('ec25');
    const rec = await h.line.audio.record(undefined, { mode: 'stream', chunkMs: 100 });
    const { chunks, result } = collect(rec);
    assert.deepEqual(h.audioCommands().slice(2), ['AT+QPCMV=1,0']);
    await until('3 chunks', () => chunks.length >= 3);
    const first = chunks[0];
    assert.deepEqual(first.audio, { format: 'pcm16le', sampleRate: 8000, channels: 1, direction: 'rx', seq: 0, timestamp: 0 });
    assert.equal(first.payload.length, 1600, '100 ms = 800 samples = 1600 bytes');
    assert.notEqual(first.payload.toString('latin1', 0, 4), 'RIFF');
    assert.deepEqual([...pcm16leToInt16(first.payload)], [...expectedRx(800)], 'the far end\'s tone from its first sample');
    assert.deepEqual(chunks.slice(0, 3).map((c) => [c.audio.seq, c.audio.timestamp]), [[0, 0], [1, 100], [2, 200]]);
    assert.deepEqual([...pcm16leToInt16(chunks[1].payload)], [...expectedRx(800, 800)], 'no sample lost between chunks');
    const r = await rec.stop();
    assert.equal(await result, r);
    assert.equal(r.chunks, chunks.length);
    assert.equal(r.path, undefined);
    assert.equal(r.bytes, 0);
    assert.equal(r.durationMs, Math.round(chunks.reduce((n, c) => n + c.payload.length / 2, 0) / 8));
    assert.deepEqual(h.audioCommands().slice(2), ['AT+QPCMV=1,0', 'AT+QPCMV=0']);
    assert.equal(h.audio().pcmEnabled, false);
  });

  it('EC25: "both" records into the module and streams at once; the call\'s end ends both', async function () {
    h = await startCall('ec25');
    const rec = await h.line.audio.record(undefined, { mode: 'both', chunkMs: 50, path: h.dir });
    const { chunks, result } = collect(rec);
    await until('chunks', () => chunks.length >= 2);
    h.modem().remoteHangup();
    const r = await result;
    assert.ok(r.chunks >= 2 && r.path && r.bytes > 44);
    const cmds = h.audioCommands().slice(2).map((c) => c.replace(/"[^"]+"/, '"F"'));
    assert.deepEqual(cmds, ['AT+QPCMV=1,0', 'AT+QAUDRD=1,"F",13,1', 'AT+QPCMV=0', 'AT+QAUDRD=0', 'AT+QFLST="F"', 'AT+QFDWL="F"']);
  });

  for (const [profile, model] of [
    ['ec600n', 'Quectel EC600N (quectel-asr)'],
    ['ec200u', 'Quectel EC200U (quectel-unisoc)'],
    ['generic', 'Generic GSM Modem (generic)'],
  ] as const) {
    it(`${profile}: streaming and playback are not supported (no PCM port), nothing is sent`, async function () {
      h = await startCall(profile);
      const before = h.audioCommands().length;
      await assert.rejects(
        h.line.audio.record(undefined, { mode: 'stream' }),
        (e: Error) =>
          e instanceof NotSupportedError &&
          e.message === `streaming call audio is not supported on this line (${model}): the module has no PCM port (AT+QPCMV)`,
      );
      await assert.rejects(
        h.line.audio.play(undefined, { source: 'beep' }),
        (e: Error) => e instanceof NotSupportedError && e.message === `playing audio is not supported on this module (${model}): it has no PCM port (AT+QPCMV)`,
      );
      assert.equal(h.audioCommands().length, before);
    });
  }

  it('EC25: plays a tone into the uplink at real-time pace; the module receives exactly those samples', async function () {
    h = await startCall('ec25');
    const started = Date.now();
    const { outcome } = await h.line.audio.play(undefined, { source: 'beep:300' });
    const took = Date.now() - started;
    assert.deepEqual(outcome, { playedMs: 300, stopped: false });
    assert.ok(took >= 250 && took < 3000, `played in ${took} ms`);
    assert.deepEqual([...h.audio().uplink()], [...beep(300)]);
    assert.deepEqual(h.audioCommands().slice(2), ['AT+QPCMV=1,0', 'AT+QPCMV=0']);
  });

  it('EC25: a tx stream carries what is played', async function () {
    h = await startCall('ec25');
    const rec = await h.line.audio.record(undefined, { mode: 'stream', direction: 'tx', chunkMs: 20 });
    const { chunks } = collect(rec);
    await h.line.audio.play(undefined, { source: 'beep:200' });
    await sleep(100);
    await rec.stop();
    const tx = pcm16leToInt16(Buffer.concat(chunks.map((c) => c.payload)));
    const tone = beep(200);
    const at = tx.findIndex((v) => v !== 0) - 1; // the tone starts at phase 0, with a 0 sample
    assert.ok(at >= 0, 'the tone is in the stream');
    assert.deepEqual([...tx.subarray(at, at + tone.length)], [...tone]);
    assert.ok(chunks.every((c) => c.audio.direction === 'tx'));
  });

  it('plays requests one after the other; stopPlaying stops the current one and drops the rest', async function () {
    h = await startCall('ec25');
    const first = h.line.audio.play(undefined, { source: 'beep:200' });
    const second = h.line.audio.play(undefined, { source: 'ringback:5000' });
    const third = h.line.audio.play(undefined, { source: 'silence:100' });
    assert.deepEqual((await first).outcome, { playedMs: 200, stopped: false });
    await sleep(150);
    assert.equal(h.line.audio.stopPlaying(), 2);
    const s = (await second).outcome;
    assert.equal(s.stopped, true);
    assert.ok(s.playedMs > 0 && s.playedMs < 2000, `${s.playedMs}`);
    assert.deepEqual((await third).outcome, { playedMs: 0, stopped: true, skipped: true });
  });

  it('barge-in: a DTMF key from the far end stops the prompt', async function () {
    h = await startCall('ec25');
    const playing = h.line.audio.play(undefined, { source: 'ringback:5000', bargeIn: true });
    await until('the stream is on', () => h.audio().pcmEnabled);
    await sleep(200);
    h.modem().pressDigits('5');
    const { outcome, call } = await playing;
    assert.equal(call, h.call);
    assert.equal(outcome.digit, '5');
    assert.equal(outcome.stopped, true);
    assert.ok(outcome.playedMs < 2000, `${outcome.playedMs}`);
    assert.ok(h.modem().commands.includes('AT+QTONEDET=1'), 'DTMF detection was switched on for it');
  });

  it('the call\'s end stops the playback', async function () {
    h = await startCall('ec25');
    const playing = h.line.audio.play(undefined, { source: 'ringback:5000' });
    await until('the stream is on', () => h.audio().pcmEnabled);
    h.modem().remoteHangup();
    const { outcome } = await playing;
    assert.equal(outcome.stopped, true);
    await until('QPCMV off', () => !h.audio().pcmEnabled || h.audioCommands().includes('AT+QPCMV=0'));
  });

  it('a PCM port that closes under a stream ends it with an error', async function () {
    h = await startCall('ec25');
    const rec = await h.line.audio.record(undefined, { mode: 'stream' });
    const { result } = collect(rec);
    const port = (h.atAudio.pcm as unknown as { port: PassThrough }).port;
    port.destroy();
    await assert.rejects(result, /the PCM port closed/);
  });
});
