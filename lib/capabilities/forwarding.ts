import { Call } from '../call/call';
import { InvalidInputError } from '../errors';
import { describe, validatePhoneNumber } from '../validate';

/**
 * Why the network forwards a call (3GPP TS 22.082; `AT+CCFC` `<reason>` 0–5, voiceCall.setFw's 0–3).
 * `all` and `all-conditional` address several rules at once and cannot be queried.
 */
export const FORWARD_REASONS = ['unconditional', 'busy', 'no-reply', 'not-reachable', 'all', 'all-conditional'] as const;
export type ForwardReason = (typeof FORWARD_REASONS)[number];

/** What to do with the rule (`AT+CCFC` `<mode>` 0–4, voiceCall.setFw's fwmode). */
export const FORWARD_MODES = ['disable', 'enable', 'query', 'register', 'erase'] as const;
export type ForwardMode = (typeof FORWARD_MODES)[number];

/** The no-reply time the network accepts, in seconds (3GPP TS 22.082: 5 to 30). */
export const NO_REPLY_TIME_MIN = 5;
export const NO_REPLY_TIME_MAX = 30;

/** Reasons whose rule includes "no reply", and so a no-reply time. */
const WITH_NO_REPLY: readonly ForwardReason[] = ['no-reply', 'all', 'all-conditional'];
/** Modes that send a number (and a time): the others address the rule by its reason alone. */
const WITH_NUMBER: readonly ForwardMode[] = ['enable', 'register'];

/** One validated forwarding request. */
export interface ForwardRequest {
  reason: ForwardReason;
  mode: ForwardMode;
  /** Where to forward to (validated: digits, `*`, `#`, a leading `+`). Required to `register`. */
  number?: string;
  /** No-reply time in seconds (5–30), for the reasons that include no reply. */
  time?: number;
}

/** One forwarding rule as the network reports it (one line of a query). */
export interface ForwardRule {
  reason: ForwardReason;
  /** True when the network forwards these calls now. */
  active: boolean;
  /**
   * The bearer classes the line is about, as the network gives them (27.007 `<class>`, a sum of
   * 1 voice, 2 data, 4 fax, ...). Only rules that include voice (bit 1) are reported.
   */
  classes: number;
  number?: string;
  /** 145 international (the number starts with `+`), 129 otherwise. */
  numberType?: number;
  /** No-reply time in seconds, when the network gives it. */
  time?: number;
}

/**
 * Validates what a flow asks of network forwarding, and returns the request to send. What the mode
 * sends is checked; what it does not send is dropped: `query`, `disable` and `erase` address a rule by
 * its reason alone, so a number or time given with them is not used (a node's configured number does not
 * get in the way of a query).
 *
 * Throws {@link InvalidInputError}: an unknown reason or mode, a query of `all` / `all-conditional`,
 * `register` without a number, a bad number, a time outside 5–30 s or for a reason without no reply.
 */
export function checkForwardRequest(input: { reason?: unknown; mode?: unknown; number?: unknown; time?: unknown }): ForwardRequest {
  const reason = oneOf(input.reason, FORWARD_REASONS, 'forwarding reason');
  const mode = oneOf(input.mode, FORWARD_MODES, 'forwarding mode');
  if (mode === 'query' && (reason === 'all' || reason === 'all-conditional')) {
    throw new InvalidInputError(`the network cannot be asked about "${reason}" forwarding at once: query one reason at a time`);
  }
  const request: ForwardRequest = { reason, mode };
  if (!WITH_NUMBER.includes(mode)) return request;
  if (isGiven(input.number)) request.number = validatePhoneNumber(input.number, 'forwarding number');
  else if (mode === 'register') throw new InvalidInputError('registering a forwarding rule needs the number to forward to');
  if (isGiven(input.time)) {
    if (!WITH_NO_REPLY.includes(reason)) {
      throw new InvalidInputError(`a no-reply time applies to "no-reply" forwarding, not to "${reason}"`);
    }
    request.time = checkTime(input.time);
  }
  return request;
}

/**
 * What a `transfer` event carries (`call.report('transfer', payload)`): one report per step of a
 * transfer, on the call being transferred. SIP lines report them (REFER and its NOTIFYs); the `ended`
 * event that follows a successful transfer has cause `transferred`.
 */
export interface TransferReport {
  /** `blind`: to a number or address; `attended`: to another call of the line (REFER with Replaces). */
  method: 'blind' | 'attended';
  /** `transferor`: we asked (our REFER); `transferee`: the other side asked us (their REFER). */
  role: 'transferor' | 'transferee';
  /** The target as given (number or SIP address), or the other call's remote number (attended). */
  to: string;
  /** Attended: the other call's id. */
  target?: string;
  /**
   * `accepted`: the REFER was accepted (202); `progress`: the target is being called (a 1xx sipfrag,
   * `sipCode` says which: 100 trying, 180 ringing); `succeeded`: the target answered (2xx sipfrag);
   * `failed`: refused, the target did not answer, or no final word in time; `refused`: (transferee)
   * we refused the other side's REFER.
   */
  status: 'accepted' | 'progress' | 'succeeded' | 'failed' | 'refused';
  /** The SIP code of this step: the REFER's response, or the status line of the NOTIFY's sipfrag. */
  sipCode?: number;
  /** In words, for people. */
  text: string;
  /** Raw evidence: `SIP/2.0 202 Accepted`, the sipfrag's status line. */
  evidence?: string;
}

/**
 * Forwarding: network call-forwarding rules, diverting an incoming call, transferring a connected one.
 *
 * Calls a method ends end with the cause of the contract and `by: "local"`: `redirected` for a divert,
 * `transferred` for both calls of a transfer. A method MUST NOT resolve before the network accepted the
 * request, and MUST leave the calls as they were when it rejects (a refused divert leaves the call ringing).
 */
export interface ForwardingCapability {
  /**
   * Network forwarding rules (voiceCall.setFw), with a request from {@link checkForwardRequest}.
   * `query` MUST resolve with the network's rules for voice calls for that reason (at least one; an
   * inactive rule when nothing is forwarded); the other modes resolve with `[]` once the network accepted.
   */
  setRule(request: ForwardRequest): Promise<ForwardRule[]>;
  /**
   * Sends an incoming (ringing or waiting) call to `number` before answering it; it ends `redirected`.
   * `number` comes from `validateCallTarget` (lib/validate.ts): a SIP line also takes a SIP address; a backend
   * that cannot use an address MUST refuse it with InvalidInputError.
   */
  divert(call: Call, number: string): Promise<void>;
  /**
   * Blind transfer of a connected call to a number, when the network does it in one request (SIP
   * REFER). A backend whose network has none leaves it out (AT: explicit call transfer joins two calls
   * of ours): the line then consults, i.e. dials the number (which holds the call) and, once it
   * answers, joins the two with {@link transferToCall}.
   * It MUST resolve only once the transfer succeeded (SIP: the final 2xx NOTIFY), the call then ending
   * `transferred`; when it fails it MUST reject and leave the call connected. Progress on the way goes
   * out as `transfer` reports ({@link TransferReport}).
   */
  transfer?(call: Call, number: string): Promise<void>;
  /**
   * Attended (explicit) transfer: connects `call` with `other`, both ours, one of them held, and leaves
   * both: both end `transferred`.
   */
  transferToCall(call: Call, other: Call): Promise<void>;
}

function isGiven(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '';
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], what: string): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new InvalidInputError(`the ${what} must be one of ${allowed.join(', ')}, got ${describe(value)}`);
}

function checkTime(value: unknown): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < NO_REPLY_TIME_MIN || n > NO_REPLY_TIME_MAX) {
    throw new InvalidInputError(
      `the no-reply time must be a whole number of seconds from ${NO_REPLY_TIME_MIN} to ${NO_REPLY_TIME_MAX}, got ${describe(value)}`,
    );
  }
  return n;
}
