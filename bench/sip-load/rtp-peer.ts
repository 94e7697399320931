/**
 * The far end of every call's media in bench/sip-load and test/integration/media-stall.test.ts: one UDP socket, in a child process of its own
 * (so that its timing does not share the measured process's event loop), that
 *
 * - plays G.711 A-law audio (the payloads of SIPp's `g711a.pcap`, looped, re-cut into 20 ms packets)
 *   to every source that sends it RTP (a callee, as a latching SBC would: `answer` mode), or to a
 *   fixed address as N streams (`originate` mode, for SIPp's `-rtp_echo` reference callee);
 * - times every RTP packet it receives, per SSRC, to give the loss and the send jitter of the other
 *   side as a receiver sees them, and each packet's lateness against the 20 ms grid of its stream
 *   (see {@link PeerReport}): measured here, in a process of its own, never in the thread it judges.
 *
 * What it costs is kept small, so that the load side is not what a step measures (docs/benchmarks.md,
 * "The load side"): each stream's packet is allocated once and rewritten in place; one timer sends
 * the streams in 10 phases 2 ms apart (not all in one burst each 20 ms: a burst of 500 packets
 * overflows a receiver's default 208 KiB socket buffer, which is what SIPp's `-rtp_echo` socket has
 * whatever `-rtp_buffsize` says, and is how the reference lost 12 % at 500 calls); a received packet
 * costs no string, BigInt or object of ours.
 *
 * Why not SIPp's own `play_pcap_audio`: SIPp sends the pcap from its media port, which it binds
 * itself; the callee (our line, by symmetric RTP) then sends there, where nothing can time it.
 *
 * Driven over IPC (child_process.fork; {@link RtpLoadPeer} is the parent's side): `{ cmd: 'report' }`
 * → a PeerReport (and the counts start over), `{ cmd: 'originate', address, port, streams }`,
 * `{ cmd: 'stop-originate' }`. It sends `{ ready: port, recvBuffer: bytes, kernelTimes }` over IPC once bound.
 */
import { fork, ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { readPcap } from '../../test/helpers/pcap-capture';
import { loadNativeRtpIo } from '../../lib/media-engine/native-rtp-io';
import { applyThreadPriority, MEDIA_PRIORITIES, MediaPriority } from '../../lib/media-engine/thread-priority';

const PACKET_BYTES = 160; // 20 ms of 8 kHz A-law
const TICK_MS = 20;
/** The sends of a tick are spread over this many phases, TICK_MS / phases apart (argv[4]: 1 = one burst per tick, as before). */
const DEFAULT_PHASES = 10;
/** A callee that has sent nothing for this long is gone: the peer stops sending to it. */
const IDLE_MS = 400;
/**
 * A received stream silent this long is over (its counts move to the totals). Longer than any stall
 * a step can cause: a sender held up for a second and then resuming is one stream whose missing
 * packets count as lost, not two streams with nothing missing.
 */
const RX_IDLE_MS = 5000;
/** Histograms: 0.05 ms buckets to 200 ms, then one bucket for everything later. */
const BUCKET_MS = 0.05;
const BUCKETS = 4000;
const PCMA_PT = 8;
/** A packet later than this against its stream's grid is counted late (the stall criterion). */
export const LATE_MS = 5;

/** A latency distribution, ms. */
export interface Distribution {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/** What the peer measured since the last report. */
export interface PeerReport {
  /** RTP streams received (one per SSRC), ended or still going. */
  streams: number;
  /** Packets received. */
  received: number;
  /**
   * Packets the senders' timestamps say were due: per stream (last − first timestamp) / 160 + 1.
   * A sender that skips a tick (its clock late by more than it catches up) advances its timestamp
   * without a packet, so that counts as lost too.
   */
  expected: number;
  /** expected − received (≥ 0), over all streams. */
  lost: number;
  /**
   * The send jitter as the receiver sees it: for consecutive packets of a stream, |(arrival gap) −
   * (timestamp gap / 8 kHz)|, in ms (RFC 3393's IP packet delay variation between neighbours).
   */
  jitter: Distribution;
  /**
   * Each packet's lateness against its stream's 20 ms grid: arrival − (the stream's earliest
   * arrival − timestamp offset) − timestamp offset, i.e. how much later than its stream's best-timed
   * packet it came, its RTP timestamp considered. A sender stalled for 200 ms shows as ~200 ms here
   * (the jitter above would show it once per stall, between two neighbours).
   */
  lateness: Distribution & { overLimit: number; limitMs: number };
  /**
   * The same with each arrival taken back by how late the peer's own timer last ran (the peer held
   * up, so packets queued in its socket are read late through no fault of their sender): the
   * lateness the sender caused, the receiver's own hold-ups left out as far as it can see them.
   */
  latenessNet: Distribution & { overLimit: number; limitMs: number };
  /**
   * How late the peer's own timer ran (ms): the peer itself held up (not scheduled, or busy). A
   * packet that arrived then is timed late by up to that much through no fault of its sender: when
   * this is large, the machine is the limit, not the callee.
   */
  selfLate: Distribution;
  /** Packets the peer sent (its audio to the callees). */
  sent: number;
  /** The peer's own CPU (user + system) over the reporting period, ms, and the period, ms. */
  cpuMs: number;
  wallMs: number;
}

interface RxStream {
  lastTs: number;
  /** Timestamp span covered so far, in 160-sample units (unwrapped). */
  span: number;
  /** The same in ms (sub-packet timestamp steps kept). */
  spanMs: number;
  received: number;
  lastArrival: number;
  /** arrival − timestamp offset (ms) of every in-order packet: the grid is their minimum. */
  offsets: number[];
  /** The peer's own hold-up when each was read (ms), see latenessNet. */
  held: number[];
}

interface TxStream {
  address: string;
  port: number;
  /** The stream's packet, allocated once: the header's fixed bytes and SSRC written, seq / ts / payload rewritten per send. */
  packet: Buffer;
  seq: number;
  ts: number;
  offset: number;
  lastHeard: number;
  /** Originate mode: never ends by silence. */
  fixed: boolean;
  phase: number;
}

class Histogram {
  private readonly buckets = new Uint32Array(BUCKETS + 1);
  samples = 0;
  max = 0;

  add(ms: number): void {
    this.samples++;
    if (ms > this.max) this.max = ms;
    this.buckets[Math.min(BUCKETS, Math.floor(ms / BUCKET_MS))]++;
  }

  percentile(p: number): number {
    if (this.samples === 0) return 0;
    let seen = 0;
    for (let b = 0; b <= BUCKETS; b++) {
      seen += this.buckets[b];
      if (seen >= p * this.samples) return Math.round((b + 1) * BUCKET_MS * 100) / 100;
    }
    return BUCKETS * BUCKET_MS;
  }

  distribution(): Distribution {
    return { samples: this.samples, p50Ms: this.percentile(0.5), p99Ms: this.percentile(0.99), p999Ms: this.percentile(0.999), maxMs: Math.round(this.max * 100) / 100 };
  }

  reset(): void {
    this.buckets.fill(0);
    this.samples = 0;
    this.max = 0;
  }
}

/** The A-law payloads of a pcap of RTP packets (Ethernet or Linux cooked captures), concatenated. */
function pcapAudio(path: string): Buffer {
  const parts: Buffer[] = [];
  for (const { payload: rtp } of readPcap(path)) {
    if (rtp.length < 12 || rtp[0] >> 6 !== 2 || (rtp[1] & 0x7f) !== PCMA_PT) continue;
    parts.push(rtp.subarray(12 + (rtp[0] & 15) * 4));
  }
  const audio = Buffer.concat(parts);
  if (audio.length < PACKET_BYTES) throw new Error(`no PCMA RTP payloads in ${path}`);
  return audio.subarray(0, audio.length - (audio.length % PACKET_BYTES));
}

function main(): void {
  const port = Number(process.argv[2]);
  const pcap = process.argv[3];
  const PHASES = Number(process.argv[4] ?? DEFAULT_PHASES);
  if (!Number.isInteger(PHASES) || PHASES < 1 || PHASES > 20) throw new TypeError('phases must be 1 to 20');
  const PHASE_MS = TICK_MS / PHASES;
  // argv[5]: the peer's own scheduling priority (bench/sip-load --load-priority), so that a callee
  // whose media threads run real-time does not starve the load side that measures it.
  const priority = (process.argv[5] ?? 'normal') as MediaPriority;
  if (!MEDIA_PRIORITIES.includes(priority)) throw new TypeError(`the peer's priority must be one of ${MEDIA_PRIORITIES.join(', ')}`);
  const refused = applyThreadPriority(priority);
  if (refused) process.stderr.write(`rtp-peer: runs at normal priority, not ${priority}: ${refused}\n`);
  const audio = pcapAudio(pcap);
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 });
  /** Answer mode: the streams back to each callee, by its RTP port (the bench is loopback-only). */
  const answering = new Map<number, TxStream>();
  /** The streams to send, by phase. */
  const phases: TxStream[][] = Array.from({ length: PHASES }, () => []);
  const rx = new Map<number, RxStream>();
  const jitter = new Histogram();
  const lateness = new Histogram();
  const selfLate = new Histogram();
  const latenessNet = new Histogram();
  /** How late the peer's timer ran last time (ms): packets read now may have waited that long. */
  let heldMs = 0;
  let counts = { received: 0, endedExpected: 0, endedReceived: 0, endedStreams: 0, sent: 0, late: 0, lateNet: 0 };
  let since = { cpu: process.cpuUsage(), wall: performance.now() };
  let originating = false;

  const addTx = (address: string, p: number, fixed: boolean): TxStream => {
    const r = randomBytes(10);
    const packet = Buffer.alloc(12 + PACKET_BYTES);
    packet[0] = 0x80;
    packet[1] = PCMA_PT;
    packet.writeUInt32BE(r.readUInt32BE(0), 8);
    // The least busy phase (streams come and go: round-robin alone would drift).
    let phase = 0;
    for (let i = 1; i < PHASES; i++) if (phases[i].length < phases[phase].length) phase = i;
    const t: TxStream = { address, port: p, packet, seq: r.readUInt16BE(4), ts: r.readUInt32BE(6), offset: 0, lastHeard: performance.now(), fixed, phase };
    phases[phase].push(t);
    return t;
  };
  const removeTx = (t: TxStream): void => {
    const list = phases[t.phase];
    const i = list.indexOf(t);
    if (i >= 0) list.splice(i, 1);
  };

  // Each packet's arrival time is the kernel's (SO_TIMESTAMPNS, through the package's batched I/O,
  // drained on every phase's timer) where the addon is built: then how late this process's own event
  // loop reads a packet does not count in the jitter it judges; else the time the event loop got it.
  const onPacket = (buf: Buffer, address: string, fromPort: number, now: number): void => {
    if (buf.length < 12 || buf[0] >> 6 !== 2) return;
    const pt = buf[1] & 0x7f;
    if (pt >= 72 && pt <= 76) return; // RTCP
    counts.received++;
    if (!originating) {
      const t = answering.get(fromPort);
      if (t) t.lastHeard = now;
      else answering.set(fromPort, addTx(address, fromPort, false));
    }
    const ssrc = buf.readUInt32BE(8);
    const ts = buf.readUInt32BE(4);
    const s = rx.get(ssrc);
    if (!s) {
      rx.set(ssrc, { lastTs: ts, span: 0, spanMs: 0, received: 1, lastArrival: now, offsets: [now], held: [heldMs] });
      return;
    }
    s.received++;
    const dTs = ((ts - s.lastTs) | 0) / 8; // ms, signed (wraps)
    if (dTs > 0) {
      jitter.add(Math.abs(now - s.lastArrival - dTs));
      s.span += Math.round(dTs / TICK_MS);
      s.spanMs += dTs;
      s.lastTs = ts;
      s.offsets.push(now - s.spanMs);
      s.held.push(heldMs);
    }
    s.lastArrival = now;
  };
  const { io: batched, reason: noBatched } = loadNativeRtpIo();
  let kernelTimes = false;

  /** One packet of a stream, into its preallocated buffer. */
  const send = (t: TxStream): void => {
    const b = t.packet;
    b[2] = t.seq >> 8;
    b[3] = t.seq & 0xff;
    b.writeUInt32BE(t.ts >>> 0, 4);
    audio.copy(b, 12, t.offset, t.offset + PACKET_BYTES);
    // No callback: Node tries the send right away (uv_udp_try_send) and queues it, holding `b`, only
    // when the socket would block; `b` is rewritten 20 ms later, long after either.
    socket.send(b, t.port, t.address);
    t.seq = (t.seq + 1) & 0xffff;
    t.ts = (t.ts + PACKET_BYTES) >>> 0;
    t.offset = (t.offset + PACKET_BYTES) % audio.length;
    counts.sent++;
  };

  // The one timer: absolute deadlines PHASE_MS apart (no drift, like the package's media clock); a
  // phase's streams go out at its deadline; a late timer sends every phase it owes.
  const start = performance.now();
  let step = 0;
  const onTimer = (): void => {
    batched?.drain();
    const now = performance.now();
    heldMs = Math.max(0, now - (start + step * PHASE_MS));
    selfLate.add(heldMs);
    while (start + step * PHASE_MS <= now) {
      const phase = step % PHASES;
      step++;
      const list = phases[phase];
      for (let i = 0; i < list.length; i++) {
        const t = list[i];
        if (!t.fixed && now - t.lastHeard > IDLE_MS) {
          answering.delete(t.port);
          list.splice(i--, 1);
          continue;
        }
        send(t);
      }
      // Streams that fell silent are over: their counts move to the totals (once a tick).
      if (phase === 0) for (const [ssrc, s] of rx) if (now - s.lastArrival > RX_IDLE_MS) endRx(ssrc, s);
    }
    setTimeout(onTimer, Math.max(0, start + step * PHASE_MS - performance.now()));
  };

  const endRx = (ssrc: number, s: RxStream): void => {
    rx.delete(ssrc);
    counts.endedStreams++;
    counts.endedExpected += s.span + 1;
    counts.endedReceived += s.received;
    let grid = Infinity;
    for (const o of s.offsets) if (o < grid) grid = o;
    for (let i = 0; i < s.offsets.length; i++) {
      const late = s.offsets[i] - grid;
      lateness.add(late);
      if (late > LATE_MS) counts.late++;
      // The grid stays the raw one (an arrival taken back by a hold-up is a guess, never the grid).
      const net = Math.max(0, late - s.held[i]);
      latenessNet.add(net);
      if (net > LATE_MS) counts.lateNet++;
    }
  };

  const report = (): PeerReport => {
    // Streams still going are counted as they are now (and start over in the next period).
    for (const [ssrc, s] of rx) endRx(ssrc, s);
    const expected = counts.endedExpected;
    const received = counts.endedReceived;
    const cpu = process.cpuUsage(since.cpu);
    const r: PeerReport = {
      streams: counts.endedStreams,
      received,
      expected,
      lost: Math.max(0, expected - received),
      jitter: jitter.distribution(),
      lateness: { ...lateness.distribution(), overLimit: counts.late, limitMs: LATE_MS },
      latenessNet: { ...latenessNet.distribution(), overLimit: counts.lateNet, limitMs: LATE_MS },
      selfLate: selfLate.distribution(),
      sent: counts.sent,
      cpuMs: (cpu.user + cpu.system) / 1000,
      wallMs: performance.now() - since.wall,
    };
    jitter.reset();
    lateness.reset();
    selfLate.reset();
    latenessNet.reset();
    counts = { received: 0, endedExpected: 0, endedReceived: 0, endedStreams: 0, sent: 0, late: 0, lateNet: 0 };
    since = { cpu: process.cpuUsage(), wall: performance.now() };
    return r;
  };

  const fixed: TxStream[] = [];
  process.on('message', (m: { cmd: string; address?: string; port?: number; streams?: number }) => {
    if (m.cmd === 'report') process.send?.({ report: report() });
    else if (m.cmd === 'originate') {
      originating = true;
      for (let i = 0; i < (m.streams ?? 0); i++) fixed.push(addTx(m.address as string, m.port as number, true));
      process.send?.({ originating: m.streams });
    } else if (m.cmd === 'stop-originate') {
      for (const t of fixed.splice(0)) removeTx(t);
      originating = false;
      process.send?.({ stopped: true });
    }
  });
  process.on('disconnect', () => process.exit(0));

  // A port taken: say so and exit (the parent's start() rejects), not a peer that never answers.
  socket.once('error', (err) => {
    process.stderr.write(`rtp-peer: ${err.message}\n`);
    process.exit(1);
  });
  socket.bind(port, '127.0.0.1', () => {
    // The kernel caps the 8 MB asked for at net.core.rmem_max: the bench prints what was granted.
    kernelTimes = (batched?.attach(socket, onPacket) ?? null) !== null;
    if (!kernelTimes) socket.on('message', (buf, rinfo) => onPacket(buf, rinfo.address, rinfo.port, performance.now()));
    process.send?.({ ready: socket.address().port, recvBuffer: socket.getRecvBufferSize(), kernelTimes, noKernelTimes: kernelTimes ? null : (noBatched ?? 'the socket could not be taken over') });
    onTimer();
  });
}

/** The peer as its parent sees it: a child process running this file, driven over IPC. */
export class RtpLoadPeer {
  private waiters: Array<(m: Record<string, unknown>) => boolean> = [];
  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    /** The receive buffer the kernel granted (of 8 MiB asked; net.core.rmem_max caps it), bytes. */
    readonly recvBuffer: number,
    /** Null: arrival times are the kernel's (the batched I/O); else why they are when the peer's event loop read each packet. */
    readonly noKernelTimes: string | null,
  ) {
    child.on('message', (m: Record<string, unknown>) => {
      this.waiters = this.waiters.filter((w) => !w(m));
    });
  }

  /** Forks the peer on `port` (127.0.0.1), playing the PCMA payloads of `pcap` (SIPp's g711a.pcap), its thread at `priority` (lib/media-engine/thread-priority.ts). */
  static async start(port: number, pcap: string, phases = DEFAULT_PHASES, priority: MediaPriority = 'normal'): Promise<RtpLoadPeer> {
    // VOICE_RTP_IO=dgram is for the callee (the package's workers): the instrument keeps the kernel's arrival times.
    const { VOICE_RTP_IO: _callee, ...env } = process.env;
    const child = fork(__filename, [String(port), pcap, String(phases), priority], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env });
    type Ready = { ready: number; recvBuffer: number; kernelTimes: boolean; noKernelTimes: string | null };
    const ready = await new Promise<Ready>((resolve, reject) => {
      child.once('message', (m: Partial<Ready>) => (m.ready ? resolve(m as Ready) : reject(new Error('the RTP peer did not start'))));
      child.once('exit', (code) => reject(new Error(`the RTP peer exited (${code})`)));
    });
    return new RtpLoadPeer(child, ready.ready, ready.recvBuffer, ready.kernelTimes ? null : ready.noKernelTimes);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private ask<T>(message: object, key: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the RTP peer did not answer ${JSON.stringify(message)}`)), 10_000);
      this.waiters.push((m) => {
        if (!(key in m)) return false;
        clearTimeout(timer);
        resolve(m[key] as T);
        return true;
      });
      this.child.send(message);
    });
  }

  /** What the peer measured since the last report (its counts start over). */
  report(): Promise<PeerReport> {
    return this.ask({ cmd: 'report' }, 'report');
  }

  /** Sends `streams` streams to address:port (SIPp's `-rtp_echo` port) until stopOriginate(). */
  originate(address: string, port: number, streams: number): Promise<number> {
    return this.ask({ cmd: 'originate', address, port, streams }, 'originating');
  }

  stopOriginate(): Promise<boolean> {
    return this.ask({ cmd: 'stop-originate' }, 'stopped');
  }

  stop(): void {
    if (this.child.connected) this.child.disconnect();
    this.child.kill();
  }
}

if (require.main === module) main();
