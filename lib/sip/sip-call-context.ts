import type { Invitation, Session, SessionDelegate, SessionDescriptionHandlerModifier, UserAgent } from 'sip.js';
import type { IncomingRequestMessage } from 'sip.js/lib/core';
import type { DialOptions, HangupRequest, Logger } from '../backend';
import type { Call } from '../call/call';
import type { EndInfo } from '../call/cause';
import type { RtpMedia } from '../media-engine/rtp-media';

/**
 * What the SIP backend's call features (DTMF, control, forwarding, audio: one file each) may use of
 * it. One object, made by {@link SipBackend}, so that a feature sees the backend through this and
 * nothing else.
 */
export interface SipCallContext {
  /** The sip.js session of a call of this line (undefined once the call is gone). */
  sessionOf(call: Call): Session | undefined;
  /** The call's RTP session once its media exists. */
  rtpOf(call: Call): RtpMedia | undefined;
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
  /**
   * Runs every feature's {@link SipCallFeature.outgoing} hook on what is about to be sent (the
   * re-INVITE / UPDATE helper, lib/sip/sip-reinvite.ts, calls it; the backend does for the rest).
   */
  shape(out: SipOutgoing): SipOutgoing;
  /** The option tags the line supports (`Supported:`), computed from its features. */
  supported(): readonly string[];
  /** The methods the line handles (`Allow:`), computed from its features. */
  allowed(): readonly string[];
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
  /** Header lines sent with the refusal (`Unsupported: timer`, `Min-SE: 90`). */
  extraHeaders?: string[];
}

/**
 * What a {@link SipCallFeature.request} hook returns to answer a request itself: the backend sends
 * this final response (in a server transaction of its own, so retransmissions are absorbed) and
 * sip.js never sees the request. `why` goes to the log (debug for 2xx, info otherwise).
 */
export interface SipRequestAnswer {
  statusCode: number;
  why: string;
  extraHeaders?: string[];
  body?: { contentType: string; content: string };
}

/**
 * What we send that a feature may shape:
 * - `invite`: our INVITE (dial); `answer`: our 200 to an incoming INVITE;
 * - `reinvite` / `update`: a re-INVITE or UPDATE we send (lib/sip/sip-reinvite.ts);
 * - `bye`, `cancel`, `reject` (a final 3xx–6xx to an incoming INVITE): `end` says how the call ends,
 *   `statusCode` is the reject's code (a feature may change it, 300–699).
 */
export type SipOutgoingKind = 'invite' | 'answer' | 'reinvite' | 'update' | 'bye' | 'cancel' | 'reject';

/**
 * One message being prepared. Features edit it in place in their `outgoing` hook, in registry order:
 * `headers` are whole lines (`Session-Expires: 1800;refresher=uac`), to add, replace or remove;
 * `sdpModifiers` are sip.js modifiers given to the session description handler for the SDP of this
 * exchange (invite, answer, reinvite, and an UPDATE with SDP; each sees `{ type, sdp }`).
 */
export interface SipOutgoing {
  readonly kind: SipOutgoingKind;
  readonly call: Call;
  headers: string[];
  sdpModifiers: SessionDescriptionHandlerModifier[];
  /** bye / cancel / reject: how the call ends (cause, q850...). */
  readonly end?: EndInfo;
  /** reject: the status code sent. */
  statusCode?: number;
}

/**
 * A session delegate callback of sip.js with the call first: `onInfo(call, info)`. Every feature that
 * has one is called, in registry order (lib/sip/sip-session-delegate.ts); a request (BYE, INFO, REFER,
 * NOTIFY, MESSAGE) is answered by the first feature that calls its accept() / reject(), later
 * answers are ignored, and one no feature answered gets sip.js's own default answer.
 */
export type SipSessionHooks = {
  [K in keyof SessionDelegate]?: (call: Call, ...args: Parameters<NonNullable<SessionDelegate[K]>>) => void;
};

/**
 * A SIP call feature. `attach` is called for every call the backend tracks (outbound once placed,
 * inbound once it rings), `incoming` for an inbound call before it is reported (an INVITE with
 * Replaces, say): it MAY return a {@link SipIncomingRefusal}, and then no later feature sees the call
 * and `attach` is not called for it; a feature that returns one MUST NOT have acted on the call.
 * `stop` when the line stops, before the calls are hung up.
 *
 * The other hooks (docs/sip-backend.md, "Call features"):
 * - `supported` / `allow`: option tags and methods the feature implements; the line's `Supported`
 *   and `Allow` headers are computed from the features present (lib/sip/sip-features.ts);
 * - `session`: sip.js session delegate callbacks, fanned out to every feature that has one;
 * - `outgoing`: shapes the headers (and SDP) of what we send ({@link SipOutgoing});
 * - `request`: every incoming request before sip.js handles it (after the transaction layer: a
 *   retransmission never comes here twice), with its call when it is within the dialog of one (a
 *   re-INVITE, an UPDATE, a BYE) and `undefined` for an initial INVITE or an out-of-dialog request.
 *   Return a {@link SipRequestAnswer} to answer it yourself (420, 422, an UPDATE's 200); the first
 *   feature that answers wins and sip.js never sees the request.
 */
export interface SipCallFeature {
  /** The capability it is (`dtmf`, `control`, `forwarding`, `audio`, `headers`...), for logs. */
  readonly name: string;
  /** SIP option tags this feature implements (`Supported:`), such as `timer`, `replaces`. */
  readonly supported?: readonly string[];
  /** SIP methods this feature handles (`Allow:`), such as `INFO`, `REFER`, `UPDATE`. */
  readonly allow?: readonly string[];
  /** sip.js session delegate callbacks, with the call (fanned out: see {@link SipSessionHooks}). */
  readonly session?: SipSessionHooks;
  attach?(call: Call, session: Session): void;
  incoming?(call: Call, invitation: Invitation): SipIncomingRefusal | void;
  outgoing?(out: SipOutgoing): void;
  request?(message: IncomingRequestMessage, call: Call | undefined): SipRequestAnswer | void;
  stop?(): Promise<void>;
}
