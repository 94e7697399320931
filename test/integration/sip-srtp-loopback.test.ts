/**
 * Two of our SIP lines calling each other with SRTP (docs/sip-srtp.md): the keys survive hold and
 * resume (re-INVITEs keep them: the rollover counter and replay window go on), and the audio is
 * encrypted on the wire (what a third party on the path would see is not the G.711 we sent).
 */
import assert from 'node:assert/strict';
import { encodeG711, PT_PCMU } from '../../lib/media/g711';
import type { RtpMedia } from '../../lib/media-engine/rtp-media';
import { dominantHz } from '../helpers/audio-spectrum';
import { connect, hear, rtpOf, SipAudioPair, startPair, WAIT_MS } from '../helpers/sip-audio-pair';
import { waitFor } from '../helpers/sip-peers';

describe('SRTP between two of our SIP lines on 127.0.0.1 (integration)', function () {
  this.timeout(60_000);
  let pair: SipAudioPair | undefined;

  afterEach(async () => {
    await pair?.stop();
    pair = undefined;
  });

  it('encryption required both sides: SRTP _80; the audio crosses; hold and resume keep the keys and the audio; nothing dropped', async () => {
    // It reads the RtpSession's SRTP contexts: media in this thread (SRTP through workers: media-worker.test.ts).
    pair = await startPair({ mediaEncryption: 'required', mediaWorkers: 0 });
    const { callA, callB } = await connect(pair);
    const ra = rtpOf(pair.a, callA);
    const rb = rtpOf(pair.b, callB);
    assert.deepEqual([ra.srtpSuite, rb.srtpSuite], ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_80']);
    // A tone A plays: B hears it (B decrypts what A encrypted).
    ra.play(Int16Array.from({ length: 8000 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / 8000))));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(dominantHz(await hear(rb, 600)), 1000, 'B decrypted A\'s 1000 Hz');
    // The contexts themselves (their rollover counters, replay windows) must carry on through the re-INVITEs.
    const contexts = (r: RtpMedia): unknown[] => {
      const srtp = (r as unknown as { srtp: { tx: unknown; rx: unknown } }).srtp;
      return [srtp.tx, srtp.rx];
    };
    const kept = [...contexts(ra), ...contexts(rb)];
    await pair.a.control.hold(callA.id);
    await pair.a.control.resume(callA.id);
    const before = rb.stats().packetsReceived;
    await waitFor('B receiving again after resume', () => rb.stats().packetsReceived >= before + 10, WAIT_MS);
    assert.deepEqual([ra.srtpSuite, rb.srtpSuite], ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_80']);
    const after = [...contexts(ra), ...contexts(rb)];
    after.forEach((c, i) => assert.equal(c, kept[i], `SRTP context ${i} kept`));
    for (const s of [ra.stats(), rb.stats()]) assert.deepEqual([s.srtpAuthFailures, s.srtpReplays, s.invalid], [0, 0, 0]);
  });

  it('on the wire the payload is not the G.711 we sent: a copy of A\'s packets, read as plain RTP, has other bytes and a 10-byte tag more', async () => {
    // It taps the RtpSession's socket: media in this thread.
    pair = await startPair({ mediaEncryption: 'optional', mediaWorkers: 0 });
    const { callA, callB } = await connect(pair);
    const ra = rtpOf(pair.a, callA);
    const rb = rtpOf(pair.b, callB);
    // What reaches B's socket, before B's SRTP: listen on the socket itself.
    const wire: Buffer[] = [];
    const socket = (rb as unknown as { ports: { rtp: import('node:dgram').Socket } }).ports.rtp;
    const tap = (m: Buffer): void => void wire.push(Buffer.from(m));
    socket.on('message', tap);
    ra.play(new Int16Array(8000)); // one second of silence: PCMU 0xff bytes in plain RTP
    await new Promise((r) => setTimeout(r, 500));
    socket.off('message', tap);
    assert.ok(wire.length >= 10, `packets seen: ${wire.length}`);
    const silence = encodeG711(PT_PCMU, new Int16Array(160));
    for (const packet of wire) {
      assert.equal(packet.length, 12 + 160 + 10, 'header, 160 bytes of PCMU, an 80-bit tag');
      assert.notDeepEqual(packet.subarray(12, 172), silence, 'the payload is encrypted');
    }
  });
});
