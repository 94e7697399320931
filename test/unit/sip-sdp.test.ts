import assert from 'node:assert/strict';
import fc from 'fast-check';
import { answerDirection, G711Codec, MEDIA_DIRECTIONS, MediaDirection } from '../../lib/sip/media-params';
import { LocalSdp, parseRemoteSdp } from '../../lib/sip/sdp';
import { SdpNegotiationError, SdpProblem } from '../../lib/sip/sdp-negotiation-error';

const sdp = (...lines: string[]): string => lines.join('\r\n') + '\r\n';

/** An offer as Asterisk sends it (session-level c=, several codecs, telephone-event 101). */
const ASTERISK_OFFER = sdp(
  'v=0',
  'o=- 1700000000 1700000000 IN IP4 192.0.2.10',
  's=Asterisk',
  'c=IN IP4 192.0.2.10',
  't=0 0',
  'm=audio 17528 RTP/AVP 9 8 0 3 101',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:3 GSM/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=maxptime:150',
  'a=sendrecv',
);

/** An offer as baresip sends it (media-level c=, opus first, telephone-event on 101, no rtpmap for 0/8). */
const BARESIP_OFFER = sdp(
  'v=0',
  'o=- 2826 3197 IN IP4 198.51.100.7',
  's=-',
  't=0 0',
  'm=audio 10204 RTP/AVP 96 0 8 101',
  'c=IN IP4 198.51.100.7',
  'a=rtpmap:96 opus/48000/2',
  'a=fmtp:96 stereo=1;sprop-stereo=1',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=sendrecv',
  'a=label:1',
  'a=ssrc:1395573542 cname:7b3c1d9e',
  'a=rtcp-rsize',
);

function offerWith(mediaLines: string[], session: string[] = ['c=IN IP4 203.0.113.5']): string {
  return sdp('v=0', 'o=peer 42 7 IN IP4 203.0.113.5', 's=-', ...session, 't=0 0', ...mediaLines);
}

function local(options: Partial<ConstructorParameters<typeof LocalSdp>[0]> = {}): LocalSdp {
  return new LocalSdp({ address: '192.0.2.99', port: 40000, ...options });
}

function rejectsWith(problem: SdpProblem, message: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof SdpNegotiationError, String(err));
    assert.equal(err.problem, problem);
    assert.equal(err.statusCode, 488);
    assert.equal(err.code, 'ESDP');
    assert.match(err.message, message);
    return true;
  };
}

describe('SDP', function () {
  describe('our offer', function () {
    it('is one RTP/AVP audio line with PCMU, PCMA, telephone-event 101, ptime 20 and a direction', function () {
      const ours = local();
      const text = ours.createOffer();
      assert.equal(
        text,
        sdp(
          'v=0',
          `o=- ${ours.sessionId} 1 IN IP4 192.0.2.99`,
          's=-',
          'c=IN IP4 192.0.2.99',
          't=0 0',
          'm=audio 40000 RTP/AVP 0 8 101',
          'a=rtpmap:0 PCMU/8000',
          'a=rtpmap:8 PCMA/8000',
          'a=rtpmap:101 telephone-event/8000',
          'a=fmtp:101 0-16',
          'a=ptime:20',
          'a=sendrecv',
        ),
      );
    });

    it('follows the configured codec order and telephone-event type, or offers no RFC 4733', function () {
      assert.match(local({ codecs: ['PCMA', 'PCMU'], telephoneEventPt: 96 }).createOffer(), /m=audio 40000 RTP\/AVP 8 0 96\r\n/);
      const plain = local({ codecs: ['PCMA'], telephoneEventPt: null }).createOffer('sendonly');
      assert.match(plain, /m=audio 40000 RTP\/AVP 8\r\n/);
      assert.doesNotMatch(plain, /telephone-event|fmtp/);
      assert.match(plain, /a=sendonly\r\n/);
    });

    it('keeps its session id, and raises the version only when the description changed (RFC 3264 §8)', function () {
      const ours = local();
      const version = (text: string): [string, number] => {
        const m = /^o=- (\d+) (\d+) IN IP4/m.exec(text) as RegExpExecArray;
        return [m[1], Number(m[2])];
      };
      const first = version(ours.createOffer());
      assert.deepEqual(version(ours.createOffer()), first, 'a refresh with the same SDP keeps the version');
      assert.deepEqual(version(ours.createOffer('sendonly')), [first[0], first[1] + 1], 'hold');
      assert.deepEqual(version(ours.createOffer('sendonly')), [first[0], first[1] + 1]);
      assert.deepEqual(version(ours.createOffer('sendrecv')), [first[0], first[1] + 2], 'resume');
      ours.update({ port: 40002 });
      assert.deepEqual(version(ours.createOffer('sendrecv')), [first[0], first[1] + 3], 'a new port');
      assert.equal(ours.sessionVersion, first[1] + 3);
      assert.notEqual(local().sessionId, ours.sessionId);
    });

    it('checks its configuration with TypeErrors that name the option', function () {
      assert.throws(() => local({ address: 'pbx.example' }), /"address" must be an IPv4 address/);
      assert.throws(() => local({ port: 0 }), /"port" must be a whole number from 1 to 65535/);
      assert.throws(() => local({ codecs: [] }), /"codecs" must list PCMU and\/or PCMA once each/);
      assert.throws(() => local({ codecs: ['PCMU', 'PCMU'] }), /"codecs" must list/);
      assert.throws(() => local({ codecs: ['G729' as G711Codec] }), /"codecs\[0\]" must be one of PCMU, PCMA/);
      assert.throws(() => local({ telephoneEventPt: 13 }), /"telephoneEventPt" must be a whole number from 96 to 127/);
      assert.throws(() => local({ username: 'a b' }), /"username"/);
      assert.throws(() => local().createOffer('hold' as MediaDirection), /"direction" must be one of sendrecv/);
    });
  });

  describe('reading a remote description', function () {
    it('reads an Asterisk offer: session-level c=, codecs in their order, telephone-event, ptime', function () {
      const r = parseRemoteSdp(ASTERISK_OFFER);
      assert.equal(r.address, '192.0.2.10');
      assert.equal(r.port, 17528);
      assert.deepEqual(
        r.codecs.map((c) => `${c.payloadType} ${c.name}/${c.rate}`),
        ['9 G722/8000', '8 PCMA/8000', '0 PCMU/8000', '3 GSM/8000', '101 telephone-event/8000'],
      );
      assert.equal(r.telephoneEventPt, 101);
      assert.equal(r.direction, 'sendrecv');
      assert.equal(r.ptime, 20);
      assert.equal(r.hold, false);
      assert.deepEqual(r.origin, { username: '-', sessionId: '1700000000', version: '1700000000' });
    });

    it('reads a baresip offer: media-level c=, static types without rtpmap', function () {
      const r = parseRemoteSdp(BARESIP_OFFER);
      assert.equal(r.address, '198.51.100.7');
      assert.deepEqual(
        r.codecs.map((c) => [c.payloadType, c.name, c.rate, c.channels]),
        [
          [96, 'opus', 48000, 2],
          [0, 'PCMU', 8000, null],
          [8, 'PCMA', 8000, null],
          [101, 'telephone-event', 8000, null],
        ],
      );
      assert.equal(r.ptime, null);
      assert.deepEqual(r.origin, { username: '-', sessionId: '2826', version: '3197' });
    });

    it('keeps o= numbers too large for a JavaScript number exactly', function () {
      const text = ASTERISK_OFFER.replace('o=- 1700000000 1700000000', 'o=- 18446744073709551615 9007199254740993');
      assert.deepEqual(parseRemoteSdp(text).origin, { username: '-', sessionId: '18446744073709551615', version: '9007199254740993' });
    });

    it('prefers the media-level c= over the session one', function () {
      const r = parseRemoteSdp(offerWith(['m=audio 5000 RTP/AVP 0', 'c=IN IP4 203.0.113.77']));
      assert.equal(r.address, '203.0.113.77');
    });

    it('takes the direction from the media level, then the session level, else sendrecv', function () {
      assert.equal(parseRemoteSdp(offerWith(['m=audio 5000 RTP/AVP 0'], ['c=IN IP4 203.0.113.5', 'a=sendonly'])).direction, 'sendonly');
      assert.equal(parseRemoteSdp(offerWith(['m=audio 5000 RTP/AVP 0', 'a=recvonly'], ['c=IN IP4 203.0.113.5', 'a=sendonly'])).direction, 'recvonly');
      assert.equal(parseRemoteSdp(offerWith(['m=audio 5000 RTP/AVP 0'])).direction, 'sendrecv');
    });

    it('refuses what it cannot use, with a message for people', function () {
      assert.throws(() => parseRemoteSdp(''), rejectsWith('malformed', /no session description/));
      assert.throws(() => parseRemoteSdp('hello'), rejectsWith('malformed', /no session description/));
      assert.throws(() => parseRemoteSdp(offerWith(['m=video 5002 RTP/AVP 96'])), rejectsWith('no-audio', /no audio stream this line can use.*video RTP\/AVP/));
      assert.throws(
        () => parseRemoteSdp(offerWith(['m=audio 5000 UDP/TLS/RTP/SAVPF 0', 'a=fingerprint:sha-256 AB:CD'])),
        rejectsWith('no-audio', /RTP\/AVP, or RTP\/SAVP with SDES keys; no DTLS-SRTP.*audio UDP\/TLS\/RTP\/SAVPF/),
      );
      assert.throws(() => parseRemoteSdp(offerWith(['m=audio 5000 RTP/AVP 0'], [])), rejectsWith('malformed', /no connection address/));
      assert.throws(() => parseRemoteSdp(offerWith(['m=audio 5000 RTP/AVP 0'], ['c=IN IP6 2001:db8::1'])), rejectsWith('address', /2001:db8::1.*IPv4 addresses only/));
      assert.throws(() => parseRemoteSdp(offerWith(['m=audio 5000 RTP/AVP 0'], ['c=IN IP4 pbx.example'])), rejectsWith('address', /pbx\.example/));
    });

    it('never throws anything but SdpNegotiationError, whatever the text', function () {
      const line = fc.oneof(
        fc.string(),
        fc.constantFrom('v=0', 'm=audio 5000 RTP/AVP 0 8', 'm=audio x RTP/AVP', 'c=IN IP4 1.2.3.4', 'c=IN IP4', 'a=rtpmap:0', 'a=sendonly', 'o=', 'm=audio 99999 RTP/AVP 0'),
      );
      fc.assert(
        fc.property(fc.array(line, { maxLength: 12 }), (lines) => {
          try {
            const r = parseRemoteSdp(lines.join('\r\n'));
            assert.ok(Number.isInteger(r.port));
          } catch (err) {
            if (!(err instanceof SdpNegotiationError)) throw err;
          }
        }),
        { numRuns: 500 },
      );
    });
  });

  describe('answering an offer', function () {
    it('picks the first common codec in OUR order, with their types, and answers every m= line', function () {
      const { sdp: text, media } = local().createAnswer(ASTERISK_OFFER);
      assert.deepEqual(media, {
        codec: 'PCMU',
        payloadType: 0,
        telephoneEventPt: 101,
        remote: { address: '192.0.2.10', port: 17528 },
        direction: 'sendrecv',
        remoteHold: false,
        remotePtime: 20,
        srtp: null,
      });
      assert.match(text, /\r\nm=audio 40000 RTP\/AVP 0 101\r\na=rtpmap:0 PCMU\/8000\r\na=rtpmap:101 telephone-event\/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n$/);
      assert.equal(local({ codecs: ['PCMA', 'PCMU'] }).createAnswer(ASTERISK_OFFER).media.codec, 'PCMA');
      assert.equal(local({ codecs: ['PCMA', 'PCMU'] }).createAnswer(BARESIP_OFFER).media.codec, 'PCMA');
    });

    it('uses the telephone-event type they offered, and none when either side has none', function () {
      const offer = offerWith(['m=audio 5000 RTP/AVP 8 96', 'a=rtpmap:96 telephone-event/8000', 'a=fmtp:96 0-15']);
      const { sdp: text, media } = local().createAnswer(offer);
      assert.equal(media.telephoneEventPt, 96);
      assert.match(text, /m=audio 40000 RTP\/AVP 8 96\r\n.*a=fmtp:96 0-16\r\n/s);
      const none = local().createAnswer(offerWith(['m=audio 5000 RTP/AVP 0']));
      assert.equal(none.media.telephoneEventPt, null);
      assert.doesNotMatch(none.sdp, /telephone-event/);
      const notOurs = local({ telephoneEventPt: null }).createAnswer(ASTERISK_OFFER);
      assert.equal(notOurs.media.telephoneEventPt, null);
      assert.doesNotMatch(notOurs.sdp, /telephone-event/);
    });

    const holdCases: Array<[string, string[], string[], MediaDirection, boolean, boolean]> = [
      // [what, session lines, media attributes, our answer, remoteHold, remote address known]
      ['a sendonly offer (hold) is answered recvonly', [], ['a=sendonly'], 'recvonly', true, true],
      ['an inactive offer is answered inactive', [], ['a=inactive'], 'inactive', true, true],
      ['a recvonly offer is answered sendonly', [], ['a=recvonly'], 'sendonly', false, true],
      ['c=0.0.0.0 (RFC 2543 hold) is answered recvonly', ['c=IN IP4 0.0.0.0'], [], 'recvonly', true, false],
      ['c=0.0.0.0 with sendonly is answered recvonly', ['c=IN IP4 0.0.0.0'], ['a=sendonly'], 'recvonly', true, false],
      ['c=0.0.0.0 with recvonly is answered inactive', ['c=IN IP4 0.0.0.0'], ['a=recvonly'], 'inactive', true, false],
    ];
    for (const [what, session, attrs, answer, hold, known] of holdCases) {
      it(what, function () {
        const offer = offerWith(['m=audio 5000 RTP/AVP 0 8', ...attrs], session.length ? session : undefined);
        const { sdp: text, media } = local().createAnswer(offer);
        assert.equal(media.direction, answer);
        assert.match(text, new RegExp(`a=${answer}\\r\\n$`));
        assert.equal(media.remoteHold, hold);
        assert.deepEqual(media.remote, known ? { address: '203.0.113.5', port: 5000 } : null);
      });
    }

    it('answers sendonly when we hold them, inactive when both hold', function () {
      assert.equal(local().createAnswer(ASTERISK_OFFER, 'sendonly').media.direction, 'sendonly');
      assert.equal(local().createAnswer(offerWith(['m=audio 5000 RTP/AVP 0', 'a=sendonly']), 'sendonly').media.direction, 'inactive');
    });

    it('declines the other m= lines with port 0 and keeps their order', function () {
      const offer = offerWith(['m=video 5002 RTP/AVP 96', 'a=rtpmap:96 H264/90000', 'm=audio 5000 RTP/AVP 0', 'm=audio 5004 RTP/AVP 8']);
      const { sdp: text } = local().createAnswer(offer);
      const mLines = text.split('\r\n').filter((l) => l.startsWith('m='));
      assert.deepEqual(mLines, ['m=video 0 RTP/AVP 96', 'm=audio 40000 RTP/AVP 0', 'm=audio 0 RTP/AVP 8']);
    });

    it('refuses an offer with no common codec (the SIP layer answers 488)', function () {
      const offer = offerWith(['m=audio 5000 RTP/AVP 9 96 101', 'a=rtpmap:96 opus/48000/2', 'a=rtpmap:101 telephone-event/8000']);
      assert.throws(
        () => local().createAnswer(offer),
        rejectsWith('no-common-codec', /^the remote party offered no codec this line accepts: it offered G722, opus, telephone-event; this line accepts PCMU, PCMA$/),
      );
      assert.throws(() => local({ codecs: ['PCMA'] }).createAnswer(offerWith(['m=audio 5000 RTP/AVP 0'])), rejectsWith('no-common-codec', /offered PCMU; this line accepts PCMA/));
      // PCMU at another rate or with two channels is not G.711 as we speak it.
      assert.throws(() => local().createAnswer(offerWith(['m=audio 5000 RTP/AVP 97', 'a=rtpmap:97 PCMU/16000'])), rejectsWith('no-common-codec', /PCMU/));
      assert.throws(() => local().createAnswer(offerWith(['m=audio 5000 RTP/AVP 97', 'a=rtpmap:97 PCMA/8000/2'])), rejectsWith('no-common-codec', /PCMA/));
    });

    it('accepts G.711 on a dynamic payload type, and answers with it', function () {
      const { sdp: text, media } = local().createAnswer(offerWith(['m=audio 5000 RTP/AVP 110', 'a=rtpmap:110 pcmu/8000']));
      assert.equal(media.codec, 'PCMU');
      assert.equal(media.payloadType, 110);
      assert.match(text, /m=audio 40000 RTP\/AVP 110\r\na=rtpmap:110 PCMU\/8000\r\n/);
    });

    it('refuses an offer whose audio is declined', function () {
      assert.throws(() => local().createAnswer(offerWith(['m=audio 0 RTP/AVP 0'])), rejectsWith('declined', /declined the audio stream/));
    });
  });

  describe('reading the answer to our offer', function () {
    it('takes their codec, address and telephone-event type', function () {
      const ours = local();
      ours.createOffer();
      const media = ours.acceptAnswer(offerWith(['m=audio 6000 RTP/AVP 8 101', 'a=rtpmap:101 telephone-event/8000', 'a=ptime:30']));
      assert.deepEqual(media, {
        codec: 'PCMA',
        payloadType: 8,
        telephoneEventPt: 101,
        remote: { address: '203.0.113.5', port: 6000 },
        direction: 'sendrecv',
        remoteHold: false,
        remotePtime: 30,
        srtp: null,
      });
    });

    it('our hold (sendonly) answered recvonly keeps us sending; answered inactive stops us', function () {
      const ours = local();
      ours.createOffer('sendonly');
      assert.equal(ours.acceptAnswer(offerWith(['m=audio 6000 RTP/AVP 0', 'a=recvonly'])).direction, 'sendonly');
      const media = ours.acceptAnswer(offerWith(['m=audio 6000 RTP/AVP 0', 'a=inactive']));
      assert.equal(media.direction, 'inactive');
      assert.equal(media.remoteHold, true, 'they hold us too');
    });

    it('refuses a declined or unusable answer, and an answer without an offer', function () {
      const ours = local({ telephoneEventPt: null });
      assert.throws(() => ours.acceptAnswer(ASTERISK_OFFER), /needs an offer made with createOffer\(\) first/);
      ours.createOffer();
      assert.throws(() => ours.acceptAnswer(offerWith(['m=audio 0 RTP/AVP 0'])), rejectsWith('declined', /port 0/));
      assert.throws(() => ours.acceptAnswer(offerWith(['m=audio 6000 RTP/AVP 9'])), rejectsWith('no-common-codec', /G722/));
      assert.equal(ours.acceptAnswer(ASTERISK_OFFER).telephoneEventPt, null, 'we did not offer RFC 4733');
    });
  });

  describe('round trip (fast-check)', function () {
    const config = fc.record({
      address: fc.ipV4().filter((a) => a !== '0.0.0.0'),
      port: fc.integer({ min: 1, max: 65535 }),
      codecs: fc.constantFrom<G711Codec[]>(['PCMU'], ['PCMA'], ['PCMU', 'PCMA'], ['PCMA', 'PCMU']),
      telephoneEventPt: fc.option(fc.integer({ min: 96, max: 127 })),
    });

    it('reads back our own offer exactly, and two LocalSdps agree on codec, events and directions', function () {
      fc.assert(
        fc.property(config, config, fc.constantFrom(...MEDIA_DIRECTIONS), fc.constantFrom(...MEDIA_DIRECTIONS), (a, b, offered, wanted) => {
          const offerer = new LocalSdp(a);
          const answerer = new LocalSdp(b);
          const offer = offerer.createOffer(offered);
          const read = parseRemoteSdp(offer);
          assert.equal(read.address, a.address);
          assert.equal(read.port, a.port);
          assert.deepEqual(
            read.codecs.map((c) => c.name),
            [...a.codecs, ...(a.telephoneEventPt === null ? [] : ['telephone-event'])],
          );
          assert.equal(read.telephoneEventPt, a.telephoneEventPt);
          assert.equal(read.direction, offered);
          assert.equal(read.ptime, 20);

          const common = b.codecs.find((c) => a.codecs.includes(c));
          if (common === undefined) {
            assert.throws(() => answerer.createAnswer(offer, wanted), SdpNegotiationError);
            return;
          }
          const answer = answerer.createAnswer(offer, wanted);
          assert.equal(answer.media.codec, common);
          assert.deepEqual(answer.media.remote, { address: a.address, port: a.port });
          assert.equal(answer.media.direction, answerDirection(wanted, offered));
          const events = a.telephoneEventPt !== null && b.telephoneEventPt !== null ? a.telephoneEventPt : null;
          assert.equal(answer.media.telephoneEventPt, events);

          const back = offerer.acceptAnswer(answer.sdp);
          assert.equal(back.codec, common);
          assert.equal(back.telephoneEventPt, events);
          assert.deepEqual(back.remote, { address: b.address, port: b.port });
          assert.equal(back.direction, answerDirection(offered, answer.media.direction));
        }),
        { numRuns: 300 },
      );
    });
  });
});
