/**
 * The SessionDescriptionHandler without SIP: two handlers exchange offers and answers the way sip.js
 * calls them (getDescription → setDescription → getDescription → setDescription), over real RTP
 * ports on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { CallStateError, NotSupportedError } from '../../lib/errors';
import { beep, concat } from '../../lib/media/tone-generator';
import { G711Codec } from '../../lib/sip/media-params';
import { RtpDescriptionHandler, RtpDescriptionHandlerOptions } from '../../lib/sip/rtp-description-handler';
import { RtpDescriptionHandlerFactory, RtpDescriptionHandlerFactoryOptions } from '../../lib/sip/rtp-description-handler-factory';
import { RtpPortAllocator } from '../../lib/sip/rtp-port-allocator';
import { RtpPortsExhaustedError } from '../../lib/sip/rtp-ports-exhausted-error';
import { RtpSession } from '../../lib/sip/rtp-session';
import { SdpNegotiationError } from '../../lib/sip/sdp-negotiation-error';
import { goertzelPower, LOCALHOST, ManualClock, record, testAllocator, until, zeroCrossingHz } from '../helpers/rtp-harness';

type Side = Omit<RtpDescriptionHandlerFactoryOptions, 'allocator'>;

/** One offer/answer exchange, in the order sip.js makes the calls. Returns both texts. */
async function exchange(
  offerer: RtpDescriptionHandler,
  answerer: RtpDescriptionHandler,
  offererOptions: RtpDescriptionHandlerOptions = {},
  answererOptions: RtpDescriptionHandlerOptions = {},
): Promise<{ offer: string; answer: string }> {
  const offer = await offerer.getDescription(offererOptions);
  assert.equal(offer.contentType, 'application/sdp');
  await answerer.setDescription(offer.body, answererOptions);
  const answer = await answerer.getDescription(answererOptions);
  assert.equal(answer.contentType, 'application/sdp');
  await offerer.setDescription(answer.body, offererOptions);
  return { offer: offer.body, answer: answer.body };
}

function directionOf(sdp: string): string | undefined {
  return /^a=(sendrecv|sendonly|recvonly|inactive)\r?$/m.exec(sdp)?.[1];
}

/** The audio frames louder than silence, joined. */
function loud(frames: Array<{ samples: Int16Array }>): Int16Array {
  return concat(frames.filter((f) => f.samples.some((s) => Math.abs(s) > 1000)).map((f) => f.samples));
}

describe('RtpDescriptionHandler (sip.js SessionDescriptionHandler, no SIP)', function () {
  let allocator: RtpPortAllocator;
  let factories: RtpDescriptionHandlerFactory[] = [];

  beforeEach(() => {
    allocator = testAllocator(8);
  });
  afterEach(async () => {
    for (const f of factories.splice(0)) await f.closeAll();
  });

  function handler(side: Side = {}, pool = allocator): RtpDescriptionHandler {
    const factory = new RtpDescriptionHandlerFactory({ allocator: pool, address: LOCALHOST, ...side });
    factories.push(factory);
    return factory.create();
  }

  describe('offer and answer', function () {
    it('offers PCMU, PCMA and telephone-event, answers with one codec, and carries audio both ways', async function () {
      const a = handler();
      const b = handler({ codecs: ['PCMA', 'PCMU'] });
      const sessions: unknown[] = [];
      a.on('session', (s) => sessions.push(s));
      const negotiated: string[] = [];
      a.on('negotiated', (m) => negotiated.push(`a ${m.codec} ${m.direction}`));
      b.on('negotiated', (m) => negotiated.push(`b ${m.codec} ${m.direction}`));

      const { offer, answer } = await exchange(a, b);
      const sa = a.session as RtpSession;
      const sb = b.session as RtpSession;
      assert.deepEqual(sessions, [sa], 'one session event, with the session');
      assert.match(offer, new RegExp(`^m=audio ${sa.localPort} RTP/AVP 0 8 101\\r$`, 'm'));
      assert.match(offer, /^c=IN IP4 127\.0\.0\.1\r$/m);
      assert.match(offer, /^a=rtpmap:101 telephone-event\/8000\r$/m);
      assert.equal(directionOf(offer), 'sendrecv');
      // B prefers PCMA, but answers from its own order among what A offered: PCMA.
      assert.match(answer, new RegExp(`^m=audio ${sb.localPort} RTP/AVP 8 101\\r$`, 'm'));
      assert.equal(directionOf(answer), 'sendrecv');
      assert.deepEqual(negotiated, ['b PCMA sendrecv', 'a PCMA sendrecv'], 'the answerer when its answer is handed out, the offerer on the answer');
      assert.deepEqual(a.negotiated?.remote, { address: LOCALHOST, port: sb.localPort });
      assert.deepEqual(b.negotiated?.remote, { address: LOCALHOST, port: sa.localPort });
      assert.equal(a.negotiated?.telephoneEventPt, 101);

      const atA = record(sa);
      const atB = record(sb);
      const played = await Promise.all([sa.play(beep(600, 1000)).done, sb.play(beep(600, 440)).done]);
      assert.deepEqual(played, [{ playedMs: 600, stopped: false }, { playedMs: 600, stopped: false }]);
      await until(() => loud(atB.audio).length >= 4000 && loud(atA.audio).length >= 4000, 5000, 'both tones');
      for (const [heard, hz, other] of [[loud(atB.audio), 1000, 440], [loud(atA.audio), 440, 1000]] as const) {
        const measured = zeroCrossingHz(heard);
        assert.ok(Math.abs(measured - hz) < 5, `expected ${hz} Hz, measured ${measured.toFixed(1)} Hz`);
        assert.ok(goertzelPower(heard, hz) > 100 * goertzelPower(heard, other), `${hz} Hz dominates ${other} Hz`);
      }
      assert.equal(sb.stats().lost, 0);
    });

    it('sends nothing and emits nothing before an exchange completes (a callee that only rings)', async function () {
      const clock = new ManualClock();
      const a = handler({ clock });
      const b = handler({ clock });
      const offer = await a.getDescription();
      await b.setDescription(offer.body);
      const sb = b.session as RtpSession;
      assert.equal(sb.media.direction, 'inactive', 'the answer is made but not handed out yet');
      assert.equal(b.negotiated, null);
      clock.tick(5);
      assert.equal(sb.stats().packetsSent, 0);
      assert.equal((a.session as RtpSession).stats().packetsSent, 0, 'the offerer waits for the answer');
      await a.setDescription((await b.getDescription()).body);
      clock.tick(2);
      assert.equal(sb.stats().packetsSent, 2);
      assert.equal((a.session as RtpSession).stats().packetsSent, 2);
    });

    it('an offer with no common codec fails with SdpNegotiationError (488), and so does an answer', async function () {
      const a = handler({ codecs: ['PCMA'] });
      const b = handler({ codecs: ['PCMU'] });
      const offer = await a.getDescription();
      const refused = await b.setDescription(offer.body).then(
        () => assert.fail('the offer was accepted'),
        (err: unknown) => err,
      );
      assert.ok(refused instanceof SdpNegotiationError);
      assert.equal(refused.statusCode, 488);
      assert.equal(refused.problem, 'no-common-codec');
      assert.match(refused.message, /offered no codec this line accepts: it offered PCMA, telephone-event; this line accepts PCMU/);
      assert.equal(b.negotiated, null);
      // Nothing half-done was kept: b now makes an offer of its own, not an answer.
      assert.equal(directionOf((await b.getDescription()).body), 'sendrecv');

      const g722Answer = offer.body.replace(/^m=audio (\d+) RTP\/AVP .*$/m, 'm=audio $1 RTP/AVP 9').replace(/^a=(rtpmap|fmtp).*\r\n/gm, '');
      await assert.rejects(a.setDescription(g722Answer), (err: unknown) => err instanceof SdpNegotiationError && err.problem === 'no-common-codec');
      await assert.rejects(a.setDescription('hello'), (err: unknown) => err instanceof SdpNegotiationError && err.problem === 'malformed');
    });

    it('an answer sets the media up at once, whether a 183 (early media) or the 200 carries it', async function () {
      // sip.js with earlyMedia: true hands the 183's SDP to setDescription and does not call it again
      // at the 200 (inviter.js onProgress/onAccept): the media runs from the 183.
      const a = handler();
      const b = handler();
      const offer = await a.getDescription();
      await b.setDescription(offer.body);
      const early = await b.getDescription();
      let negotiated = 0;
      a.on('negotiated', () => negotiated++);
      await a.setDescription(early.body);
      assert.equal(negotiated, 1);
      assert.equal(a.negotiated?.direction, 'sendrecv');
      assert.equal(a.session?.media.direction, 'sendrecv');
    });

    it('followAnswer(): a later answer to the same offer (the 200 after a 183, another fork) moves the media; the same one changes nothing; an unusable one is refused and changes nothing', async function () {
      const a = handler();
      const b = handler();
      const offer = await a.getDescription();
      await b.setDescription(offer.body);
      const early = (await b.getDescription()).body;
      await a.setDescription(early);
      const port = a.negotiated?.remote?.port;
      let negotiated = 0;
      a.on('negotiated', () => negotiated++);
      assert.equal(await a.followAnswer(early), false, 'the 183\'s own SDP again');
      assert.equal(negotiated, 0);
      const moved = early.replace(/^m=audio \d+ /m, 'm=audio 40123 ').replace(/^c=IN IP4 .*$/m, 'c=IN IP4 127.0.0.2');
      assert.equal(await a.followAnswer(moved), true);
      assert.deepEqual(a.session?.media.remote, { address: '127.0.0.2', port: 40123 });
      assert.equal(negotiated, 1);
      assert.notEqual(port, 40123);
      const g722 = early.replace(/^m=audio (\d+) RTP\/AVP .*$/m, 'm=audio $1 RTP/AVP 9').replace(/^a=(rtpmap|fmtp).*\r\n/gm, '');
      await assert.rejects(a.followAnswer(g722), (err: unknown) => err instanceof SdpNegotiationError && err.problem === 'no-common-codec');
      assert.deepEqual(a.session?.media.remote, { address: '127.0.0.2', port: 40123 }, 'left as it was');
      // A re-offer afterwards is still read as the offer it is (the exchange state is untouched).
      const reoffer = await a.getDescription();
      assert.equal(directionOf(reoffer.body), 'sendrecv');
    });
  });

  describe('hold', function () {
    it('a hold re-offer is sendonly, answered recvonly: the held side stops sending; resume restores both ways', async function () {
      const clock = new ManualClock();
      const a = handler({ clock });
      const b = handler({ clock });
      await exchange(a, b);
      const sa = a.session as RtpSession;
      const sb = b.session as RtpSession;
      const atA = record(sa);
      const atB = record(sb);
      const events: string[] = [];
      for (const [name, h] of [['a', a], ['b', b]] as const) {
        h.on('held', () => events.push(`${name} held`));
        h.on('resumed', () => events.push(`${name} resumed`));
      }
      const sent = (): [number, number] => [sa.stats().packetsSent, sb.stats().packetsSent];
      const received = (): [number, number] => [atA.audio.length, atB.audio.length];

      let before = sent();
      clock.tick(3);
      assert.deepEqual(sent(), [before[0] + 3, before[1] + 3], 'both send');
      await until(() => received()[0] === 3 && received()[1] === 3, 5000, 'audio both ways');

      const hold = await exchange(a, b, { hold: true }, {});
      assert.equal(directionOf(hold.offer), 'sendonly');
      assert.equal(directionOf(hold.answer), 'recvonly');
      assert.deepEqual(events, ['b held']);
      assert.equal(sa.media.direction, 'sendonly');
      assert.equal(sb.media.direction, 'recvonly');
      before = sent();
      clock.tick(4);
      assert.deepEqual(sent(), [before[0] + 4, before[1]], 'the held side sends nothing; the holder may (music on hold)');
      await until(() => received()[1] === 7, 5000, 'the holder\'s audio at the held side');
      assert.equal(received()[0], 3);

      const resume = await exchange(a, b, {}, {});
      assert.equal(directionOf(resume.offer), 'sendrecv');
      assert.equal(directionOf(resume.answer), 'sendrecv');
      assert.deepEqual(events, ['b held', 'b resumed']);
      before = sent();
      clock.tick(2);
      assert.deepEqual(sent(), [before[0] + 2, before[1] + 2]);
      await until(() => received()[0] === 5 && received()[1] === 9, 5000, 'audio both ways again');
    });

    it('holding in an answer gives sendonly / recvonly, and a hold on both sides is inactive', async function () {
      const clock = new ManualClock();
      const a = handler({ clock });
      const b = handler({ clock });
      const heldAtA: boolean[] = [];
      a.on('held', () => heldAtA.push(true));
      a.on('resumed', () => heldAtA.push(false));

      // B holds A in its answer (sip.js: accept() with sessionDescriptionHandlerOptions { hold: true }).
      const first = await exchange(a, b, {}, { hold: true });
      assert.equal(directionOf(first.answer), 'sendonly');
      assert.equal(a.session?.media.direction, 'recvonly');
      assert.equal(a.remoteHold, true);
      assert.deepEqual(heldAtA, [true]);

      // A holds B too: A only receives, so its hold offer is inactive (RFC 3264 §8.4), answered inactive.
      const both = await exchange(a, b, { hold: true }, { hold: true });
      assert.equal(directionOf(both.offer), 'inactive');
      assert.equal(directionOf(both.answer), 'inactive');
      assert.equal(a.session?.media.direction, 'inactive');
      assert.equal(b.session?.media.direction, 'inactive');
      assert.equal(b.remoteHold, true);
      const before = [a.session?.stats().packetsSent, b.session?.stats().packetsSent];
      clock.tick(3);
      assert.deepEqual([a.session?.stats().packetsSent, b.session?.stats().packetsSent], before);

      // B resumes with a re-offer; A still holds: sendrecv offered, answered sendonly.
      const bResumes = await exchange(b, a, {}, { hold: true });
      assert.equal(directionOf(bResumes.offer), 'sendrecv');
      assert.equal(directionOf(bResumes.answer), 'sendonly');
      assert.equal(b.session?.media.direction, 'recvonly');
      assert.deepEqual(heldAtA, [true, false], 'B\'s sendrecv offer resumes A');
    });

    it('rollbackDescription() forgets a refused re-offer: the media stays, the next SDP is read as an offer', async function () {
      const a = handler();
      const b = handler();
      await exchange(a, b);
      await a.getDescription({ hold: true });
      await a.rollbackDescription();
      assert.equal(a.session?.media.direction, 'sendrecv', 'the refused hold did not apply');
      // B's own re-offer is now an offer to A, not an answer.
      const { offer, answer } = await exchange(b, a);
      assert.equal(directionOf(offer), 'sendrecv');
      assert.equal(directionOf(answer), 'sendrecv');
      assert.equal(a.negotiated?.direction, 'sendrecv');
    });
  });

  describe('DTMF', function () {
    it('sendDtmf() (RFC 4733) arrives as one dtmf event per key at the other side', async function () {
      const a = handler();
      const b = handler();
      await exchange(a, b);
      const atB = record(b.session as RtpSession);
      assert.equal(a.sendDtmf('42', { duration: 100 }), true);
      await until(() => atB.dtmf.length === 2, 5000, 'two keys');
      await a.sendDigits('1', 40);
      await until(() => atB.dtmf.length === 3, 5000, 'the third key');
      // Audio sent after the keys has arrived, so have their retransmitted end packets: one event each.
      const frames = atB.audio.length;
      await until(() => atB.audio.length >= frames + 3, 5000, 'audio after the keys');
      assert.deepEqual(atB.dtmf, [
        { digit: '4', source: 'rfc4733' },
        { digit: '2', source: 'rfc4733' },
        { digit: '1', source: 'rfc4733' },
      ]);
      assert.equal(b.session?.stats().dtmfReceived, 3);
    });

    it('sendDtmf() returns false when the keys cannot go; sendDigits() says why', async function () {
      const a = handler();
      const b = handler();
      assert.equal(a.sendDtmf('1'), false, 'nothing negotiated');
      await assert.rejects(a.sendDigits('1'), CallStateError);
      await exchange(a, b, { hold: true }, {});
      assert.equal(b.sendDtmf('1'), false, 'held: recvonly');
      await assert.rejects(b.sendDigits('1'), /recvonly \(on hold\)/);
      assert.equal(a.sendDtmf('1x'), false, 'not DTMF keys');
      assert.equal(a.sendDtmf('1', { duration: 5 }), false, 'too short');
      assert.equal(a.sendDtmf('1,2'), false, 'no WebRTC pauses');
      assert.equal(a.sendDtmf('1'), true, 'the holder may still send keys');

      const info = handler({ dtmfMode: 'info' });
      const peer = handler();
      const { offer } = await exchange(info, peer);
      assert.match(offer, /telephone-event/, 'SIP INFO mode still offers RFC 4733: it receives the peer\'s events');
      assert.equal(info.sendDtmf('1'), false, 'the SIP layer sends INFO, not the media');
      await assert.rejects(info.sendDigits('1'), NotSupportedError);
      assert.equal(peer.sendDtmf('1'), true, 'the peer may send RFC 4733 to an INFO line');
    });

    it('in-band mode: telephone-event still offered (RFC 4733 keys received), keys sent as tones and detected in the audio', async function () {
      const a = handler({ dtmfMode: 'inband' });
      const b = handler({ dtmfMode: 'inband' });
      const { offer, answer } = await exchange(a, b);
      assert.match(offer, /telephone-event/);
      assert.match(answer, /telephone-event/);
      const atB = record(b.session as RtpSession);
      await a.sendDigits('7#', 100);
      await until(() => atB.dtmf.length === 2, 5000, 'two in-band keys');
      assert.deepEqual(atB.dtmf, [
        { digit: '7', source: 'inband' },
        { digit: '#', source: 'inband' },
      ]);
    });
  });

  describe('life cycle', function () {
    it('close() releases the ports, is idempotent, and refuses what follows', async function () {
      const factory = new RtpDescriptionHandlerFactory({ allocator, address: LOCALHOST });
      factories.push(factory);
      const a = factory.create();
      const b = factory.create();
      await exchange(a, b);
      assert.equal(allocator.inUse, 2);
      assert.equal(factory.openHandlers, 2);
      let closedEvents = 0;
      a.on('closed', () => closedEvents++);
      const closing = a.close();
      assert.equal(a.close(), closing, 'the same promise');
      await closing;
      assert.equal(closedEvents, 1);
      assert.equal(a.session?.closed, true, 'still readable, closed (final stats)');
      assert.equal(allocator.inUse, 1);
      await assert.rejects(a.getDescription(), CallStateError);
      await assert.rejects(a.setDescription('v=0'), CallStateError);
      assert.equal(a.sendDtmf('1'), false);
      await b.close();
      assert.equal(allocator.inUse, 0);
      assert.equal(factory.openHandlers, 0);

    });

    it('close() while the ports are being bound refuses the offer and gives the ports back', async function () {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      class GatedAllocator extends RtpPortAllocator {
        // Every binding goes through allocateWith (in this thread, and in a media worker).
        override async allocateWith<T>(bind: (address: string, rtpPort: number, release: () => void) => Promise<T>): Promise<T> {
          const bound = await super.allocateWith(bind);
          await gate;
          return bound;
        }
      }
      const gated = new GatedAllocator({ rtpPortMin: allocator.rtpPortMin, rtpPortMax: allocator.rtpPortMax, address: LOCALHOST });
      const c = handler({}, gated);
      let sessions = 0;
      c.on('session', () => sessions++);
      const offer = c.getDescription();
      await until(() => gated.inUse === 1, 5000, 'the ports bound');
      const closing = c.close();
      release();
      await closing;
      await assert.rejects(offer, CallStateError);
      assert.equal(gated.inUse, 0);
      assert.equal(sessions, 0, 'no session event for a closed handler');
    });

    it('a full port range rejects the offer with RtpPortsExhaustedError (503 for the SIP layer)', async function () {
      const small = new RtpPortAllocator({ rtpPortMin: allocator.rtpPortMin, rtpPortMax: allocator.rtpPortMin + 1, address: LOCALHOST });
      const a = handler({}, small);
      const b = handler({}, small);
      await a.getDescription();
      await assert.rejects(b.getDescription(), RtpPortsExhaustedError);
      assert.equal(small.inUse, 1);
    });

    it('reads application/sdp only, and runs sip.js modifiers on both descriptions', async function () {
      const a = handler();
      const b = handler();
      assert.equal(a.hasDescription('application/sdp'), true);
      assert.equal(a.hasDescription('Application/SDP; charset=utf-8'), true);
      assert.equal(a.hasDescription('text/plain'), false);
      const seen: string[] = [];
      const tag = async (d: { type: string; sdp: string }) => {
        seen.push(d.type);
        return { type: d.type, sdp: d.sdp.replace('s=-', 's=modified') };
      };
      const offer = await a.getDescription({}, [tag]);
      assert.match(offer.body, /^s=modified\r$/m);
      await b.setDescription(offer.body, {}, [tag]);
      assert.deepEqual(seen, ['offer', 'offer']);
      await assert.rejects(b.getDescription({}, [async () => ({}) as never]), /modifier must resolve with \{ type, sdp \}/);
    });

    it('RtpDescriptionHandler.of() finds ours on a sip.js session', function () {
      const a = handler();
      assert.equal(RtpDescriptionHandler.of({ sessionDescriptionHandler: a } as never), a);
      assert.equal(RtpDescriptionHandler.of({ sessionDescriptionHandler: undefined } as never), undefined);
      assert.equal(RtpDescriptionHandler.of({ sessionDescriptionHandler: { close() {} } } as never), undefined);
    });

    it('the factory checks its options with TypeErrors that name them', function () {
      const any = new RtpPortAllocator({ rtpPortMin: 41000, rtpPortMax: 41009 });
      assert.throws(() => new RtpDescriptionHandlerFactory({ allocator: any }), /"address" must be given when the RTP ports are bound to every interface/);
      assert.throws(() => new RtpDescriptionHandlerFactory({ allocator: {} as never, address: LOCALHOST }), /"allocator"/);
      assert.throws(() => new RtpDescriptionHandlerFactory({ allocator, address: 'pbx.example' }), /"address" must be an IPv4 address/);
      assert.throws(() => new RtpDescriptionHandlerFactory({ allocator, dtmfMode: 'sms' as never }), /"dtmfMode" must be one of rfc4733, info, inband/);
      assert.throws(() => new RtpDescriptionHandlerFactory({ allocator, codecs: ['G729' as G711Codec] }), /"codecs\[0\]" must be one of PCMU, PCMA/);
      assert.throws(() => new RtpDescriptionHandlerFactory({ allocator, telephoneEventPt: 13 }), /"telephoneEventPt" must be a whole number from 96 to 127/);
      assert.equal(new RtpDescriptionHandlerFactory({ allocator }).create().dtmfMode, 'rfc4733', 'the allocator\'s address is the default');
    });
  });
});
