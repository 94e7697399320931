/**
 * What the flow does to calls on the module: dial, answer, hang up. Each command owns only its own
 * final result (see `FinalSet` in at-channel.ts and docs/architecture.md, "Who owns a call
 * outcome"); the call table (call-table.ts) follows what the module reports afterwards.
 */
import { DialOptions, HangupRequest } from '../backend';
import { Call } from '../call/call';
import { CallState, isAlerting } from '../call/call-state';
import { q850ForHangup } from '../call/cause';
import { CallStateError, CommandFailedError } from '../errors';
import { validatePhoneNumber } from '../validate';
import { AtChannel, AtError } from './at-channel';
import { CALL_FINALS, infoAs } from './call-end';
import { CallRecord, CallTable } from './call-table';
import type { AtTiming } from './modem-backend';
import { ModemProfile } from './modem-profile';

/** What the actions need of the backend. */
export interface CallActionsHost {
  readonly timing: AtTiming;
  /** The channel, or a LineNotReadyError. */
  requireChannel(): AtChannel;
  profile(): ModemProfile | null;
  /** The port is away but the line is not stopped: a hang-up waits for it (see whenReady). */
  away(): boolean;
  whenReady(timeoutMs: number): Promise<void>;
}

export class CallActions {
  constructor(
    private readonly host: CallActionsHost,
    private readonly table: CallTable,
  ) {}

  /**
   * `ATD<n>;` owns its final result: `OK` (the call goes on, followed by URCs and AT+CLCC), or the
   * call's outcome (`BUSY`, `NO ANSWER`, `NO CARRIER`, `NO DIALTONE`, `ERROR`, `+CME ERROR`). It is
   * sent only once no call is being released (see {@link CallTable.afterReleases}).
   */
  async dial(number: string, options: DialOptions): Promise<Call> {
    const n = validatePhoneNumber(number); // again: no path to the modem skips it
    // Privacy: the dial string's CLIR modifier `I` (27.007 §6.2: invocation, our number withheld for this call).
    const cmd = `ATD${n}${options.privacy ? 'I' : ''};`;
    this.host.requireChannel();
    await this.table.afterReleases();
    const ch = this.host.requireChannel();
    const rec = this.table.createCall('outbound', n, CallState.Dialing, { text: `dialling ${n}`, evidence: cmd });
    try {
      await ch.send(cmd, { finals: 'dial', timeoutMs: this.host.timing.callCommandTimeoutMs });
      this.table.schedulePoll(0);
    } catch (err) {
      const e = err as AtError;
      if (e.final !== undefined && CALL_FINALS.includes(e.final)) rec.progress = e.final;
      else rec.refused = e;
      // The call may be in release already (a ^DSCI release came before the final): it ends there.
      await this.table.finishCall(rec, e.final ?? e.message);
    }
    return rec.call;
  }

  /**
   * `ATA` for the only call (it owns `NO CARRIER`: that call is gone), `AT+CHLD=2` for a waiting one
   * (`OK` / `ERROR` only: a held call's `NO CARRIER` meanwhile is not its answer).
   */
  async answer(call: Call): Promise<void> {
    this.table.recordOf(call);
    this.host.requireChannel();
    // A call still being released would make this one look waiting: let it go, and look again.
    if (await this.table.afterReleases()) await this.table.poll();
    const rec = this.table.recordOf(call);
    const ch = this.host.requireChannel();
    const waiting = call.state === CallState.Waiting || this.table.live().some((r) => r !== rec && !isAlerting(r.call.state));
    const cmd = waiting ? 'AT+CHLD=2' : 'ATA';
    try {
      await ch.send(cmd, { finals: waiting ? 'basic' : 'answer', timeoutMs: this.host.timing.callCommandTimeoutMs });
    } catch (err) {
      const e = err as AtError;
      if (e.final === 'NO CARRIER') {
        // The caller hung up first: the call's end is the module's to report (URC, AT+CLCC).
        rec.progress ??= e.final;
        this.table.schedulePoll(0);
      }
      throw new CommandFailedError(`the modem could not answer the call: ${e.final ?? (err as Error).message}`, cmd);
    }
    const callInfo = infoAs(rec, 'active'); // the OK is the modem's word that the call is active
    if (!call.ended) call.tryTransition(CallState.Active, { text: 'answered', evidence: `${cmd} → OK`, ...(callInfo ? { callInfo } : {}) });
    this.table.schedulePoll(0);
  }

  async hangup(call: Call, request: HangupRequest): Promise<void> {
    const rec = this.table.recordOf(call);
    if (this.host.away()) {
      // The port is away (unplugged, a hang being escalated): the request is not lost, it goes out
      // once the line is back, unless the reconnect's AT+CLCC shows the call is gone already.
      await this.host.whenReady(this.host.timing.callCommandTimeoutMs);
      if (call.ended) return;
    }
    const ch = this.host.requireChannel();
    if (rec.index === undefined) await this.table.poll(); // learn the modem's index before choosing a command
    if (call.ended) return;
    const cmd = this.hangupCommand(rec, request);
    rec.hangup = request;
    try {
      await ch.send(cmd, { timeoutMs: this.host.timing.callCommandTimeoutMs });
    } catch (err) {
      rec.hangup = undefined;
      this.table.releaseChanged();
      throw new CommandFailedError(`the modem could not end the call: ${(err as AtError).final ?? (err as Error).message}`, cmd);
    }
    if (!call.ended) rec.hangupAcked = true;
    // A module that reports releases by URC ends the call by itself; AT+CLCC confirms for the others.
    this.table.schedulePoll(0);
  }

  private hangupCommand(rec: CallRecord, request: HangupRequest): string {
    const others = this.table.live().filter((r) => r !== rec && !r.call.ended);
    if (this.host.profile()?.hangupWithCause && rec.index !== undefined) {
      return `AT+QHUP=${request.q850 ?? q850ForHangup(request.signal)},${rec.index}`;
    }
    if (others.length === 0) return 'AT+CHUP';
    if (rec.index === undefined) {
      throw new CallStateError('the modem has not numbered this call yet, and other calls are up: try again in a moment');
    }
    // 27.007 AT+CHLD: 1<idx> releases one call; 0 releases every held call (or rejects the waiting
    // one). A held call beside other held calls is a party of the held multiparty call (22.084): 0
    // would release them all, so it is released by its index.
    const heldBeside = rec.call.state === CallState.Held && others.some((r) => r.call.state === CallState.Held);
    return (rec.call.state === CallState.Waiting || rec.call.state === CallState.Held) && !heldBeside ? 'AT+CHLD=0' : `AT+CHLD=1${rec.index}`;
  }
}
