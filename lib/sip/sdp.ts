import { randomInt } from 'node:crypto';
import net from 'node:net';
import * as sdpTransform from 'sdp-transform';
import { checkInt, checkOneOf, checkOptions } from '../media/check-option';
import { DEFAULT_TELEPHONE_EVENT_PT } from '../media/dtmf-sender';
import { printable } from '../validate';
import {
  answerDirection,
  checkIpv4,
  directionOf,
  G711_CODECS,
  G711Codec,
  MEDIA_DIRECTIONS,
  MediaDirection,
  receives,
  RtpMediaParams,
  sends,
  STATIC_PAYLOAD_TYPES,
} from './media-params';
import { SdpNegotiationError } from './sdp-negotiation-error';
import { cryptoAttributes, MEDIA_ENCRYPTIONS, MediaEncryption, newLocalKeys, RawCrypto, readCrypto, SdesCrypto, SrtpKeys } from './sdes';
import { SRTP_SUITES } from './srtp';

/**
 * SDP offer/answer (RFC 3264) for a call's audio, with `sdp-transform` doing the text.
 *
 * Ours: one `m=audio <port> RTP/AVP` with PCMU/0 and PCMA/8 (in the configured order) and
 * telephone-event/8000 (PT 101, events 0-16), `a=ptime:20`, a direction attribute, `c=IN IP4` at
 * session level. Theirs: the first `m=audio` over RTP/AVP or RTP/SAVP; the codec is the first of OUR
 * preference order that they list; a `c=` at media level wins over the session's; `0.0.0.0` means
 * hold (RFC 2543).
 *
 * SRTP keys by SDES (RFC 4568, lib/sip/sdes.ts), as the line's `encryption` says: `none` offers
 * RTP/AVP and answers only RTP/AVP, ignoring crypto lines; `optional` offers RTP/AVP WITH crypto
 * lines (best-effort SDES) and answers RTP/AVP or RTP/SAVP, encrypted whenever the other side gave a
 * usable crypto line; `required` offers RTP/SAVP and refuses (488) or ends what has no usable crypto
 * line. See docs/sip-srtp.md.
 */

/** Our packet interval: G.711 at 20 ms. */
export const PTIME_MS = 20;
/** The telephone events we declare (0-15 DTMF, 16 flash; flash is ignored when received). */
export const TELEPHONE_EVENT_FMTP = '0-16';

export interface SdpMediaConfig {
  /** The IPv4 address the remote party sends RTP to (our `c=` and `o=`). */
  address: string;
  /** Our RTP port. */
  port: number;
  /** Codecs in our order of preference (default PCMU, PCMA). */
  codecs?: readonly G711Codec[];
  /** The telephone-event payload type we offer (96–127, default 101), or `null` to offer no RFC 4733. */
  telephoneEventPt?: number | null;
  /** The `o=` user name (default `-`). */
  username?: string;
  /** SRTP by SDES: `none` (default), `optional` or `required`. */
  encryption?: MediaEncryption;
}

/** A codec as the remote SDP lists it. */
export interface RemoteCodec {
  payloadType: number;
  /** From `a=rtpmap`, or the RFC 3551 name of a static payload type (`PT 34` when unknown). */
  name: string;
  /** The clock rate, when known. */
  rate: number | null;
  /** Channels, when the rtpmap says. */
  channels: number | null;
}

/** What we read from a remote SDP. */
export interface RemoteSdp {
  /** The parsed text, as `sdp-transform` gives it. */
  raw: sdpTransform.SessionDescription;
  /**
   * `o=`: a new version means a changed description (RFC 3264 §8). Kept as text: both numbers may
   * exceed what a JavaScript number holds exactly (`sdp-transform` would round them).
   */
  origin: { username: string; sessionId: string; version: string };
  /** Which `m=` line is the audio we use (an answer must keep every line, in order). */
  mediaIndex: number;
  /** Its transport: plain RTP, or SRTP (keys by SDES). */
  protocol: 'RTP/AVP' | 'RTP/SAVP';
  /** Its `a=crypto` lines as read, unchecked (sdes.ts reads them when encryption is wanted), and those sdp-transform could not read. */
  crypto: { lines: RawCrypto[]; unreadable: string[] };
  /** Where they want RTP, or `null` for `0.0.0.0` (hold). */
  address: string | null;
  /** Their RTP port; 0 means the stream is declined. */
  port: number;
  /** Every payload of the line, in their order. */
  codecs: RemoteCodec[];
  /** Their telephone-event/8000 payload type, or `null`. */
  telephoneEventPt: number | null;
  /** As stated (media level over session level; `sendrecv` when absent). */
  direction: MediaDirection;
  ptime: number | null;
  /** They do not want to receive our audio: `sendonly`, `inactive` or `0.0.0.0` (they hold us). */
  hold: boolean;
}

/** What an offer/answer exchange decided: what RtpSession.configure() takes, and what it means for the call. */
export interface NegotiatedMedia extends RtpMediaParams {
  /** The remote party holds us (its SDP does not want our audio). */
  remoteHold: boolean;
  /** The packet interval they asked for (we send 20 ms whatever it is). */
  remotePtime: number | null;
  /** The SRTP suite and keys agreed, or `null`: plain RTP. */
  srtp: SrtpKeys | null;
}

/** RFC 3551 names of the static payload types, for matching and for error messages. */
const STATIC_NAMES: Readonly<Record<number, [name: string, rate: number]>> = {
  0: ['PCMU', 8000],
  3: ['GSM', 8000],
  4: ['G723', 8000],
  8: ['PCMA', 8000],
  9: ['G722', 8000],
  13: ['CN', 8000],
  18: ['G729', 8000],
};

/**
 * Reads a remote offer or answer. Throws {@link SdpNegotiationError} when it is not SDP, has no
 * RTP/AVP audio stream, or its address is not IPv4. Never throws anything else, whatever the text.
 */
export function parseRemoteSdp(text: string): RemoteSdp {
  if (typeof text !== 'string' || !/^v=0\s*$/m.test(text)) {
    throw new SdpNegotiationError('the remote party sent no session description (SDP) that can be read', 'malformed');
  }
  let raw: sdpTransform.SessionDescription;
  try {
    raw = sdpTransform.parse(text);
  } catch {
    throw new SdpNegotiationError('the remote party sent a session description (SDP) that cannot be read', 'malformed');
  }
  const media = Array.isArray(raw.media) ? raw.media : [];
  const mediaIndex = media.findIndex((m) => m.type === 'audio' && (m.protocol === 'RTP/AVP' || m.protocol === 'RTP/SAVP'));
  if (mediaIndex < 0) {
    const offered = media.map((m) => `${String(m.type)} ${String(m.protocol)}`).join(', ') || 'no media at all';
    throw new SdpNegotiationError(
      `the remote party offered no audio stream this line can use (RTP/AVP, or RTP/SAVP with SDES keys; no DTLS-SRTP, no WebRTC): it offered ${printable(offered)}`,
      'no-audio',
    );
  }
  const m = media[mediaIndex];
  const invalid = (m as { invalid?: { value?: unknown }[] }).invalid ?? [];
  const port = Number.isInteger(m.port) && m.port >= 0 && m.port <= 65535 ? m.port : NaN;
  if (Number.isNaN(port)) throw new SdpNegotiationError('the remote SDP has an audio line without a valid port', 'malformed');
  const address = connectionAddress(m.connection ?? raw.connection, port);
  const codecs = payloadList(m.payloads).map((pt) => describeCodec(pt, m.rtp ?? []));
  const te = codecs.find((c) => c.name.toLowerCase() === 'telephone-event' && c.rate === 8000);
  const stated = MEDIA_DIRECTIONS.includes(m.direction as MediaDirection)
    ? (m.direction as MediaDirection)
    : MEDIA_DIRECTIONS.includes(raw.direction as MediaDirection)
      ? (raw.direction as MediaDirection)
      : 'sendrecv';
  return {
    raw,
    origin: readOrigin(text),
    mediaIndex,
    protocol: m.protocol as RemoteSdp['protocol'],
    crypto: {
      lines: Array.isArray(m.crypto) ? (m.crypto as RawCrypto[]) : [],
      unreadable: invalid.map((i) => String(i.value ?? '')).filter((v) => /^crypto:/i.test(v)),
    },
    address,
    port,
    codecs,
    telephoneEventPt: te && te.payloadType >= 96 ? te.payloadType : null,
    direction: stated,
    ptime: typeof m.ptime === 'number' && Number.isFinite(m.ptime) ? m.ptime : null,
    hold: !receives(effectiveDirection(stated, address)),
  };
}

/**
 * Our SDP for one call leg, across its offers and answers: one `o=` session id, whose version goes
 * up by one each time what we send differs from what we sent before (an identical re-offer, a
 * session refresh, keeps it, as RFC 3264 §8 asks).
 */
export class LocalSdp {
  readonly sessionId: string;
  private config: Required<SdpMediaConfig>;
  private version = 1;
  /** What we sent last, without its version, to tell whether the next one changed. */
  private lastSent: string | null = null;
  /** The direction of our last offer, for reading its answer. */
  private offeredDirection: MediaDirection | null = null;
  /** Our SRTP master keys, one per suite, for the whole call leg (a re-offer keeps them). */
  private readonly keys = newLocalKeys();

  constructor(config: SdpMediaConfig) {
    this.config = checkConfig(config);
    this.sessionId = String(randomInt(1, 2 ** 47));
  }

  /** The session version of the last SDP we produced. */
  get sessionVersion(): number {
    return this.version;
  }

  /** Changes the address, port or codecs for the next offer or answer. */
  update(config: Partial<SdpMediaConfig>): void {
    this.config = checkConfig({ ...this.config, ...config });
  }

  /**
   * An offer: all our codecs, in order, and telephone-event. `sendonly` puts the remote party on
   * hold (design §5: what sip.js's `hold` flag must become), `sendrecv` resumes.
   */
  createOffer(direction: MediaDirection = 'sendrecv'): string {
    checkOneOf('direction', direction, MEDIA_DIRECTIONS);
    const c = this.config;
    const pts = c.codecs.map((codec) => ({ pt: STATIC_PAYLOAD_TYPES[codec], codec }));
    this.offeredDirection = direction;
    const protocol = c.encryption === 'required' ? 'RTP/SAVP' : 'RTP/AVP';
    return this.render([audioLine(c.port, pts, c.telephoneEventPt, direction, protocol, this.offeredCrypto())]);
  }

  /**
   * Answers a remote offer: the first common codec in OUR order, their telephone-event type, and
   * the direction RFC 3264 allows (their `sendonly` is answered `recvonly`, `inactive` with
   * `inactive`; `wanted` is `sendonly` when we hold them). Every other `m=` line is declined (port 0).
   * Throws {@link SdpNegotiationError} when nothing fits (answer the INVITE with 488).
   */
  createAnswer(offer: RemoteSdp | string, wanted: MediaDirection = 'sendrecv'): { sdp: string; media: NegotiatedMedia } {
    checkOneOf('direction', wanted, MEDIA_DIRECTIONS);
    const remote = typeof offer === 'string' ? parseRemoteSdp(offer) : offer;
    const media = this.negotiate(remote, wanted, this.answerSrtp(remote));
    const te = this.config.telephoneEventPt === null ? null : media.telephoneEventPt;
    const crypto = media.srtp ? [{ tag: media.srtp.tag, suite: media.srtp.suite, keySalt: media.srtp.local }] : [];
    const lines = remote.raw.media.map((m, i): sdpTransform.MediaDescription =>
      i === remote.mediaIndex
        ? audioLine(this.config.port, [{ pt: media.payloadType, codec: media.codec }], te, media.direction, remote.protocol, crypto)
        : { type: String(m.type ?? 'audio'), port: 0, protocol: String(m.protocol ?? 'RTP/AVP'), payloads: String(m.payloads ?? '0'), rtp: [], fmtp: [] },
    );
    this.offeredDirection = null;
    return { sdp: this.render(lines), media: { ...media, telephoneEventPt: te } };
  }

  /**
   * Reads the answer to our last offer. Throws {@link SdpNegotiationError} when it declines the
   * audio or picked nothing we offered (end the call), and a `TypeError` when no offer was made.
   */
  acceptAnswer(answer: RemoteSdp | string): NegotiatedMedia {
    if (this.offeredDirection === null) throw new TypeError('acceptAnswer() needs an offer made with createOffer() first');
    const remote = typeof answer === 'string' ? parseRemoteSdp(answer) : answer;
    const media = this.negotiate(remote, this.offeredDirection, this.acceptSrtp(remote));
    return { ...media, telephoneEventPt: this.config.telephoneEventPt === null ? null : media.telephoneEventPt };
  }

  /** Our crypto lines (tags 1, 2 in our order of suites), or none when encryption is off. */
  private offeredCrypto(): SdesCrypto[] {
    if (this.config.encryption === 'none') return [];
    return SRTP_SUITES.map((suite, i) => ({ tag: i + 1, suite, keySalt: this.keys.get(suite) as Buffer }));
  }

  /** As answerer: the first of their crypto lines we support, with our key for its suite; `null` for plain RTP; throws (488) when that cannot be. */
  private answerSrtp(remote: RemoteSdp): SrtpKeys | null {
    const mode = this.config.encryption;
    if (mode === 'none') {
      if (remote.protocol === 'RTP/SAVP') {
        throw new SdpNegotiationError('the remote party offered only encrypted audio (RTP/SAVP), and this line\'s media encryption is off', 'encryption');
      }
      return null;
    }
    const offered = readCrypto(remote.crypto);
    const pick = offered[0];
    if (pick) return { suite: pick.suite, tag: pick.tag, local: this.keys.get(pick.suite) as Buffer, remote: pick.keySalt };
    if (remote.protocol === 'RTP/SAVP' || mode === 'required') {
      const theirs = remote.crypto.lines.map((l) => String(l.suite)).join(', ') || 'none';
      throw new SdpNegotiationError(
        `the remote party offered no SRTP key this line can use (suites offered: ${printable(theirs)}; this line uses ${SRTP_SUITES.join(', ')} by SDES` +
          `${mode === 'required' ? ', and its media encryption is required' : ''})`,
        'encryption',
      );
    }
    return null;
  }

  /** As offerer: the crypto line their answer took from our offer, or `null` for plain RTP; throws when their answer does not fit it. */
  private acceptSrtp(remote: RemoteSdp): SrtpKeys | null {
    const mode = this.config.encryption;
    const ours = this.offeredCrypto();
    if (mode === 'none') {
      if (remote.protocol === 'RTP/SAVP') throw new SdpNegotiationError('the remote party answered with encrypted audio (RTP/SAVP) to our plain RTP offer', 'encryption');
      return null;
    }
    const answered = readCrypto(remote.crypto);
    if (answered.length === 0) {
      if (mode === 'required' || remote.protocol === 'RTP/SAVP') {
        throw new SdpNegotiationError('the remote party answered without an SRTP key, and this line\'s media encryption is required', 'encryption');
      }
      return null;
    }
    const mine = ours.find((c) => c.tag === answered[0].tag && c.suite === answered[0].suite);
    if (answered.length > 1 || !mine) {
      throw new SdpNegotiationError(
        `the remote party answered with an SRTP key line we did not offer (tag ${answered[0].tag}, ${answered[0].suite}; we offered ${ours.map((c) => `${c.tag} ${c.suite}`).join(', ')})`,
        'encryption',
      );
    }
    return { suite: mine.suite, tag: mine.tag, local: mine.keySalt, remote: answered[0].keySalt };
  }

  private negotiate(remote: RemoteSdp, wanted: MediaDirection, srtp: SrtpKeys | null): NegotiatedMedia {
    if (remote.port === 0) throw new SdpNegotiationError('the remote party declined the audio stream (port 0)', 'declined');
    const codec = this.config.codecs.find((ours) => remote.codecs.some((c) => isCodec(c, ours)));
    if (codec === undefined) {
      throw new SdpNegotiationError(
        `the remote party offered no codec this line accepts: it offered ${printable(remote.codecs.map((c) => c.name).join(', ') || 'none')}; ` +
          `this line accepts ${this.config.codecs.join(', ')}`,
        'no-common-codec',
      );
    }
    const theirs = effectiveDirection(remote.direction, remote.address);
    return {
      codec,
      payloadType: (remote.codecs.find((c) => isCodec(c, codec)) as RemoteCodec).payloadType,
      telephoneEventPt: remote.telephoneEventPt,
      remote: remote.address === null ? null : { address: remote.address, port: remote.port },
      direction: answerDirection(wanted, theirs),
      remoteHold: remote.hold,
      remotePtime: remote.ptime,
      srtp,
    };
  }

  private render(media: sdpTransform.MediaDescription[]): string {
    const c = this.config;
    const description = (version: number): sdpTransform.SessionDescription => ({
      version: 0,
      origin: { username: c.username, sessionId: this.sessionId, sessionVersion: version, netType: 'IN', ipVer: 4, address: c.address },
      name: '-',
      connection: { version: 4, ip: c.address },
      timing: { start: 0, stop: 0 },
      media,
    });
    // RFC 3264 §8: the version goes up when the description changes. Compared at version 0; the
    // first description (most calls send only one) is that text itself, written once.
    const body = sdpTransform.write(description(0));
    if (this.lastSent !== null && body !== this.lastSent) this.version++;
    this.lastSent = body;
    return this.version === 0 ? body : sdpTransform.write(description(this.version));
  }
}

/** The `m=audio` line of ours: the given codecs, then telephone-event when there is one. */
function audioLine(
  port: number,
  codecs: { pt: number; codec: G711Codec }[],
  telephoneEventPt: number | null,
  direction: MediaDirection,
  protocol: RemoteSdp['protocol'] = 'RTP/AVP',
  crypto: readonly SdesCrypto[] = [],
): sdpTransform.MediaDescription {
  const rtp: sdpTransform.MediaAttributes['rtp'] = codecs.map(({ pt, codec }) => ({ payload: pt, codec, rate: 8000 }));
  const fmtp: sdpTransform.MediaDescription['fmtp'] = [];
  if (telephoneEventPt !== null) {
    rtp.push({ payload: telephoneEventPt, codec: 'telephone-event', rate: 8000 });
    fmtp.push({ payload: telephoneEventPt, config: TELEPHONE_EVENT_FMTP });
  }
  return {
    type: 'audio',
    port,
    protocol,
    payloads: rtp.map((r) => r.payload).join(' '),
    rtp,
    fmtp,
    ...(crypto.length > 0 ? { crypto: cryptoAttributes(crypto) } : {}),
    ptime: PTIME_MS,
    direction,
  };
}

/** What they actually do: an address of 0.0.0.0 cannot receive, whatever the attribute says. */
function effectiveDirection(stated: MediaDirection, address: string | null): MediaDirection {
  return directionOf(sends(stated), receives(stated) && address !== null);
}

function connectionAddress(connection: { version: number; ip: string } | undefined, port: number): string | null {
  if (!connection || typeof connection.ip !== 'string') {
    if (port === 0) return null; // a declined stream needs no address
    throw new SdpNegotiationError('the remote SDP has no connection address (c=) for its audio', 'malformed');
  }
  if (connection.version !== 4 || !net.isIPv4(connection.ip)) {
    throw new SdpNegotiationError(
      `the remote party wants audio at ${printable(connection.ip)}, but this line sends RTP to IPv4 addresses only`,
      'address',
    );
  }
  return connection.ip === '0.0.0.0' ? null : connection.ip;
}

function readOrigin(text: string): RemoteSdp['origin'] {
  const m = /^o=(\S+) (\d+) (\d+) /m.exec(text);
  return m ? { username: m[1], sessionId: m[2], version: m[3] } : { username: '', sessionId: '', version: '' };
}

function payloadList(payloads: unknown): number[] {
  return String(payloads ?? '')
    .split(/\s+/)
    .filter((p) => /^\d{1,3}$/.test(p) && Number(p) <= 127)
    .map(Number);
}

function describeCodec(pt: number, rtpmap: sdpTransform.MediaAttributes['rtp']): RemoteCodec {
  const map = rtpmap.find((r) => r.payload === pt);
  if (map && typeof map.codec === 'string') {
    return { payloadType: pt, name: map.codec, rate: map.rate ?? null, channels: map.encoding ?? null };
  }
  const known = STATIC_NAMES[pt];
  return { payloadType: pt, name: known ? known[0] : `PT ${pt}`, rate: known ? known[1] : null, channels: null };
}

function isCodec(c: RemoteCodec, codec: G711Codec): boolean {
  return c.name.toUpperCase() === codec && (c.rate ?? 8000) === 8000 && (c.channels ?? 1) === 1;
}

function checkConfig(config: SdpMediaConfig): Required<SdpMediaConfig> {
  const o = checkOptions('LocalSdp', config);
  const codecs = o.codecs ?? G711_CODECS;
  if (!Array.isArray(codecs) || codecs.length === 0 || new Set(codecs).size !== codecs.length) {
    throw new TypeError(`"codecs" must list ${G711_CODECS.join(' and/or ')} once each, in order of preference`);
  }
  codecs.forEach((c, i) => checkOneOf(`codecs[${i}]`, c, G711_CODECS));
  const te = o.telephoneEventPt === undefined ? DEFAULT_TELEPHONE_EVENT_PT : o.telephoneEventPt;
  const username = o.username ?? '-';
  if (typeof username !== 'string' || !/^[\x21-\x7e]{1,64}$/.test(username)) {
    throw new TypeError(`"username" must be 1 to 64 visible characters without spaces, got ${JSON.stringify(username)}`);
  }
  return {
    address: checkIpv4('address', o.address),
    port: checkInt('port', o.port, 1, 65535),
    codecs: [...codecs],
    telephoneEventPt: te === null ? null : checkInt('telephoneEventPt', te, 96, 127),
    username,
    encryption: checkOneOf('encryption', o.encryption ?? 'none', MEDIA_ENCRYPTIONS),
  };
}
