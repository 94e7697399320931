import { Call } from '../call/call';
import type { Cause, EndInfo } from '../call/cause';
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
 * How a transfer came out (design §3.1, Aculab's transfer causes), on the `transfer` event that ends it
 * (status `succeeded`, `failed` or `refused`), the same names on every backend:
 * - `normal`: done, the call was transferred;
 * - `timeout`: no outcome in time (no final NOTIFY, the target did not answer within the ring time, the
 *   network did not answer the request);
 * - `hangup`: our party (the call being transferred) hung up meanwhile;
 * - `target-busy`: the target was busy; `target-rejected`: the target refused the call (declined,
 *   forbidden, not found, unavailable, ...); `target-hangup`: the target hung up before the transfer was
 *   done (an attended transfer's other call ended, the call to the target was torn down);
 * - `failed`: the transfer itself could not be done (the other side or the network refused the request,
 *   the request is not supported, the line went down).
 */
export const TRANSFER_CAUSES = ['normal', 'timeout', 'hangup', 'target-busy', 'target-rejected', 'target-hangup', 'failed'] as const;
export type TransferCause = (typeof TRANSFER_CAUSES)[number];

/** Refusals of the target, by the end cause of the call to it: the target (or its network) said no. */
const TARGET_REFUSALS: readonly Cause[] = ['rejected', 'forbidden', 'not-found', 'unavailable', 'incompatible'];

/**
 * The transfer cause of a call to the target that ended before the transfer was done (the consultation
 * call of an AT blind transfer, the call a SIP line places following a REFER): busy → `target-busy`, no
 * answer in time → `timeout`, a refusal → `target-rejected`, ended after it answered (the target hung up)
 * or ended by the other side with a normal clearing → `target-hangup`; anything else (a network error,
 * congestion, cancelled by us) → `failed`.
 */
export function transferCauseOfTargetEnd(end: EndInfo | undefined, answered = false): TransferCause {
  if (!end) return 'failed';
  if (answered) return 'target-hangup';
  if (end.cause === 'busy') return 'target-busy';
  if (end.cause === 'no-answer' || end.cause === 'timeout') return 'timeout';
  if (TARGET_REFUSALS.includes(end.cause)) return 'target-rejected';
  if (end.cause === 'normal' && end.by === 'remote') return 'target-hangup';
  return 'failed';
}

/**
 * What a `transfer` event carries (`call.report('transfer', payload)`): one report per step of a
 * transfer, on the call being transferred. Both backends report them (SIP: REFER and its NOTIFYs; AT: the
 * consultation call and `AT+CHLD=4`); the `ended` event that follows a successful transfer has cause
 * `transferred`.
 */
export interface TransferReport {
  /** `blind`: to a number or address; `attended`: to another call of the line (REFER with Replaces, AT+CHLD=4). */
  method: 'blind' | 'attended';
  /** `transferor`: we asked (our REFER, our AT+CHLD=4); `transferee`: the other side asked us (their REFER). */
  role: 'transferor' | 'transferee';
  /** The target as given (number or SIP address), or the other call's remote number (attended). */
  to: string;
  /** Attended: the other call's id. */
  target?: string;
  /**
   * `started`: (transferor) the request went out (REFER sent; AT: the target dialled, or AT+CHLD=4 sent);
   * `accepted`: the REFER was accepted (202); `progress`: the target is being called (SIP: a 1xx sipfrag,
   * `sipCode` says which: 100 trying, 180 ringing; AT: the consultation call rings, or the target answered
   * and the calls are being joined); `succeeded`: done; `failed`: not done, `cause` says why; `refused`:
   * (transferee) we refused the other side's REFER.
   */
  status: 'started' | 'accepted' | 'progress' | 'succeeded' | 'failed' | 'refused';
  /** On the last report (`succeeded`, `failed`, `refused`): how the transfer came out. */
  cause?: TransferCause;
  /** The SIP code of this step: the REFER's response, or the status line of the NOTIFY's sipfrag. */
  sipCode?: number;
  /** In words, for people. */
  text: string;
  /** Raw evidence: `SIP/2.0 202 Accepted`, the sipfrag's status line, `AT+CHLD=4 → +CME ERROR: 3`, `BUSY`. */
  evidence?: string;
}

/**
 * The `transfer` reports of one transfer, on the call being transferred: the fields that stay the same
 * (method, role, to, target) given once, each step then one call. {@link TransferProgress.outcome} sends the
 * last report (`succeeded` for `normal`, else `failed`, with the cause) once; later steps and outcomes
 * are dropped, so that whichever path learns the outcome first reports it and no other does.
 */
export class TransferProgress {
  private finished = false;
  /**
   * The call ends before the outcome is known: `hangup` (our party hung up meanwhile), reported before
   * its `ended`; or `normal` when it ends `transferred` (a module that releases the calls before its OK
   * to AT+CHLD=4).
   */
  private readonly onEnding = (end: EndInfo): void => {
    if (end.cause === 'transferred') this.outcome('normal', `call ${this.call.id} was transferred to ${this.base.to}`);
    else this.outcome('hangup', `call ${this.call.id} ended (${end.cause}, by ${end.by}) before the transfer to ${this.base.to} was done`);
  };

  constructor(
    readonly call: Call,
    readonly base: Pick<TransferReport, 'method' | 'role' | 'to' | 'target'>,
  ) {
    call.once('ending', this.onEnding);
  }

  /** True once the outcome was reported. */
  get done(): boolean {
    return this.finished;
  }

  /** A step on the way: `started`, `accepted`, `progress`. */
  step(status: 'started' | 'accepted' | 'progress', text: string, evidence?: { sipCode?: number; evidence?: string }): void {
    if (!this.finished) this.send(status, text, evidence);
  }

  /** The outcome (once): `normal` → `succeeded`; any other cause → `failed`; or `refused` (a REFER we refused). */
  outcome(cause: TransferCause, text: string, evidence?: { sipCode?: number; evidence?: string }, status?: 'refused'): void {
    if (this.finished) return;
    this.finished = true;
    this.call.off('ending', this.onEnding);
    this.send(status ?? (cause === 'normal' ? 'succeeded' : 'failed'), text, evidence, cause);
  }

  private send(status: TransferReport['status'], text: string, evidence: { sipCode?: number; evidence?: string } = {}, cause?: TransferCause): void {
    const payload: TransferReport = {
      ...this.base,
      status,
      ...(cause ? { cause } : {}),
      text,
      ...(evidence.sipCode !== undefined ? { sipCode: evidence.sipCode } : {}),
      ...(evidence.evidence ? { evidence: evidence.evidence } : {}),
    };
    this.call.report('transfer', { ...payload });
  }
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
   * both: both end `transferred`. Its reports go to `progress` when the line gives one (the consultation
   * of a blind transfer, whose `started` the line reported); without it the backend reports the transfer
   * as `attended` from `started` on. Once `started` was reported, the outcome MUST be reported too,
   * whichever way the method settles.
   */
  transferToCall(call: Call, other: Call, progress?: TransferProgress): Promise<void>;
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
