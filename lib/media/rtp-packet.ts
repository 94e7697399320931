import { checkInt } from './check-option';

/**
 * RTP packets (RFC 3550 §5.1): parse what arrives from the network, serialize what we send.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           timestamp                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           synchronization source (SSRC) identifier            |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |            contributing source (CSRC) identifiers             |
 * |                             ....                              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  extension profile (16)       |  extension length (32-bit words)|  (if X)
 * |                        extension data                         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     payload ...       | padding ... | pad count |  (pad count if P)
 * ```
 */

export const RTP_VERSION = 2;
/** The fixed header, without CSRCs or extension. */
export const RTP_HEADER_SIZE = 12;

export interface RtpHeaderExtension {
  /** The 16-bit profile-defined identifier (0xBEDE for RFC 8285 one-byte headers). */
  profile: number;
  /** The extension data, a multiple of 4 bytes long. */
  data: Buffer;
}

export interface RtpPacket {
  /** Always 2. */
  version: 2;
  marker: boolean;
  /** 0–127. */
  payloadType: number;
  /** 16-bit sequence number. */
  sequenceNumber: number;
  /** 32-bit timestamp, in the payload's clock (8000 Hz for G.711 and telephone events). */
  timestamp: number;
  /** 32-bit synchronization source. */
  ssrc: number;
  /** Contributing sources, at most 15. */
  csrc: number[];
  extension?: RtpHeaderExtension;
  /** The number of padding bytes at the end (0: the P bit is clear), 1–255 otherwise. */
  padding: number;
  /**
   * The payload. From {@link parseRtp} it is a view into the buffer that was parsed (no copy): copy
   * it before keeping it if that buffer is reused.
   */
  payload: Buffer;
}

/**
 * Parses one RTP packet, or returns `null` when the bytes are not a well-formed RTP version 2
 * packet (too short, another version, a CSRC list, extension or padding that does not fit). Never
 * throws, whatever the bytes.
 */
export function parseRtp(buf: Buffer): RtpPacket | null {
  if (!Buffer.isBuffer(buf) || buf.length < RTP_HEADER_SIZE) return null;
  const b0 = buf[0];
  if (b0 >> 6 !== RTP_VERSION) return null;
  const hasPadding = (b0 & 0x20) !== 0;
  const hasExtension = (b0 & 0x10) !== 0;
  const csrcCount = b0 & 0x0f;
  let offset = RTP_HEADER_SIZE + csrcCount * 4;
  if (offset > buf.length) return null;
  const csrc: number[] = [];
  for (let i = 0; i < csrcCount; i++) csrc.push(buf.readUInt32BE(RTP_HEADER_SIZE + i * 4));
  let extension: RtpHeaderExtension | undefined;
  if (hasExtension) {
    if (offset + 4 > buf.length) return null;
    const profile = buf.readUInt16BE(offset);
    const length = buf.readUInt16BE(offset + 2) * 4;
    offset += 4;
    if (offset + length > buf.length) return null;
    extension = { profile, data: buf.subarray(offset, offset + length) };
    offset += length;
  }
  let end = buf.length;
  let padding = 0;
  if (hasPadding) {
    padding = buf[buf.length - 1];
    if (padding === 0 || offset + padding > buf.length) return null;
    end -= padding;
  }
  const b1 = buf[1];
  const packet: RtpPacket = {
    version: RTP_VERSION,
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    csrc,
    padding,
    payload: buf.subarray(offset, end),
  };
  if (extension) packet.extension = extension;
  return packet;
}

/** What {@link serializeRtp} needs: the rest has defaults (no marker, no CSRC, no extension, no padding). */
export type RtpPacketInit = Pick<RtpPacket, 'payloadType' | 'sequenceNumber' | 'timestamp' | 'ssrc' | 'payload'> &
  Partial<Pick<RtpPacket, 'marker' | 'csrc' | 'extension' | 'padding'>>;

/**
 * Serializes a packet. Fields are checked (a `TypeError` names the one out of range): this is for
 * packets we build, so a mistake is a bug to see, not a packet to send. Padding bytes are zeros
 * followed by the count.
 */
export function serializeRtp(p: RtpPacketInit): Buffer {
  const csrc = p.csrc ?? [];
  const padding = p.padding ?? 0;
  checkInt('payloadType', p.payloadType, 0, 0x7f);
  checkInt('sequenceNumber', p.sequenceNumber, 0, 0xffff);
  checkInt('timestamp', p.timestamp, 0, 0xffffffff);
  checkInt('ssrc', p.ssrc, 0, 0xffffffff);
  checkInt('padding', padding, 0, 0xff);
  if (csrc.length > 15) throw new TypeError(`"csrc" holds at most 15 sources, got ${csrc.length}`);
  csrc.forEach((c, i) => checkInt(`csrc[${i}]`, c, 0, 0xffffffff));
  if (!((p.payload as unknown) instanceof Uint8Array)) throw new TypeError('"payload" must be a Buffer');
  const ext = p.extension;
  if (ext) {
    checkInt('extension.profile', ext.profile, 0, 0xffff);
    if (ext.data.length % 4 !== 0 || ext.data.length > 0xffff * 4) {
      throw new TypeError(`"extension.data" must be a multiple of 4 bytes long, got ${ext.data.length}`);
    }
  }
  const headerSize = RTP_HEADER_SIZE + csrc.length * 4 + (ext ? 4 + ext.data.length : 0);
  const out = Buffer.allocUnsafe(headerSize + p.payload.length + padding); // every byte is written below
  out[0] = (RTP_VERSION << 6) | (padding > 0 ? 0x20 : 0) | (ext ? 0x10 : 0) | csrc.length;
  out[1] = (p.marker ? 0x80 : 0) | p.payloadType;
  out.writeUInt16BE(p.sequenceNumber, 2);
  out.writeUInt32BE(p.timestamp, 4);
  out.writeUInt32BE(p.ssrc, 8);
  let offset = RTP_HEADER_SIZE;
  for (const c of csrc) {
    out.writeUInt32BE(c, offset);
    offset += 4;
  }
  if (ext) {
    out.writeUInt16BE(ext.profile, offset);
    out.writeUInt16BE(ext.data.length / 4, offset + 2);
    out.set(ext.data, offset + 4);
    offset += 4 + ext.data.length;
  }
  out.set(p.payload, offset);
  if (padding > 0) {
    out.fill(0, offset + p.payload.length, out.length - 1);
    out[out.length - 1] = padding;
  }
  return out;
}

/**
 * Writes a plain packet (no CSRC, extension or padding) into `out`, whose length must be the header's
 * and the payload's, without checking the fields: for a session's own packets, every tick, whose
 * fields it keeps in range itself ({@link serializeRtp} checks them, allocates, and does the rest).
 */
export function writePlainRtp(out: Buffer, payloadType: number, marker: boolean, sequenceNumber: number, timestamp: number, ssrc: number, payload: Uint8Array): Buffer {
  out[0] = RTP_VERSION << 6;
  out[1] = (marker ? 0x80 : 0) | payloadType;
  out[2] = sequenceNumber >>> 8;
  out[3] = sequenceNumber & 0xff;
  out[4] = timestamp >>> 24;
  out[5] = (timestamp >>> 16) & 0xff;
  out[6] = (timestamp >>> 8) & 0xff;
  out[7] = timestamp & 0xff;
  out[8] = ssrc >>> 24;
  out[9] = (ssrc >>> 16) & 0xff;
  out[10] = (ssrc >>> 8) & 0xff;
  out[11] = ssrc & 0xff;
  out.set(payload, RTP_HEADER_SIZE);
  return out;
}

/**
 * True when the bytes look like RTCP multiplexed on the RTP port (RFC 5761 §4: the second byte is an
 * RTCP packet type 192–223, which reads as marker + payload type 64–95). Use it before
 * {@link parseRtp} on a port that may carry both.
 */
export function looksLikeRtcp(buf: Buffer): boolean {
  return buf.length >= 8 && buf[0] >> 6 === RTP_VERSION && buf[1] >= 192 && buf[1] <= 223;
}
