import type { Call } from '../call/call';
import { CallState } from '../call/call-state';
import { DEFAULT_DTMF_DURATION_MS, checkDtmfDigits, checkDtmfDuration } from '../capabilities/dtmf';
import { CallStateError, InvalidInputError } from '../errors';
import { describe } from '../validate';
import { Gather, checkGatherOptions } from './gather';
import type { VoiceLine } from './voice-line';

/**
 * The line's DTMF: send digits, and collect them (gathers; per-digit `dtmf` events come from the
 * line itself). Validates what a flow gives before anything else, resolves the call, and calls the
 * backend's `dtmf` capability (`line.capability('dtmf', ...)`).
 */
export class LineDtmf {
  /** The running gather of each call: a newer one replaces it. */
  private readonly gathers = new Map<string, Gather>();

  constructor(readonly line: VoiceLine) {}

  /**
   * Sends `digits` (0-9 * # A-D, 1 to 64) into a connected call, each tone lasting
   * `options.durationMs` (100 to 1000, default 100). `ref`: a call id, a call snapshot, or nothing
   * for the line's only connected call. Resolves with the call when the modem or peer took them all.
   */
  async send(ref: unknown, digits: unknown, options: { durationMs?: unknown } = {}): Promise<Call> {
    const checked = checkDtmfDigits(digits);
    const durationMs = checkDtmfDuration(options.durationMs ?? DEFAULT_DTMF_DURATION_MS);
    const call = this.connectedCall(ref, 'send DTMF to');
    await this.line.capability('dtmf', 'sending DTMF').send(call, checked, { durationMs });
    return call;
  }

  /**
   * Starts collecting digits on a connected call, or an outgoing call in early media (options: see `checkGatherOptions`, all optional).
   * Resolves once the line listens for digits, with the {@link Gather}: its `result` says what was
   * collected and why it ended. A gather already running on the call ends `cancelled`. `pressed`:
   * keys the caller pressed already (the one that stopped a prompt), counted first.
   */
  async collect(ref: unknown, options: unknown = {}, pressed: unknown = ''): Promise<Gather> {
    const checked = checkGatherOptions(options);
    const first = pressed === '' || pressed === undefined || pressed === null ? '' : checkDtmfDigits(pressed);
    const call = this.line.resolveCall(ref, 'collect DTMF on', hearsFarEnd);
    if (!hearsFarEnd(call)) {
      throw new CallStateError(`call ${call.id} is ${call.state}: DTMF is collected only on a connected (active) call, or one in early media`);
    }
    await this.line.capability('dtmf', 'collecting DTMF digits').enableDetection(call);
    this.gathers.get(call.id)?.cancel();
    const gather = new Gather(call, this.line, checked, undefined, first);
    this.gathers.set(call.id, gather);
    void gather.result.then(() => {
      if (this.gathers.get(call.id) === gather) this.gathers.delete(call.id);
    });
    return gather;
  }

  /**
   * Switches the detection of the keys the far end presses on or off for the whole line (`true` /
   * `false`, or `"true"` / `"false"` from an editor field). Off: no `dtmf` events, gathers refused.
   * Kept across module restarts and reconnects, until the next deploy (which starts with it on).
   */
  async setDetection(on: unknown): Promise<boolean> {
    const value = on === 'true' ? true : on === 'false' ? false : on;
    if (typeof value !== 'boolean') throw new InvalidInputError(`DTMF detection must be true or false, got ${describe(on)}`);
    await this.line.capability('dtmf', 'switching DTMF detection').setDetection(value);
    return value;
  }

  /** The gather running on a call, if any. */
  gatherOf(call: Call): Gather | undefined {
    return this.gathers.get(call.id);
  }

  private connectedCall(ref: unknown, action: string): Call {
    const call = this.line.resolveCall(ref, action, (c) => c.state === CallState.Active);
    if (call.state !== CallState.Active) {
      throw new CallStateError(`call ${call.id} is ${call.state}: DTMF works only on a connected (active) call`);
    }
    return call;
  }
}

/** A call whose far end's keys are reported: connected, or an outgoing call's early media. */
function hearsFarEnd(call: Call): boolean {
  return call.state === CallState.Active || call.state === CallState.EarlyMedia;
}
