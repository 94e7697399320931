/**
 * The media worker's native RTP I/O (native/rtp-io.c through lib/media-engine/native-rtp-io.ts),
 * with real UDP sockets on 127.0.0.1: what a drain delivers (to whom, the bytes, the source, the
 * kernel's arrival time), what it drops, bursts larger than one recv call, detach (also from inside
 * a drain), sends, the addon's argument checks, and when the addon is used at all.
 * Under CI=true the addon must be built and load: CI must not run on the dgram fallback unnoticed.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { loadNativeRtpIo, NATIVE_RTP_IO_PATH, NativeRtpIo } from '../../lib/media-engine/native-rtp-io';
import { ManualClock, mediaScope, LOCALHOST } from '../helpers/rtp-harness';

/** Runs `f` with VOICE_RTP_IO set to `value` (unset: undefined), then restores it. */
function withRtpIoSetting<T>(value: string | undefined, f: () => T): T {
  const before = process.env.VOICE_RTP_IO;
  if (value === undefined) delete process.env.VOICE_RTP_IO;
  else process.env.VOICE_RTP_IO = value;
  try {
    return f();
  } finally {
    if (before === undefined) delete process.env.VOICE_RTP_IO;
    else process.env.VOICE_RTP_IO = before;
  }
}

interface Got {
  bytes: Buffer;
  address: string;
  port: number;
  arrivalMs: number;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const addonOf = (): ConstructorParameters<typeof NativeRtpIo>[0] => require(NATIVE_RTP_IO_PATH);

// Both ways the addon reads and writes: io_uring where the kernel has it (Linux 6.1), else recvmmsg and sendto.
for (const mode of ['io_uring', 'recvmmsg'] as const)
describe(`native RTP I/O (native/rtp-io.c), ${mode}`, function () {
  this.timeout(20_000);
  /** The addon as the media worker loads it, whatever VOICE_RTP_IO says for the rest of the run. */
  const loaded = withRtpIoSetting(undefined, loadNativeRtpIo);
  const sockets: dgram.Socket[] = [];
  const scope = mediaScope();

  /** A fresh NativeRtpIo of its own (the addon's; skipped, or failed under CI, when it is not built). */
  function freshIo(ctx: Mocha.Context): NativeRtpIo {
    if (!loaded.io) {
      if (process.env.CI === 'true') throw new Error(`CI must run the native RTP I/O, but: ${loaded.reason}`);
      // eslint-disable-next-line no-console
      console.warn(`      skipped: ${loaded.reason}`);
      ctx.skip();
    }
    const io = new NativeRtpIo(addonOf(), mode === 'io_uring');
    if (io.mode !== mode) {
      // Under CI=true this machine's kernel must have it (Linux 6.1, io_uring not switched off).
      if (process.env.CI === 'true') throw new Error(`CI must run the native RTP I/O through ${mode}, but: ${io.whyNotUring}`);
      // eslint-disable-next-line no-console
      console.warn(`      skipped: ${io.whyNotUring}`);
      ctx.skip();
    }
    return io;
  }

  async function bound(type: 'udp4' | 'udp6' = 'udp4'): Promise<dgram.Socket> {
    const s = dgram.createSocket(type);
    sockets.push(s);
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, type === 'udp4' ? LOCALHOST : '::1', () => resolve());
    });
    return s;
  }

  function send(from: dgram.Socket, bytes: Buffer, to: dgram.Socket): Promise<void> {
    return new Promise((resolve, reject) => from.send(bytes, to.address().port, LOCALHOST, (err) => (err ? reject(err) : resolve())));
  }

  function collector(): { got: Got[]; on: (bytes: Buffer, address: string, port: number, arrivalMs: number) => void } {
    const got: Got[] = [];
    return { got, on: (bytes, address, port, arrivalMs) => void got.push({ bytes, address, port, arrivalMs }) };
  }

  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  afterEach(async () => {
    for (const s of sockets.splice(0)) await new Promise<void>((resolve) => {
      try {
        s.close(() => resolve());
      } catch {
        resolve(); // closed by the test
      }
    });
  });

  it('loads where it is built (under CI=true it must: the reason when not)', function () {
    if (process.env.CI === 'true') assert.equal(loaded.reason, null, `CI must run the native RTP I/O, but: ${loaded.reason}`);
    if (!loaded.io) this.skip();
    assert.ok(loaded.io instanceof NativeRtpIo);
  });

  it('VOICE_RTP_IO=dgram: no addon, and the reason says so', function () {
    assert.deepEqual(withRtpIoSetting('dgram', loadNativeRtpIo), { io: null, reason: 'VOICE_RTP_IO=dgram is set' });
  });

  it('packets from several senders to several sockets reach the right handler with their bytes, source address and port', async function () {
    const io = freshIo(this);
    const receivers = [await bound(), await bound(), await bound()];
    const senders = [await bound(), await bound()];
    const seen = receivers.map(() => collector());
    const attached = receivers.map((r, i) => io.attach(r, seen[i].on));
    assert.ok(attached.every((a) => a !== null));
    assert.equal(io.attached, 3);
    for (let k = 0; k < 3; k++) {
      for (const [si, s] of senders.entries()) {
        for (const [ri, r] of receivers.entries()) await send(s, Buffer.from(`from ${si} to ${ri} #${k}`), r);
      }
    }
    await sleep(20);
    io.drain();
    for (const [ri, c] of seen.entries()) {
      const expected = senders.flatMap((s, si) => [0, 1, 2].map((k) => ({ text: `from ${si} to ${ri} #${k}`, address: LOCALHOST, port: s.address().port })));
      const got = c.got.map((g) => ({ text: g.bytes.toString(), address: g.address, port: g.port }));
      const key = (x: { text: string }): string => x.text;
      assert.deepEqual([...got].sort((a, b) => key(a).localeCompare(key(b))), [...expected].sort((a, b) => key(a).localeCompare(key(b))), `receiver ${ri}`);
      // One sender's packets in the order sent.
      for (const [si] of senders.entries()) {
        assert.deepEqual(got.filter((g) => g.text.startsWith(`from ${si} `)).map(key), [0, 1, 2].map((k) => `from ${si} to ${ri} #${k}`));
      }
    }
    io.drain();
    assert.equal(seen.reduce((n, c) => n + c.got.length, 0), 3 * 2 * 3, 'a second drain finds nothing new');
    assert.equal(io.receiveErrors, 0);
  });

  it("each packet's arrival time is the kernel's: not in the future, and about when it was sent, not when drained", async function () {
    const io = freshIo(this);
    const r = await bound();
    const s = await bound();
    const c = collector();
    io.attach(r, c.on);
    const before = performance.now();
    await send(s, Buffer.from('timed'), r);
    const after = performance.now();
    await sleep(30);
    const drainedAt = performance.now();
    io.drain();
    const done = performance.now();
    assert.equal(c.got.length, 1);
    const { arrivalMs } = c.got[0];
    assert.ok(arrivalMs <= done, `arrival ${arrivalMs.toFixed(3)} is not after the drain ended (${done.toFixed(3)})`);
    // The two clocks (the kernel's real-time stamp, mapped onto performance.now()) agree within 2 ms.
    assert.ok(arrivalMs >= before - 2 && arrivalMs <= after + 2, `arrival ${arrivalMs.toFixed(3)} between the send's start ${before.toFixed(3)} and end ${after.toFixed(3)}`);
    assert.ok(drainedAt - arrivalMs >= 28, `arrival ${(drainedAt - arrivalMs).toFixed(3)} ms before the drain (waited 30 ms)`);
  });

  it('a datagram larger than a slot (2048 bytes) is dropped, not truncated; one of exactly 2048 is whole', async function () {
    const io = freshIo(this);
    const r = await bound();
    const s = await bound();
    const c = collector();
    io.attach(r, c.on);
    const whole = Buffer.alloc(2048, 7);
    await send(s, Buffer.from('before'), r);
    await send(s, Buffer.alloc(2049, 1), r);
    await send(s, Buffer.alloc(9000, 2), r);
    await send(s, whole, r);
    await send(s, Buffer.from('after'), r);
    await sleep(20);
    io.drain();
    assert.deepEqual(
      c.got.map((g) => g.bytes.length),
      [6, 2048, 5],
    );
    assert.ok(c.got[1].bytes.equals(whole));
    assert.equal(c.got[2].bytes.toString(), 'after');
  });

  it('a burst larger than one recv call holds (1 MiB, 512 packets) is all delivered, in order, by one drain', async function () {
    freshIo(this);
    // The addon, with its recv calls counted.
    const addon = addonOf();
    let recvCalls = 0;
    const io = new NativeRtpIo(
      {
        RECV_FIELDS: addon.RECV_FIELDS,
        SLOT: addon.SLOT,
        enable: (fd) => addon.enable(fd),
        recv: (...args) => {
          recvCalls++;
          return addon.recv(...args);
        },
        send: (...args) => addon.send(...args),
        uringOpen: () => addon.uringOpen(),
        uringAttach: (fd) => addon.uringAttach(fd),
        uringDetach: (fd) => addon.uringDetach(fd),
        uringSubmit: () => addon.uringSubmit(),
        uringRecv: (...args) => {
          recvCalls++;
          return addon.uringRecv(...args);
        },
      },
      mode === 'io_uring',
    );
    // 6 sockets of 100 packets: each within the kernel's default receive buffer (net.core.rmem_default,
    // 208 KiB), 600 in all: the first recv call fills up in the sixth socket, the next goes on from there.
    const receivers = await Promise.all(Array.from({ length: 6 }, () => bound()));
    const s = await bound();
    const perSocket = 100;
    const seen = receivers.map((r) => {
      const c = collector();
      io.attach(r, c.on);
      return c;
    });
    const packet = (socket: number, n: number): Buffer => {
      const b = Buffer.alloc(172, n & 255);
      b.writeUInt16BE(socket, 0);
      b.writeUInt16BE(n, 2);
      return b;
    };
    for (let n = 0; n < perSocket; n++) for (const [i, r] of receivers.entries()) await send(s, packet(i, n), r);
    await sleep(30);
    io.drain();
    for (const [i, c] of seen.entries()) {
      assert.equal(c.got.length, perSocket, `socket ${i}: all ${perSocket} packets`);
      assert.ok(
        c.got.every((g, n) => g.bytes.equals(packet(i, n))),
        `socket ${i}: its own packets, in order`,
      );
    }
    assert.equal(io.receiveErrors, 0);
    assert.equal(recvCalls, 2, 'one drain, two recv calls (512 packets, then the rest)');
  });

  it("detach gives the socket back to dgram: its 'message' events flow again", async function () {
    const io = freshIo(this);
    const r = await bound();
    const s = await bound();
    const c = collector();
    const viaDgram: string[] = [];
    r.on('message', (m) => viaDgram.push(m.toString()));
    const a = io.attach(r, c.on);
    assert.ok(a);
    await send(s, Buffer.from('one'), r);
    await sleep(30);
    assert.deepEqual(viaDgram, [], 'attached: dgram does not read it');
    io.drain();
    assert.deepEqual(c.got.map((g) => g.bytes.toString()), ['one']);
    a.detach();
    a.detach(); // twice: nothing more
    assert.equal(io.attached, 0);
    await send(s, Buffer.from('two'), r);
    for (let i = 0; i < 100 && viaDgram.length === 0; i++) await sleep(10);
    io.drain();
    assert.deepEqual(viaDgram, ['two']);
    assert.deepEqual(c.got.map((g) => g.bytes.toString()), ['one']);
  });

  it('a handler that detaches other sockets (and its own) during a drain: nothing more is delivered to them, nothing throws, their later packets go to dgram', async function () {
    const io = freshIo(this);
    const [ra, rb, rc, rd] = [await bound(), await bound(), await bound(), await bound()];
    const s = await bound();
    const seen = [collector(), collector(), collector(), collector()];
    const viaDgram: string[] = [];
    for (const r of [rb, rc]) r.on('message', (m) => viaDgram.push(m.toString()));
    let wires: ReturnType<NativeRtpIo['attach']>[] = [];
    const onA = (bytes: Buffer, address: string, port: number, at: number): void => {
      seen[0].on(bytes, address, port, at);
      if (seen[0].got.length === 1) {
        // Two sockets after it in the same drain (and the same recv call), then itself.
        wires[1]?.detach();
        wires[2]?.detach();
        wires[0]?.detach();
      }
    };
    wires = [io.attach(ra, onA), io.attach(rb, seen[1].on), io.attach(rc, seen[2].on), io.attach(rd, seen[3].on)];
    for (const [i, r] of [ra, rb, rc, rd].entries()) for (let k = 0; k < 3; k++) await send(s, Buffer.from(`${i}#${k}`), r);
    await sleep(20);
    assert.doesNotThrow(() => io.drain());
    assert.deepEqual(seen[0].got.map((g) => g.bytes.toString()), ['0#0'], 'A: its first packet, then it detached itself');
    assert.deepEqual([seen[1].got.length, seen[2].got.length], [0, 0], 'B and C: nothing after they were detached');
    assert.deepEqual(seen[3].got.map((g) => g.bytes.toString()), ['3#0', '3#1', '3#2'], 'D: still attached, all of its packets');
    assert.equal(io.attached, 1);
    // What that drain had already read for them is dropped (their sessions are closing); what comes after is dgram's.
    await send(s, Buffer.from('1#3'), rb);
    await send(s, Buffer.from('2#3'), rc);
    for (let i = 0; i < 100 && viaDgram.length < 2; i++) await sleep(10);
    assert.deepEqual([...viaDgram].sort(), ['1#3', '2#3'], "B's and C's later packets go to dgram");
    await send(s, Buffer.from('3#3'), rd);
    await sleep(20);
    io.drain();
    assert.deepEqual(seen[3].got.map((g) => g.bytes.toString()), ['3#0', '3#1', '3#2', '3#3']);
  });

  it('a socket closed without a detach: its port is free again at once, and a socket bound next (maybe with its number) is read', async function () {
    const io = freshIo(this);
    const r = await bound();
    const s = await bound();
    const port = r.address().port;
    assert.ok(io.attach(r, () => undefined));
    await new Promise<void>((resolve) => r.close(() => resolve()));
    assert.equal(io.attached, 0, 'its close let go of it');
    // Bound again to the very port: the kernel holds the old socket no more (io_uring would, until cancelled).
    const again = dgram.createSocket('udp4');
    sockets.push(again);
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.bind(port, LOCALHOST, () => resolve());
    });
    const c = collector();
    assert.ok(io.attach(again, c.on));
    await send(s, Buffer.from('to the new one'), again);
    await sleep(20);
    io.drain();
    assert.deepEqual(c.got.map((g) => g.bytes.toString()), ['to the new one']);
  });

  it('attach: an unbound, a closed or an IPv6 socket is refused (null: the session uses dgram)', async function () {
    const io = freshIo(this);
    const unbound = dgram.createSocket('udp4');
    sockets.push(unbound);
    assert.equal(io.attach(unbound, () => undefined), null, 'unbound');
    const closed = await bound();
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    assert.equal(io.attach(closed, () => undefined), null, 'closed');
    assert.equal(io.attach(await bound('udp6'), () => undefined), null, 'IPv6 (the addon reads and writes IPv4 addresses)');
    assert.equal(io.attached, 0);
  });

  it('send: the bytes to the address and port, from the socket; a bad address is false; a closed port does not throw', async function () {
    const io = freshIo(this);
    const r = await bound();
    const peer = await bound();
    const heard: Array<{ text: string; port: number }> = [];
    peer.on('message', (m, rinfo) => heard.push({ text: m.toString(), port: rinfo.port }));
    const a = io.attach(r, () => undefined);
    assert.ok(a);
    assert.equal(a.send(Buffer.from('hi'), peer.address().port, LOCALHOST), true);
    for (let i = 0; i < 100 && heard.length === 0; i++) await sleep(10);
    assert.deepEqual(heard, [{ text: 'hi', port: r.address().port }]);
    for (const bad of ['localhost', '::1', '127.0.0', '127.0.0.256', '1.2.3.4.5', '', '127.0.0.-1', '0x7f.0.0.1', ' 127.0.0.1', '1e2.0.0.1']) {
      assert.equal(a.send(Buffer.from('x'), peer.address().port, bad), false, `"${bad}"`);
    }
    assert.equal(a.send(Buffer.from('again'), peer.address().port, LOCALHOST), true, 'a good address after bad ones');
    const gone = await bound();
    const gonePort = gone.address().port;
    await new Promise<void>((resolve) => gone.close(() => resolve()));
    for (let i = 0; i < 3; i++) assert.equal(typeof a.send(Buffer.from('nobody'), gonePort, LOCALHOST), 'boolean');
    for (let i = 0; i < 100 && heard.length < 2; i++) await sleep(10);
    assert.deepEqual(heard.map((h) => h.text), ['hi', 'again']);
  });

  it("RtpSession through it: a send the kernel refuses (broadcast without SO_BROADCAST) counts a send error, as dgram's would; then a good remote hears it", async function () {
    const io = freshIo(this);
    const clock = new ManualClock();
    const s = await scope.session({ codec: 'PCMU', clock, io });
    assert.equal(io.attached, 1, 'the session took the native path');
    s.configure({ remote: { address: '255.255.255.255', port: 9 } });
    s.play(new Int16Array(480));
    clock.tick(3);
    // io_uring: submitted once the tick is over, a refusal reported by the next drain (recvmmsg: at once).
    await new Promise((r) => setImmediate(r));
    io.drain();
    assert.equal(s.stats().sendErrors, 3);
    const peer = await scope.peer();
    s.configure({ remote: peer.endpoint });
    s.play(new Int16Array(160));
    clock.tick(1);
    await peer.waitFor(1);
    assert.equal(s.stats().sendErrors, 3);
    await s.close();
    assert.equal(io.attached, 0, 'closing the session detached it');
  });

  describe("the addon's own checks: a clear TypeError or RangeError, never a crash", () => {
    const cases: Array<[string, (a: ReturnType<typeof addonOf>) => unknown, RegExp]> = [
      ['enable()', (a) => a.enable(undefined as unknown as number), /TypeError: rtp-io: enable\(fd\)/],
      ["enable('3')", (a) => a.enable('3' as unknown as number), /TypeError: rtp-io: enable\(fd\)/],
      ['recv() without arguments', (a) => (a.recv as unknown as () => number)(), /TypeError: rtp-io: recv\(fds, count, buf, meta, state\)/],
      ['recv with a string for buf', (a) => a.recv(new Int32Array(1), 1, 'x' as unknown as Buffer, new Int32Array(12), new Int32Array(2)), /TypeError: rtp-io: recv/],
      ['recv with a meta for no packet', (a) => a.recv(new Int32Array([0]), 1, Buffer.alloc(4096), new Int32Array(5), new Int32Array(2)), /RangeError: rtp-io: recv/],
      ['recv with a buffer smaller than a slot', (a) => a.recv(new Int32Array([0]), 1, Buffer.alloc(100), new Int32Array(60), new Int32Array(2)), /RangeError: rtp-io: recv/],
      ['recv with a Float64Array', (a) => a.recv(new Float64Array(1) as unknown as Int32Array, 1, Buffer.alloc(4096), new Int32Array(60), new Int32Array(2)), /TypeError: rtp-io: recv/],
      ['send() without arguments', (a) => (a.send as unknown as () => number)(), /TypeError: rtp-io: send\(fd, buf, offset, length, address, port\)/],
      ["send with a string for buf", (a) => a.send(1, 'abc' as unknown as Buffer, 0, 3, 1, 1), /TypeError: rtp-io: send/],
      ['send past the buffer', (a) => a.send(1, Buffer.alloc(3), 2, 2, 1, 1), /RangeError: rtp-io: send/],
      ['send to port 0', (a) => a.send(1, Buffer.alloc(3), 0, 3, 1, 0), /RangeError: rtp-io: send/],
      ['send to port 65536', (a) => a.send(1, Buffer.alloc(3), 0, 3, 1, 65536), /RangeError: rtp-io: send/],
    ];
    for (const [what, call, message] of cases) {
      it(what, function () {
        freshIo(this);
        assert.throws(() => call(addonOf()), (err: Error) => {
          assert.match(`${err.constructor.name}: ${err.message}`, message);
          return true;
        });
      });
    }

    it('a descriptor that is no socket: enable and send say -errno, recv counts an error and goes on', function () {
      freshIo(this);
      const a = addonOf();
      assert.ok(a.enable(-1) < 0);
      assert.ok(a.send(-1, Buffer.alloc(3), 0, 3, 0x7f000001, 9) < 0);
      const state = new Int32Array(2);
      assert.equal(a.recv(new Int32Array([1_000_000, -1]), 2, Buffer.alloc(1 << 16), new Int32Array(32 * a.RECV_FIELDS), state), 0);
      assert.deepEqual([...state], [2, 1], 'both skipped (-1 without an error), the bad one counted');
    });
  });
});
