/**
 * The far end of every call's media in bench/sip-load: one UDP socket, in a child process of its own
 * (so that its timing does not share the measured process's event loop), that
 *
 * - plays G.711 A-law audio (the payloads of SIPp's `g711a.pcap`, looped, re-cut into 20 ms packets)
 *   to every source that sends it RTP (a callee, as a latching SBC would: `answer` mode), or to a
 *   fixed address as N streams (`originate` mode, for SIPp's `-rtp_echo` reference callee);
 * - times every RTP packet it receives, per SSRC, to give the loss and the send jitter of the other
 *   side as a receiver sees them (see {@link PeerReport}).
 *
 * Why not SIPp's own `play_pcap_audio`: SIPp sends the pcap from its media port, which it binds
 * itself; the callee (our line, by symmetric RTP) then sends there, where nothing can time it.
 *
 * Driven over IPC (child_process.fork): `{ cmd: 'report' }` → a PeerReport (and the counts start
 * over), `{ cmd: 'originate', address, port, streams }`, `{ cmd: 'stop-originate' }`.
 * It sends `{ ready: port, recvBuffer: bytes }` over IPC once bound.
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

const PACKET_BYTES = 160; // 20 ms of 8 kHz A-law
const TICK_NS = 20_000_000n;
/** A stream (either way) that has been silent this long is over. */
const IDLE_MS = 400;
/** |spacing error| histogram: 0.05 ms buckets to 200 ms, then one bucket for everything later. */
const BUCKET_MS = 0.05;
const BUCKETS = 4000;
const PCMA_PT = 8;
const SEND_BATCH = 16;

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
  jitter: { samples: number; p50Ms: number; p99Ms: number; p999Ms: number; maxMs: number };
  /** Packets the peer sent (its audio to the callees). */
  sent: number;
  /** The peer's own CPU (user + system) over the reporting period, ms, and the period, ms. */
  cpuMs: number;
  wallMs: number;
}

interface RxStream {
  firstTs: number;
  lastTs: number;
  /** Timestamp span covered so far, in 160-sample units (unwrapped). */
  span: number;
  received: number;
  lastArrivalNs: bigint;
}

interface TxStream {
  address: string;
  port: number;
  ssrc: number;
  seq: number;
  ts: number;
  offset: number;
  lastHeardNs: bigint;
  /** Originate mode: never ends by silence. */
  fixed: boolean;
}

/** The A-law payloads of a pcap of RTP packets (Ethernet or Linux cooked captures), concatenated. */
function pcapAudio(path: string): Buffer {
  const file = readFileSync(path);
  const le = file.readUInt32LE(0) === 0xa1b2c3d4;
  const u32 = (o: number) => (le ? file.readUInt32LE(o) : file.readUInt32BE(o));
  const linkType = u32(20);
  const linkHeader = linkType === 113 ? 16 : 14;
  const parts: Buffer[] = [];
  for (let off = 24; off + 16 <= file.length; ) {
    const incl = u32(off + 8);
    const pkt = file.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    const ip = linkHeader;
    if (pkt.length < ip + 20 || pkt[ip] >> 4 !== 4 || pkt[ip + 9] !== 17) continue;
    const rtp = ip + (pkt[ip] & 15) * 4 + 8;
    if (pkt.length < rtp + 12 || pkt[rtp] >> 6 !== 2 || (pkt[rtp + 1] & 0x7f) !== PCMA_PT) continue;
    parts.push(pkt.subarray(rtp + 12 + (pkt[rtp] & 15) * 4));
  }
  const audio = Buffer.concat(parts);
  if (audio.length < PACKET_BYTES) throw new Error(`no PCMA RTP payloads in ${path}`);
  return audio.subarray(0, audio.length - (audio.length % PACKET_BYTES));
}

function main(): void {
  const port = Number(process.argv[2]);
  const pcap = process.argv[3];
  const audio = pcapAudio(pcap);
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 });
  const tx = new Map<string, TxStream>();
  const rx = new Map<number, RxStream>();
  const histogram = new Uint32Array(BUCKETS + 1);
  let counts = { received: 0, endedExpected: 0, endedReceived: 0, endedStreams: 0, sent: 0, maxMs: 0, samples: 0 };
  let since = { cpu: process.cpuUsage(), wall: process.hrtime.bigint() };

  const newTx = (address: string, p: number, fixed: boolean): TxStream => {
    const r = randomBytes(10);
    return { address, port: p, ssrc: r.readUInt32BE(0), seq: r.readUInt16BE(4), ts: r.readUInt32BE(6), offset: 0, lastHeardNs: process.hrtime.bigint(), fixed };
  };

  socket.on('message', (buf, rinfo) => {
    const now = process.hrtime.bigint();
    if (buf.length < 12 || buf[0] >> 6 !== 2) return;
    const pt = buf[1] & 0x7f;
    if (pt >= 72 && pt <= 76) return; // RTCP
    counts.received++;
    const key = `${rinfo.address}:${rinfo.port}`;
    const t = tx.get(key);
    if (t) t.lastHeardNs = now;
    else if (!originating) tx.set(key, newTx(rinfo.address, rinfo.port, false));
    const ssrc = buf.readUInt32BE(8);
    const ts = buf.readUInt32BE(4);
    const s = rx.get(ssrc);
    if (!s) {
      rx.set(ssrc, { firstTs: ts, lastTs: ts, span: 0, received: 1, lastArrivalNs: now });
      return;
    }
    s.received++;
    const dTs = ((ts - s.lastTs) | 0) / 8; // ms, signed (wraps)
    if (dTs > 0) {
      const dArrival = Number(now - s.lastArrivalNs) / 1e6;
      const err = Math.abs(dArrival - dTs);
      counts.samples++;
      if (err > counts.maxMs) counts.maxMs = err;
      histogram[Math.min(BUCKETS, Math.floor(err / BUCKET_MS))]++;
      s.span += Math.round(dTs / 20);
      s.lastTs = ts;
    }
    s.lastArrivalNs = now;
  });

  // The sending clock: absolute 20 ms deadlines (no drift), like the package's media clock.
  const start = process.hrtime.bigint();
  let tick = 0;
  let originating = false;
  const header = Buffer.alloc(12);
  // A tick's packets go out SEND_BATCH at a time, with the received ones handled in between: a
  // packet that arrives while hundreds are being sent is then timed when it arrives, not after.
  const outbox: Array<{ packet: Buffer; port: number; address: string }> = [];
  let sent = 0;
  let sending = false;
  const sendSome = (): void => {
    const end = Math.min(outbox.length, sent + SEND_BATCH);
    for (; sent < end; sent++) socket.send(outbox[sent].packet, outbox[sent].port, outbox[sent].address);
    if (sent < outbox.length) {
      setImmediate(sendSome);
      return;
    }
    outbox.length = 0;
    sent = 0;
    sending = false;
  };
  const onTick = (): void => {
    const now = process.hrtime.bigint();
    while (start + BigInt(tick) * TICK_NS <= now) {
      tick++;
      for (const [key, t] of tx) {
        if (!t.fixed && Number(now - t.lastHeardNs) / 1e6 > IDLE_MS) {
          tx.delete(key);
          continue;
        }
        header[0] = 0x80;
        header[1] = PCMA_PT;
        header.writeUInt16BE(t.seq, 2);
        header.writeUInt32BE(t.ts >>> 0, 4);
        header.writeUInt32BE(t.ssrc, 8);
        const packet = Buffer.concat([header, audio.subarray(t.offset, t.offset + PACKET_BYTES)]);
        t.seq = (t.seq + 1) & 0xffff;
        t.ts = (t.ts + PACKET_BYTES) >>> 0;
        t.offset = (t.offset + PACKET_BYTES) % audio.length;
        counts.sent++;
        outbox.push({ packet, port: t.port, address: t.address });
      }
    }
    if (!sending) {
      sending = true;
      sendSome();
    }
    // Streams that fell silent are over: their counts move to the totals.
    for (const [ssrc, s] of rx) {
      if (Number(now - s.lastArrivalNs) / 1e6 > IDLE_MS) endRx(ssrc, s);
    }
    const next = start + BigInt(tick) * TICK_NS;
    setTimeout(onTick, Math.max(0, Math.ceil(Number(next - process.hrtime.bigint()) / 1e6 - 0.5)));
  };

  const endRx = (ssrc: number, s: RxStream): void => {
    rx.delete(ssrc);
    counts.endedStreams++;
    counts.endedExpected += s.span + 1;
    counts.endedReceived += s.received;
  };

  const percentile = (p: number, total: number): number => {
    if (total === 0) return 0;
    let seen = 0;
    for (let b = 0; b <= BUCKETS; b++) {
      seen += histogram[b];
      if (seen >= p * total) return Math.round((b + 1) * BUCKET_MS * 100) / 100;
    }
    return BUCKETS * BUCKET_MS;
  };

  const report = (): PeerReport => {
    // Streams still going are counted as they are now (and start over in the next period).
    for (const [ssrc, s] of rx) endRx(ssrc, s);
    const expected = counts.endedExpected;
    const received = counts.endedReceived;
    const cpu = process.cpuUsage(since.cpu);
    const wallNs = process.hrtime.bigint() - since.wall;
    const r: PeerReport = {
      streams: counts.endedStreams,
      received,
      expected,
      lost: Math.max(0, expected - received),
      jitter: { samples: counts.samples, p50Ms: percentile(0.5, counts.samples), p99Ms: percentile(0.99, counts.samples), p999Ms: percentile(0.999, counts.samples), maxMs: Math.round(counts.maxMs * 100) / 100 },
      sent: counts.sent,
      cpuMs: (cpu.user + cpu.system) / 1000,
      wallMs: Number(wallNs) / 1e6,
    };
    histogram.fill(0);
    counts = { received: 0, endedExpected: 0, endedReceived: 0, endedStreams: 0, sent: 0, maxMs: 0, samples: 0 };
    since = { cpu: process.cpuUsage(), wall: process.hrtime.bigint() };
    return r;
  };

  process.on('message', (m: { cmd: string; address?: string; port?: number; streams?: number }) => {
    if (m.cmd === 'report') process.send?.({ report: report() });
    else if (m.cmd === 'originate') {
      originating = true;
      for (let i = 0; i < (m.streams ?? 0); i++) tx.set(`fixed-${i}`, newTx(m.address as string, m.port as number, true));
      process.send?.({ originating: m.streams });
    } else if (m.cmd === 'stop-originate') {
      for (const key of [...tx.keys()]) if (key.startsWith('fixed-')) tx.delete(key);
      originating = false;
      process.send?.({ stopped: true });
    }
  });
  process.on('disconnect', () => process.exit(0));

  socket.bind(port, '127.0.0.1', () => {
    // The kernel caps the 8 MB asked for at net.core.rmem_max (Linux's default 208 KiB holds about
    // 20 ms of packets at 500 calls): the bench prints what was granted.
    process.send?.({ ready: socket.address().port, recvBuffer: socket.getRecvBufferSize() });
    onTick();
  });
}

main();
