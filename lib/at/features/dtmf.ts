import { Call } from '../../call/call';
import { CallState } from '../../call/call-state';
import { DtmfCapability, checkDtmfDigits, checkDtmfDuration, detectionOffMessage, isDtmfSymbol } from '../../capabilities';
import { CallStateError, CommandFailedError, NotSupportedError } from '../../errors';
import { printable } from '../../validate';
import { AtError } from '../at-channel';
import { AtFeatureContext, AtFeatureHooks } from '../at-feature';

/**
 * How this module takes DTMF digits, learnt at every initialisation:
 *
 * - `string`: `AT+VTS="<digits>",<duration>`, the duration in 1/10 s. Quectel documents it so
 *   (WCDMA UGxx AT Commands Manual §12.6: `AT+VTS=<dtmfstring>[,<duration>]`, a quoted string of at
 *   most 31 symbols, `+VTS: (0-9,A-D,*,#),(0-255)`; the EC25/EC21 manual has the same §12 audio
 *   commands), and QuecPython's `voiceCall.startDtmf(digits, duration)` sends a string with a duration.
 * - `per-digit`: `AT+VTD=<duration>` once, then one `AT+VTS=<digit>` per digit: the 3GPP TS 27.007
 *   form every modem takes (`AT+VTS=<DTMF>`, the duration from `AT+VTD`, in 1/10 s), and what oFono's
 *   atmodem driver does.
 * - `unsupported`: the module answered `ERROR` to `AT+VTS=?`.
 */
export type VtsSyntax = 'string' | 'per-digit' | 'unsupported';

/**
 * Longest digit string in one `AT+VTS="..."`: the smallest maximum a Quectel manual gives (M10/M35:
 * 20; UGxx: 31). Longer requests are sent as several commands.
 */
export const VTS_STRING_MAX = 20;

/** Extra time a module may take per tone beyond its duration (the gap between tones), in ms. */
const PER_TONE_MARGIN_MS = 500;
/** Base response time of AT+VTS / AT+QTONEDET (the manuals give 300 ms for the settings). */
const BASE_TIMEOUT_MS = 2000;

/**
 * DTMF over AT (design §4): sending with `AT+VTS` in the syntax the module takes, detection with
 * Quectel's `AT+QTONEDET=1`, which reports each key the far end presses as
 * `+QTONEDET: <decimal ASCII code>` (49 = `1`, 42 = `*`, 35 = `#`, 65-68 = `A`-`D`). Tone detection is
 * volatile: it is switched on again after every initialisation (first connect, reconnect, `RDY`).
 */
export class AtDtmf implements DtmfCapability, AtFeatureHooks {
  readonly name = 'dtmf';
  readonly urcs = { '+QTONEDET:': (line: string): void => this.onTone(line) };

  /** From the `AT+VTS=?` probe of the last initialisation; null before the first one. */
  private vtsSyntax: VtsSyntax | null = null;
  /** `AT+QTONEDET=1` was accepted since the last initialisation. */
  private detecting = false;
  /** The flow's choice (setDetection): on unless switched off; applied after every initialisation. */
  private wanted = true;
  /** Sends run one after another: the digits of two requests never interleave. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly ctx: AtFeatureContext) {}

  /** The syntax in use (`null` before the line was first ready). */
  get syntax(): VtsSyntax | null {
    return this.vtsSyntax;
  }

  /** True while the module reports received digits. */
  get detectionOn(): boolean {
    return this.detecting;
  }

  get detection(): boolean | null {
    return this.ctx.profile().toneDetection ? this.wanted : null;
  }

  async onReady(): Promise<void> {
    this.detecting = false;
    this.vtsSyntax = await this.probeSyntax();
    this.ctx.log.debug(`DTMF: sending with ${this.vtsSyntax === 'string' ? 'AT+VTS="<digits>",<duration>' : this.vtsSyntax === 'per-digit' ? 'AT+VTD and one AT+VTS per digit' : 'nothing (AT+VTS refused)'}`);
    // Switched on for the whole session rather than per call: the module keeps it until it restarts,
    // and a digit pressed right after the answer is not lost to a command still on its way. Switched
    // off by the flow, it is sent off too: a reconnect without a restart finds the module as it was.
    if (this.ctx.profile().toneDetection) {
      try {
        await this.applyDetection();
      } catch (err) {
        this.ctx.log.warn(`DTMF detection: ${(err as Error).message}`);
      }
    }
  }

  onDown(): void {
    this.detecting = false;
  }

  async send(call: Call, digits: string, options: { durationMs: number }): Promise<void> {
    // Checked again here: no path to the modem skips validation.
    const checked = checkDtmfDigits(digits);
    const tenths = Math.round(checkDtmfDuration(options.durationMs) / 100);
    const run = this.queue.then(() => this.sendNow(call, checked, tenths));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async enableDetection(_call: Call): Promise<void> {
    this.requireToneDetection();
    if (!this.wanted) throw new CallStateError(detectionOffMessage(this.ctx.describeModem()));
    if (!this.detecting) await this.applyDetection();
  }

  /** `AT+QTONEDET=<1|0>` now, and again after every initialisation (the setting is volatile). */
  async setDetection(on: boolean): Promise<void> {
    this.requireToneDetection();
    const was = this.wanted;
    this.wanted = on;
    try {
      await this.applyDetection();
    } catch (err) {
      this.wanted = was;
      throw err;
    }
  }

  private requireToneDetection(): void {
    if (!this.ctx.profile().toneDetection) {
      throw new NotSupportedError(`collecting DTMF digits is not supported on this line (${this.ctx.describeModem()})`);
    }
  }

  private async sendNow(call: Call, digits: string, tenths: number): Promise<void> {
    requireActive(call);
    const syntax = this.vtsSyntax ?? hintOf(this.ctx.profile().dtmfSend);
    if (syntax === 'unsupported') {
      throw new NotSupportedError(`sending DTMF is not supported on this line (${this.ctx.describeModem()})`);
    }
    const toneMs = tenths * 100 + PER_TONE_MARGIN_MS;
    if (syntax === 'string') {
      for (let i = 0; i < digits.length; i += VTS_STRING_MAX) {
        const chunk = digits.slice(i, i + VTS_STRING_MAX);
        await this.command(`AT+VTS="${chunk}",${tenths}`, BASE_TIMEOUT_MS + chunk.length * toneMs);
      }
      return;
    }
    try {
      await this.command(`AT+VTD=${tenths}`, BASE_TIMEOUT_MS);
    } catch (err) {
      // The digits still go, at the module's own tone length: better than none at all.
      this.ctx.log.warn(`DTMF: ${(err as Error).message}; sending with the module's default tone length`);
    }
    for (const digit of digits) {
      requireActive(call); // the call may have ended between two digits
      await this.command(`AT+VTS=${digit}`, BASE_TIMEOUT_MS + toneMs);
    }
  }

  private async command(cmd: string, timeoutMs: number): Promise<void> {
    try {
      await this.ctx.channel().send(cmd, { timeoutMs });
    } catch (err) {
      if (!(err instanceof AtError)) throw err;
      const what = err.kind === 'error' ? `the modem refused ${cmd}: ${err.final ?? err.message}` : `${cmd} did not complete: ${err.message}`;
      throw new CommandFailedError(what, cmd);
    }
  }

  /**
   * `AT+VTS=?` → `+VTS: (0-9,*,#,A-D),(0-255)`: a second list is the duration the command takes.
   * The profile says whether that command also takes a string; the probe says whether it takes a
   * duration at all. A module that does not answer leaves the profile's hint; `ERROR` means no DTMF.
   */
  private async probeSyntax(): Promise<VtsSyntax> {
    const hint = hintOf(this.ctx.profile().dtmfSend);
    let line: string | undefined;
    try {
      line = (await this.ctx.channel().send('AT+VTS=?', { expect: ['+VTS:'] })).lines[0];
    } catch (err) {
      if (err instanceof AtError && err.kind === 'error') return 'unsupported';
      this.ctx.log.debug(`AT+VTS=?: ${(err as Error).message}; using the profile's hint (${hint})`);
      return hint;
    }
    const takesDuration = (line?.match(/\([^)]*\)/g) ?? []).length >= 2;
    return hint === 'string' && takesDuration ? 'string' : 'per-digit';
  }

  private async applyDetection(): Promise<void> {
    const on = this.wanted;
    await this.command(`AT+QTONEDET=${on ? 1 : 0}`, BASE_TIMEOUT_MS);
    this.detecting = on;
  }

  /** `+QTONEDET: <code>` → a `dtmf` report on the connected call. Anything else is logged and dropped. */
  private onTone(line: string): void {
    const digit = parseToneDetection(line);
    if (!this.wanted) {
      this.ctx.log.debug(`DTMF: "${printable(line)}" while detection is switched off: ignored`);
      return;
    }
    if (digit === null) {
      this.ctx.log.debug(`DTMF: ignoring "${printable(line)}" (not a DTMF key)`);
      return;
    }
    const active = this.ctx.calls().filter((c) => c.state === CallState.Active);
    if (active.length === 0) {
      this.ctx.log.debug(`DTMF: key ${digit} with no connected call: ignored`);
      return;
    }
    // A multiparty call lists several active calls: the key was heard on all of them.
    for (const call of active) call.report('dtmf', { digit, source: 'modem' });
  }
}

/**
 * The DTMF symbol of a `+QTONEDET: <code>` line (the decimal ASCII code of the key; extra fields
 * tolerated), or null: a code that is no DTMF key (some modules report 69/70 for 1400/2300 Hz tones),
 * a malformed line.
 */
export function parseToneDetection(line: string): string | null {
  const m = /^\+QTONEDET:\s*(\d{1,3})\s*(?:,.*)?$/.exec(line.trim());
  if (!m) return null;
  const symbol = String.fromCharCode(Number(m[1]));
  return isDtmfSymbol(symbol) ? symbol : null;
}

function hintOf(hint: 'string' | 'per-digit' | undefined): VtsSyntax {
  return hint ?? 'per-digit';
}

function requireActive(call: Call): void {
  if (call.state !== CallState.Active) {
    throw new CallStateError(`call ${call.id} is ${call.state}: DTMF can only be sent on a connected (active) call`);
  }
}
