/**
 * A libpcap capture file of UDP datagrams, for SIPp's `<exec play_pcap_audio="..."/>` (SIPp 3.6
 * reads it with libpcap: Ethernet link type, IPv4, UDP; it keeps each packet's UDP payload and its
 * time, and sends the payloads to the media address of the remote SDP, paced by those times).
 *
 * Written by hand because it is ~60 lines of fixed headers (pcap file format: the "libpcap" classic
 * format, https://wiki.wireshark.org/Development/LibpcapFileFormat), and no npm writer is a
 * dependency here.
 */
import { Buffer } from 'node:buffer';

/** One UDP datagram, `timeMs` after the capture started. */
export interface PcapDatagram {
  timeMs: number;
  payload: Buffer;
}

export interface PcapOptions {
  /** IPv4 addresses and UDP ports written in the headers (SIPp replaces them when it sends). */
  srcAddress?: string;
  dstAddress?: string;
  srcPort?: number;
  dstPort?: number;
}

const PCAP_MAGIC = 0xa1b2c3d4;
const LINKTYPE_ETHERNET = 1;
const ETHERTYPE_IPV4 = 0x0800;
const IPPROTO_UDP = 17;

/** A pcap file holding `datagrams` (UDP over IPv4 over Ethernet), in the order given. */
export function writePcap(datagrams: readonly PcapDatagram[], options: PcapOptions = {}): Buffer {
  const src = ipv4Bytes(options.srcAddress ?? '10.0.0.1');
  const dst = ipv4Bytes(options.dstAddress ?? '10.0.0.2');
  const srcPort = options.srcPort ?? 40000;
  const dstPort = options.dstPort ?? 40002;
  const header = Buffer.alloc(24);
  header.writeUInt32LE(PCAP_MAGIC, 0);
  header.writeUInt16LE(2, 4); // version 2.4
  header.writeUInt16LE(4, 6);
  header.writeInt32LE(0, 8); // thiszone
  header.writeUInt32LE(0, 12); // sigfigs
  header.writeUInt32LE(65535, 16); // snaplen
  header.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  const parts: Buffer[] = [header];
  datagrams.forEach((d, index) => {
    const frame = ethernetIpv4Udp(d.payload, { src, dst, srcPort, dstPort, id: index & 0xffff });
    const record = Buffer.alloc(16);
    const micros = Math.round(d.timeMs * 1000);
    record.writeUInt32LE(Math.floor(micros / 1_000_000), 0);
    record.writeUInt32LE(micros % 1_000_000, 4);
    record.writeUInt32LE(frame.length, 8); // captured
    record.writeUInt32LE(frame.length, 12); // on the wire
    parts.push(record, frame);
  });
  return Buffer.concat(parts);
}

function ethernetIpv4Udp(payload: Buffer, a: { src: Buffer; dst: Buffer; srcPort: number; dstPort: number; id: number }): Buffer {
  const eth = Buffer.alloc(14);
  Buffer.from([0x02, 0, 0, 0, 0, 0x02]).copy(eth, 0); // locally administered MACs
  Buffer.from([0x02, 0, 0, 0, 0, 0x01]).copy(eth, 6);
  eth.writeUInt16BE(ETHERTYPE_IPV4, 12);
  const udpLength = 8 + payload.length;
  const ip = Buffer.alloc(20);
  ip[0] = 0x45; // version 4, 5 words
  ip.writeUInt16BE(20 + udpLength, 2);
  ip.writeUInt16BE(a.id, 4);
  ip.writeUInt16BE(0x4000, 6); // don't fragment
  ip[8] = 64; // TTL
  ip[9] = IPPROTO_UDP;
  a.src.copy(ip, 12);
  a.dst.copy(ip, 16);
  ip.writeUInt16BE(internetChecksum(ip), 10);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(a.srcPort, 0);
  udp.writeUInt16BE(a.dstPort, 2);
  udp.writeUInt16BE(udpLength, 4);
  // UDP checksum 0: "none", allowed over IPv4 (RFC 768); SIPp computes its own when it sends.
  return Buffer.concat([eth, ip, udp, payload]);
}

function internetChecksum(buf: Buffer): number {
  let sum = 0;
  for (let i = 0; i < buf.length; i += 2) sum += buf.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ipv4Bytes(address: string): Buffer {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new TypeError(`not an IPv4 address: ${address}`);
  return Buffer.from(parts);
}

/** Reads back the UDP payloads of a pcap written by {@link writePcap} (for its own test). */
export function readPcapPayloads(file: Buffer): PcapDatagram[] {
  if (file.readUInt32LE(0) !== PCAP_MAGIC) throw new Error('not a little-endian libpcap file');
  const out: PcapDatagram[] = [];
  for (let at = 24; at + 16 <= file.length; ) {
    const sec = file.readUInt32LE(at);
    const usec = file.readUInt32LE(at + 4);
    const length = file.readUInt32LE(at + 8);
    const frame = file.subarray(at + 16, at + 16 + length);
    const ipHeader = (frame[14] & 0x0f) * 4;
    const udpLength = frame.readUInt16BE(14 + ipHeader + 4);
    out.push({ timeMs: sec * 1000 + usec / 1000, payload: Buffer.from(frame.subarray(14 + ipHeader + 8, 14 + ipHeader + udpLength)) });
    at += 16 + length;
  }
  return out;
}
