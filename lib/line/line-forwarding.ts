import { Call } from '../call/call';
import { CallState, isAlerting } from '../call/call-state';
import { ForwardRequest, ForwardRule, TransferProgress, checkForwardRequest, transferCauseOfTargetEnd } from '../capabilities';
import { CallStateError, CommandFailedError, InvalidInputError } from '../errors';
import { outcome, type DialResult, type VoiceLine } from './voice-line';

/** What a forwarding request did: the request as sent, and for a query the network's rules. */
export interface ForwardResult extends ForwardRequest {
  rules?: ForwardRule[];
}

/** A call sent elsewhere: `to` is the number (as validated), `other` the call it was joined with (attended transfer). */
export interface Forwarded {
  call: Call;
  to: string;
  other?: Call;
}

/** Seconds a blind transfer lets the target ring before it gives up (and takes the call off hold). */
export const DEFAULT_TRANSFER_RING_TIMEOUT_S = 30;

/**
 * The line's forwarding: network forwarding rules, divert, blind and attended transfer. Validates what
 * a flow gives (before anything reaches the backend), resolves the calls, and calls the backend's
 * `forwarding` capability (`line.capability('forwarding', ...)`), which says when the line cannot.
 */
export class LineForwarding {
  constructor(readonly line: VoiceLine) {}

  /**
   * Network call forwarding, as voiceCall.setFw: `reason` unconditional, busy, no-reply, not-reachable
   * (or all, all-conditional), `mode` disable, enable, query, register, erase. `register` needs the
   * number; `time` (5–30 s) is the no-reply time. A query's result carries the network's rules.
   */
  async setRule(reason: unknown, mode: unknown, number?: unknown, options: { time?: unknown } = {}): Promise<ForwardResult> {
    const request = checkForwardRequest({ reason, mode, number, time: options.time });
    const rules = await this.line.capability('forwarding', 'call forwarding').setRule(request);
    return request.mode === 'query' ? { ...request, rules } : request;
  }

  /**
   * Diverts a ringing call (`ref`: a call id or snapshot; none: the line's only ringing call) to
   * `number` (on a SIP line also a SIP address, `sip:user@host`).
   */
  async divert(ref: unknown, number: unknown): Promise<Forwarded> {
    const n = this.target(number, 'divert number');
    const ringing = (c: Call) => c.direction === 'inbound' && isAlerting(c.state);
    const call = this.line.resolveCall(ref, 'divert', ringing);
    const cap = this.line.capability('forwarding', 'diverting a call');
    await cap.divert(call, n);
    return { call, to: n };
  }

  /**
   * Blind transfer of a connected call to `number`. Where the network has no such request (AT), the
   * line consults: it dials the number (the network puts the call on hold), and once the number answers
   * joins the two calls; when it does not answer within `ringTimeout` seconds, the call is taken off hold
   * again and this rejects with the reason. The consultation reports `transfer` events on the call as a
   * `blind` transfer: `started` (the number dialled), `progress` (it rings; it answered), and the outcome
   * (the backend's, once the calls are joined; the line's when the number did not answer, with the cause
   * from how that call ended, or `hangup` when the call ended meanwhile: the number is then hung up).
   */
  async transfer(ref: unknown, number: unknown, options: { ringTimeout?: unknown } = {}): Promise<Forwarded> {
    const n = this.target(number, 'transfer number');
    const call = this.line.resolveCall(ref, 'transfer', (c) => c.state === CallState.Active);
    if (call.state !== CallState.Active) {
      throw new CallStateError(`call ${call.id} is ${call.state}: only a connected (active) call can be transferred to a number`);
    }
    const cap = this.line.capability('forwarding', 'transferring a call');
    if (cap.transfer) {
      await cap.transfer(call, n);
      return { call, to: n };
    }
    const consult = await this.line.dial(n, { ringTimeout: options.ringTimeout ?? DEFAULT_TRANSFER_RING_TIMEOUT_S });
    const progress = new TransferProgress(call, { method: 'blind', role: 'transferor', to: n });
    progress.step('started', `calling ${n} (call ${consult.id}); call ${call.id} is joined with it once it answers`);
    const result = await this.consultation(call, consult, n, progress);
    if (result === 'hangup' || call.ended) {
      if (!consult.ended) await this.line.hangup(consult).catch(() => undefined);
      const err = new CallStateError(`call ${call.id} ended (${call.end?.cause}) while ${n} was being called: nothing was transferred`);
      progress.outcome('hangup', err.message);
      throw err;
    }
    if (!result.answered) {
      const back = await this.takeOffHold(call);
      const err = new CommandFailedError(`the transfer to ${n} failed: ${n} did not answer (${result.end?.cause ?? 'ended'}); ${back}`, result.end?.finalResult);
      progress.outcome(transferCauseOfTargetEnd(result.end), err.message, { evidence: err.evidence });
      throw err;
    }
    progress.step('progress', `${n} answered (call ${consult.id}): joining the calls`);
    await cap.transferToCall(call, consult, progress);
    return { call, to: n, other: consult };
  }

  /**
   * Waits for the consultation call's outcome, or for the call being transferred to end (`hangup`,
   * whichever comes first); reports `progress` once when the number rings.
   */
  private consultation(call: Call, consult: Call, n: string, progress: TransferProgress): Promise<DialResult | 'hangup'> {
    return new Promise((resolve) => {
      let rang = false;
      const onTransition = (): void => {
        if (rang || (consult.state !== CallState.Ringing && consult.state !== CallState.EarlyMedia)) return;
        rang = true;
        progress.step('progress', `${n} is ringing (call ${consult.id})`);
      };
      const finish = (result: DialResult | 'hangup'): void => {
        consult.off('transition', onTransition);
        call.off('ended', onEnded);
        resolve(result);
      };
      const onEnded = (): void => finish('hangup');
      consult.on('transition', onTransition);
      call.on('ended', onEnded);
      onTransition();
      if (call.ended) finish('hangup');
      else void outcome(consult).then(finish);
    });
  }

  /** Attended transfer: joins the call `ref` with the call `otherRef` (both on this line) and leaves both. */
  async transferToCall(ref: unknown, otherRef: unknown): Promise<Forwarded> {
    if (otherRef === undefined || otherRef === null || otherRef === '') {
      throw new InvalidInputError('say which call to transfer to: the other call\'s id in msg.target');
    }
    const other = this.line.resolveCall(otherRef, 'transfer to', () => true);
    const connected = (c: Call) => c !== other && (c.state === CallState.Active || c.state === CallState.Held);
    const call = this.line.resolveCall(ref, 'transfer', connected);
    const cap = this.line.capability('forwarding', 'transferring a call');
    await cap.transferToCall(call, other);
    return { call, to: other.remote.number, other };
  }

  /** A divert / transfer target: a number, or on a SIP line a SIP address (the line's rule, as for dialling). */
  private target(value: unknown, what: string): string {
    return this.line.callTarget(value, what);
  }

  /** After a failed consultation: the call goes back to the caller. Says in words what became of it. */
  private async takeOffHold(call: Call): Promise<string> {
    if (call.state !== CallState.Held) return `call ${call.id} is ${call.state}`;
    try {
      await this.line.capability('control', 'resuming a held call').resume(call);
      return `call ${call.id} was taken off hold`;
    } catch (err) {
      this.line.log.warn(`taking call ${call.id} off hold after a failed transfer: ${(err as Error).message}`);
      return `call ${call.id} is still on hold (${(err as Error).message})`;
    }
  }
}
