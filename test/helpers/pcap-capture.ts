/**
 * The line's RTP as the kernel saw it leave: `tcpdump` on the loopback interface writes every
 * datagram the line sends, each stamped by the kernel when it passed the interface's tap, i.e.
 * inside the sender's `sendmsg` (on `lo` the transmit path runs in the sending thread's system call).
 * A time taken there cannot be biased by the line's process (its event loop, its GC) nor by the
 * receiver's (the RTP peer reads its socket when it is scheduled: a packet read late was not
 * necessarily sent late). issue 12 (a); used by test/integration/media-stall.test.ts and
 * bench/sip-load's `--capture`.
 *
 * The capture file is the classic libpcap format (https://wiki.wireshark.org/Development/LibpcapFileFormat,
 * nanosecond variant), read here by hand: ~40 lines of fixed headers, as test/helpers/pcap-writer.ts
 * writes them; the npm readers (pcap-parser and the like) are unmaintained wrappers of the same loop.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** A histogram's summary, ms. */
export interface Spread {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/** One UDP datagram of the capture: the kernel's time (ms since the epoch, ns resolution kept as a double) and its payload. */
export interface CapturedDatagram {
  timeMs: number;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

/** What the kernel said about the capture when tcpdump ended. */
export interface CaptureCounts {
  /** Packets tcpdump wrote. */
  captured: number;
  /** Packets the kernel dropped because tcpdump did not read its buffer in time (the figures then miss packets: not the line's loss). */
  droppedByKernel: number;
}

/** Whether tcpdump can run here (installed, and allowed to open a capture: root or CAP_NET_RAW). */
export function tcpdumpUsable(): { ok: true } | { ok: false; why: string } {
  const r = spawnSync('tcpdump', ['-i', 'lo', '-d', 'udp'] /* opens lo, compiles a filter, captures nothing */, { encoding: 'utf8', timeout: 10_000 });
  if (r.error) return { ok: false, why: `tcpdump: ${r.error.message} (apt-get install tcpdump)` };
  if (r.status !== 0) return { ok: false, why: `tcpdump cannot capture on lo: ${r.stderr.trim().split('\n').pop()}` };
  return { ok: true };
}

/**
 * `tcpdump -i lo` writing `file` with nanosecond kernel timestamps, only what `filter` (a BPF
 * expression) keeps, the first 96 bytes of each packet (the Ethernet, IPv4, UDP and RTP headers).
 */
export class PcapCapture {
  private stderr = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly file: string,
  ) {
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  static async start(file: string, filter: string): Promise<PcapCapture> {
    // -B: a 32 MiB kernel buffer (a tcpdump held up for a while drops nothing); -U: written packet by packet.
    const child = spawn('tcpdump', ['-i', 'lo', '-n', '-s', '96', '-B', '32768', '-U', '--time-stamp-precision=nano', '-w', file, filter], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const capture = new PcapCapture(child, file);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tcpdump did not start listening: ${capture.stderr.trim()}`)), 10_000);
      const onData = (): void => {
        if (!capture.stderr.includes('listening on')) return;
        clearTimeout(timer);
        child.stderr?.off('data', onData);
        resolve();
      };
      child.stderr?.on('data', onData);
      child.once('error', (err) => reject(new Error(`tcpdump: ${err.message}`)));
      child.once('exit', (code) => reject(new Error(`tcpdump exited (${code}): ${capture.stderr.trim()}`)));
    });
    return capture;
  }

  /** Ends the capture (SIGINT: tcpdump flushes the file and prints its counts). */
  async stop(): Promise<CaptureCounts> {
    if (this.child.exitCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGINT');
      await exited;
    }
    const num = (what: string): number => Number(new RegExp(`(\\d+) packets? ${what}`).exec(this.stderr)?.[1] ?? NaN);
    const counts = { captured: num('captured'), droppedByKernel: num('dropped by kernel') };
    if (!Number.isFinite(counts.captured)) throw new Error(`tcpdump gave no counts: ${this.stderr.trim()}`);
    return counts;
  }

  /** Kills tcpdump if it still runs (after a failed test). */
  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;
/** Link types read, and the length of their header before IPv4: Ethernet (tcpdump on lo, SIPp's pcaps) and Linux cooked captures. */
const LINK_HEADER: Record<number, number> = { 1: 14, 113: 16 };

/** The UDP-over-IPv4 datagrams of a libpcap file (Ethernet or Linux cooked link type; other packets skipped). */
export function readPcap(file: string): CapturedDatagram[] {
  const buf = readFileSync(file);
  if (buf.length < 24) throw new Error(`${file}: not a pcap file (${buf.length} bytes)`);
  const magicLe = buf.readUInt32LE(0);
  const le = magicLe === MAGIC_US || magicLe === MAGIC_NS;
  const magic = le ? magicLe : buf.readUInt32BE(0);
  if (magic !== MAGIC_US && magic !== MAGIC_NS) throw new Error(`${file}: not a pcap file (magic ${magicLe.toString(16)})`);
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const fraction = magic === MAGIC_NS ? 1e-6 : 1e-3; // of the second field's unit, in ms
  const ip = LINK_HEADER[u32(20)];
  if (ip === undefined) throw new Error(`${file}: link type ${u32(20)}, expected Ethernet (1) or Linux cooked (113)`);
  const out: CapturedDatagram[] = [];
  for (let off = 24; off + 16 <= buf.length; ) {
    const timeMs = u32(off) * 1000 + u32(off + 4) * fraction;
    const incl = u32(off + 8);
    const pkt = buf.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    // The EtherType / protocol field is the header's last two bytes in both link types.
    if (pkt.length < ip + 28 || pkt.readUInt16BE(ip - 2) !== 0x0800 || pkt[ip] >> 4 !== 4 || pkt[ip + 9] !== 17) continue;
    const udp = ip + (pkt[ip] & 15) * 4;
    out.push({ timeMs, srcPort: pkt.readUInt16BE(udp), dstPort: pkt.readUInt16BE(udp + 2), payload: pkt.subarray(udp + 8) });
  }
  return out;
}

/** The line's RTP send timing, from kernel timestamps (see {@link rtpSendTiming}). */
export interface SendTiming {
  /** RTP streams (one per SSRC) and their packets in the capture. */
  streams: number;
  packets: number;
  /** Packets their RTP timestamps say were due (per stream: span / 160 + 1); `expected − packets` were never sent. */
  expected: number;
  missing: number;
  /**
   * Each packet's lateness against its stream's 20 ms grid: its send time − its RTP timestamp's
   * offset − the stream's best such difference (how much later than the stream's best-timed packet
   * it left, as the RTP peer computes it on arrival), ms.
   */
  lateness: Spread & { overLimit: number; limitMs: number };
  /**
   * Per tick of the sender's clock (the packets of all streams whose grid point is the same 20 ms
   * slot): how late its FIRST packet left (the clock's wake-up: timer, scheduling) ...
   */
  tickStart: Spread;
  /** ... and how long the tick's sends took from its first packet to its last (the work of a tick, preemption within it). */
  tickSpan: Spread;
  /** The packets late by more than the limit, by cause: the tick started late, or the tick started in time and the packet came late in it. */
  lateFromStart: number;
  lateWithinTick: number;
  /** The latest packets (time since the first packet of the capture, ms; lateness, ms) for a report. */
  worst: Array<{ atMs: number; lateMs: number }>;
}

function spread(values: Float64Array | number[]): Spread {
  const v = Float64Array.from(values).sort();
  const at = (p: number): number => (v.length ? Math.round(v[Math.min(v.length - 1, Math.ceil(p * v.length) - 1)] * 100) / 100 : 0);
  return { samples: v.length, p50Ms: at(0.5), p99Ms: at(0.99), p999Ms: at(0.999), maxMs: v.length ? Math.round(v[v.length - 1] * 100) / 100 : 0 };
}

/**
 * Send timing of the RTP streams in `datagrams` (G.711: 8 samples a ms, packets of `packetMs`).
 * Streams are told apart by SSRC. A stream's grid is where its best-timed packet puts it; the ticks
 * are told apart by grid slot across streams (the senders share a clock per media thread: a slot's
 * first packet is the clock's wake-up).
 */
export function rtpSendTiming(datagrams: readonly CapturedDatagram[], limitMs = 5, packetMs = 20): SendTiming {
  interface Stream {
    lastTs: number;
    spanMs: number;
    times: number[];
    offsets: number[];
  }
  const streams = new Map<number, Stream>();
  for (const d of datagrams) {
    const p = d.payload;
    if (p.length < 12 || p[0] >> 6 !== 2) continue;
    const pt = p[1] & 0x7f;
    if (pt >= 72 && pt <= 76) continue; // RTCP
    const ssrc = p.readUInt32BE(8);
    const ts = p.readUInt32BE(4);
    const s = streams.get(ssrc);
    if (!s) {
      streams.set(ssrc, { lastTs: ts, spanMs: 0, times: [d.timeMs], offsets: [d.timeMs] });
      continue;
    }
    const dTs = ((ts - s.lastTs) | 0) / 8;
    if (dTs <= 0) continue; // a repeat (DTMF end packets) or reordered: not a new grid point
    s.spanMs += dTs;
    s.lastTs = ts;
    s.times.push(d.timeMs);
    s.offsets.push(d.timeMs - s.spanMs);
  }
  const start = datagrams.length ? datagrams[0].timeMs : 0;
  const late: number[] = [];
  let expected = 0;
  let packets = 0;
  let overLimit = 0;
  // Each packet's due time (its grid point, absolute) and send time, across streams, to group by tick.
  const due: number[] = [];
  const sent: number[] = [];
  const owner: number[] = [];
  const streamGrids = new Map<number, number>();
  for (const [ssrc, s] of streams) {
    let grid = Infinity;
    for (const o of s.offsets) if (o < grid) grid = o;
    streamGrids.set(ssrc, grid);
    packets += s.offsets.length;
    expected += Math.round(s.spanMs / packetMs) + 1;
    for (let i = 0; i < s.offsets.length; i++) {
      const l = s.offsets[i] - grid;
      late.push(l);
      if (l > limitMs) overLimit++;
      due.push(s.times[i] - l);
      sent.push(s.times[i]);
      owner.push(ssrc);
    }
  }
  // Ticks: a media thread's clock sends all its streams in one burst per period, so the streams of
  // one clock have grids (mod packetMs) within a burst's length of each other. Streams are grouped
  // by that phase (sorted round the period, a new group after a gap of more than 2 ms: two threads'
  // clocks whose phases are closer than that are taken as one), and a tick is a group's slot.
  const phaseGap = 2;
  const phases = [...streamGrids.entries()].map(([ssrc, g]) => ({ ssrc, phase: ((g % packetMs) + packetMs) % packetMs })).sort((a, b) => a.phase - b.phase);
  const groupOf = new Map<number, { group: number; ref: number }>();
  if (phases.length) {
    // Start the circle after its widest gap, so that no group straddles the period's wrap.
    let cut = 0;
    let widest = -1;
    for (let i = 0; i < phases.length; i++) {
      const next = i + 1 < phases.length ? phases[i + 1].phase : phases[0].phase + packetMs;
      if (next - phases[i].phase > widest) {
        widest = next - phases[i].phase;
        cut = (i + 1) % phases.length;
      }
    }
    let group = 0;
    let ref = phases[cut].phase;
    let prev = ref;
    for (let k = 0; k < phases.length; k++) {
      const { ssrc, phase } = phases[(cut + k) % phases.length];
      const unwrapped = phase < prev - 1e-9 && k > 0 ? phase + packetMs : phase;
      if (k > 0 && unwrapped - prev > phaseGap) {
        group++;
        ref = unwrapped;
      }
      prev = unwrapped;
      groupOf.set(ssrc, { group, ref });
    }
  }
  const ticks = new Map<string, { due: number; first: number; last: number; members: number[] }>();
  for (let i = 0; i < due.length; i++) {
    const g = groupOf.get(owner[i]) as { group: number; ref: number };
    const key = `${g.group}:${Math.floor((due[i] - g.ref + packetMs / 2) / packetMs)}`;
    const t = ticks.get(key);
    if (!t) ticks.set(key, { due: due[i], first: sent[i], last: sent[i], members: [i] });
    else {
      if (due[i] < t.due) t.due = due[i];
      if (sent[i] < t.first) t.first = sent[i];
      if (sent[i] > t.last) t.last = sent[i];
      t.members.push(i);
    }
  }
  const tickStart: number[] = [];
  const tickSpan: number[] = [];
  let lateFromStart = 0;
  let lateWithinTick = 0;
  for (const t of ticks.values()) {
    const startLate = t.first - t.due;
    tickStart.push(startLate);
    tickSpan.push(t.last - t.first);
    for (const i of t.members) {
      if (late[i] <= limitMs) continue;
      if (startLate > limitMs) lateFromStart++;
      else lateWithinTick++;
    }
  }
  const worst = late
    .map((l, i) => ({ atMs: Math.round((sent[i] - start) * 10) / 10, lateMs: Math.round(l * 100) / 100 }))
    .sort((a, b) => b.lateMs - a.lateMs)
    .slice(0, 5);
  return {
    streams: streams.size,
    packets,
    expected,
    missing: Math.max(0, expected - packets),
    lateness: { ...spread(late), overLimit, limitMs },
    tickStart: spread(tickStart),
    tickSpan: spread(tickSpan),
    lateFromStart,
    lateWithinTick,
    worst,
  };
}
