import { VoiceError } from '../errors';

/** Why an SDP could not be used. */
export type SdpProblem = 'malformed' | 'no-audio' | 'declined' | 'address' | 'no-common-codec' | 'encryption';

/**
 * The remote SDP cannot be used for a call's audio: unreadable, no RTP/AVP or RTP/SAVP audio stream,
 * the audio declined (port 0), an address we cannot send to, no codec in common, or SRTP keys
 * (SDES) that do not fit the line's media encryption. The message says which,
 * for people. The SIP layer answers an offer it cannot use with {@link statusCode} 488 (Not
 * Acceptable Here), and ends a call whose answer it cannot use.
 */
export class SdpNegotiationError extends VoiceError {
  readonly statusCode = 488;

  constructor(
    message: string,
    readonly problem: SdpProblem,
  ) {
    super(message, 'ESDP');
  }
}
