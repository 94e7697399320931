/**
 * Call media in worker threads (docs/media-engine.md) between two of our SIP lines on 127.0.0.1:
 * what the nodes see is the same as with the media in the main thread (audio both ways, playback,
 * DTMF RFC 4733 and in-band, hold, SRTP, the figures in `ended`), and a worker that dies ends its
 * calls `media-failed` while the calls on another worker go on. The main case runs on both RTP I/O
 * paths (the native addon, and dgram with VOICE_RTP_IO=dgram); garbage on a call's RTP port is counted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { int16ToPcm16le } from '../../lib/media/g711';
import { mediaEngine } from '../../lib/media-engine/media-engine';
import { RemoteRtpSession } from '../../lib/media-engine/remote-rtp-session';
import { memoryLog } from '../helpers/at-harness';
import { dominantHz, toneWav } from '../helpers/audio-spectrum';
import { EventLog } from '../helpers/event-log';
import { connect, hear, rtpOf, SipAudioPair, startPair, WAIT_MS } from '../helpers/sip-audio-pair';
import { pickPorts, waitFor } from '../helpers/sip-peers';
import { malformedRtp, seededRandom } from '../helpers/sip-fuzz';
import { RawPeer } from '../helpers/rtp-harness';
import { loadNativeRtpIo } from '../../lib/media-engine/native-rtp-io';
import { looksLikeRtcp, parseRtp, serializeRtp } from '../../lib/media/rtp-packet';
import { sipLine } from '../helpers/sip-line';

function sine(hz: number, ms: number): Int16Array {
  return Int16Array.from({ length: (ms * 8000) / 1000 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / 8000)));
}

describe('SIP call media in worker threads, two of our lines on 127.0.0.1 (integration)', function () {
  this.timeout(90_000);
  let pair: SipAudioPair | undefined;
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'media-worker-'));
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && pair) console.log(pair.log.lines.slice(-60).join('\n'));
    await pair?.stop();
    pair = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** The main case, on the RTP I/O the workers use (the line's log says which, with the first call). */
  async function srtpTwoWorkers(rtpIo: RegExp): Promise<void> {
    pair = await startPair({ mediaWorkers: 2, mediaEncryption: 'required' });
    const { callA, callB } = await connect(pair);
    const ra = rtpOf(pair.a, callA);
    const rb = rtpOf(pair.b, callB);
    assert.ok(ra instanceof RemoteRtpSession && rb instanceof RemoteRtpSession, 'the legs run in media workers');
    assert.notEqual(ra.threadId, rb.threadId, 'the two legs are on the two workers (the one with the fewest calls)');
    assert.deepEqual([ra.srtpSuite, rb.srtpSuite], ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_80']);

    const wav = join(dir, 'tone-1000.wav');
    writeFileSync(wav, toneWav(1000, 3000)); // 3 s: more than the 2 s sent ahead with the play command
    const playA = pair.a.audio.play(callA.id, { source: wav });
    const playB = pair.b.audio.play(callB.id, { source: int16ToPcm16le(sine(600, 3000)) });
    await new Promise((r) => setTimeout(r, 200));
    const [atB, atA] = await Promise.all([hear(rb, 2000), hear(ra, 2000)]);
    assert.equal(dominantHz(atB), 1000, 'B hears A\'s file');
    assert.equal(dominantHz(atA), 600, 'A hears B\'s samples');
    assert.deepEqual((await playA).outcome, { playedMs: 3000, stopped: false });
    assert.deepEqual((await playB).outcome, { playedMs: 3000, stopped: false });

    await pair.a.dtmf.send(callA.id, '159#', { durationMs: 100 });
    assert.deepEqual(await pair.evB.dtmf(4), [['1', 'rfc4733'], ['5', 'rfc4733'], ['9', 'rfc4733'], ['#', 'rfc4733']]);

    await pair.a.control.hold(callA.id);
    await pair.evB.next('held');
    assert.equal(ra.media.direction, 'sendonly');
    await waitFor('B stops sending while held', () => rb.media.direction === 'recvonly', WAIT_MS);
    await pair.a.control.resume(callA.id);
    await pair.evB.next('resumed');
    const before = rb.stats().packetsReceived;
    await waitFor('B receiving again after resume', () => rb.stats().packetsReceived >= before + 10, WAIT_MS);

    await pair.a.hangup(callA.id);
    const [endA, endB] = [await pair.evA.next('ended'), await pair.evB.next('ended')];
    for (const end of [endA, endB]) {
      // 3 s of playback each way alone is 150 packets each way.
      const media = end.payload.media as { codec: string; packetsSent: number; packetsReceived: number; packetsLost: number };
      assert.equal(media.codec, 'PCMU');
      assert.ok(media.packetsSent >= 150 && media.packetsReceived >= 150, `figures from the worker: ${JSON.stringify(media)}`);
      assert.equal(media.packetsLost, 0);
    }
    for (const s of [ra.stats(), rb.stats()]) assert.deepEqual([s.srtpAuthFailures, s.srtpReplays, s.invalid], [0, 0, 0]);
    const told = pair.log.lines.filter((l) => /media worker: RTP sockets/.test(l));
    assert.ok(told.length > 0 && told.every((l) => rtpIo.test(l)), `the RTP I/O the workers said: ${told.join(' | ')}`);
  }

  it('SRTP, 2 workers a line: a WAV played one way and samples the other are heard; RFC 4733 keys arrive once each; hold and resume; `ended` has the figures', async function () {
    // The native RTP I/O where it is built (under CI=true it must be: test/unit/native-rtp-io.test.ts).
    // io_uring where the kernel has it (under CI=true it must: test/unit/native-rtp-io.test.ts).
    const native = loadNativeRtpIo();
    await srtpTwoWorkers(native.io ? new RegExp(`read and written in batches \\(native/rtp-io, ${native.io.mode}`) : /through dgram/);
  });

  /** Runs `f` with VOICE_RTP_IO=`value` (read by each worker as it starts: startPair starts them). */
  async function withRtpIo(value: string, f: () => Promise<void>): Promise<void> {
    const before = process.env.VOICE_RTP_IO;
    process.env.VOICE_RTP_IO = value;
    try {
      await f();
    } finally {
      if (before === undefined) delete process.env.VOICE_RTP_IO;
      else process.env.VOICE_RTP_IO = before;
    }
  }

  it('the same through recvmmsg and sendto (VOICE_RTP_IO=recvmmsg, where the kernel has no io_uring)', async function () {
    if (!loadNativeRtpIo().io) this.skip(); // not built: the next case is what runs (under CI=true it is built)
    await withRtpIo('recvmmsg', () => srtpTwoWorkers(/read and written in batches \(native\/rtp-io, recvmmsg; VOICE_RTP_IO=recvmmsg is set\)/));
  });

  it('the same through dgram (VOICE_RTP_IO=dgram, the fallback where the addon is not built)', async function () {
    await withRtpIo('dgram', () => srtpTwoWorkers(/media worker: RTP sockets through dgram: VOICE_RTP_IO=dgram is set/));
  });

  it("garbage on a worker call's RTP port (random bytes, STUN-, RTCP-looking, truncated RTP, oversize): counted, no crash, the call's audio goes on", async function () {
    pair = await startPair({ mediaWorkers: 1 });
    const { callA, callB } = await connect(pair);
    const ra = rtpOf(pair.a, callA);
    assert.ok(ra instanceof RemoteRtpSession);
    void pair.b.audio.play(callB.id, { source: int16ToPcm16le(sine(700, 10_000)) });
    assert.equal(dominantHz(await hear(ra, 500)), 700, 'A hears B before the garbage');

    const random = seededRandom(1207);
    const garbage: Buffer[] = [];
    for (let i = 0; i < 300; i++) garbage.push(malformedRtp(random));
    garbage.push(Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, ...Array(12).fill(7)])); // a STUN binding request
    garbage.push(Buffer.from([0x80, 200, 0, 6, 1, 2, 3, 4, 5, 6, 7, 8])); // an RTCP sender report, cut short
    garbage.push(Buffer.alloc(5000, 0x80)); // more than the native I/O keeps: dropped there, a packet from a stranger under dgram
    for (let seq = 0; seq < 5; seq++) {
      garbage.push(serializeRtp({ payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc: 0x5150, marker: false, payload: Buffer.alloc(160, 0xff) }));
    }
    const expected = { invalid: 0, stun: 0, rtcp: 0, rtp: 0 };
    for (const g of garbage) {
      if (looksLikeRtcp(g)) expected.rtcp++;
      else if (g.length > 0 && g[0] <= 3) expected.stun++;
      else if (parseRtp(g)) expected.rtp++;
      else expected.invalid++;
    }
    // The native I/O drops what is larger than its slot before anyone sees it (the 5000 bytes).
    const strangers = expected.rtp - (loadNativeRtpIo().io ? 1 : 0);
    const before = ra.stats();
    const peer = await RawPeer.open();
    try {
      // 30 a tick: the native I/O reads the socket once a tick, and the kernel's default receive buffer
      // (net.core.rmem_default, 208 KiB) holds a couple of hundred datagrams (far more than a call's one a tick).
      for (let i = 0; i < garbage.length; i++) {
        await peer.send(garbage[i], ra.localPort);
        if (i % 30 === 29) await new Promise((r) => setTimeout(r, 25));
      }
      const delta = (): string => {
        const now = ra.stats();
        return JSON.stringify({ invalid: now.invalid - before.invalid, stun: now.stun - before.stun, rtcp: now.rtcp - before.rtcp, foreign: now.foreign - before.foreign });
      };
      await waitFor(
        'the garbage counted',
        () => ra.stats().invalid - before.invalid >= expected.invalid && ra.stats().stun - before.stun >= expected.stun && ra.stats().foreign - before.foreign >= strangers,
        WAIT_MS,
      ).catch((err: Error) => {
        throw new Error(`${err.message}: expected ${JSON.stringify({ ...expected, strangers })}, counted ${delta()}`);
      });
    } finally {
      await peer.close();
    }
    const after = ra.stats();
    assert.equal(after.invalid - before.invalid, expected.invalid, 'each malformed one counted once');
    assert.equal(after.stun - before.stun, expected.stun);
    assert.ok(after.rtcp - before.rtcp >= expected.rtcp, `RTCP-looking ones counted (${after.rtcp - before.rtcp} of ${expected.rtcp})`);
    // The ones that parse as RTP come from a stranger while B is heard: not played (counted foreign).
    assert.equal(after.foreign - before.foreign, strangers);
    assert.ok(expected.rtp > 5 && expected.invalid > 50 && expected.stun > 0, `the sample has every kind: ${JSON.stringify(expected)}`);
    assert.equal(after.ssrcChanges, before.ssrcChanges, 'no stranger took the call over');
    assert.equal(dominantHz(await hear(ra, 500)), 700, 'A still hears B');
    await waitFor('still receiving', () => ra.stats().packetsReceived >= after.packetsReceived + 10, WAIT_MS);
    assert.equal(callA.ended, false);
    assert.equal(pair.log.lines.filter((l) => /^error /.test(l)).length, 0, pair.log.lines.filter((l) => /^error /.test(l)).join('\n'));
  });

  it('in-band DTMF: tones sent and detected in the workers', async function () {
    pair = await startPair({ mediaWorkers: 1, dtmfMode: 'inband' });
    const { callA } = await connect(pair);
    await pair.a.dtmf.send(callA.id, '4*7', { durationMs: 100 });
    assert.deepEqual(await pair.evB.dtmf(3), [['4', 'inband'], ['*', 'inband'], ['7', 'inband']]);
  });

  it('a worker that dies: its call ends media-failed (BYE with Q.850 41), the call on the other worker goes on; a new call is placed on the restarted worker', async function () {
    // A's media in 2 workers, B's in the main thread: each of A's calls has its own worker.
    const log = memoryLog();
    const base = await pickPorts(2);
    const rtp = 30000 + 32 * Math.floor(Math.random() * 300);
    const a = sipLine('line-a', '1001', base, base + 1, rtp, log, { mediaWorkers: 2, callWaiting: 'off' });
    const b = sipLine('line-b', '2002', base + 1, base, rtp + 16, log, { mediaWorkers: 0, callWaiting: 'off' });
    pair = { a, b, evA: new EventLog(a, WAIT_MS), evB: new EventLog(b, WAIT_MS), log, stop: async () => void (await Promise.all([a.stop(), b.stop()])) };
    await Promise.all([a.start(), b.start()]);
    await waitFor('both lines ready', () => a.backend?.ready === true && b.backend?.ready === true, WAIT_MS);
    const one = await connect(pair);
    const two = await connect(pair);
    const [a1, a2] = [rtpOf(a, one.callA), rtpOf(a, two.callA)] as RemoteRtpSession[];
    assert.notEqual(a1.threadId, a2.threadId, 'one call per worker');
    const b2 = rtpOf(b, two.callB);
    void b.audio.play(two.callB.id, { source: int16ToPcm16le(sine(800, 8000)) });

    const worker = mediaEngine.workers.find((w) => w.threadId === a1.threadId);
    assert.ok(worker);
    await worker.thread.terminate();

    const endA = await pair.evA.next('ended', (e) => e.call?.id === one.callA.id);
    assert.deepEqual([endA.payload.cause, endA.payload.by, endA.payload.q850], ['media-failed', 'local', 41]);
    assert.match(String(endA.payload.text), /the call's media failed: the media worker \(thread \d+\) died/);
    const endB = await pair.evB.next('ended', (e) => e.call?.id === one.callB.id);
    assert.deepEqual([endB.payload.by, endB.payload.q850], ['remote', 41]);
    assert.match(String(endB.payload.reason), /^Q\.850;cause=41/);

    // The other call: still up, A still hears B's tone, B still receives A's packets.
    assert.equal(two.callA.ended, false);
    assert.equal(dominantHz(await hear(a2, 1000)), 800);
    const before = b2.stats().packetsReceived;
    await waitFor('B still receiving on the other call', () => b2.stats().packetsReceived >= before + 10, WAIT_MS);

    await waitFor('the worker started again', () => mediaEngine.workers.some((w) => w.restarts === 1), WAIT_MS);
    const three = await connect(pair);
    const a3 = rtpOf(a, three.callA) as RemoteRtpSession;
    assert.notEqual(a3.threadId, a2.threadId, 'the new call goes to the restarted worker (the fewest calls)');
    const b3 = rtpOf(b, three.callB);
    await waitFor('the new call carries audio', () => b3.stats().packetsReceived >= 10, WAIT_MS);
    await pair.a.hangup(two.callA.id);
    await pair.a.hangup(three.callA.id);
    const ends = [await pair.evA.next('ended'), await pair.evA.next('ended')];
    assert.deepEqual(ends.map((e) => e.payload.cause), ['normal', 'normal']);
  });

  it('a worker that dies while an incoming call on it still rings: the call is refused 500 (Q.850 41) and ends media-failed', async function () {
    // A (the callee) has its media in one worker, B (the caller) in the main thread.
    const log = memoryLog();
    const base = await pickPorts(2);
    const rtp = 30000 + 32 * Math.floor(Math.random() * 300);
    const a = sipLine('line-a', '1001', base, base + 1, rtp, log, { mediaWorkers: 1, callWaiting: 'off' });
    const b = sipLine('line-b', '2002', base + 1, base, rtp + 16, log, { mediaWorkers: 0, callWaiting: 'off' });
    pair = { a, b, evA: new EventLog(a, WAIT_MS), evB: new EventLog(b, WAIT_MS), log, stop: async () => void (await Promise.all([a.stop(), b.stop()])) };
    await Promise.all([a.start(), b.start()]);
    await waitFor('both lines ready', () => a.backend?.ready === true && b.backend?.ready === true, WAIT_MS);
    const callB = await b.dial('1001');
    const incoming = await pair.evA.next('incoming');
    await pair.evB.next('ringing', (e) => e.call?.id === callB.id);
    const worker = mediaEngine.workers.find((w) => w.legs > 0);
    assert.ok(worker, 'the ringing call\'s media is open in a worker');
    await worker.thread.terminate();

    const endA = await pair.evA.next('ended', (e) => e.call?.id === incoming.call?.id);
    assert.deepEqual([endA.payload.cause, endA.payload.by, endA.payload.q850, endA.payload.sipCode], ['media-failed', 'local', 41, 500]);
    assert.match(String(endA.payload.text), /the call's media failed: the media worker \(thread \d+\) died/);
    const endB = await pair.evB.next('ended', (e) => e.call?.id === callB.id);
    assert.deepEqual([endB.payload.by, endB.payload.sipCode, endB.payload.q850], ['remote', 500, 41]);
    assert.equal(a.activeCalls().length, 0, 'nothing left ringing on the line');
  });
});
