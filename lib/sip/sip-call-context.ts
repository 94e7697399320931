import type { Invitation, Session, UserAgent } from 'sip.js';
import type { DialOptions, HangupRequest, Logger } from '../backend';
import type { Call } from '../call/call';
import type { EndInfo } from '../call/cause';
import type { RtpSession } from './rtp-session';

/**
 * What the SIP backend's call features (DTMF, control, forwarding, audio: one file each) may use of
 * it. One object, made by {@link SipBackend}, so that a feature sees the backend through this and
 * nothing else.
 */
export interface SipCallContext {
  /** The sip.js session of a call of this line (undefined once the call is gone). */
  sessionOf(call: Call): Session | undefined;
  /** The call's RTP session once its media exists. */
  rtpOf(call: Call): RtpSession | undefined;
  /** The line's calls in progress. */
  calls(): Call[];
  /** Answers an incoming or waiting call. */
  answer(call: Call): Promise<void>;
  /** Places a call (as the line's own dial: it is tracked and reported like any other). */
  dial(number: string, options: DialOptions): Promise<Call>;
  /** Hangs up / rejects / cancels a call. */
  hangup(call: Call, request: HangupRequest): Promise<void>;
  /**
   * Records how a call will end, before its session ends (the first record wins): a feature that ends
   * a call (a transfer, a redirect) says so, and the call ends with it when sip.js terminates the session.
   */
  conclude(call: Call, end: EndInfo): void;
  /** The user agent, while the line runs. */
  userAgent(): UserAgent | undefined;
  /** The line, for error messages: `sip:user@domain`. */
  description(): string;
  readonly log: Logger;
}

/**
 * What an `incoming` hook returns to refuse the INVITE: the backend answers it `refuse` (a final
 * status, 4xx–6xx) and the call is never tracked nor reported (RFC 3891 §3: an INVITE whose Replaces
 * names no dialog of ours gets 481). `why` goes to the log.
 */
export interface SipIncomingRefusal {
  refuse: number;
  why: string;
  /** Headers of the refusal (a 422's Min-SE). */
  headers?: string[];
}

/**
 * A SIP call feature. `attach` is called for every call the backend tracks (outbound once placed,
 * inbound once it rings), `incoming` for an inbound call before it is reported (an INVITE with
 * Replaces, say): it MAY return a {@link SipIncomingRefusal}, and then no later feature sees the call
 * and `attach` is not called for it; a feature that returns one MUST NOT have acted on the call.
 * `stop` when the line stops, before the calls are hung up.
 */
export interface SipCallFeature {
  /** The capability it is (`dtmf`, `control`, `forwarding`, `audio`), for logs. */
  readonly name: string;
  attach?(call: Call, session: Session): void;
  incoming?(call: Call, invitation: Invitation): SipIncomingRefusal | void;
  stop?(): Promise<void>;
}
