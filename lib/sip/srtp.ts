import { Cipher, createCipheriv, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * SRTP and SRTCP (RFC 3711) for the two SDES suites a SIP line offers (RFC 4568 §6.2):
 * `AES_CM_128_HMAC_SHA1_80` and `AES_CM_128_HMAC_SHA1_32` — AES-128 in counter mode, HMAC-SHA1
 * authentication (an 80- or 32-bit tag on SRTP, always 80 bits on SRTCP), key derivation rate 0,
 * no MKI. See docs/sip-srtp.md.
 *
 * Written here on `node:crypto` (its `aes-128-ctr` and `sha1` HMAC are OpenSSL's) rather than taken
 * from npm: the one maintained TypeScript implementation, `werift-rtp` (0.8.9), has no
 * `_32` suite and no replay protection, moves its rollover counter before a packet is authenticated,
 * and brings a media-container library (`mediabunny`) with it. What is left to write is the packet
 * index, the rollover counter and the replay window: RFC 3711 §3.3 and Appendix A, tested against
 * the RFC's own vectors (Appendix B.2, B.3).
 */

export type SrtpSuite = 'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32';
/** The suites, in the order we offer and prefer them. */
export const SRTP_SUITES: readonly SrtpSuite[] = ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'];

/** Master key (16 bytes) then master salt (14 bytes): what `inline:` carries, base64. */
export const MASTER_KEY_LENGTH = 16;
export const MASTER_SALT_LENGTH = 14;
export const KEY_SALT_LENGTH = MASTER_KEY_LENGTH + MASTER_SALT_LENGTH;

/** RFC 3711 §3.3.2: at least 64 packets; libsrtp uses 128. */
const REPLAY_WINDOW = 128n;
/** SSRCs we keep receive state for (a stream that changes SSRC now and then; never unbounded). */
const MAX_STREAMS = 8;
const SRTCP_TAG_LENGTH = 10;

/**
 * AES-CM over a packet: `aes-128-ecb` of the counter blocks (IV, IV + 1, ...: the IV's low 16 bits are
 * zero, so the block number is simply written there), XORed into the data. One ECB cipher per
 * session key, kept: a `createCipheriv('aes-128-ctr')` per packet spends most of its time setting
 * the key up (`npm run bench:media`, docs/benchmarks.md).
 */
function xorKeystream(ecb: Cipher, iv: Buffer, data: Buffer): Buffer {
  const blocks = Math.ceil(data.length / 16);
  if (blocks > 0x10000 || iv.readUInt16BE(14) !== 0) throw new RangeError('AES-CM: at most 2^16 blocks from an IV whose low 16 bits are zero');
  const counters = Buffer.allocUnsafe(blocks * 16);
  for (let i = 0; i < blocks; i++) {
    iv.copy(counters, i * 16);
    counters.writeUInt16BE(i, i * 16 + 14);
  }
  const stream = ecb.update(counters);
  const out = Buffer.allocUnsafe(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] ^ stream[i];
  return out;
}

function ecbFor(key: Buffer): Cipher {
  const ecb = createCipheriv('aes-128-ecb', key, null);
  ecb.setAutoPadding(false);
  return ecb;
}

/** A derived session key set (RFC 3711 §4.3): AES key, HMAC key, salt. */
export interface SessionKeys {
  encryption: Buffer;
  authentication: Buffer;
  salt: Buffer;
}

/** Why a packet was refused: its tag is wrong (forged, corrupted, other key), it was seen already, or it cannot be SRTP. */
export type SrtpDrop = 'auth' | 'replay' | 'malformed';

/**
 * The RFC 3711 §4.3.1 key derivation with key derivation rate 0: AES-CM of the master key over
 * (label ‖ 0⁴⁸) XOR the master salt, shifted left 16 bits, `length` bytes of keystream.
 */
export function deriveSessionKey(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0);
  iv[7] ^= label; // the label is byte 7 of the 112-bit x (the key id, label ‖ r, is its low 56 bits)
  return aesCm(masterKey, iv, Buffer.alloc(length));
}

/** The three session keys of SRTP (labels 0-2) or SRTCP (labels 3-5). */
export function deriveSessionKeys(masterKey: Buffer, masterSalt: Buffer, rtcp = false): SessionKeys {
  const base = rtcp ? 3 : 0;
  return {
    encryption: deriveSessionKey(masterKey, masterSalt, base, 16),
    authentication: deriveSessionKey(masterKey, masterSalt, base + 1, 20),
    salt: deriveSessionKey(masterKey, masterSalt, base + 2, 14),
  };
}

/**
 * AES-128 counter mode from `iv`, whose low 16 bits must be zero (every SRTP IV's are), for up to
 * 2¹⁶ blocks: the one keystream function, for key derivation and packets alike.
 */
export function aesCm(key: Buffer, iv: Buffer, data: Buffer): Buffer {
  return xorKeystream(ecbFor(key), iv, data);
}

/** RFC 3711 §4.1.1: IV = (salt · 2¹⁶) XOR (SSRC · 2⁶⁴) XOR (index · 2¹⁶). */
export function packetIv(salt: Buffer, ssrc: number, index: number): Buffer {
  const iv = Buffer.alloc(16);
  salt.copy(iv, 0, 0, 14);
  iv.writeUInt32BE((iv.readUInt32BE(4) ^ ssrc) >>> 0, 4);
  // The 48-bit index in bytes 8-13: its high 16 bits, then its low 32.
  iv.writeUInt16BE(iv.readUInt16BE(8) ^ Math.floor(index / 2 ** 32), 8);
  iv.writeUInt32BE((iv.readUInt32BE(10) ^ index % 2 ** 32) >>> 0, 10);
  return iv;
}

/** The length of an RTP packet's header (fixed part, CSRCs, extension), or -1 when the packet is shorter than it says. */
function rtpHeaderLength(packet: Buffer): number {
  if (packet.length < 12 || packet[0] >> 6 !== 2) return -1;
  let length = 12 + 4 * (packet[0] & 0x0f);
  if (packet[0] & 0x10) {
    if (packet.length < length + 4) return -1;
    length += 4 + 4 * packet.readUInt16BE(length + 2);
  }
  return packet.length < length ? -1 : length;
}

/** What a receiver keeps per SSRC (RFC 3711 §3.2.1, §3.3.1-2). */
interface RxStream {
  roc: number;
  /** The highest sequence number authenticated (s_l). */
  highest: number;
  /** The highest index authenticated, and which of the REPLAY_WINDOW below it were seen (bit n: index − n). */
  maxIndex: bigint;
  window: bigint;
}

/** What a sender keeps per SSRC. */
interface TxStream {
  roc: number;
  lastSeq: number;
}

/**
 * One direction's SRTP and SRTCP context: `protect` what we send with our master key, `unprotect`
 * what arrives with theirs. Per-SSRC state (rollover counter, replay window) is kept for the last
 * few SSRCs. Nothing the network sends makes it throw: `unprotect` returns a {@link SrtpDrop} reason.
 */
export class SrtpContext {
  readonly suite: SrtpSuite;
  /** The SRTP tag length in bytes: 10 (`_80`) or 4 (`_32`). */
  readonly tagLength: number;
  private readonly rtp: SessionKeys;
  private readonly rtcp: SessionKeys;
  private readonly rtpEcb: Cipher;
  private readonly rtcpEcb: Cipher;
  private readonly tx = new Map<number, TxStream>();
  private readonly rx = new Map<number, RxStream>();
  private readonly rtcpTx = new Map<number, number>();
  private readonly rtcpRx = new Map<number, { maxIndex: bigint; window: bigint }>();

  /** `keySalt`: the 30 bytes of `inline:` (master key then master salt). */
  constructor(suite: SrtpSuite, keySalt: Buffer) {
    if (!SRTP_SUITES.includes(suite)) throw new TypeError(`the SRTP suite must be one of ${SRTP_SUITES.join(', ')}, got ${String(suite)}`);
    if (!Buffer.isBuffer(keySalt) || keySalt.length !== KEY_SALT_LENGTH) {
      throw new TypeError(`an SRTP master key and salt is ${KEY_SALT_LENGTH} bytes`);
    }
    this.suite = suite;
    this.tagLength = suite === 'AES_CM_128_HMAC_SHA1_80' ? 10 : 4;
    const key = keySalt.subarray(0, MASTER_KEY_LENGTH);
    const salt = keySalt.subarray(MASTER_KEY_LENGTH);
    this.rtp = deriveSessionKeys(key, salt, false);
    this.rtcp = deriveSessionKeys(key, salt, true);
    this.rtpEcb = ecbFor(this.rtp.encryption);
    this.rtcpEcb = ecbFor(this.rtcp.encryption);
  }

  /**
   * An RTP packet, encrypted and tagged. The rollover counter goes up when the sequence number
   * wraps (RFC 3711 §3.3.1: the sender's index is ROC · 2¹⁶ + SEQ). Throws a TypeError when it is
   * not an RTP packet (ours always are).
   */
  protectRtp(packet: Buffer): Buffer {
    const headerLength = rtpHeaderLength(packet);
    if (headerLength < 0) throw new TypeError('protectRtp() needs an RTP packet');
    const ssrc = packet.readUInt32BE(8);
    const seq = packet.readUInt16BE(2);
    let stream = this.tx.get(ssrc);
    if (!stream) {
      stream = { roc: 0, lastSeq: seq };
      remember(this.tx, ssrc, stream);
    } else if (seq < stream.lastSeq && stream.lastSeq - seq > 0x8000) {
      stream.roc = (stream.roc + 1) >>> 0;
    }
    if (wrapsForward(stream.lastSeq, seq)) stream.lastSeq = seq;
    const index = stream.roc * 0x10000 + seq;
    const payload = xorKeystream(this.rtpEcb, packetIv(this.rtp.salt, ssrc, index), packet.subarray(headerLength));
    const body = Buffer.concat([packet.subarray(0, headerLength), payload]);
    return Buffer.concat([body, this.rtpTag(body, stream.roc)]);
  }

  /**
   * The RTP packet inside an SRTP one, or why it was dropped. The index is estimated from the
   * highest sequence number seen (RFC 3711 Appendix A); the rollover counter and the replay window
   * move only once the tag is right.
   */
  unprotectRtp(packet: Buffer): Buffer | SrtpDrop {
    const headerLength = rtpHeaderLength(packet);
    if (headerLength < 0 || packet.length < headerLength + this.tagLength) return 'malformed';
    const ssrc = packet.readUInt32BE(8);
    const seq = packet.readUInt16BE(2);
    const stream = this.rx.get(ssrc);
    const roc = stream ? estimateRoc(stream.roc, stream.highest, seq) : 0;
    if (roc < 0 || roc > 0xffffffff) return 'replay';
    const index = BigInt(roc) * 0x10000n + BigInt(seq);
    if (stream && seen(stream, index)) return 'replay';
    const body = packet.subarray(0, packet.length - this.tagLength);
    const tag = packet.subarray(packet.length - this.tagLength);
    if (!timingSafeEqual(tag, this.rtpTag(body, roc))) return 'auth';
    if (!stream) {
      remember(this.rx, ssrc, { roc, highest: seq, maxIndex: index, window: 1n });
    } else {
      mark(stream, index);
      if (roc > stream.roc) {
        stream.roc = roc;
        stream.highest = seq;
      } else if (roc === stream.roc && seq > stream.highest) {
        stream.highest = seq;
      }
    }
    const payload = xorKeystream(this.rtpEcb, packetIv(this.rtp.salt, ssrc, Number(index)), body.subarray(headerLength));
    return Buffer.concat([body.subarray(0, headerLength), payload]);
  }

  /** An RTCP compound packet as SRTCP: encrypted after the first 8 bytes, E-flag and index, an 80-bit tag. */
  protectRtcp(packet: Buffer): Buffer {
    if (packet.length < 8 || packet[0] >> 6 !== 2) throw new TypeError('protectRtcp() needs an RTCP packet');
    const ssrc = packet.readUInt32BE(4);
    const index = ((this.rtcpTx.get(ssrc) ?? -1) + 1) % 0x80000000;
    remember(this.rtcpTx, ssrc, index);
    const encrypted = xorKeystream(this.rtcpEcb, packetIv(this.rtcp.salt, ssrc, index), packet.subarray(8));
    const trailer = Buffer.alloc(4);
    trailer.writeUInt32BE((0x80000000 | index) >>> 0, 0);
    const body = Buffer.concat([packet.subarray(0, 8), encrypted, trailer]);
    return Buffer.concat([body, this.rtcpTag(body)]);
  }

  /** The RTCP packet inside an SRTCP one, or why it was dropped. */
  unprotectRtcp(packet: Buffer): Buffer | SrtpDrop {
    if (packet.length < 8 + 4 + SRTCP_TAG_LENGTH || packet[0] >> 6 !== 2) return 'malformed';
    const body = packet.subarray(0, packet.length - SRTCP_TAG_LENGTH);
    const tag = packet.subarray(packet.length - SRTCP_TAG_LENGTH);
    const ssrc = packet.readUInt32BE(4);
    const word = body.readUInt32BE(body.length - 4);
    const index = word & 0x7fffffff;
    const state = this.rtcpRx.get(ssrc);
    if (state && seen(state, BigInt(index))) return 'replay';
    if (!timingSafeEqual(tag, this.rtcpTag(body))) return 'auth';
    if (state) mark(state, BigInt(index));
    else remember(this.rtcpRx, ssrc, { maxIndex: BigInt(index), window: 1n });
    const content = body.subarray(8, body.length - 4);
    const plain = word & 0x80000000 ? xorKeystream(this.rtcpEcb, packetIv(this.rtcp.salt, ssrc, index), content) : content;
    return Buffer.concat([body.subarray(0, 8), plain]);
  }

  private rtpTag(body: Buffer, roc: number): Buffer {
    const rocBytes = Buffer.alloc(4);
    rocBytes.writeUInt32BE(roc >>> 0, 0);
    return createHmac('sha1', this.rtp.authentication).update(body).update(rocBytes).digest().subarray(0, this.tagLength);
  }

  private rtcpTag(body: Buffer): Buffer {
    return createHmac('sha1', this.rtcp.authentication).update(body).digest().subarray(0, SRTCP_TAG_LENGTH);
  }
}

/** RFC 3711 Appendix A: the ROC a sequence number most likely belongs to, given the highest seen (s_l). */
export function estimateRoc(roc: number, highest: number, seq: number): number {
  if (highest < 0x8000) return seq - highest > 0x8000 ? roc - 1 : roc;
  return highest - 0x8000 > seq ? roc + 1 : roc;
}

/** `seq` comes after `last` within half the sequence space (so it is the sender's new highest). */
function wrapsForward(last: number, seq: number): boolean {
  return ((seq - last) & 0xffff) < 0x8000;
}

/** Already received, or too old for the window to tell (both refused: RFC 3711 §3.3.2). */
function seen(state: { maxIndex: bigint; window: bigint }, index: bigint): boolean {
  const behind = state.maxIndex - index;
  if (behind < 0n) return false;
  if (behind >= REPLAY_WINDOW) return true;
  return ((state.window >> behind) & 1n) === 1n;
}

function mark(state: { maxIndex: bigint; window: bigint }, index: bigint): void {
  const ahead = index - state.maxIndex;
  const all = (1n << REPLAY_WINDOW) - 1n;
  if (ahead > 0n) {
    state.window = ahead >= REPLAY_WINDOW ? 1n : ((state.window << ahead) | 1n) & all;
    state.maxIndex = index;
  } else {
    state.window |= 1n << -ahead;
  }
}

/** Keeps at most MAX_STREAMS entries: the oldest SSRC is forgotten first. */
function remember<T>(map: Map<number, T>, key: number, value: T): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_STREAMS) map.delete(map.keys().next().value as number);
}
