import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { LocalSdp, parseRemoteSdp } from '../../lib/sip/sdp';
import { SdpNegotiationError } from '../../lib/sip/sdp-negotiation-error';
import type { MediaEncryption } from '../../lib/sip/sdes';

const sdp = (...lines: string[]): string => lines.join('\r\n') + '\r\n';
const key = (): string => randomBytes(30).toString('base64');

/** An offer or answer from a peer at 192.0.2.20, with the given protocol and attribute lines. */
const peer = (protocol: string, ...attributes: string[]): string =>
  sdp('v=0', 'o=- 1 1 IN IP4 192.0.2.20', 's=-', 'c=IN IP4 192.0.2.20', 't=0 0', `m=audio 30000 ${protocol} 0 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', ...attributes, 'a=sendrecv');

const local = (encryption: MediaEncryption): LocalSdp => new LocalSdp({ address: '192.0.2.10', port: 20000, encryption });

/** The crypto lines of an SDP we wrote: tag, suite, key bytes. */
function cryptoOf(text: string): { tag: number; suite: string; key: Buffer }[] {
  return [...text.matchAll(/^a=crypto:(\d+) (\S+) inline:(\S+)\r$/gm)].map((m) => ({ tag: Number(m[1]), suite: m[2], key: Buffer.from(m[3], 'base64') }));
}

function refused(run: () => unknown, pattern: RegExp): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof SdpNegotiationError, String(err));
    assert.equal(err.statusCode, 488);
    assert.equal(err.problem, 'encryption');
    assert.match(err.message, pattern);
    return true;
  });
}

describe('SDES (RFC 4568) in the SDP offer/answer, by media encryption setting', () => {
  describe('our offers', () => {
    it('none: RTP/AVP without crypto lines', () => {
      const offer = local('none').createOffer();
      assert.match(offer, /^m=audio 20000 RTP\/AVP 0 8 101\r$/m);
      assert.deepEqual(cryptoOf(offer), []);
    });

    it('optional: RTP/AVP with both suites (tags 1 and 2, _80 first), a fresh 30-byte key each; required: the same on RTP/SAVP', () => {
      const optional = local('optional').createOffer();
      const required = local('required').createOffer();
      assert.match(optional, /^m=audio 20000 RTP\/AVP /m);
      assert.match(required, /^m=audio 20000 RTP\/SAVP /m);
      for (const offer of [optional, required]) {
        const lines = cryptoOf(offer);
        assert.deepEqual(lines.map((c) => [c.tag, c.suite, c.key.length]), [[1, 'AES_CM_128_HMAC_SHA1_80', 30], [2, 'AES_CM_128_HMAC_SHA1_32', 30]]);
        assert.ok(!lines[0].key.equals(lines[1].key), 'one key per line');
      }
      assert.notDeepEqual(cryptoOf(optional)[0].key, cryptoOf(required)[0].key, 'each call leg has its own keys');
    });

    it('a re-offer keeps the keys (and so the session version)', () => {
      const ours = local('required');
      const first = ours.createOffer();
      const again = ours.createOffer();
      assert.deepEqual(cryptoOf(again), cryptoOf(first));
      assert.equal(ours.sessionVersion, 1);
    });
  });

  describe('their answer to our offer', () => {
    it('optional: an answer taking tag 2 (_32) gives SRTP with our tag-2 key and theirs', () => {
      const ours = local('optional');
      const offered = cryptoOf(ours.createOffer());
      const theirs = key();
      const media = ours.acceptAnswer(peer('RTP/AVP', `a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:${theirs}`));
      assert.deepEqual(media.srtp, { suite: 'AES_CM_128_HMAC_SHA1_32', tag: 2, local: offered[1].key, remote: Buffer.from(theirs, 'base64') });
    });

    it('optional: an answer without crypto lines is plain RTP', () => {
      const ours = local('optional');
      ours.createOffer();
      assert.equal(ours.acceptAnswer(peer('RTP/AVP')).srtp, null);
    });

    it('required: an answer without a key, or with a tag or suite we did not offer, ends the exchange with a clear error', () => {
      const ours = local('required');
      ours.createOffer();
      refused(() => ours.acceptAnswer(peer('RTP/SAVP')), /answered without an SRTP key.*required/);
      refused(() => ours.acceptAnswer(peer('RTP/SAVP', `a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:${key()}`)), /did not offer \(tag 7/);
      refused(() => ours.acceptAnswer(peer('RTP/SAVP', `a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:${key()}`)), /did not offer/);
    });

    it('none: an RTP/SAVP answer to our plain offer is refused', () => {
      const ours = local('none');
      ours.createOffer();
      refused(() => ours.acceptAnswer(peer('RTP/SAVP', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${key()}`)), /encrypted audio \(RTP\/SAVP\)/);
    });
  });

  describe('our answer to their offer', () => {
    it('required: RTP/SAVP offering AES_256 (unknown), _32 and _80: we answer the first we support (_32) with its tag, our key, on RTP/SAVP', () => {
      const ours = local('required');
      const theirs = key();
      const { sdp: answer, media } = ours.createAnswer(
        peer('RTP/SAVP', `a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:${randomBytes(46).toString('base64')}`, `a=crypto:5 AES_CM_128_HMAC_SHA1_32 inline:${theirs}`, `a=crypto:9 AES_CM_128_HMAC_SHA1_80 inline:${key()}`),
      );
      assert.match(answer, /^m=audio 20000 RTP\/SAVP 0 101\r$/m);
      const lines = cryptoOf(answer);
      assert.deepEqual(lines.map((c) => [c.tag, c.suite]), [[5, 'AES_CM_128_HMAC_SHA1_32']]);
      assert.deepEqual(media.srtp, { suite: 'AES_CM_128_HMAC_SHA1_32', tag: 5, local: lines[0].key, remote: Buffer.from(theirs, 'base64') });
    });

    it('optional: a best-effort offer (RTP/AVP with crypto) is answered RTP/AVP with crypto; a plain one plainly', () => {
      const ours = local('optional');
      const encrypted = ours.createAnswer(peer('RTP/AVP', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${key()}`));
      assert.match(encrypted.sdp, /^m=audio 20000 RTP\/AVP /m);
      assert.equal(cryptoOf(encrypted.sdp).length, 1);
      assert.equal(encrypted.media.srtp?.suite, 'AES_CM_128_HMAC_SHA1_80');
      const plain = local('optional').createAnswer(peer('RTP/AVP'));
      assert.deepEqual([cryptoOf(plain.sdp), plain.media.srtp], [[], null]);
    });

    it('required: an offer without a usable key is refused (488), naming what was offered', () => {
      refused(() => local('required').createAnswer(peer('RTP/AVP')), /no SRTP key this line can use \(suites offered: none.*required/);
      refused(() => local('required').createAnswer(peer('RTP/SAVP', `a=crypto:1 AEAD_AES_128_GCM inline:${key()}`)), /suites offered: AEAD_AES_128_GCM/);
      refused(() => local('optional').createAnswer(peer('RTP/SAVP')), /no SRTP key this line can use/);
    });

    it('none: an RTP/SAVP offer is refused (488); a best-effort offer is answered plainly, its crypto lines ignored (even broken ones)', () => {
      refused(() => local('none').createAnswer(peer('RTP/SAVP', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${key()}`)), /encryption is off/);
      const { sdp: answer, media } = local('none').createAnswer(peer('RTP/AVP', 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:broken'));
      assert.deepEqual([cryptoOf(answer), media.srtp], [[], null]);
    });

    it('our key as answerer is theirs as offerer: two LocalSdps agree on the same keys crossed', () => {
      const a = local('optional');
      const b = local('required');
      const answer = b.createAnswer(a.createOffer());
      const media = a.acceptAnswer(answer.sdp);
      assert.ok(media.srtp && answer.media.srtp);
      assert.deepEqual([media.srtp.local, media.srtp.remote], [answer.media.srtp.remote, answer.media.srtp.local]);
      assert.equal(media.srtp.suite, 'AES_CM_128_HMAC_SHA1_80');
    });
  });

  describe('crypto lines read strictly', () => {
    const offer = (...lines: string[]): string => peer('RTP/SAVP', ...lines);
    for (const [what, line, why] of [
      ['a key of 29 bytes', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${randomBytes(29).toString('base64')}`, /30 bytes \(40 characters\) of base64/],
      ['a key that is not base64', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${'!'.repeat(40)}`, /30 bytes/],
      ['no inline: method', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 ${key()}`, /inline:<base64/],
      ['a lifetime that is not a number', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${key()}|forever`, /lifetime/],
      ['a tag of 10 digits', `a=crypto:1234567890 AES_CM_128_HMAC_SHA1_80 inline:${key()}`, /tag must be 1 to 9 digits/],
      ['a line sdp-transform cannot read', 'a=crypto:1 AES_CM_128_HMAC_SHA1_80', /cannot be read/],
    ] as const) {
      it(`${what}: 488 with the line named`, () => {
        refused(() => local('optional').createAnswer(offer(line)), why);
      });
    }

    it('two lines with one tag: 488', () => {
      refused(() => local('optional').createAnswer(offer(`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${key()}`, `a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:${key()}`)), /tag 1 is used twice/);
    });

    it('a lifetime (2^31 or digits) is accepted; an MKI, several keys or session parameters pass the line over (not implemented)', () => {
      const k = key();
      assert.deepEqual(local('required').createAnswer(offer(`a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:${k}|2^31`)).media.srtp?.remote, Buffer.from(k, 'base64'));
      assert.equal(local('required').createAnswer(offer(`a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:${k}|1048576`)).media.srtp?.tag, 3);
      for (const skipped of [
        `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${k}|2^20|1:4`,
        `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${k}|2^20|1:4;inline:${key()}|2^20|2:4`,
        `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${k} UNENCRYPTED_SRTP`,
      ]) {
        refused(() => local('required').createAnswer(offer(skipped)), /no SRTP key this line can use/);
        const fallback = local('required').createAnswer(offer(skipped, `a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:${k}`));
        assert.equal(fallback.media.srtp?.tag, 2, skipped);
      }
    });

    it('whatever the crypto lines say, reading them throws nothing but SdpNegotiationError', () => {
      const token = fc.stringMatching(/^[\x21-\x7e]{0,60}$/);
      fc.assert(
        fc.property(fc.array(fc.tuple(token, token, token), { maxLength: 4 }), (lines) => {
          const text = offer(...lines.map(([a, b, c]) => `a=crypto:${a} ${b} ${c}`));
          try {
            local('optional').createAnswer(parseRemoteSdp(text));
          } catch (err) {
            if (!(err instanceof SdpNegotiationError)) throw err;
          }
        }),
        { numRuns: 300 },
      );
    });
  });
});
