import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CallStateError, NotSupportedError } from '../../lib/errors';
import { decodeG711, encodeG711, PT_PCMA, PT_PCMU } from '../../lib/media/g711';
import { MediaClock, sharedMediaClock } from '../../lib/media/media-clock';
import { looksLikeRtcp, parseRtp, serializeRtp } from '../../lib/media/rtp-packet';
import { decodeTelephoneEvent } from '../../lib/media/telephone-event';
import { beep, concat } from '../../lib/media/tone-generator';
import { G711Codec } from '../../lib/sip/media-params';
import { RtpSession } from '../../lib/sip/rtp-session';
import { readStats, statsBuffer } from '../../lib/media-engine/protocol';
import {
  goertzelPower,
  LOCALHOST,
  ManualClock,
  mediaScope,
  record,
  settle,
  until,
  zeroCrossingHz,
} from '../helpers/rtp-harness';
import { laggingSource } from '../helpers/pcm-sources';

describe('RtpSession', function () {
  const scope = mediaScope();

  describe('two sessions on the shared media clock', function () {
    for (const codec of ['PCMU', 'PCMA'] as G711Codec[]) {
      it(`carries a 1 kHz tone one way in ${codec}, in real time, with silence the other way`, async function () {
        const a = await scope.session({ codec });
        const b = await scope.session({ codec });
        a.configure({ remote: { address: LOCALHOST, port: b.localPort } });
        b.configure({ remote: { address: LOCALHOST, port: a.localPort } });
        const atB = record(b);
        const atA = record(a);
        const subscribers = sharedMediaClock.stats().subscribers;
        assert.ok(subscribers >= 2, 'both sessions tick on the one shared clock');
        const started = Date.now();
        const played = await a.play(beep(1000, 1000, -10)).done;
        const elapsed = Date.now() - started;
        assert.deepEqual(played, { playedMs: 1000, stopped: false });
        // Real-time pacing (generous: a loaded machine is late, never early by more than a tick).
        assert.ok(elapsed >= 800 && elapsed < 5000, `1 s of audio took ${elapsed} ms`);
        await until(() => atB.audio.filter((f) => f.samples.some((s) => Math.abs(s) > 1000)).length >= 50, 5000, 'the tone at B');

        const tone = concat(atB.audio.filter((f) => f.samples.some((s) => Math.abs(s) > 1000)).map((f) => f.samples));
        const hz = zeroCrossingHz(tone);
        assert.ok(Math.abs(hz - 1000) < 5, `dominant frequency ${hz.toFixed(1)} Hz`);
        const p1000 = goertzelPower(tone, 1000);
        for (const other of [500, 900, 1100, 2000]) assert.ok(p1000 > 100 * goertzelPower(tone, other), `1000 Hz over ${other} Hz`);
        // In order and consecutive: the reorder buffer handed out every packet once.
        for (let i = 1; i < atB.audio.length; i++) assert.equal(atB.audio[i].seq, (atB.audio[i - 1].seq + 1) & 0xffff);
        await until(() => atA.audio.length >= 40, 5000, 'silence at A');
        assert.ok(atA.audio.every((f) => f.samples.every((s) => Math.abs(s) < 16)), 'A hears silence');
        assert.equal(atA.latched[0]?.port, b.localPort, 'A latched to B');

        const sa = a.stats();
        const sb = b.stats();
        assert.ok(sa.packetsSent >= 50, `A sent ${sa.packetsSent}`);
        assert.equal(sa.bytesSent, sa.packetsSent * 172, '12-byte header + 160 bytes a packet');
        assert.ok(sb.packetsReceived >= 50);
        assert.equal(sb.lost, 0);
        assert.equal(sb.invalid, 0);
        assert.ok(sa.sendJitter.p50Ms <= sa.sendJitter.p99Ms);
        assert.deepEqual(sa.sendJitter, (({ p50Ms, p99Ms, maxMs }) => ({ p50Ms, p99Ms, maxMs }))(sharedMediaClock.stats().lateness));
        await Promise.all([a.close(), b.close()]);
        assert.equal(sharedMediaClock.stats().subscribers, subscribers - 2, 'close() unsubscribes');
      });
    }
  });

  it("a tick's `tx` listeners (a recording's work) run once every session on the clock sent that tick's packet", async function () {
    const clock = new MediaClock();
    const a = await scope.session({ codec: 'PCMU', clock });
    const b = await scope.session({ codec: 'PCMU', clock });
    a.configure({ remote: { address: LOCALHOST, port: b.localPort } });
    b.configure({ remote: { address: LOCALHOST, port: a.localPort } });
    // A ticks first (it subscribed first); when its `tx` listener runs, B has sent this tick's packet too.
    const bSentAtATx: number[] = [];
    const aSentAtATx: number[] = [];
    a.on('tx', () => {
      aSentAtATx.push(a.stats().packetsSent);
      bSentAtATx.push(b.stats().packetsSent);
    });
    await until(() => bSentAtATx.length >= 5, 5000, "A's tx listener");
    await Promise.all([a.close(), b.close()]);
    assert.deepEqual(bSentAtATx.slice(0, 5), aSentAtATx.slice(0, 5), 'B had sent as many packets as A at each of A\'s tx events');
  });

  describe('sending', function () {
    it('sends a packet per tick: consecutive sequence, timestamp +160, marker on the first, one SSRC', async function () {
      const clock = new ManualClock();
      const peer = await scope.peer();
      const s = await scope.session({ codec: 'PCMU', clock, remote: peer.endpoint });
      clock.tick(4);
      await peer.waitFor(4);
      const p = peer.packets();
      assert.equal(p.length, 4);
      for (let i = 0; i < 4; i++) {
        assert.equal(p[i].payloadType, PT_PCMU);
        assert.equal(p[i].ssrc, s.ssrc);
        assert.equal(p[i].marker, i === 0);
        assert.equal(p[i].payload.length, 160);
        assert.ok(p[i].payload.every((b) => b === 0xff), 'µ-law silence');
        if (i > 0) {
          assert.equal(p[i].sequenceNumber, (p[i - 1].sequenceNumber + 1) & 0xffff);
          assert.equal(p[i].timestamp, (p[i - 1].timestamp + 160) >>> 0);
        }
      }
      assert.equal(peer.received[0].from.port, s.localPort, 'sent from the RTP port (symmetric RTP)');
    });

    it('advances the timestamp by the ticks that passed, and marks the first packet after a pause', async function () {
      const clock = new ManualClock();
      const peer = await scope.peer();
      const s = await scope.session({ codec: 'PCMA', clock, remote: peer.endpoint });
      clock.tick(1);
      clock.tick(1, 3); // the event loop stalled: three ticks were skipped
      s.mute();
      clock.tick(2);
      s.unmute();
      clock.tick(1);
      await peer.waitFor(3);
      const p = peer.packets();
      assert.equal(p.length, 3);
      assert.deepEqual(
        p.map((x) => [x.timestamp - p[0].timestamp, x.marker, x.payloadType]),
        [
          [0, true, PT_PCMA],
          [640, false, PT_PCMA],
          [7 * 160, true, PT_PCMA], // ticks 5 and 6 were muted
        ],
      );
      assert.ok(p[0].payload.every((b) => b === 0xd5), 'A-law silence');
    });

    it('plays queued audio across entries, pads the end, and reports each entry when it was sent', async function () {
      const clock = new ManualClock();
      const peer = await scope.peer();
      const s = await scope.session({ codec: 'PCMU', clock, remote: peer.endpoint });
      const first = s.play(Int16Array.from({ length: 100 }, () => 1000));
      const second = s.play(Int16Array.from({ length: 300 }, () => -1000));
      assert.equal(s.queuedMs, 50);
      let firstDone: unknown = null;
      void first.done.then((r) => (firstDone = r));
      clock.tick(1);
      await Promise.resolve();
      assert.deepEqual(firstDone, { playedMs: 12.5, stopped: false });
      clock.tick(2);
      assert.deepEqual(await second.done, { playedMs: 37.5, stopped: false });
      clock.tick(1);
      await peer.waitFor(4);
      const frames = peer.packets().map((p) => decodeG711(PT_PCMU, p.payload));
      const near = (v: number, want: number): boolean => Math.abs(v - want) < 40;
      assert.ok(frames[0].subarray(0, 100).every((v) => near(v, 1000)) && frames[0].subarray(100).every((v) => near(v, -1000)));
      assert.ok(frames[1].every((v) => near(v, -1000)));
      assert.ok(frames[2].subarray(0, 80).every((v) => near(v, -1000)) && frames[2].subarray(80).every((v) => v === 0 || near(v, 0)));
      assert.ok(frames[3].every((v) => near(v, 0)), 'silence once the queue is empty');
    });

    it('a source whose reader is behind: silence for the frame, the audio on a later tick, every sample once', async function () {
      const clock = new ManualClock();
      const peer = await scope.peer();
      const s = await scope.session({ codec: 'PCMU', clock, remote: peer.endpoint });
      const pcm = Int16Array.from({ length: 320 }, () => 1000);
      const { source, ready } = laggingSource(pcm, 80); // the reader has 10 ms ready at first
      const queued = s.play(source);
      clock.tick(); // 80 samples, then silence
      clock.tick(); // nothing ready: a silent frame, the audio still queued
      assert.equal(s.queuedMs, 30);
      ready(320);
      clock.tick(2);
      assert.deepEqual(await queued.done, { playedMs: 40, stopped: false });
      await peer.waitFor(4);
      const frames = peer.packets().map((p) => decodeG711(PT_PCMU, p.payload));
      const near = (v: number, want: number): boolean => Math.abs(v - want) < 40;
      assert.ok(frames[0].subarray(0, 80).every((v) => near(v, 1000)) && frames[0].subarray(80).every((v) => near(v, 0)));
      assert.ok(frames[1].every((v) => near(v, 0)), 'the reader was behind: silence');
      assert.ok(frames[2].every((v) => near(v, 1000)) && frames[3].subarray(0, 80).every((v) => near(v, 1000)));
      assert.equal(frames.reduce((n, f) => n + f.filter((v) => near(v, 1000)).length, 0), 320, 'every sample once');
    });

    it('stop() and clearQueue() cut queued audio short', async function () {
      const clock = new ManualClock();
      const s = await scope.session({ codec: 'PCMU', clock });
      const a = s.play(new Int16Array(800));
      const b = s.play(new Int16Array(800));
      clock.tick(2);
      a.stop();
      assert.deepEqual(await a.done, { playedMs: 40, stopped: true });
      s.clearQueue();
      assert.deepEqual(await b.done, { playedMs: 0, stopped: true });
      assert.deepEqual(await s.play(new Int16Array(0)).done, { playedMs: 0, stopped: false });
      assert.equal(s.queuedMs, 0);
    });

    it('mute stops audio packets but DTMF still goes', async function () {
      const clock = new ManualClock();
      const peer = await scope.peer();
      const s = await scope.session({ codec: 'PCMU', clock, remote: peer.endpoint, telephoneEventPt: 101 });
      s.mute();
      assert.equal(s.muted, true);
      clock.tick(5);
      const sent = s.sendDtmf('1', 100);
      for (let i = 0; i < 12; i++) clock.tick(1);
      await sent;
      await settle(peer);
      const p = peer.packets();
      assert.deepEqual(
        p.map((x) => x.payloadType),
        Array(7).fill(101),
        'only the seven telephone-event packets',
      );
      s.unmute();
      clock.tick(1);
      await peer.waitFor(8);
      const resumed = peer.packets()[7];
      assert.equal(resumed.payloadType, PT_PCMU);
      assert.equal(resumed.marker, true, 'a new talkspurt');
    });

    it('emits what the remote party hears on every tick (tx), silence when muted', async function () {
      const clock = new ManualClock();
      const s = await scope.session({ codec: 'PCMU', clock, remote: { address: LOCALHOST, port: 9 } });
      const tx: Int16Array[] = [];
      s.on('tx', (f) => tx.push(f.slice()));
      s.play(Int16Array.from({ length: 480 }, () => 500));
      clock.tick(1);
      s.mute();
      clock.tick(1);
      s.unmute();
      clock.tick(2);
      assert.equal(tx.length, 4);
      assert.ok(tx.every((f) => f.length === 160));
      assert.deepEqual([...new Set(tx[0])], [500]);
      assert.deepEqual([...new Set(tx[1])], [0], 'muted: consumed, not heard');
      assert.deepEqual([...new Set(tx[2])], [500]);
      assert.deepEqual([...new Set(tx[3])], [0], 'queue empty');
    });

    it('hands tx listeners silence as zeros on every tick, even after a listener wrote into the last one', async function () {
      // The silent frame is the session's own, filled in place each tick (no typed array per tick):
      // what one listener did to it does not reach the next tick's listeners.
      const clock = new ManualClock();
      const s = await scope.session({ codec: 'PCMU', clock, remote: { address: LOCALHOST, port: 9 } });
      const heard: number[][] = [];
      s.on('tx', (f) => {
        heard.push([...new Set(f)]);
        f.fill(1234); // a careless listener
      });
      clock.tick(3);
      assert.deepEqual(heard, [[0], [0], [0]]);
    });

    it('sends nothing before it knows where to, and refuses DTMF then', async function () {
      const clock = new ManualClock();
      const s = await scope.session({ codec: 'PCMU', clock, telephoneEventPt: 101 });
      clock.tick(3);
      assert.equal(s.stats().packetsSent, 0);
      await assert.rejects(s.sendDtmf('1'), CallStateError);
    });
  });

  describe('receiving', function () {
    it('latches to the source of the packets, even when it is not the SDP address', async function () {
      const clock = new ManualClock();
      const sdpAddress = await scope.peer();
      const actual = await scope.peer();
      const s = await scope.session({ codec: 'PCMU', clock, remote: sdpAddress.endpoint, relatchMs: 100 });
      const seen = record(s);
      clock.tick(1);
      await sdpAddress.waitFor(1);
      await actual.sendRtp(s.localPort, { seq: 1 });
      await until(() => seen.audio.length === 1, 5000, 'the first packet');
      assert.deepEqual(seen.latched, [actual.endpoint]);
      assert.deepEqual(s.target, actual.endpoint);
      clock.tick(2);
      await actual.waitFor(2);
      await settle(sdpAddress);
      assert.equal(sdpAddress.received.length, 1, 'nothing more to the SDP address');

      // Another source while the latched one is alive: dropped.
      await sdpAddress.sendRtp(s.localPort, { seq: 500, ssrc: 99 });
      await until(() => s.stats().foreign === 1, 5000, 'the foreign packet');
      assert.equal(seen.audio.length, 1);
      // Once the latched source has been silent for relatchMs, a new source is followed.
      clock.tick(6);
      await sdpAddress.sendRtp(s.localPort, { seq: 501, ssrc: 99 });
      await until(() => seen.latched.length === 2, 5000, 'relatching');
      assert.deepEqual(seen.latched[1], sdpAddress.endpoint);
      // A new remote address from a re-INVITE forgets the latch.
      s.configure({ remote: actual.endpoint });
      assert.deepEqual(s.target, actual.endpoint);
    });

    it('reorders, counts loss, duplicates and late packets, and ignores payload types not negotiated', async function () {
      const clock = new ManualClock();
      const peer = await scope.peer();
      const s = await scope.session({ codec: 'PCMU', clock });
      const seen = record(s);
      const send = async (seq: number, pt = 0): Promise<void> => peer.sendRtp(s.localPort, { seq, pt, payload: Buffer.alloc(pt === 0 ? 160 : 1, seq) });
      // 14 is lost; 11 comes after 12; 13 twice; 20 is comfort noise (PT 13)
      for (const seq of [10, 12, 11, 13, 13, 15, 16, 17, 18, 19]) await send(seq);
      await send(20, 13);
      await until(() => s.stats().packetsReceived === 11, 5000, 'eleven packets');
      await send(14); // far too late now
      await until(() => s.stats().packetsReceived === 12, 5000, 'the late packet');
      assert.deepEqual(
        seen.audio.map((a) => a.seq),
        [10, 11, 12, 13, 15, 16, 17, 18, 19],
      );
      const st = s.stats();
      assert.equal(st.lost, 1);
      assert.equal(st.reordered, 1);
      assert.equal(st.duplicates, 1);
      assert.equal(st.late, 1);
      assert.equal(st.ignored, 1);
      assert.equal(st.invalid, 0);
      assert.ok(seen.audio.every((a) => a.samples.length === 160));
      // What a media worker writes into a leg's shared counters (no stats object) reads back as stats().
      const shared = new Float64Array(statsBuffer());
      s.writeStats(shared);
      assert.deepEqual(readStats(shared), st);
    });

    it('hands out packets waiting behind a gap when the stream pauses', async function () {
      const clock = new ManualClock();
      const peer = await scope.peer();
      const s = await scope.session({ codec: 'PCMU', clock });
      const seen = record(s);
      for (const seq of [1, 3]) await peer.sendRtp(s.localPort, { seq });
      await until(() => s.stats().packetsReceived === 2);
      assert.deepEqual(seen.audio.map((a) => a.seq), [1]);
      clock.tick(6);
      assert.deepEqual(seen.audio.map((a) => a.seq), [1, 3]);
      assert.equal(s.stats().lost, 1);
    });

    it('a STUN binding request on the RTP port (linphone sends one as its stream starts) is counted as stun, not logged as malformed RTP', async function () {
      const warnings: string[] = [];
      const log = { debug: () => undefined, info: () => undefined, warn: (line: string) => warnings.push(line), error: (line: string) => warnings.push(line) };
      const peer = await scope.peer();
      const s = await scope.session({ codec: 'PCMU', clock: new ManualClock(), log });
      // RFC 5389: type 0x0001 (binding request), length 0, the magic cookie, a 96-bit transaction id.
      const binding = Buffer.from('000100002112a442' + '0102030405060708090a0b0c', 'hex');
      await peer.send(binding, s.localPort);
      await peer.send(Buffer.from([0x40, 1, 2, 3]), s.localPort); // not STUN, not RTP: malformed
      await until(() => s.stats().stun === 1 && s.stats().invalid === 1, 5000, 'both counted');
      assert.equal(s.stats().packetsReceived, 0);
      assert.equal(warnings.filter((w) => /malformed RTP packet of 20 bytes/.test(w)).length, 0, warnings.join('\n'));
      assert.equal(warnings.filter((w) => /malformed RTP packet of 4 bytes/.test(w)).length, 1, warnings.join('\n'));
    });

    it('never throws on garbage, counts it, and keeps working', async function () {
      const clock = new ManualClock();
      const peer = await scope.peer();
      const s = await scope.session({ codec: 'PCMU', clock, telephoneEventPt: 101, inbandDtmf: true });
      const seen = record(s);
      // Random bytes, and as many that start like RTP version 2 (so that the parser's length checks are hit).
      const garbage = fc.sample(fc.uint8Array({ minLength: 0, maxLength: 40, size: 'max' }), { numRuns: 200, seed: 4733 });
      garbage.forEach((g, i) => {
        if (g.length > 0 && i % 4 === 1) g[0] = 0x80; // no padding, extension or CSRC: RTP when long enough
        if (g.length > 0 && i % 4 === 3) g[0] = 0x80 | (g[0] & 0x3f); // lengths that may not fit
      });
      let invalid = 0;
      let rtcp = 0;
      let rtp = 0;
      let stun = 0;
      for (const g of garbage) {
        const buf = Buffer.from(g);
        if (looksLikeRtcp(buf)) rtcp++;
        else if (buf.length > 0 && buf[0] <= 3) stun++; // RFC 7983: STUN's first byte
        else if (parseRtp(buf)) rtp++;
        else invalid++;
        await peer.send(buf, s.localPort);
      }
      // An RTCP sender report (multiplexed), one on the RTCP port, and truncated telephone events.
      await peer.send(Buffer.from([0x80, 200, 0, 6, 1, 2, 3, 4, 5, 6, 7, 8]), s.localPort);
      await peer.send(Buffer.from([0x80, 200, 0, 6, 1, 2, 3, 4]), s.localPort + 1);
      await peer.sendRtp(s.localPort, { seq: 7000, pt: 101, payload: Buffer.from([1]) });
      await until(() => s.stats().invalid >= invalid && s.stats().rtcp === rtcp + 2, 5000, 'the garbage counted');
      assert.equal(s.stats().invalid, invalid);
      assert.equal(s.stats().stun, stun);
      assert.ok(rtp > 10 && invalid > 10 && rtcp > 0 && stun > 0, `the sample has every kind: ${rtp} RTP, ${invalid} invalid, ${rtcp} RTCP, ${stun} STUN-like`);
      // Still alive: a good packet from the same (latched) source plays.
      const before = seen.audio.length;
      await peer.sendRtp(s.localPort, { seq: 9000, ssrc: 0x5555 });
      await peer.sendRtp(s.localPort, { seq: 9001, ssrc: 0x5555 });
      await until(() => seen.audio.length >= before + 2, 5000, 'audio after the garbage');
      assert.deepEqual(seen.dtmf, []);
    });

    it('starts over when the remote SSRC changes', async function () {
      const clock = new ManualClock();
      const peer = await scope.peer();
      const s = await scope.session({ codec: 'PCMU', clock, telephoneEventPt: 101 });
      const seen = record(s);
      await peer.sendRtp(s.localPort, { seq: 100, ssrc: 1 });
      await peer.sendRtp(s.localPort, { seq: 5, ssrc: 2 });
      await peer.sendRtp(s.localPort, { seq: 6, ssrc: 2 });
      await until(() => seen.audio.length === 3, 5000, 'three frames');
      assert.deepEqual(seen.audio.map((a) => a.seq), [100, 5, 6]);
      assert.equal(s.stats().ssrcChanges, 1);
      assert.equal(s.stats().lost, 0);
    });
  });

  describe('DTMF', function () {
    it('sends RFC 4733: marker, one timestamp, growing duration, three end packets, audio paused', async function () {
      const clock = new ManualClock();
      const peer = await scope.peer();
      const s = await scope.session({ codec: 'PCMU', clock, remote: peer.endpoint, telephoneEventPt: 96 });
      s.play(Int16Array.from({ length: 1600 }, () => 2000));
      clock.tick(2);
      const sent = s.sendDtmf('5', 100);
      let resolved = false;
      void sent.then(() => (resolved = true));
      clock.tick(7 + 2); // seven event packets, then two ticks of the 60 ms gap
      await Promise.resolve();
      assert.equal(resolved, false, 'not before the gap is over');
      clock.tick(1);
      await sent;
      clock.tick(1);
      await peer.waitFor(2 + 7 + 3 + 1);
      const p = peer.packets();
      const audioBefore = p.slice(0, 2);
      const events = p.slice(2, 9);
      const gap = p.slice(9, 12);
      const after = p[12];
      assert.ok(audioBefore.every((x) => x.payloadType === 0));
      assert.ok(events.every((x) => x.payloadType === 96));
      assert.deepEqual(
        events.map((x) => x.marker),
        [true, false, false, false, false, false, false],
      );
      assert.equal(events[0].timestamp, (audioBefore[1].timestamp + 160) >>> 0, 'the event starts at the tick it is sent');
      assert.ok(events.every((x) => x.timestamp === events[0].timestamp));
      const te = events.map((x) => decodeTelephoneEvent(x.payload));
      assert.deepEqual(
        te.map((e) => [e?.event, e?.duration, e?.end]),
        [
          [5, 160, false],
          [5, 320, false],
          [5, 480, false],
          [5, 640, false],
          [5, 800, true],
          [5, 800, true],
          [5, 800, true],
        ],
      );
      for (let i = 1; i < p.length; i++) assert.equal(p[i].sequenceNumber, (p[i - 1].sequenceNumber + 1) & 0xffff, 'one sequence');
      assert.ok(gap.every((x) => x.payloadType === 0 && decodeG711(0, x.payload).every((v) => v === 0)), 'the gap is silence');
      assert.equal(gap[0].marker, true, 'audio resumes with a marker');
      assert.equal(gap[0].timestamp, (events[0].timestamp + 7 * 160) >>> 0);
      // The queue waited during the key: the rest of the audio follows the gap.
      assert.ok(decodeG711(0, after.payload).every((v) => Math.abs(v - 2000) < 80));
      assert.equal(s.stats().dtmfSent, 1);
    });

    it('"42" one way and "#*" the other arrive as exactly one event per key', async function () {
      const clock = new ManualClock();
      const a = await scope.session({ codec: 'PCMA', clock, telephoneEventPt: 101 });
      const b = await scope.session({ codec: 'PCMA', clock, telephoneEventPt: 101 });
      a.configure({ remote: { address: LOCALHOST, port: b.localPort } });
      b.configure({ remote: { address: LOCALHOST, port: a.localPort } });
      const atA = record(a);
      const atB = record(b);
      const both = Promise.all([a.sendDtmf('42', 80), b.sendDtmf('#*', 120)]);
      let done = false;
      void both.then(() => (done = true));
      for (let i = 0; i < 60 && !done; i++) {
        clock.tick(1);
        await new Promise((r) => setImmediate(r));
      }
      await both;
      await until(() => atB.dtmf.length >= 2 && atA.dtmf.length >= 2, 5000, 'the keys');
      clock.tick(10);
      await until(() => b.stats().packetsReceived === a.stats().packetsSent && a.stats().packetsReceived === b.stats().packetsSent, 5000, 'all packets');
      assert.deepEqual(atB.dtmf, [
        { digit: '4', source: 'rfc4733' },
        { digit: '2', source: 'rfc4733' },
      ]);
      assert.deepEqual(atA.dtmf, [
        { digit: '#', source: 'rfc4733' },
        { digit: '*', source: 'rfc4733' },
      ]);
      assert.equal(b.stats().dtmfReceived, 2);
      assert.equal(a.stats().dtmfSent, 2);
    });

    it('one event per key whatever the retransmissions (end packets again with new sequence numbers)', async function () {
      const clock = new ManualClock();
      const peer = await scope.peer();
      const s = await scope.session({ codec: 'PCMU', clock, telephoneEventPt: 101 });
      const seen = record(s);
      let seq = 300;
      const event = (key: number, ts: number, duration: number, end: boolean, marker = false): Promise<void> =>
        peer.sendRtp(s.localPort, {
          seq: seq++,
          ts,
          pt: 101,
          marker,
          payload: Buffer.from([key, (end ? 0x80 : 0) | 10, duration >> 8, duration & 0xff]),
        });
      for (const [key, ts] of [
        [4, 16000],
        [2, 17600],
      ]) {
        await event(key, ts, 160, false, true);
        await event(key, ts, 320, false);
        for (let i = 0; i < 6; i++) await event(key, ts, 480, true); // three end packets, then three more
      }
      await until(() => s.stats().packetsReceived === 16, 5000, 'sixteen packets');
      assert.deepEqual(seen.dtmf, [
        { digit: '4', source: 'rfc4733' },
        { digit: '2', source: 'rfc4733' },
      ]);
    });

    it('sends in-band tones (even while muted) that the in-band detector of the other side reports', async function () {
      const clock = new ManualClock();
      const a = await scope.session({ codec: 'PCMU', clock });
      const b = await scope.session({ codec: 'PCMU', clock, inbandDtmf: true });
      a.configure({ remote: { address: LOCALHOST, port: b.localPort } });
      const atB = record(b);
      a.mute();
      const sent = a.sendDtmf('73', 100, 'inband');
      let done = false;
      void sent.then(() => (done = true));
      for (let i = 0; i < 40 && !done; i++) clock.tick(1);
      await sent;
      // 2 × (5 tone frames + 3 frames of silence): the pauses are part of in-band DTMF, sent though muted
      await until(() => b.stats().packetsReceived === 16, 5000, 'sixteen packets');
      assert.equal(a.stats().dtmfSent, 2);
      await until(() => atB.dtmf.length === 2, 5000, 'two in-band digits');
      assert.deepEqual(atB.dtmf, [
        { digit: '7', source: 'inband' },
        { digit: '3', source: 'inband' },
      ]);
    });

    it('refuses DTMF it cannot send, and rejects keys still queued when the media stops sending', async function () {
      const clock = new ManualClock();
      const remote = { address: LOCALHOST, port: 9 };
      const noTe = await scope.session({ codec: 'PCMU', clock, remote });
      await assert.rejects(noTe.sendDtmf('1'), NotSupportedError);
      await assert.rejects(noTe.sendDtmf('x'), /"digits" must be DTMF keys/);
      await assert.rejects(noTe.sendDtmf('1', 20, 'inband'), /"durationMs" must be a whole number from 40 to 1000/);
      const s = await scope.session({ codec: 'PCMU', clock, remote, telephoneEventPt: 101 });
      s.setDirection('recvonly');
      await assert.rejects(s.sendDtmf('1'), (err: unknown) => err instanceof CallStateError && /recvonly/.test(err.message));
      s.setDirection('sendrecv');
      const pending = s.sendDtmf('123');
      clock.tick(3);
      s.setDirection('inactive');
      await assert.rejects(pending, CallStateError);
      s.setDirection('sendrecv');
      const dropped = s.sendDtmf('4');
      s.configure({ telephoneEventPt: null });
      await assert.rejects(dropped, NotSupportedError);
    });
  });

  describe('directions (hold)', function () {
    for (const [direction, sendsAudio, hearsAudio] of [
      ['sendrecv', true, true],
      ['sendonly', true, false],
      ['recvonly', false, true],
      ['inactive', false, false],
    ] as const) {
      it(`${direction}: ${sendsAudio ? 'sends' : 'sends nothing'}, ${hearsAudio ? 'emits' : 'drops'} what it receives`, async function () {
        const clock = new ManualClock();
        const peer = await scope.peer();
        const s = await scope.session({ codec: 'PCMU', clock, remote: peer.endpoint, telephoneEventPt: 101 });
        const seen = record(s);
        s.setDirection(direction);
        assert.equal(s.media.direction, direction);
        clock.tick(3);
        await peer.sendRtp(s.localPort, { seq: 1 });
        await peer.sendRtp(s.localPort, { seq: 2, pt: 101, payload: Buffer.from([1, 0x8a, 0, 160]) });
        await until(() => s.stats().packetsReceived === 2, 5000, 'two packets');
        await settle(peer);
        assert.equal(peer.packets().length, sendsAudio ? 3 : 0);
        assert.equal(seen.audio.length, hearsAudio ? 1 : 0);
        assert.equal(seen.dtmf.length, hearsAudio ? 1 : 0);
      });
    }
  });

  describe('life cycle', function () {
    it('close() releases the ports and the clock, settles what was pending, and emits nothing more', async function () {
      const clock = new ManualClock();
      const peer = await scope.peer();
      const allocator = scope.allocator();
      const s = new RtpSession({ codec: 'PCMU', clock, ports: await allocator.allocate(), remote: peer.endpoint, telephoneEventPt: 101 });
      const seen = record(s);
      assert.equal(clock.subscriberCount, 1);
      const queued = s.play(new Int16Array(8000));
      const dtmf = s.sendDtmf('9');
      clock.tick(1);
      await peer.waitFor(1);
      const port = s.localPort;
      const closing = s.close();
      assert.equal(s.close(), closing, 'the same promise');
      await closing;
      assert.equal(s.closed, true);
      assert.equal(clock.subscriberCount, 0);
      assert.equal(allocator.inUse, 0);
      assert.deepEqual(await queued.done, { playedMs: 0, stopped: true });
      await assert.rejects(dtmf, CallStateError);
      await assert.rejects(s.sendDtmf('1'), CallStateError);
      assert.deepEqual(await s.play(new Int16Array(10)).done, { playedMs: 0, stopped: true });
      clock.tick(3);
      await peer.sendRtp(port, { seq: 1 }).catch(() => undefined);
      await settle(peer);
      assert.deepEqual(seen.audio, []);
      assert.equal(peer.packets().length, 1, 'only the event packet of the tick before close');
    });

    it('checks its options with TypeErrors that name them', async function () {
      const ports = await scope.allocator().allocate();
      try {
        assert.throws(() => new RtpSession({ ports, codec: 'G722' as G711Codec }), /"codec" must be one of PCMU, PCMA/);
        assert.throws(() => new RtpSession({ ports, codec: 'PCMU', telephoneEventPt: 13 }), /"telephoneEventPt" must be a whole number from 96 to 127/);
        assert.throws(() => new RtpSession({ ports, codec: 'PCMU', remote: { address: 'pbx', port: 4000 } }), /"remote.address" must be an IPv4/);
        assert.throws(() => new RtpSession({ ports, codec: 'PCMU', remote: { address: LOCALHOST, port: 0 } }), /"remote.port"/);
        assert.throws(() => new RtpSession({ ports, codec: 'PCMU', direction: 'hold' as never }), /"direction" must be one of/);
        assert.throws(() => new RtpSession({ ports: undefined as never, codec: 'PCMU' }), /"ports"/);
      } finally {
        await ports.close();
      }
    });

    it('switches codec on configure() (a re-INVITE)', async function () {
      const clock = new ManualClock();
      const peer = await scope.peer();
      const s = await scope.session({ codec: 'PCMU', clock, remote: peer.endpoint });
      const seen = record(s);
      clock.tick(1);
      s.configure({ codec: 'PCMA' });
      assert.equal(s.media.payloadType, PT_PCMA);
      clock.tick(1);
      await peer.waitFor(2);
      assert.deepEqual(
        peer.packets().map((p) => [p.payloadType, p.payload[0]]),
        [
          [PT_PCMU, 0xff],
          [PT_PCMA, 0xd5],
        ],
      );
      await peer.send(serializeRtp({ payloadType: PT_PCMA, sequenceNumber: 1, timestamp: 0, ssrc: 7, payload: encodeG711(PT_PCMA, Int16Array.from([1000, -1000])) }), s.localPort);
      await until(() => seen.audio.length === 1, 5000, 'A-law audio');
      assert.ok(Math.abs(seen.audio[0].samples[0] - 1000) < 40 && Math.abs(seen.audio[0].samples[1] + 1000) < 40);
    });
  });
});
