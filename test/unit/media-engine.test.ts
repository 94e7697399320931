import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { SILENT_LOGGER } from '../../lib/backend';
import { CallStateError, InvalidInputError, NotSupportedError } from '../../lib/errors';
import { MediaEngine, mediaWorkerCount, realtimeThreadLimit } from '../../lib/media-engine/media-engine';
import { PLAY_AHEAD, RemoteRtpSession } from '../../lib/media-engine/remote-rtp-session';
import { Command, readStats, statsBuffer, STATS_FIELDS, writeStats } from '../../lib/media-engine/protocol';
import { decodeUlaw, encodeUlaw } from '../../lib/media/g711';
import type { RecorderResult } from '../../lib/media/call-recorder';
import { arraySource, PcmSource } from '../../lib/media/pcm-source';
import { parseWav } from '../../lib/media/wav-reader';
import { encodeTelephoneEvent } from '../../lib/media/telephone-event';
import { RtpPortAllocator } from '../../lib/sip/rtp-port-allocator';
import { RtpDescriptionHandlerFactory } from '../../lib/sip/rtp-description-handler-factory';
import { LOCALHOST, RawPeer, record, testAllocator, until } from '../helpers/rtp-harness';

/** A ramp that never repeats within 65536 samples: what arrives shows which samples, in which order. */
function ramp(length: number): Int16Array {
  return Int16Array.from({ length }, (_, i) => ((i * 7) % 8000) * 4 - 16000);
}

/** The samples of the RTP audio packets `peer` received, in sequence order (µ-law decoded). */
function heard(peer: RawPeer, pt = 0): Int16Array {
  const packets = peer.packets().filter((p) => p.payloadType === pt);
  const parts = packets.map((p) => decodeUlaw(p.payload));
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A PcmSource that counts how often it is taken from (the pump takes ahead, never all at once). */
function countingSource(pcm: Int16Array): PcmSource & { takes: number } {
  const inner = arraySource(pcm);
  const s = {
    takes: 0,
    get length() {
      return inner.length;
    },
    get position() {
      return inner.position;
    },
    error: null,
    take(max: number) {
      s.takes++;
      return inner.take(max);
    },
    close: () => inner.close(),
  };
  return s;
}

describe('media engine: call media in worker threads (lib/media-engine/)', function () {
  this.timeout(20000);
  let engine: MediaEngine;
  let lease: { release(): Promise<void> };
  let allocator: RtpPortAllocator;
  const closing: Array<{ close(): Promise<void> }> = [];

  beforeEach(() => {
    engine = new MediaEngine();
    lease = engine.acquire(2);
    allocator = testAllocator(8);
  });
  afterEach(async () => {
    for (const c of closing.splice(0)) await c.close();
    await lease.release();
  });

  async function leg(): Promise<RemoteRtpSession> {
    const l = await engine.open({ allocator, codec: 'PCMU', direction: 'inactive', inbandDtmf: false, log: SILENT_LOGGER });
    closing.push(l);
    return l;
  }

  async function peer(): Promise<RawPeer> {
    const p = await RawPeer.open();
    closing.push(p);
    return p;
  }

  it('mediaWorkers: auto is one per core, 0 to 64 as given, anything else refused naming the setting', function () {
    assert.equal(mediaWorkerCount('auto'), os.availableParallelism());
    assert.equal(mediaWorkerCount(undefined), os.availableParallelism());
    assert.equal(mediaWorkerCount(0), 0);
    assert.equal(mediaWorkerCount(3), 3);
    for (const bad of [-1, 1.5, 65, Number.NaN, 'two' as unknown as number]) {
      assert.throws(() => mediaWorkerCount(bad), (err: Error) => err instanceof InvalidInputError && /the number of media workers must be auto or a whole number from 0/.test(err.message));
    }
  });

  it('the counters cross in a shared buffer, field by field', function () {
    const buf = new Float64Array(statsBuffer());
    assert.equal(buf.length, STATS_FIELDS.length);
    const stats = { ssrc: 7, packetsSent: 1, bytesSent: 2, packetsReceived: 3, bytesReceived: 4, lost: 5, late: 6, duplicates: 8, reordered: 9, invalid: 10, srtpAuthFailures: 11, srtpReplays: 12, foreign: 13, ignored: 14, rtcp: 15, stun: 16, ssrcChanges: 17, sendErrors: 18, dtmfSent: 19, dtmfReceived: 20, sendJitter: { p50Ms: 0.1, p99Ms: 2.5, maxMs: 9 }, jitterMs: 1.25 };
    writeStats(buf, stats);
    assert.deepEqual(readStats(buf), stats);
  });

  it('a leg in a worker sends its queued audio every 20 ms to the SDP address, in order, and `done` says what was played', async function () {
    const l = await leg();
    const p = await peer();
    assert.equal(l.localAddress, LOCALHOST);
    assert.equal(allocator.inUse, 1, 'the line\'s allocator holds the pair the worker bound');
    l.configure({ codec: 'PCMU', remote: p.endpoint, direction: 'sendrecv', telephoneEventPt: 101 });
    const pcm = ramp(4000); // 500 ms
    const result = await l.play(pcm).done;
    assert.deepEqual(result, { playedMs: 500, stopped: false });
    await until(() => heard(p).length >= 4000 + 1600, 5000, 'the tone and some silence after it');
    const got = heard(p);
    const start = got.findIndex((s) => s !== decodeUlaw(encodeUlaw(new Int16Array(1)))[0]);
    assert.deepEqual([...got.subarray(start, start + 4000)], [...decodeUlaw(encodeUlaw(pcm))], 'every sample, once, in order');
    const packets = p.packets();
    for (let i = 1; i < packets.length; i++) {
      assert.equal(packets[i].sequenceNumber, (packets[i - 1].sequenceNumber + 1) & 0xffff, 'no packet lost or repeated');
      assert.equal(packets[i].timestamp - packets[i - 1].timestamp, 160);
    }
    assert.equal(packets[0].ssrc, l.ssrc, 'its SSRC is read from the shared counters');
    await until(() => l.stats().packetsSent >= packets.length, 2000, 'the counters to follow');
  });

  it('a state the worker\'s session has already is not sent again (no SRTP, not muted: what every applied description sets)', function () {
    const posted: string[] = [];
    const link = { threadId: 1, post: (c: Command) => void posted.push(c.t === 'mute' ? `mute ${c.on}` : c.t), forget: () => undefined };
    const params = { codec: 'PCMU' as const, payloadType: 0, telephoneEventPt: null, remote: null, direction: 'sendrecv' as const };
    const s = new RemoteRtpSession(link, 1, LOCALHOST, 40000, params, statsBuffer(), SILENT_LOGGER, () => undefined);
    s.setSrtp(null);
    s.unmute();
    assert.deepEqual(posted, [], 'nothing crosses for a state the worker has');
    s.mute();
    s.mute();
    assert.equal(s.muted, true);
    s.unmute();
    s.unmute();
    assert.equal(s.muted, false);
    const key = Buffer.alloc(30, 7);
    s.setSrtp({ suite: 'AES_CM_128_HMAC_SHA1_80', tag: 1, local: key, remote: key });
    s.setSrtp(null);
    s.setSrtp(null);
    assert.deepEqual(posted, ['mute true', 'mute false', 'srtp', 'srtp']);
  });

  it('mute() and unmute() still reach the leg in the worker: nothing is sent while muted', async function () {
    const l = await leg();
    const p = await peer();
    l.configure({ codec: 'PCMU', remote: p.endpoint, direction: 'sendrecv' });
    l.unmute(); // not muted: nothing crosses, and it goes on sending
    await until(() => p.packets().length >= 5, 2000, 'packets before the mute');
    l.mute();
    await new Promise((r) => setTimeout(r, 100)); // what was on its way has arrived
    const atMute = p.packets().length;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(p.packets().length, atMute, 'no packet while muted');
    l.unmute();
    await until(() => p.packets().length >= atMute + 5, 2000, 'packets again after the unmute');
  });

  it('a long source is pumped into the worker ahead of the sending, a little at a time, and stop() ends it with what was played', async function () {
    const l = await leg();
    const p = await peer();
    l.configure({ remote: p.endpoint, direction: 'sendrecv' });
    const source = countingSource(ramp(8000 * 5)); // 5 s
    const queued = l.play(source);
    assert.equal(source.position, PLAY_AHEAD, 'the first 2 s go with the play command');
    await until(() => source.position > PLAY_AHEAD, 5000, 'the worker to ask for more');
    assert.ok(source.position < 8000 * 5, 'never all of it at once');
    // 2.5 s of the source at the peer: a frame of silence may go first (the play command waits for a
    // tick that was due: the worker's clock sleeps the last 1–3 ms before it), and it is not played.
    const ofSource = (): number => {
      const h = heard(p);
      const first = h.findIndex((v) => Math.abs(v) > 1000); // the ramp starts at -16000
      return first < 0 ? 0 : h.length - first;
    };
    await until(() => ofSource() >= 8000 * 2.5, 8000, '2.5 s of audio');
    queued.stop();
    const r = await queued.done;
    assert.equal(r.stopped, true);
    assert.ok(r.playedMs >= 2500 && r.playedMs < 5000, `played ${r.playedMs} ms`);
    assert.ok(source.takes >= 2, 'topped up');
  });

  it('what arrives: latched, audio (to listeners), RFC 4733 keys as one dtmf event each, counted', async function () {
    const l = await leg();
    const p = await peer();
    l.configure({ remote: p.endpoint, direction: 'sendrecv', telephoneEventPt: 101 });
    const seen = record(l);
    const tone = ramp(160);
    for (let i = 0; i < 5; i++) await p.sendRtp(l.localPort, { seq: 100 + i, payload: encodeUlaw(tone) });
    for (let i = 0; i < 4; i++) {
      const end = i === 3;
      await p.sendRtp(l.localPort, { seq: 105 + i, ts: 105 * 160, pt: 101, marker: i === 0, payload: encodeTelephoneEvent({ event: 5, end, volume: 10, duration: 160 * (i + 1) }) });
    }
    await until(() => seen.dtmf.length === 1 && seen.audio.length >= 5, 5000, 'the audio and the key');
    assert.deepEqual(seen.latched, [p.endpoint]);
    assert.deepEqual(l.target, p.endpoint);
    assert.deepEqual(seen.dtmf, [{ digit: '5', source: 'rfc4733' }]);
    assert.deepEqual([...seen.audio[0].samples], [...decodeUlaw(encodeUlaw(tone))]);
    assert.deepEqual(seen.audio.map((a) => a.seq), [100, 101, 102, 103, 104]);
    await until(() => l.stats().packetsReceived === 9 && l.stats().dtmfReceived === 1, 2000, 'the counters');
  });

  it('sendDtmf() resolves once the keys left, rejects as RtpSession does (NotSupportedError, CallStateError), in the worker or here', async function () {
    const l = await leg();
    const p = await peer();
    await assert.rejects(l.sendDtmf('1'), CallStateError, 'inactive: nothing is sent');
    l.configure({ remote: p.endpoint, direction: 'sendrecv', telephoneEventPt: null });
    await assert.rejects(l.sendDtmf('1'), NotSupportedError);
    l.configure({ telephoneEventPt: 101 });
    await l.sendDtmf('12', 60);
    const events = p.packets().filter((x) => x.payloadType === 101);
    assert.equal(new Set(events.map((e) => e.timestamp)).size, 2, 'two keys');
    // A key being sent when the direction stops sending: the worker rejects it.
    const pending = l.sendDtmf('9', 1000);
    l.setDirection('recvonly');
    await assert.rejects(pending, CallStateError);
  });

  it('calls go to the worker with the fewest; a pair another program holds is skipped; close() gives the ports back; the last release ends the threads', async function () {
    const base = 41000 + 8 * Math.floor(Math.random() * 100);
    const busy = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => busy.bind(base + 2, LOCALHOST, () => resolve()));
    try {
      allocator = new RtpPortAllocator({ rtpPortMin: base, rtpPortMax: base + 7, address: LOCALHOST }); // 4 pairs
      const legs = [await leg(), await leg(), await leg()];
      assert.deepEqual(legs.map((l) => l.localPort).sort(), [base, base + 4, base + 6], 'the pair whose port is bound elsewhere was skipped (EADDRINUSE in the worker)');
      await assert.rejects(leg(), /no free RTP port .*\(3 by calls of this line, 1 by other programs\)/);
    } finally {
      busy.close();
    }
    assert.deepEqual(engine.workers.map((t) => t.legs).sort(), [1, 2], 'three calls on two workers: 2 and 1');
    for (const c of closing.splice(0)) await c.close();
    assert.equal(allocator.inUse, 0);
    assert.deepEqual(engine.workers.map((t) => t.legs), [0, 0]);
    await lease.release();
    assert.equal(engine.workers.length, 0, 'no line uses the pool: its threads ended');
    lease = engine.acquire(1);
  });

  /** This process's threads as the kernel schedules them: policy (0 normal, 2 SCHED_RR), real-time priority, nice. */
  function threadsNow(): Array<{ tid: number; policy: number; rtPriority: number; nice: number }> {
    return readdirSync('/proc/self/task').flatMap((tid) => {
      let stat: string;
      try {
        stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      } catch {
        return []; // ended meanwhile
      }
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
      return [{ tid: Number(tid), policy: Number(f[41 - 3]), rtPriority: Number(f[40 - 3]), nice: Number(f[19 - 3]) }];
    });
  }

  /** A logger that keeps its lines. */
  function keptLog(): { log: typeof SILENT_LOGGER; lines: string[] } {
    const lines: string[] = [];
    const keep = (level: string) => (t: string) => lines.push(`${level} ${t}`);
    return { lines, log: { debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error') } };
  }

  it('mediaPriority: a running thread is raised when a line asks for realtime (SCHED_RR 10), or the line\'s log says why not', async function () {
    if (process.platform !== 'linux') this.skip();
    const fresh = new MediaEngine();
    const first = fresh.acquire(1); // normal: the thread starts as every other
    const l = await fresh.open({ allocator, codec: 'PCMU', direction: 'inactive', inbandDtmf: false, log: SILENT_LOGGER });
    closing.push(l);
    assert.equal(threadsNow().filter((t) => t.policy === 2).length, 0, 'no real-time thread before');
    const { log, lines } = keptLog();
    const second = fresh.acquire(1, { priority: 'realtime', log });
    assert.equal(fresh.priority, 'realtime');
    try {
      await until(() => lines.length > 0, 5000);
      const rr = threadsNow().filter((t) => t.policy === 2);
      if (lines[0].startsWith('debug')) {
        assert.match(lines[0], /^debug media: the media worker \(thread \d+\) runs at realtime priority$/);
        assert.equal(rr.length, 1, 'the one media thread is SCHED_RR');
        assert.equal(rr[0].rtPriority, 10);
      } else {
        assert.notEqual(process.getuid?.(), 0, `root may raise a thread's priority: ${lines[0]}`);
        assert.match(lines[0], /^warn media: the media worker \(thread \d+\) runs at normal priority, not realtime: SCHED_RR 10 was refused \(.*\): the process needs CAP_SYS_NICE or a RLIMIT_RTPRIO of 10$/);
        assert.equal(rr.length, 0);
      }
    } finally {
      await l.close();
      await second.release();
      await first.release();
    }
  });

  it('mediaPriority: threads started for a high-priority line start at nice -10 (or the log says why not); a bad value is refused naming the setting', async function () {
    if (process.platform !== 'linux') this.skip();
    const fresh = new MediaEngine();
    const { log, lines } = keptLog();
    const before = new Set(threadsNow().map((t) => t.tid));
    const lease2 = fresh.acquire(1, { priority: 'high', log });
    try {
      await until(() => lines.length > 0, 5000);
      const started = threadsNow().filter((t) => !before.has(t.tid) && t.nice === -10);
      if (lines[0].startsWith('debug')) {
        assert.match(lines[0], /^debug media: the media worker \(thread \d+\) runs at high priority$/);
        assert.equal(started.length, 1, 'the new media thread runs at nice -10, and no other new thread does');
      } else {
        assert.notEqual(process.getuid?.(), 0, `root may raise a thread's priority: ${lines[0]}`);
        assert.match(lines[0], /^warn media: the media worker \(thread \d+\) runs at normal priority, not high: nice -10 was refused \(.*\): the process needs CAP_SYS_NICE or a RLIMIT_NICE of 30$/);
        assert.equal(started.length, 0);
      }
    } finally {
      await lease2.release();
    }
    assert.throws(
      () => new RtpDescriptionHandlerFactory({ allocator, mediaPriority: 'urgent' as 'high' }),
      (err: Error) => /mediaPriority/.test(err.message) && /normal, high, realtime/.test(err.message),
    );
  });

  it('mediaPriority realtime: the pool leaves one core to the flows (cores − 1 threads at most) and says so; a thread started before keeps its calls, gets no new ones and is not raised', async function () {
    if (process.platform !== 'linux') this.skip();
    assert.deepEqual([1, 2, 4, 8].map(realtimeThreadLimit), [1, 1, 3, 7]);
    const fresh = new MediaEngine(undefined, 2); // a 2-core machine
    const opts = { allocator, codec: 'PCMU' as const, direction: 'inactive' as const, inbandDtmf: false, log: SILENT_LOGGER };
    const first = fresh.acquire(2);
    const open = async (): Promise<RemoteRtpSession> => {
      const l = await fresh.open(opts);
      closing.push(l);
      return l;
    };
    const [a, b] = [await open(), await open()];
    assert.notEqual(a.threadId, b.threadId, 'at normal priority both cores run a media thread');
    const { log, lines } = keptLog();
    const second = fresh.acquire(2, { priority: 'realtime', log });
    try {
      assert.equal(fresh.size, 1);
      assert.deepEqual(lines.filter((l) => l.startsWith('info')), [
        'info media: 2 media worker threads asked for, 1 run: at realtime priority one of the 2 cores is left to the flows and SIP (real-time threads on every core starve them)',
      ]);
      const [c, d] = [await open(), await open()];
      assert.deepEqual([c.threadId, d.threadId], [a.threadId, a.threadId], 'new calls go to the raised thread only');
      assert.deepEqual(fresh.workers.map((w) => w.legs), [3, 1], 'the other thread keeps its call');
      await until(() => lines.some((l) => / runs at /.test(l)), 5000);
      const said = lines.filter((l) => / runs at /.test(l));
      assert.equal(said.length, 1, `one thread raised: ${said.join(' | ')}`);
      const rr = threadsNow().filter((t) => t.policy === 2);
      assert.equal(rr.length, said[0].startsWith('debug') ? 1 : 0, 'one SCHED_RR thread at most: the first');
    } finally {
      for (const c of closing.splice(0)) await c.close();
      await second.release();
      await first.release();
    }
  });

  it('the first lease starts one thread at once, the others start with calls; a lease after the last release starts afresh', async function () {
    const fresh = new MediaEngine();
    const first = fresh.acquire(2);
    assert.equal(fresh.workers.length, 1, 'one thread, booting already');
    const thread = fresh.workers[0].threadId;
    const l = await fresh.open({ allocator, codec: 'PCMU', direction: 'inactive', inbandDtmf: false, log: SILENT_LOGGER });
    assert.equal(l.threadId, thread, 'the first call goes to it');
    await l.close();
    await first.release();
    assert.equal(fresh.workers.length, 0);
    const second = fresh.acquire(1);
    assert.equal(fresh.workers.length, 1);
    assert.notEqual(fresh.workers[0].threadId, thread);
    await second.release();
  });

  it('a worker that dies: its calls fail (queued audio stopped, DTMF rejected, ports given back), the other worker\'s go on, and a new thread takes its place', async function () {
    const a = await leg();
    const b = await leg();
    const pa = await peer();
    const pb = await peer();
    a.configure({ remote: pa.endpoint, direction: 'sendrecv', telephoneEventPt: 101 });
    b.configure({ remote: pb.endpoint, direction: 'sendrecv', telephoneEventPt: 101 });
    assert.deepEqual(engine.workers.map((w) => w.legs), [1, 1]);
    const playing = a.play(ramp(8000 * 10));
    const keys = a.sendDtmf('123456', 500);
    await pa.waitFor(10);
    const victim = engine.workers[0];
    let failed: Error | undefined;
    void a.failure.then((err) => (failed = err));
    await victim.thread.terminate();
    const result = await playing.done;
    assert.equal(result.stopped, true);
    await assert.rejects(keys, (err: Error) => err instanceof CallStateError && /media failed/.test(err.message));
    await until(() => failed !== undefined, 2000, 'the failure');
    assert.match(String(failed?.message), /the media worker \(thread \d+\) died/);
    assert.equal(a.closed, true);
    assert.equal(allocator.inUse, 1, 'the dead leg\'s pair is free again, the other is held');
    await a.close(); // nothing more to do, and it does not hang
    // b goes on: its peer keeps getting packets.
    const before = pb.received.length;
    await pb.waitFor(before + 10);
    assert.equal(b.closed, false);
    await until(() => engine.workers[0].restarts === 1, 5000, 'the restart');
    assert.notEqual(engine.workers[0].threadId, victim.threadId);
    // The new thread takes calls.
    const c = await leg();
    const pc = await peer();
    c.configure({ remote: pc.endpoint, direction: 'sendrecv' });
    await pc.waitFor(5);
  });

  it('record(): the worker writes the WAV and sends the stream\'s chunks back; stop() gives the result; a recording whose worker dies ends media-closed with its file as written', async function () {
    const dir = mkdtempSync(join(os.tmpdir(), 'media-engine-rec-'));
    try {
      const l = await leg();
      const p = await peer();
      l.configure({ remote: p.endpoint, direction: 'sendrecv' });
      const chunks: Buffer[] = [];
      const ends: RecorderResult[] = [];
      const file = join(dir, 'sub', 'a.wav');
      const handle = l.record({ direction: 'tx', channels: 1, file, streamChunkMs: 100 }, { chunk: (c) => chunks.push(c.payload), end: (r) => ends.push(r) });
      assert.equal(await handle.started, null, 'it takes the audio');
      void l.play(ramp(8000));
      await until(() => chunks.length >= 5, 5000, 'five chunks');
      const result = await handle.stop();
      assert.deepEqual(ends, [result], 'the sink hears the end once, with the result');
      assert.deepEqual([result.endedBy, result.path, result.direction, result.channels], ['stop', file, 'tx', 1]);
      const info = parseWav(readFileSync(file));
      assert.equal(info.dataBytes, result.bytes - 44);
      assert.equal(result.chunks, chunks.length);
      assert.ok(Buffer.concat(chunks).length <= info.dataBytes, 'the stream is the file\'s samples (the last chunk goes with the end)');

      const second = join(dir, 'b.wav');
      const died: RecorderResult[] = [];
      const h2 = l.record({ direction: 'both', channels: 2, file: second }, { chunk: () => undefined, end: (r) => died.push(r) });
      await h2.started;
      await new Promise((r) => setTimeout(r, 700)); // past the writer's first flush (500 ms)
      await engine.workers.find((w) => w.threadId === l.threadId)?.thread.terminate();
      const last = await h2.stop();
      assert.deepEqual(died, [last]);
      assert.deepEqual([last.endedBy, last.path, last.channels], ['media-closed', second, 2]);
      assert.ok(last.bytes > 44 && last.durationMs > 0, `the file as the worker left it: ${last.bytes} bytes, ${last.durationMs} ms`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
