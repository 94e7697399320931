import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { RtpPortAllocator, RtpPortPair } from '../../lib/sip/rtp-port-allocator';
import { RtpPortsExhaustedError } from '../../lib/sip/rtp-ports-exhausted-error';
import { LOCALHOST, testAllocator } from '../helpers/rtp-harness';

/** Binds a socket the way another program would, to hold a port. */
function occupy(port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(port, LOCALHOST, () => resolve(s));
  });
}

const closeSocket = (s: dgram.Socket): Promise<void> => new Promise((resolve) => s.close(() => resolve()));

/** Four ports (two pairs) at a random even base of 40000–40996. */
function smallRange(): { rtpPortMin: number; rtpPortMax: number } {
  const base = 40000 + 2 * randomInt(0, 498);
  return { rtpPortMin: base, rtpPortMax: base + 3 };
}

describe('RtpPortAllocator', function () {
  const held: Array<{ close(): Promise<void> } | dgram.Socket> = [];
  afterEach(async () => {
    for (const h of held.splice(0)) await (h instanceof dgram.Socket ? closeSocket(h) : h.close());
  });
  const keep = <T extends RtpPortPair | dgram.Socket>(x: T): T => {
    held.push(x);
    return x;
  };

  it('checks its options with TypeErrors that name them', function () {
    assert.throws(() => new RtpPortAllocator({ rtpPortMin: 80, rtpPortMax: 2000 }), /"rtpPortMin" must be a whole number from 1024 to 65534, got number 80/);
    assert.throws(() => new RtpPortAllocator({ rtpPortMin: 10000, rtpPortMax: 70000 }), /"rtpPortMax" must be a whole number from 1025 to 65535/);
    assert.throws(() => new RtpPortAllocator({ rtpPortMin: 10000 } as never), /"rtpPortMax"/);
    assert.throws(() => new RtpPortAllocator({ rtpPortMin: 10000, rtpPortMax: 9000 }), /"rtpPortMax" must leave room for an even RTP port and its RTCP port/);
    assert.throws(() => new RtpPortAllocator({ rtpPortMin: 10001, rtpPortMax: 10002 }), /"rtpPortMax" must leave room/);
    assert.throws(() => new RtpPortAllocator({ rtpPortMin: 10000, rtpPortMax: 10001, address: 'localhost' }), /"address" must be an IPv4 address/);
    assert.throws(() => new RtpPortAllocator(null as never), /RtpPortAllocator options must be an object/);
    assert.equal(new RtpPortAllocator({ rtpPortMin: 10001, rtpPortMax: 10004 }).capacity, 1, 'from the first even port');
    assert.equal(new RtpPortAllocator({ rtpPortMin: 10000, rtpPortMax: 10999 }).capacity, 500);
  });

  it('binds an even RTP port and the RTCP port above it, inside the range, on the address', async function () {
    const allocator = testAllocator(8);
    const pairs = await Promise.all(Array.from({ length: 8 }, () => allocator.allocate().then(keep)));
    const ports = pairs.map((p) => p.rtpPort);
    assert.equal(new Set(ports).size, 8, 'concurrent allocations get different ports');
    for (const p of pairs) {
      assert.equal(p.rtpPort % 2, 0);
      assert.equal(p.rtcpPort, p.rtpPort + 1);
      assert.ok(p.rtpPort >= allocator.rtpPortMin && p.rtcpPort <= allocator.rtpPortMax);
      assert.deepEqual(p.rtp.address(), { address: LOCALHOST, family: 'IPv4', port: p.rtpPort });
      assert.deepEqual(p.rtcp.address(), { address: LOCALHOST, family: 'IPv4', port: p.rtcpPort });
      assert.equal(p.address, LOCALHOST);
    }
    assert.equal(allocator.inUse, 8);
  });

  it('says so clearly when the range is exhausted, and reuses a pair once it is given back', async function () {
    const allocator = new RtpPortAllocator({ ...smallRange(), address: LOCALHOST });
    const a = keep(await allocator.allocate());
    const b = keep(await allocator.allocate());
    await assert.rejects(allocator.allocate(), (err: unknown) => {
      assert.ok(err instanceof RtpPortsExhaustedError);
      assert.equal(err.code, 'ENOPORTS');
      assert.match(err.message, /^no free RTP port in \d+-\d+ on 127\.0\.0\.1: all 2 port pairs are in use \(2 by calls of this line, 0 by other programs\)/);
      assert.match(err.message, /widen the RTP port range/);
      return true;
    });
    const freed = a.rtpPort;
    const closing = a.close();
    assert.equal(a.closed, true);
    assert.equal(a.close(), closing, 'closing twice is the same');
    await closing;
    assert.equal(allocator.inUse, 1);
    const c = keep(await allocator.allocate());
    assert.equal(c.rtpPort, freed);
    assert.notEqual(c.rtpPort, b.rtpPort);
  });

  it('skips pairs whose RTP or RTCP port another program holds', async function () {
    const range = smallRange();
    const allocator = new RtpPortAllocator({ ...range, address: LOCALHOST });
    // The first pair's RTCP port is taken: the whole pair is skipped.
    keep(await occupy(range.rtpPortMin + 1));
    const only = keep(await allocator.allocate());
    assert.equal(only.rtpPort, range.rtpPortMin + 2);
    assert.equal(allocator.inUse, 1);
    await assert.rejects(allocator.allocate(), /all 2 port pairs are in use \(1 by calls of this line, 1 by other programs\)/);
    // The RTP port it bound first was given back when the RTCP port failed.
    const probe = await occupy(range.rtpPortMin);
    await closeSocket(probe);
  });

  it('gives back a pair whose sockets close, so another allocator can bind it', async function () {
    const range = smallRange();
    const one = new RtpPortAllocator({ ...range, address: LOCALHOST });
    const pairs = [await one.allocate(), await one.allocate()];
    await Promise.all(pairs.map((p) => p.close()));
    const two = new RtpPortAllocator({ ...range, address: LOCALHOST });
    keep(await two.allocate());
    keep(await two.allocate());
  });

  it('rejects with the socket error when the address is not this machine’s', async function () {
    const allocator = new RtpPortAllocator({ ...smallRange(), address: '192.0.2.1' });
    await assert.rejects(allocator.allocate(), (err: NodeJS.ErrnoException) => err.code === 'EADDRNOTAVAIL');
    assert.equal(allocator.inUse, 0);
  });
});
