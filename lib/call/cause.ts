import type { CallMediaStats } from './media-stats';

/**
 * Clearing causes of the public contract: why a call ended (or why a dial failed). A flow branches on
 * `msg.payload.cause`; the raw evidence (SIP code, Q.850 cause, modem final result, +CEER text) travels
 * beside it in the {@link EndInfo}.
 */
export const CAUSES = [
  'normal',
  'busy',
  'no-answer',
  'rejected',
  'unavailable',
  'not-found',
  'cancelled',
  'timeout',
  'network-error',
  'congestion',
  'incompatible',
  'forbidden',
  'transferred',
  'redirected',
  'replaced',
  'session-expired',
  'changed-number',
  'out-of-order',
  'no-circuit',
  'barred',
  /** The call's media failed (a SIP line's media worker died, docs/media-engine.md): we ended the call. */
  'media-failed',
  'failed',
] as const;

export type Cause = (typeof CAUSES)[number];

export function isCause(value: unknown): value is Cause {
  return typeof value === 'string' && (CAUSES as readonly string[]).includes(value);
}

/** Who ended the call. */
export type EndedBy = 'local' | 'remote';

/** Why a call ended, with the raw protocol evidence. */
export interface EndInfo {
  cause: Cause;
  by: EndedBy;
  /** Free text for people: what happened, in words. */
  text?: string;
  /** AT: the final result or URC that ended the call (`NO CARRIER`, `BUSY`, `NO ANSWER`, ...). */
  finalResult?: string;
  /** AT: the modem's `+CEER` report, as it sent it. */
  ceer?: string;
  /** Q.850 cause value, from the modem (^DSCI, +CEER) or from a SIP `Reason` header. */
  q850?: number;
  /** SIP: the final response code. */
  sipCode?: number;
  /** SIP: the `Reason` header as received. */
  reason?: string;
  /** SIP: the call's RTP figures (lib/call/media-stats.ts), once its media existed. */
  media?: CallMediaStats;
}

/** Causes a user may give when rejecting or ending a call from `voice-hangup` (each has its Q.850 value, {@link q850ForHangup}). */
export const HANGUP_CAUSES = ['normal', 'busy', 'rejected', 'unavailable', 'changed-number', 'out-of-order', 'no-circuit', 'barred'] as const;
export type HangupCause = (typeof HANGUP_CAUSES)[number];

/**
 * Q.850 cause values (ITU-T Q.850 Table 1) mapped to the contract's causes. Used for the cause field of
 * Quectel's ^DSCI, for the number in +CEER, and for SIP `Reason: Q.850;cause=N`.
 */
export function causeFromQ850(q850: number): Cause {
  switch (q850) {
    case 16:
    case 31:
      return 'normal';
    case 17:
      return 'busy';
    case 18:
    case 19:
      return 'no-answer';
    case 21:
      return 'rejected';
    case 1:
    case 3:
    case 28:
      return 'not-found';
    case 22:
      return 'changed-number';
    case 20:
      return 'unavailable';
    case 27:
      return 'out-of-order';
    case 34:
      return 'no-circuit';
    case 53:
    case 54:
    case 55:
      return 'barred';
    case 42:
    case 44:
    case 47:
      return 'congestion';
    case 38:
    case 41:
      return 'network-error';
    case 102:
      return 'timeout';
    case 57:
    case 63:
      return 'forbidden';
    case 58:
    case 65:
    case 79:
    case 88:
      return 'incompatible';
    default:
      return 'failed';
  }
}

/** The Q.850 value a local hangup cause is signalled with (AT+QHUP, SIP Reason). */
export function q850ForHangup(cause: HangupCause): number {
  switch (cause) {
    case 'normal':
      return 16;
    case 'busy':
      return 17;
    case 'rejected':
      return 21;
    case 'unavailable':
      return 20;
    case 'changed-number':
      return 22;
    case 'out-of-order':
      return 27;
    case 'no-circuit':
      return 34;
    case 'barred':
      return 54;
  }
}
