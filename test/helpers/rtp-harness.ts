import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { MediaClockStats } from '../../lib/media/media-clock';
import { parseRtp, RtpPacket, serializeRtp } from '../../lib/media/rtp-packet';
import { RtpPortAllocator } from '../../lib/sip/rtp-port-allocator';
import type { RtpMedia } from '../../lib/media-engine/rtp-media';
import { MediaTickSource, RtpSession, RtpSessionOptions } from '../../lib/sip/rtp-session';
import { goertzelCoefficient, goertzelPower as goertzelBin } from '../../lib/media/goertzel';

/**
 * Test doubles and probes for the SIP media tests: a media clock ticked by hand, a port range of
 * our own on 127.0.0.1, raw UDP sockets that capture or inject RTP, and a frequency probe.
 */

export const LOCALHOST = '127.0.0.1';

/** A clock the test ticks: every packet a session sends is then the consequence of a tick we chose. */
export class ManualClock implements MediaTickSource {
  private readonly subscribers = new Set<(tick: number) => void>();
  private next = 0;

  subscribe(fn: (tick: number) => void): () => void {
    const entry = (tick: number): void => fn(tick);
    this.subscribers.add(entry);
    return () => {
      this.subscribers.delete(entry);
    };
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Delivers `count` ticks (or jumps `skip` ticks ahead first, as after a stalled event loop). */
  tick(count = 1, skip = 0): void {
    this.next += skip;
    for (let i = 0; i < count; i++) {
      const t = this.next++;
      for (const fn of [...this.subscribers]) fn(t);
    }
  }

  stats(): MediaClockStats {
    return {
      running: this.subscribers.size > 0,
      subscribers: this.subscribers.size,
      ticks: this.next,
      late: 0,
      skipped: 0,
      errors: 0,
      lateness: { p50Ms: 0.1, p99Ms: 0.2, maxMs: 0.3 },
    };
  }
}

/**
 * An allocator over a range of its own: a random even base in 40000–40998 (so runs and files rarely
 * meet), `pairs` pairs wide, on 127.0.0.1.
 */
export function testAllocator(pairs = 16): RtpPortAllocator {
  const base = 40000 + 2 * randomInt(0, Math.floor((1000 - 2 * pairs) / 2));
  return new RtpPortAllocator({ rtpPortMin: base, rtpPortMax: base + 2 * pairs - 1, address: LOCALHOST });
}

/** A plain UDP socket on 127.0.0.1 that records what reaches it, and can send anything. */
export class RawPeer extends EventEmitter {
  readonly received: Array<{ buf: Buffer; from: { address: string; port: number } }> = [];

  private constructor(readonly socket: dgram.Socket) {
    super();
    socket.on('message', (buf, rinfo) => {
      this.received.push({ buf, from: { address: rinfo.address, port: rinfo.port } });
      this.emit('packet');
    });
  }

  static async open(): Promise<RawPeer> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, LOCALHOST, () => resolve());
    });
    return new RawPeer(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  get endpoint(): { address: string; port: number } {
    return { address: LOCALHOST, port: this.port };
  }

  /** The received datagrams that parse as RTP. */
  packets(): RtpPacket[] {
    return this.received.map((r) => parseRtp(r.buf)).filter((p): p is RtpPacket => p !== null);
  }

  send(buf: Buffer, port: number): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(buf, port, LOCALHOST, (err) => (err ? reject(err) : resolve())));
  }

  /** Sends one RTP packet (SSRC 0x1234 unless said). */
  sendRtp(port: number, p: { seq: number; ts?: number; pt?: number; payload?: Buffer; marker?: boolean; ssrc?: number }): Promise<void> {
    return this.send(
      serializeRtp({
        payloadType: p.pt ?? 0,
        sequenceNumber: p.seq & 0xffff,
        timestamp: (p.ts ?? p.seq * 160) >>> 0,
        ssrc: p.ssrc ?? 0x1234,
        marker: p.marker ?? false,
        payload: p.payload ?? Buffer.alloc(160, 0xff),
      }),
      port,
    );
  }

  /** Waits until at least `count` datagrams arrived in all. */
  async waitFor(count: number, timeoutMs = 5000): Promise<void> {
    await until(() => this.received.length >= count, timeoutMs, `${count} datagrams (got ${this.received.length})`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/**
 * Waits until `condition` holds, checking every few ms (UDP on loopback has no event to await the
 * absence or the count of). Fails after `timeoutMs`, generous so that a loaded machine passes.
 */
export async function until(condition: () => boolean, timeoutMs = 5000, what = 'the condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Lets datagrams already sent on loopback arrive: a round trip through a socket of our own, sent
 * after them, has arrived once they have (loopback delivers in order within the kernel's queue).
 */
export async function settle(peer: RawPeer): Promise<void> {
  const before = peer.received.length;
  await peer.send(Buffer.from('settle'), peer.port);
  await until(() => peer.received.slice(before).some((r) => r.buf.toString() === 'settle'), 5000, 'the settle datagram');
  peer.received.splice(
    peer.received.findIndex((r, i) => i >= before && r.buf.toString() === 'settle'),
    1,
  );
}

/** Everything a session emits, collected. */
export function record(session: RtpMedia): {
  audio: Array<{ samples: Int16Array; seq: number; timestamp: number }>;
  dtmf: Array<{ digit: string; source: string }>;
  latched: Array<{ address: string; port: number }>;
} {
  const out = {
    audio: [] as Array<{ samples: Int16Array; seq: number; timestamp: number }>,
    dtmf: [] as Array<{ digit: string; source: string }>,
    latched: [] as Array<{ address: string; port: number }>,
  };
  session.on('audio', (samples, info) => out.audio.push({ samples: samples.slice(), seq: info.sequenceNumber, timestamp: info.timestamp }));
  session.on('dtmf', (d) => out.dtmf.push({ digit: d.digit, source: d.source }));
  session.on('latched', (e) => out.latched.push(e));
  return out;
}

/** Opens sessions and peers for one test and closes them all after it, passed or failed. */
export function mediaScope(): {
  allocator: () => RtpPortAllocator;
  session: (options: Omit<RtpSessionOptions, 'ports'>) => Promise<RtpSession>;
  peer: () => Promise<RawPeer>;
} {
  let allocator: RtpPortAllocator | null = null;
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const o of open.splice(0)) await o.close();
    allocator = null;
  });
  const getAllocator = (): RtpPortAllocator => (allocator ??= testAllocator());
  return {
    allocator: getAllocator,
    session: async (options) => {
      const s = new RtpSession({ ...options, ports: await getAllocator().allocate() });
      open.push(s);
      return s;
    },
    peer: async () => {
      const p = await RawPeer.open();
      open.push(p);
      return p;
    },
  };
}

/** The frequency of a sine, from its zero crossings (rising ones, interpolated). */
export function zeroCrossingHz(samples: Int16Array, sampleRate = 8000): number {
  const crossings: number[] = [];
  for (let i = 1; i < samples.length; i++) {
    if (samples[i - 1] < 0 && samples[i] >= 0) crossings.push(i - 1 + -samples[i - 1] / (samples[i] - samples[i - 1]));
  }
  if (crossings.length < 2) return 0;
  return ((crossings.length - 1) * sampleRate) / (crossings[crossings.length - 1] - crossings[0]);
}

/** The power of one frequency in the signal (a single Goertzel bin), normalised by length. */
export function goertzelPower(samples: Int16Array, hz: number, sampleRate = 8000): number {
  return goertzelBin(samples, goertzelCoefficient(hz, sampleRate)) / samples.length ** 2;
}
