import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { serializeRtp } from '../../lib/media/rtp-packet';
import { aesCm, deriveSessionKey, estimateRoc, packetIv, SrtpContext, SrtpSuite } from '../../lib/sip/srtp';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const rtp = (seq: number, ssrc = 0x11223344, payload: Buffer = Buffer.alloc(160, seq & 0xff)): Buffer =>
  serializeRtp({ payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc, payload });

/** A sender and a receiver sharing one master key, as the two ends of one SDES direction. */
function pair(suite: SrtpSuite = 'AES_CM_128_HMAC_SHA1_80'): { tx: SrtpContext; rx: SrtpContext } {
  const key = randomBytes(30);
  return { tx: new SrtpContext(suite, key), rx: new SrtpContext(suite, key) };
}

describe('SRTP (RFC 3711) on node:crypto', () => {
  describe('the RFC 3711 Appendix B known answers', () => {
    it('B.2 AES-CM: the keystream of session key 2B7E…, salt F0F1…FD, SSRC 0, index 0 at blocks 0-2 and FEFF-FF01', () => {
      const key = hex('2B7E151628AED2A6ABF7158809CF4F3C');
      const iv = packetIv(hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD'), 0, 0);
      assert.equal(iv.toString('hex').toUpperCase(), 'F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000');
      const stream = aesCm(key, iv, Buffer.alloc(0xff02 * 16));
      const block = (n: number): string => stream.subarray(n * 16, n * 16 + 16).toString('hex').toUpperCase();
      assert.deepEqual(
        [block(0), block(1), block(2), block(0xfeff), block(0xff00), block(0xff01)],
        [
          'E03EAD0935C95E80E166B16DD92B4EB4',
          'D23513162B02D0F72A43A2FE4A5F97AB',
          '41E95B3BB0A2E8DD477901E4FCA894C0',
          'EC8CDF7398607CB0F2D21675EA9EA1E4',
          '362B7C3C6773516318A077D7FC5073AE',
          '6A2CC3787889374FBEB4C81B17BA6C44',
        ],
      );
    });

    it('B.3 key derivation: master key E1F9…, salt 0EC6…: cipher key, salt and the 94-byte auth key', () => {
      const key = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
      const salt = hex('0EC675AD498AFEEBB6960B3AABE6');
      assert.equal(deriveSessionKey(key, salt, 0, 16).toString('hex').toUpperCase(), 'C61E7A93744F39EE10734AFE3FF7A087');
      assert.equal(deriveSessionKey(key, salt, 2, 14).toString('hex').toUpperCase(), '30CBBC08863D8C85D49DB34A9AE1');
      assert.equal(
        deriveSessionKey(key, salt, 1, 94).toString('hex').toUpperCase(),
        'CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE' +
          'E049646C43D9327AD175578EF72270986371C10C9A369AC2F94A8C5FBCDDDC25' +
          '6D6E919A48B610EF17C2041E474035766B68642C59BBFC2F34DB60DBDFB2',
      );
    });

    it('the packet IV puts the SSRC at bytes 4-7 and the 48-bit index at bytes 8-13 (RFC 3711 §4.1.1)', () => {
      const iv = packetIv(Buffer.alloc(14), 0xdeadbeef, 0x123456789abc);
      assert.equal(iv.toString('hex'), '00000000deadbeef123456789abc0000');
    });
  });

  describe('protect / unprotect', () => {
    for (const [suite, tag] of [['AES_CM_128_HMAC_SHA1_80', 10], ['AES_CM_128_HMAC_SHA1_32', 4]] as const) {
      it(`${suite}: the payload is encrypted, the header kept, a ${tag}-byte tag added; the receiver gets the packet back`, () => {
        const { tx, rx } = pair(suite);
        const plain = rtp(1000);
        const sealed = tx.protectRtp(plain);
        assert.equal(sealed.length, plain.length + tag);
        assert.deepEqual(sealed.subarray(0, 12), plain.subarray(0, 12));
        assert.notDeepEqual(sealed.subarray(12, plain.length), plain.subarray(12));
        assert.deepEqual(rx.unprotectRtp(sealed), plain);
      });
    }

    it('a wrong tag, a changed payload or header, another key, a truncated packet: dropped, and the next good packet still passes', () => {
      const { tx, rx } = pair();
      const good = tx.protectRtp(rtp(10));
      const badTag = Buffer.from(good);
      badTag[badTag.length - 1] ^= 1;
      const badPayload = Buffer.from(good);
      badPayload[20] ^= 0x80;
      const badHeader = Buffer.from(good);
      badHeader[1] ^= 0x08; // payload type 0 → 8
      const other = new SrtpContext('AES_CM_128_HMAC_SHA1_80', randomBytes(30)).protectRtp(rtp(10));
      assert.deepEqual([badTag, badPayload, badHeader, other].map((p) => rx.unprotectRtp(p)), ['auth', 'auth', 'auth', 'auth']);
      assert.equal(rx.unprotectRtp(good.subarray(0, 15)), 'malformed');
      assert.equal(rx.unprotectRtp(Buffer.from('not rtp')), 'malformed');
      assert.deepEqual(rx.unprotectRtp(good), rtp(10));
    });

    it('replay: a packet seen already, or older than the 128-packet window, is dropped; a late one inside the window is not', () => {
      const { tx, rx } = pair();
      const sealed = Array.from({ length: 300 }, (_, i) => tx.protectRtp(rtp(i)));
      assert.ok(Buffer.isBuffer(rx.unprotectRtp(sealed[5])));
      assert.equal(rx.unprotectRtp(sealed[5]), 'replay');
      assert.ok(Buffer.isBuffer(rx.unprotectRtp(sealed[200])));
      assert.ok(Buffer.isBuffer(rx.unprotectRtp(sealed[100])), '100 packets late: inside the window');
      assert.equal(rx.unprotectRtp(sealed[100]), 'replay');
      assert.equal(rx.unprotectRtp(sealed[50]), 'replay', '150 packets late: outside the window');
      assert.ok(Buffer.isBuffer(rx.unprotectRtp(sealed[299])));
    });

    it('the rollover counter: a stream across the 65535 → 0 wrap (and reordered around it) keeps decrypting', () => {
      const { tx, rx } = pair();
      const seqs = Array.from({ length: 40 }, (_, i) => (65520 + i) & 0xffff);
      const sealed = seqs.map((s) => tx.protectRtp(rtp(s)));
      // Two packets swapped across the wrap: 65535 arrives after 0.
      const order = sealed.map((_, i) => i);
      const wrap = seqs.indexOf(0);
      [order[wrap - 1], order[wrap]] = [order[wrap], order[wrap - 1]];
      for (const i of order) assert.deepEqual(rx.unprotectRtp(sealed[i]), rtp(seqs[i]), `seq ${seqs[i]}`);
      // The second time round the sequence space (ROC 1), packets with the same sequence numbers differ.
      assert.notDeepEqual(sealed[wrap], new SrtpContext('AES_CM_128_HMAC_SHA1_80', randomBytes(30)).protectRtp(rtp(0)));
    });

    it('an unauthenticated packet moves neither the highest index nor the replay window', () => {
      const { tx, rx } = pair();
      const sealed = new Map([40000, 40001, 40005, 40300].map((seq) => [seq, tx.protectRtp(rtp(seq))]));
      assert.ok(Buffer.isBuffer(rx.unprotectRtp(sealed.get(40000) as Buffer)));
      for (const seq of [40005, 40300]) {
        const forged = Buffer.from(sealed.get(seq) as Buffer);
        forged[forged.length - 1] ^= 1;
        assert.equal(rx.unprotectRtp(forged), 'auth');
      }
      // Had the forged 40300 moved the window, 40001 would be too old; had 40005 been marked, a replay.
      assert.ok(Buffer.isBuffer(rx.unprotectRtp(sealed.get(40001) as Buffer)));
      assert.ok(Buffer.isBuffer(rx.unprotectRtp(sealed.get(40005) as Buffer)));
    });

    it('estimateRoc follows RFC 3711 Appendix A', () => {
      assert.deepEqual(
        [estimateRoc(3, 100, 101), estimateRoc(3, 100, 65000), estimateRoc(3, 65000, 10), estimateRoc(3, 65000, 64000), estimateRoc(0, 65535, 0)],
        [3, 2, 4, 3, 1],
      );
    });

    it('each SSRC has its own state (two streams, interleaved)', () => {
      const { tx, rx } = pair();
      for (let i = 0; i < 5; i++) {
        for (const ssrc of [1, 2]) assert.deepEqual(rx.unprotectRtp(tx.protectRtp(rtp(i, ssrc))), rtp(i, ssrc));
      }
    });

    it('SRTCP: encrypted after 8 bytes, E-flag and index, 80-bit tag even on the _32 suite; replay and bad tag dropped', () => {
      const { tx, rx } = pair('AES_CM_128_HMAC_SHA1_32');
      // A receiver report: V=2, RC=0, PT 201, length 1, SSRC.
      const rr = hex('80c90001 cafebabe');
      const sr = Buffer.concat([hex('80c80006 cafebabe'), randomBytes(20)]);
      const a = tx.protectRtcp(rr);
      const b = tx.protectRtcp(sr);
      assert.equal(a.length, rr.length + 4 + 10);
      assert.equal(b.readUInt32BE(b.length - 14), 0x80000001, 'E=1, index 1');
      assert.deepEqual(rx.unprotectRtcp(a), rr);
      assert.deepEqual(rx.unprotectRtcp(b), sr);
      assert.equal(rx.unprotectRtcp(b), 'replay');
      const bad = Buffer.from(tx.protectRtcp(sr));
      bad[10] ^= 1;
      assert.equal(rx.unprotectRtcp(bad), 'auth');
      assert.equal(rx.unprotectRtcp(Buffer.alloc(8)), 'malformed');
    });

    it('refuses a key that is not 30 bytes and a suite it does not know', () => {
      assert.throws(() => new SrtpContext('AES_CM_128_HMAC_SHA1_80', randomBytes(16)), /30 bytes/);
      assert.throws(() => new SrtpContext('AES_256_CM_HMAC_SHA1_80' as SrtpSuite, randomBytes(30)), /suite/);
    });
  });
});
