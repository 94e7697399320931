import { Call } from '../call/call';

/** 3GPP TS 27.007 `AT+CCFC` reasons and modes, with voiceCall.setFw's numbering. */
export type ForwardReason = 'unconditional' | 'busy' | 'no-reply' | 'not-reachable';
export type ForwardMode = 'disable' | 'enable' | 'query' | 'register' | 'erase';

export interface ForwardRule {
  reason: ForwardReason;
  active: boolean;
  number?: string;
  /** No-reply time in seconds, when the network gives it. */
  time?: number;
}

/**
 * Forwarding: network call-forwarding rules, diverting an incoming call, transferring a connected one.
 */
export interface ForwardingCapability {
  /** Network forwarding rules. `query` resolves with the rules; the other modes with the rules after. */
  setRule(reason: ForwardReason, mode: ForwardMode, number?: string): Promise<ForwardRule[]>;
  /** Sends an incoming (ringing) call elsewhere before answering it. */
  divert(call: Call, number: string): Promise<void>;
  /** Blind transfer of a connected call to a number. */
  transfer(call: Call, number: string): Promise<void>;
  /** Attended transfer: connects `call` with `other` (both ours) and leaves. */
  transferToCall(call: Call, other: Call): Promise<void>;
}
