import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RtpPacket, looksLikeRtcp, parseRtp, serializeRtp } from '../../lib/media/rtp-packet';

const u32 = fc.integer({ min: 0, max: 0xffffffff });

/** Any valid packet. */
const packets: fc.Arbitrary<RtpPacket> = fc
  .record({
    marker: fc.boolean(),
    payloadType: fc.integer({ min: 0, max: 127 }),
    sequenceNumber: fc.integer({ min: 0, max: 0xffff }),
    timestamp: u32,
    ssrc: u32,
    csrc: fc.array(u32, { maxLength: 15 }),
    extension: fc.option(
      fc.record({
        profile: fc.integer({ min: 0, max: 0xffff }),
        data: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 12 }).map((a) => Buffer.from(a.slice(0, a.length - (a.length % 4)))),
      }),
      { nil: undefined },
    ),
    padding: fc.integer({ min: 0, max: 255 }),
    payload: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
  })
  .map((p) => {
    const { extension, ...rest } = p;
    const packet: RtpPacket = { version: 2, ...rest };
    if (extension) packet.extension = { profile: extension.profile, data: extension.data };
    return packet;
  });

describe('RTP packets', () => {
  it('parses a G.711 packet captured from a softphone', () => {
    const bytes = Buffer.from('80e1a5f2000109c0deadbeef' + 'ff'.repeat(160), 'hex');
    const p = parseRtp(bytes);
    assert.ok(p);
    assert.equal(p.version, 2);
    assert.equal(p.marker, true);
    assert.equal(p.payloadType, 97);
    assert.equal(p.sequenceNumber, 0xa5f2);
    assert.equal(p.timestamp, 0x109c0);
    assert.equal(p.ssrc, 0xdeadbeef);
    assert.deepEqual(p.csrc, []);
    assert.equal(p.padding, 0);
    assert.equal(p.extension, undefined);
    assert.equal(p.payload.length, 160);
  });

  it('parses CSRCs, an RFC 8285 extension and padding', () => {
    const bytes = Buffer.concat([
      Buffer.from([0xb2, 0x08, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]), // P, X, CC=2, PT 8
      Buffer.from([0, 0, 0, 4, 0, 0, 0, 5]),
      Buffer.from([0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0]),
      Buffer.from([1, 2, 3]),
      Buffer.from([0, 0, 3]),
    ]);
    const p = parseRtp(bytes);
    assert.ok(p);
    assert.deepEqual(p.csrc, [4, 5]);
    assert.deepEqual(p.extension, { profile: 0xbede, data: Buffer.from([0x10, 0xaa, 0, 0]) });
    assert.equal(p.padding, 3);
    assert.deepEqual([...p.payload], [1, 2, 3]);
    assert.deepEqual(serializeRtp(p), bytes);
  });

  it('refuses what is not RTP version 2 or does not fit', () => {
    const ok = serializeRtp({ payloadType: 0, sequenceNumber: 1, timestamp: 2, ssrc: 3, payload: Buffer.from([1]) });
    assert.ok(parseRtp(ok));
    assert.equal(parseRtp(ok.subarray(0, 11)), null, 'shorter than the fixed header');
    assert.equal(parseRtp(Buffer.from([0x40, ...ok.subarray(1)])), null, 'version 1');
    assert.equal(parseRtp(Buffer.from([0x83, ...ok.subarray(1)])), null, 'three CSRCs announced, none there');
    assert.equal(parseRtp(Buffer.from([0x90, ...ok.subarray(1)])), null, 'an extension announced, none there');
    assert.equal(parseRtp(Buffer.from([0xa0, ...ok.subarray(1, 12), 0])), null, 'padding count 0');
    assert.equal(parseRtp(Buffer.from([0xa0, ...ok.subarray(1, 12), 1, 9])), null, 'padding longer than the payload');
    assert.equal(parseRtp(undefined as unknown as Buffer), null);
  });

  it('keeps the payload as a view of the datagram (no copy)', () => {
    const bytes = serializeRtp({ payloadType: 0, sequenceNumber: 1, timestamp: 2, ssrc: 3, payload: Buffer.from([7]) });
    const p = parseRtp(bytes);
    assert.equal(p?.payload.buffer, bytes.buffer);
  });

  it('round-trips any packet (fast-check)', () => {
    fc.assert(
      fc.property(packets, (p) => {
        const bytes = serializeRtp(p);
        assert.deepEqual(parseRtp(bytes), p);
        assert.deepEqual(serializeRtp(parseRtp(bytes) as RtpPacket), bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on random bytes, and whatever it accepts re-serializes to the same bytes less padding content', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (a) => {
        const bytes = Buffer.from(a);
        const p = parseRtp(bytes);
        if (p) {
          const again = serializeRtp(p);
          assert.equal(again.length, bytes.length);
          assert.deepEqual(again.subarray(0, bytes.length - p.padding), bytes.subarray(0, bytes.length - p.padding));
        }
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 12, maxLength: 60 }), (a) => {
        a[0] = 0x80 | (a[0] & 0x3f); // version 2, the rest random
        parseRtp(Buffer.from(a));
      }),
      { numRuns: 2000 },
    );
  });

  it('names the field out of range when serializing', () => {
    const base = { payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0, payload: Buffer.alloc(0) };
    assert.throws(() => serializeRtp({ ...base, payloadType: 128 }), /"payloadType" must be a whole number from 0 to 127/);
    assert.throws(() => serializeRtp({ ...base, sequenceNumber: 65536 }), /"sequenceNumber"/);
    assert.throws(() => serializeRtp({ ...base, timestamp: -1 }), /"timestamp"/);
    assert.throws(() => serializeRtp({ ...base, csrc: new Array(16).fill(0) }), /at most 15/);
    assert.throws(() => serializeRtp({ ...base, extension: { profile: 1, data: Buffer.alloc(3) } }), /multiple of 4/);
    assert.throws(() => serializeRtp({ ...base, payload: 'x' as unknown as Buffer }), /"payload" must be a Buffer/);
  });

  it('tells RTCP multiplexed on the RTP port from RTP (RFC 5761)', () => {
    assert.equal(looksLikeRtcp(Buffer.from([0x81, 200, 0, 6, 0, 0, 0, 1])), true, 'SR');
    assert.equal(looksLikeRtcp(Buffer.from([0x80, 0x00, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0])), false);
    assert.equal(looksLikeRtcp(Buffer.from([0x80, 0xe5, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0])), false, 'marker + PT 101');
  });
});
