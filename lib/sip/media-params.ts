import net from 'node:net';
import { PT_PCMA, PT_PCMU } from '../media/g711';
import { describe } from '../validate';

/**
 * The words the SDP layer (sdp.ts) and the RTP layer (rtp-session.ts) share: codecs, directions and
 * the remote end of a stream. What one decides from SDP, the other is configured with.
 */

/** The codecs this package speaks: G.711 µ-law and A-law, 8000 Hz, one channel. */
export type G711Codec = 'PCMU' | 'PCMA';
export const G711_CODECS: readonly G711Codec[] = ['PCMU', 'PCMA'];
/** Their static RTP payload types (RFC 3551). */
export const STATIC_PAYLOAD_TYPES: Readonly<Record<G711Codec, number>> = { PCMU: PT_PCMU, PCMA: PT_PCMA };

/** The RFC 3264 direction of a stream, from the point of view of the side that states it. */
export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
export const MEDIA_DIRECTIONS: readonly MediaDirection[] = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];

/** Where RTP goes: an IPv4 address and a UDP port. */
export interface RtpEndpoint {
  address: string;
  port: number;
}

/** What an RTP stream needs to know about its call leg, as negotiated in SDP. */
export interface RtpMediaParams {
  codec: G711Codec;
  /** The payload type the codec has in this call (the static one, 0 or 8, unless the SDP mapped another). */
  payloadType: number;
  /** The negotiated telephone-event payload type (96–127), or `null`: RFC 4733 was not agreed. */
  telephoneEventPt: number | null;
  /** Where to send until packets arrive (then we send where they come from), or `null`: nowhere yet. */
  remote: RtpEndpoint | null;
  /** OUR direction: whether we send, receive, both or neither. */
  direction: MediaDirection;
}

export function sends(direction: MediaDirection): boolean {
  return direction === 'sendrecv' || direction === 'sendonly';
}

export function receives(direction: MediaDirection): boolean {
  return direction === 'sendrecv' || direction === 'recvonly';
}

export function directionOf(send: boolean, receive: boolean): MediaDirection {
  if (send) return receive ? 'sendrecv' : 'sendonly';
  return receive ? 'recvonly' : 'inactive';
}

/**
 * The direction our side may take given what we want and what the other side stated (RFC 3264
 * §6.1): we send only if we want to and they receive, we receive only if we want to and they send.
 * So a `sendonly` offer (the remote holds us) is answered `recvonly`, `inactive` with `inactive`.
 */
export function answerDirection(wanted: MediaDirection, theirs: MediaDirection): MediaDirection {
  return directionOf(sends(wanted) && receives(theirs), receives(wanted) && sends(theirs));
}

/** Throws a `TypeError` naming `name` unless `value` is a dotted IPv4 address. */
export function checkIpv4(name: string, value: unknown): string {
  if (typeof value !== 'string' || !net.isIPv4(value)) {
    throw new TypeError(`"${name}" must be an IPv4 address such as 192.0.2.10, got ${describe(value)}`);
  }
  return value;
}
