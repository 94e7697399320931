import { HangupRequest } from '../../backend';
import { Call } from '../../call/call';
import { CallState } from '../../call/call-state';
import { FORWARD_REASONS, ForwardMode, ForwardReason, ForwardRequest, ForwardRule, ForwardingCapability, TransferCause, TransferProgress, checkForwardRequest } from '../../capabilities';
import { CallStateError, CommandFailedError, InvalidInputError, LineNotReadyError, NotSupportedError } from '../../errors';
import { printable, validatePhoneNumber } from '../../validate';
import { AtError, AtResponse } from '../at-channel';
import { AtFeatureContext, AtFeatureHooks } from '../at-feature';
import { splitFields } from '../urc-parsers';

/** `AT+CCFC` `<mode>` (3GPP TS 27.007 §7.11). */
const MODE_CODE: Readonly<Record<ForwardMode, number>> = { disable: 0, enable: 1, query: 2, register: 3, erase: 4 };

/** 27.007 `<class>` bit of voice (telephony). */
const VOICE_CLASS = 1;

/** `+CME ERROR: 4`, "operation not supported": the module has no such command. */
const CME_NOT_SUPPORTED = 4;

/** Design §4: CCFC, CTFR and CHLD=4 wait for the network, up to 90 s. */
const NETWORK_TIMEOUT_MS = 90_000;

/** 27.007 `<type>` of a number: 145 international (with `+`), 129 otherwise. */
export function numberType(number: string): number {
  return number.startsWith('+') ? 145 : 129;
}

/**
 * The `AT+CCFC` command for a request: `AT+CCFC=<reason>,<mode>[,"<number>",<type>[,<class>,,,<time>]]`.
 * The class (1, voice) is given only when a time follows, since the time is positional; without it the
 * network applies its default (voice, data and fax), as voiceCall.setFw does.
 */
export function ccfcCommand(request: ForwardRequest): string {
  let cmd = `AT+CCFC=${FORWARD_REASONS.indexOf(request.reason)},${MODE_CODE[request.mode]}`;
  if (request.number !== undefined) {
    cmd += `,"${request.number}",${numberType(request.number)}`;
    if (request.time !== undefined) cmd += `,${VOICE_CLASS},,,${request.time}`;
  }
  return cmd;
}

/**
 * One `+CCFC: <status>,<class>[,<number>,<type>[,<subaddr>,<satype>[,<time>]]]` line of a query, or null
 * for a line that does not read as one (tolerant: extra fields are ignored, never throws).
 */
export function parseCcfc(line: string, reason: ForwardReason): ForwardRule | null {
  if (!line.startsWith('+CCFC:')) return null;
  const f = splitFields(line.slice('+CCFC:'.length).trim());
  const status = int(f[0]);
  const classes = int(f[1]);
  if ((status !== 0 && status !== 1) || classes === null) return null;
  const rule: ForwardRule = { reason, active: status === 1, classes };
  if (f[2]) rule.number = f[2];
  const type = int(f[3]);
  if (rule.number !== undefined && type !== null) rule.numberType = type;
  const time = int(f[6]);
  if (time !== null) rule.time = time;
  return rule;
}

/**
 * The voice rules of a query's lines. 27.007 lists one line per class (or one `+CCFC: 0,<classes>` line
 * when nothing is forwarded for any class): rules for data or fax alone are left out, and when no line
 * covers voice, voice calls are not forwarded, reported as one inactive rule.
 */
export function voiceRules(lines: readonly string[], reason: ForwardReason): ForwardRule[] {
  const rules = lines.map((l) => parseCcfc(l, reason)).filter((r): r is ForwardRule => r !== null && (r.classes & VOICE_CLASS) !== 0);
  return rules.length > 0 ? rules : [{ reason, active: false, classes: VOICE_CLASS }];
}

function int(field: string | undefined): number | null {
  return field !== undefined && /^\d+$/.test(field) ? Number(field) : null;
}

/** A network command got no answer in time (a transfer's `timeout`). */
class NetworkTimeoutError extends CommandFailedError {}

/**
 * Forwarding over AT: network forwarding rules (`AT+CCFC`, 27.007 §7.11), divert of a ringing call
 * (`AT+CTFR`, §7.14) and explicit call transfer (`AT+CHLD=4`, §7.13). Every one of them is a network
 * round trip (design §4: up to 90 s).
 *
 * Blind transfer to a number is left to the line (see {@link ForwardingCapability.transfer}): the network
 * of a cellular module transfers only between two calls of ours.
 */
export class AtForwarding implements ForwardingCapability, AtFeatureHooks {
  readonly name = 'forwarding';

  constructor(private readonly ctx: AtFeatureContext) {}

  async setRule(input: ForwardRequest): Promise<ForwardRule[]> {
    const request = checkForwardRequest(input); // again: no path to the modem skips it
    const cmd = ccfcCommand(request);
    const query = request.mode === 'query';
    const res = await this.send(cmd, `${query ? 'querying' : 'changing'} call forwarding`, query ? ['+CCFC:'] : []);
    return query ? voiceRules(res.lines, request.reason) : [];
  }

  async divert(call: Call, number: string): Promise<void> {
    const n = validatePhoneNumber(number, 'divert number');
    if (call.state !== CallState.Incoming && call.state !== CallState.Waiting) {
      throw new CallStateError(`call ${call.id} is ${call.state}: only a ringing (incoming or waiting) call can be diverted`);
    }
    await this.ending([call], { signal: 'normal', endCause: 'redirected', text: `diverted to ${n}` }, `AT+CTFR="${n}",${numberType(n)}`, 'diverting the call');
  }

  /**
   * Explicit call transfer. Reported as `transfer` events (to `progress` when the line gives one, the
   * consultation of a blind transfer; else as `attended` from `started` on): `succeeded` (`normal`) on the
   * module's OK; on an error `hangup` when the call being transferred has ended, `target-hangup` when the
   * other one has, `timeout` when the network did not answer, else `failed` (`+CME ERROR`, `ERROR`).
   */
  async transferToCall(call: Call, other: Call, progress?: TransferProgress): Promise<void> {
    try {
      await this.explicitTransfer(call, other, () => {
        if (progress) return progress;
        const to = other.remote.number || 'the other call';
        const p = new TransferProgress(call, { method: 'attended', role: 'transferor', to, target: other.id });
        p.step('started', `joining call ${call.id} with call ${other.id} (${to}) and leaving both (AT+CHLD=4)`);
        return p;
      });
    } catch (err) {
      if (progress && !progress.done) progress.outcome(await this.failureCause(call, other, err), (err as Error).message, { evidence: evidenceOf(err) });
      throw err;
    }
  }

  /**
   * Why an explicit call transfer failed. A refusal of the module may come from a call of the two that
   * just ended (the module joins only a held and an active call): the call table is read again
   * (AT+CLCC) before saying, so that the module's own account decides, not the order of its lines.
   */
  private async failureCause(call: Call, other: Call, err: unknown): Promise<TransferCause> {
    if (err instanceof CommandFailedError && !call.ended && !other.ended) await this.ctx.refresh().catch(() => undefined);
    return ectFailureCause(call, other, err);
  }

  /** `AT+CHLD=4`, once the calls are checked; `started` gives the reports (made only once the checks passed). */
  private async explicitTransfer(call: Call, other: Call, started: () => TransferProgress): Promise<void> {
    if (call === other) throw new InvalidInputError('a call cannot be transferred to itself: name the other call');
    const held = [call, other].filter((c) => c.state === CallState.Held);
    const connected = [call, other].filter((c) => c.state === CallState.Active || (c.direction === 'outbound' && (c.state === CallState.Ringing || c.state === CallState.EarlyMedia)));
    if (held.length !== 1 || connected.length !== 1) {
      throw new CallStateError(
        `explicit call transfer joins a held call with an active (or ringing outgoing) one; the calls are ${call.state} and ${other.state}`,
      );
    }
    // AT+CHLD=4 names no call: it joins the modem's held and active calls, so those must be these two.
    const others = this.ctx.calls().filter((c) => c !== call && c !== other && (c.state === CallState.Active || c.state === CallState.Held));
    if (others.length > 0) {
      throw new CallStateError(`explicit call transfer needs the line's other connected calls ended first (call ${others[0].id} is ${others[0].state})`);
    }
    const end = (to: Call): HangupRequest => ({
      signal: 'normal',
      endCause: 'transferred',
      text: `transferred to ${to.remote.number || 'the other call'}`,
    });
    const progress = started();
    try {
      await this.ending([call, other], [end(other), end(call)], 'AT+CHLD=4', 'transferring the call');
    } catch (err) {
      if (!progress.done) progress.outcome(await this.failureCause(call, other, err), (err as Error).message, { evidence: evidenceOf(err) });
      throw err;
    }
    progress.outcome('normal', `call ${call.id} was joined with call ${other.id} and left: the transfer succeeded`, { evidence: 'AT+CHLD=4 → OK' });
  }

  /**
   * Sends a command that ends `calls` on success: their end is announced first (so that the release the
   * modem reports is ours, with `ends`), and withdrawn when the command fails.
   */
  private async ending(calls: Call[], ends: HangupRequest | HangupRequest[], cmd: string, what: string): Promise<void> {
    this.ctx.channel(); // LineNotReadyError before any call is marked
    calls.forEach((c, i) => this.ctx.expectEnd(c, Array.isArray(ends) ? ends[i] : ends));
    try {
      await this.send(cmd, what);
    } catch (err) {
      for (const c of calls) this.ctx.expectEnd(c, null);
      throw err;
    }
    this.ctx.poll();
  }

  /** Sends a network command, turning the modem's refusal into an error written for people. */
  private async send(cmd: string, what: string, expect: readonly string[] = []): Promise<AtResponse> {
    const timeoutMs = this.ctx.options.timing?.callCommandTimeoutMs ?? NETWORK_TIMEOUT_MS;
    try {
      return await this.ctx.channel().send(cmd, { expect, timeoutMs });
    } catch (err) {
      if (!(err instanceof AtError)) throw err;
      const evidence = `${cmd} → ${err.final ?? err.kind}`;
      if (err.kind === 'closed' || err.kind === 'unresponsive') {
        throw new LineNotReadyError(`${what} failed: the line went down (${err.message})`);
      }
      if (err.kind === 'timeout') {
        throw new NetworkTimeoutError(`${what} failed: no answer from the network within ${Math.round(timeoutMs / 1000)} s`, evidence);
      }
      if (err.cmeCode === CME_NOT_SUPPORTED) {
        throw new NotSupportedError(`${what} is not supported on this line (${this.ctx.describeModem()})`);
      }
      throw new CommandFailedError(`${what} failed: the modem or the network refused it (${printable(err.final ?? 'ERROR')})`, evidence);
    }
  }
}

/**
 * Why an explicit call transfer failed, from what became of the calls and the error: the call being
 * transferred ended → `hangup`; the other (the target) ended → `target-hangup`; no answer from the
 * network in time → `timeout`; anything else (the module or network refused: `+CME ERROR`, `ERROR`; the
 * line went down) → `failed`.
 */
function ectFailureCause(call: Call, other: Call, err: unknown): TransferCause {
  if (call.ended) return 'hangup';
  if (other.ended) return 'target-hangup';
  if (err instanceof NetworkTimeoutError) return 'timeout';
  return 'failed';
}

/** The raw evidence of an error (`AT+CHLD=4 → +CME ERROR: 3`), when it has one. */
function evidenceOf(err: unknown): string | undefined {
  const e = (err as { evidence?: unknown }).evidence;
  return typeof e === 'string' ? e : undefined;
}
