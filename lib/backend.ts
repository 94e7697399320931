import { EventEmitter } from 'node:events';
import { Call } from './call/call';
import { Cause, HangupCause } from './call/cause';
import { LineEventName } from './call/call-state';
import type { AnalysisCapability, AnalysisOptions, AudioCapability, ConferenceCapability, ControlCapability, DtmfCapability, ForwardingCapability } from './capabilities';
import type { MultipartyCapability } from './capabilities/multiparty';

/** Where log lines go. The Node-RED adapter passes the node's own log methods. */
export interface Logger {
  debug(text: string): void;
  info(text: string): void;
  warn(text: string): void;
  error(text: string): void;
}

export const SILENT_LOGGER: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** The line's connection state, for node status and `line-up` / `line-down`. */
/** `draining`: ready, but new incoming calls are refused (`Backend.setDraining`, docs/scale-out.md). */
export type LineState = 'idle' | 'connecting' | 'ready' | 'draining' | 'error' | 'closed';

export interface LineStatus {
  state: LineState;
  /** Short words for the status text (never a secret). */
  text: string;
}

/**
 * How to place one call. Everything but the ring timeout is SIP's: {@link VoiceLine} validates it, and
 * refuses it with a NotSupportedError on a line whose backend cannot send it (a mobile network shows
 * the SIM's own number), so a backend MAY assume what it gets here is valid; the SIP backend checks
 * again anyway before anything reaches a header.
 */
export interface DialOptions {
  /** Caller-visible progress is reported through the Call's transitions. */
  ringTimeoutMs?: number;
  /** SIP: the From user of this call (the caller ID), instead of the account's user name; `tel:+...` also asserts it as a tel URI. */
  callerId?: string;
  /** SIP: the From display name of this call, instead of the line's display name. */
  callerName?: string;
  /** SIP: extra headers for the INVITE, `{ "X-Ticket": "4711" }` (rules: lib/validate.ts validateSipHeaders). */
  headers?: Readonly<Record<string, string>>;
  /**
   * Withhold our number. SIP: `Privacy: id`, an anonymous From, our identity in P-Asserted-Identity
   * for the trunk (lib/sip/sip-privacy.ts); AT: CLIR for this call, `ATD<n>I;` (27.007 §6.2).
   */
  privacy?: boolean;
  /**
   * SIP, the backend's own: this call follows a REFER of the other side (RFC 3515), and these headers
   * come from it, not from a flow. `replaces`: the Refer-To's `Replaces` (RFC 3891, an attended
   * transfer: the target swaps this call for its call with the referrer); `referredBy`: the REFER's
   * `Referred-By` (RFC 3892). They are headers {@link headers} may not carry (a flow replacing someone
   * else's call is a hole), so they have their own field, which VoiceLine.dial never fills: only the SIP
   * backend's REFER handling sets it. The SIP backend still checks both values before they reach a header.
   */
  referral?: DialReferral;
  /**
   * Analyse the call's received audio from the start (lib/capabilities/analysis.ts; already checked by
   * VoiceLine). A backend whose line has no audio path MUST refuse a dial with `detect: "machine"`
   * (NotSupportedError, before anything is sent) and MAY drop network tones (`detect: "off"`) silently.
   */
  analysis?: AnalysisOptions;
}

/** What a call placed to follow a REFER carries from it (see {@link DialOptions.referral}). */
export interface DialReferral {
  /** The `Replaces` header value: `call-id;to-tag=...;from-tag=...`. */
  replaces?: string;
  /** The `Referred-By` header value, as the REFER had it. */
  referredBy?: string;
}

export interface HangupRequest {
  /** What to signal to the network (AT+QHUP cause, SIP response / Reason). */
  signal: HangupCause;
  /** The cause recorded on the call's `ended` event (`cancelled` for a withdrawn dial, ...). */
  endCause: Cause;
  /** Words for people: why we hung up. */
  text: string;
  /** The Q.850 cause signalled (AT+QHUP, SIP `Reason: Q.850`); default: the signal's. */
  q850?: number;
  /** SIP: the status that rejects an incoming call (a code the flow gave, 400–699); default: the signal's. */
  sipCode?: number;
}

export interface LineEvent {
  topic: LineEventName;
  payload: Record<string, unknown>;
}

/**
 * The contract between a line and the network, implemented by the AT backend (`lib/at/`) and the
 * SIP backend (`lib/sip/`). Nodes never see a backend: they talk to {@link VoiceLine}, which owns one.
 *
 * Events a backend emits:
 * - `call` (Call): a call it has just created (outbound in `dialing`; inbound in `incoming` or
 *   `waiting`). It MUST be emitted before any transition of that call, exactly once per call.
 * - `status` (LineStatus): every change of the connection state.
 * - `line` (LineEvent): `line-up` when it becomes ready, `line-down` when it stops being ready
 *   (and `registered`... for SIP).
 *
 * A backend:
 * - MUST drive each Call only through `Call.transition()`, giving a reason with the raw evidence, and
 *   MUST end every call it created (`ended` with a cause) before `stop()` resolves or when it learns
 *   the call is gone (a modem reset, a lost port: cause `network-error`).
 * - MUST NOT throw from an event handler or a parser because of bad bytes from the network.
 * - MUST validate every number and digit string before anything reaches the wire.
 * - MUST reject an operation it cannot do with a `NotSupportedError`, never ignore it silently.
 * - MUST NOT log or emit secrets (PIN, passwords).
 */
export interface Backend extends EventEmitter {
  readonly kind: 'at' | 'sip';

  /** What is on the other end, in words, for errors and status ("Quectel EC200U", "sip:alice@pbx"). */
  readonly description: string;

  /**
   * Capabilities (lib/capabilities/). Absent: this backend cannot do it at all. Present, a method
   * MUST still throw NotSupportedError (naming the module) for what this particular module lacks.
   */
  readonly dtmf?: DtmfCapability;
  readonly control?: ControlCapability;
  readonly forwarding?: ForwardingCapability;
  readonly audio?: AudioCapability;
  /** Call analysis on the received audio (lib/capabilities/analysis.ts). */
  readonly analysis?: AnalysisCapability;
  readonly conference?: ConferenceCapability;
  /** The network's multiparty call as the line's one room, when the network mixes (AT; lib/capabilities/multiparty.ts). */
  readonly multiparty?: MultipartyCapability;

  /**
   * Connects and stays connected until `stop()`, reconnecting with back-off. MUST NOT reject because
   * the device or server is missing: that is a `status` of `error` and a retry. Resolves after the
   * first attempt, ready or not.
   */
  start(): Promise<void>;

  /** Releases the device or socket and every timer. MUST resolve within 10 s. */
  stop(): Promise<void>;

  /** True while commands can be sent. */
  readonly ready: boolean;

  /**
   * Places a call to an already validated number (on a SIP line also a SIP address, `sip:user@host`). Creates the Call (emitting `call` in `dialing`) and
   * resolves with it once the request is on the wire. When the network refuses it (`ATD` answered
   * `ERROR`, a SIP failure), the call ends with that cause and its evidence, so a flow always learns
   * the outcome as an `ended` event. Rejects, creating no call, only when the line is not ready.
   */
  dial(number: string, options: DialOptions): Promise<Call>;

  /**
   * Optional (SIP): refuse new incoming calls while the calls in progress finish (`true`), or take
   * calls again (`false`). Emits the line events `draining` and `drained` (when no call is left), and
   * `line-up` when undrained. Absent: the backend cannot drain.
   */
  setDraining?(on: boolean): void;

  /** Answers an incoming or waiting call. */
  answer(call: Call): Promise<void>;

  /**
   * Ends a call whatever its state: hangs up an active or held call, cancels an outgoing one, rejects
   * an incoming one. Resolves when the network took the request; the call ends with `request.endCause`
   * and `by: "local"` unless the network reports a different end first.
   */
  hangup(call: Call, request: HangupRequest): Promise<void>;

  /** The calls not yet ended. */
  calls(): Call[];
}
