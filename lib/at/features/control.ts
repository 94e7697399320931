import { Call } from '../../call/call';
import { CallState } from '../../call/call-state';
import { AudioChannel, ControlCapability, MAX_VOLUME, swapPair } from '../../capabilities';
import { CallStateError, CommandFailedError, NotSupportedError } from '../../errors';
import { AtCommandOptions, AtError } from '../at-channel';
import { AtFeatureContext, AtFeatureHooks } from '../at-feature';
import { ModemProfile } from '../modem-profile';
import { HoldView, OtherSideHold } from './other-side-hold';

/**
 * `AT+CHLD` and the other supplementary service commands wait for the network, like `ATD` and `ATA`
 * (design §4: up to 90 s), unless the line's timing says otherwise.
 */
const NETWORK_COMMAND_TIMEOUT_MS = 90_000;

/** How long a call command (`AT+CHLD`, as `ATD`) may wait for the network: the line's timing, else 90 s. */
export function networkCommandTimeout(ctx: AtFeatureContext): number {
  return ctx.options.timing?.callCommandTimeoutMs ?? NETWORK_COMMAND_TIMEOUT_MS;
}

/**
 * How long a hold / resume / swap waits, after the module said OK, for the module to report the new
 * call states (by URC, or in the `AT+CLCC` poll the command triggers).
 */
export const STATE_REPORT_MS = 10_000;

/** The module said OK to `cmd` but did not show `missing` within {@link STATE_REPORT_MS}. */
export function notReported(cmd: string, missing: string): CommandFailedError {
  return new CommandFailedError(`the modem accepted ${cmd}, but did not report ${missing} within ${STATE_REPORT_MS / 1000} s`, cmd);
}

/**
 * Channel numbers of both Quectel commands, which agree:
 * - `AT+QAUDMOD=<mode>` (EC2x/EG9x AT Commands Manual, "AT+QAUDMOD Set Audio Mode"): 0 handset,
 *   1 headset, 2 speaker (3 all audio processing off, 4 bluetooth, 5 general: not ours).
 * - `AT+QAUDCH=<channel>` (Quectel OpenCPU RIL `Enum_AudChannel`: AUD_CHANNEL_NORMAL 0,
 *   AUD_CHANNEL_HEADSET 1, AUD_CHANNEL_LOUD_SPEAKER 2; QuecPython `voiceCall.setChannel(device)`:
 *   0 handset, 1 headset, 2 loudspeaker, which drives it).
 */
const CHANNEL_NUMBER: Readonly<Record<AudioChannel, number>> = { handset: 0, headset: 1, speaker: 2 };

/** The module settings this feature probes with `=?`, and what they are in words. */
type Setting = 'volume' | 'mute' | 'channel';

const SETTING_WORDS: Readonly<Record<Setting, string>> = {
  volume: 'the call volume (AT+CLVL)',
  mute: 'muting the microphone (AT+CMUT)',
  channel: 'choosing the audio channel',
};

/** The AT command (without `AT`, `=`) behind a setting on a profile; null: the family has none. */
function commandOf(setting: Setting, profile: ModemProfile): string | null {
  if (setting === 'volume') return '+CLVL';
  if (setting === 'mute') return '+CMUT';
  if (profile.audioChannel === 'qaudmod') return '+QAUDMOD';
  if (profile.audioChannel === 'qaudch') return '+QAUDCH';
  return null;
}

/**
 * The values a test command (`AT+X=?`) lists in its first parenthesised group: `+CLVL: (0-5)` →
 * [0..5], `+CMUT: (0,1)` → [0, 1], `+QAUDCH: (0-2,4)` → [0, 1, 2, 4]. Null when the line lists none.
 * Tolerant: a line without parentheses is read as one group; ranges are capped at 1000 values.
 */
export function parseTestValues(line: string): number[] | null {
  const body = line.replace(/^[+^][A-Za-z0-9]+:\s*/, '');
  const group = /\(([^)]*)\)/.exec(body)?.[1] ?? body;
  const values = new Set<number>();
  for (const part of group.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(part);
    if (!m) continue;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    for (let v = from; v <= to && v - from < 1000; v++) values.add(v);
  }
  return values.size > 0 ? [...values].sort((a, b) => a - b) : null;
}

/** The module's volume range, from the values of `AT+CLVL=?`. */
export interface LevelRange {
  min: number;
  max: number;
}

/**
 * Maps voiceCall's 0–11 onto the module's range, rounding to the nearest step: on `(0-5)`, 0 → 0,
 * 1 → 0, 2 → 1, 6 → 3, 11 → 5; on `(0-100)`, 1 → 9, 11 → 100. A one-value range maps everything to it.
 */
export function toModuleLevel(level: number, range: LevelRange): number {
  return range.min + Math.round((level * (range.max - range.min)) / MAX_VOLUME);
}

/** The module's level back on the 0–11 scale (nearest), clamped into the range first. */
export function fromModuleLevel(moduleLevel: number, range: LevelRange): number {
  if (range.max === range.min) return MAX_VOLUME;
  const clamped = Math.min(range.max, Math.max(range.min, moduleLevel));
  return Math.round(((clamped - range.min) * MAX_VOLUME) / (range.max - range.min));
}

/**
 * Call and audio control over AT (3GPP TS 27.007 and Quectel):
 *
 * | what | command |
 * |---|---|
 * | hold the active call / resume the held one / swap them | `AT+CHLD=2` |
 * | mute the microphone | `AT+CMUT=<0\|1>` (volatile: re-applied after a restart) |
 * | volume 0–11 | `AT+CLVL=<n>`, scaled onto the range `AT+CLVL=?` lists |
 * | audio channel | `AT+QAUDMOD=<n>` (EC2x) or `AT+QAUDCH=<n>` (other Quectel); none on 27.007 |
 *
 * `AT+CHLD=2` is one command with three meanings, chosen by the calls there are (27.007 §7.13:
 * "places all active calls on hold and accepts the other (held or waiting) call"); so each method
 * first checks that the calls are in the one shape where it means what was asked, and then waits
 * for the module to report the new states: the `held` / `resumed` / `answered` events come from the
 * backend's reconciliation of `^DSCI` / ccinfo / `AT+CLCC`, once each, never from here. The other
 * side's hold (`+CSSU`, after `AT+CSSN=1,1`) is followed by {@link OtherSideHold}: a call is `held`
 * while either side holds it, and each event says whose hold changed (`heldBy`).
 *
 * What the module supports is probed with `=?` after every initialisation and remembered until the
 * line goes down (a reconnect may find another module).
 */
export class AtControl implements ControlCapability, AtFeatureHooks {
  readonly name = 'control';
  /** The other side's hold, from `+CSSU` (lib/at/features/other-side-hold.ts). */
  private readonly otherSide: OtherSideHold;
  readonly urcs: Readonly<Record<string, (line: string) => void>>;
  /** `=?` answers since the line came up: the values, or null when the module refused the command. */
  private readonly probed = new Map<Setting, number[] | null>();
  /** The mute the flow asked for: the module forgets it on restart, so it is applied again. */
  private muted = false;
  /** The last volume set, so that reading it back gives the same 0–11 level while the module keeps it. */
  private lastVolume: { level: number; moduleLevel: number } | null = null;
  /**
   * Hold / resume / swap, one at a time: each checks the calls' states and then sends `AT+CHLD=2`, so
   * a second request checked before the first took effect would undo it (two quick holds: a resume).
   */
  private chldQueue: Promise<unknown> = Promise.resolve();

  constructor(private readonly ctx: AtFeatureContext) {
    this.otherSide = new OtherSideHold(ctx);
    this.urcs = this.otherSide.urcs;
  }

  // ───────────────────────────── lifecycle ─────────────────────────────

  async onReady(): Promise<void> {
    this.probed.clear();
    // The other side's hold comes as +CSSU (27.007 §7.17: `AT+CSSN=<n>,<m>`, +CSSI on, +CSSU on);
    // volatile, so sent after every initialisation. A module without it still works, without them.
    try {
      await this.ctx.channel().send('AT+CSSN=1,1');
    } catch (err) {
      this.ctx.log.info(`control: the modem refused AT+CSSN=1,1 (${(err as AtError).final ?? (err as Error).message}): the other side's hold will not be seen`);
    }
    for (const setting of ['volume', 'mute', 'channel'] as const) {
      try {
        await this.probe(setting);
      } catch (err) {
        // Not fatal: probed again when first used.
        this.ctx.log.debug(`control: probing ${SETTING_WORDS[setting]}: ${(err as Error).message}`);
      }
    }
    if (this.muted && this.probed.get('mute')) {
      // The module starts unmuted after a restart; a flow that muted it expects it to stay muted.
      await this.send('AT+CMUT=1', 'mute the microphone again');
    }
  }

  onDown(): void {
    this.probed.clear();
  }

  // ───────────────────────────── calls ─────────────────────────────

  hold(call: Call): Promise<void> {
    return this.oneAtATime(() => this.doHold(call));
  }

  resume(call: Call): Promise<void> {
    return this.oneAtATime(() => this.doResume(call));
  }

  /**
   * The state a call takes for the state the module reported (its own view: our hold only), and
   * whose hold changed: the backend asks this for every report, so that a call the other side holds
   * stays `held` while the module lists it active.
   */
  follow(call: Call, reported: CallState): HoldView {
    return this.otherSide.follow(call, reported);
  }

  swap(): Promise<{ active: Call; held: Call }> {
    return this.oneAtATime(() => this.doSwap());
  }

  /** Runs `AT+CHLD` work in turn with hold / resume / swap (the conference feature's commands too). */
  oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    const run = this.chldQueue.then(work, work);
    this.chldQueue = run.catch(() => undefined);
    return run;
  }

  private async doHold(call: Call): Promise<void> {
    if (call.state !== CallState.Active) {
      throw new CallStateError(`call ${call.id} is ${call.state}: only an active call can be put on hold`);
    }
    const other = this.others(call).find((c) => c.state === CallState.Held || c.state === CallState.Waiting);
    if (other?.state === CallState.Held) {
      throw new CallStateError(`call ${other.id} is already on hold, and a module holds one call at a time: use swap to change over`);
    }
    if (other) {
      throw new CallStateError(
        `call ${other.id} is waiting, and holding now would answer it: answer it (that holds call ${call.id}) or reject it first`,
      );
    }
    await this.chld2([[call, CallState.Held]]);
  }

  private async doResume(call: Call): Promise<void> {
    if (call.state !== CallState.Held) {
      throw new CallStateError(`call ${call.id} is ${call.state}: only a held call can be resumed`);
    }
    const remote = this.otherSide.heldByRemote(call);
    if (remote && !this.otherSide.heldLocally(call)) {
      throw new CallStateError(`call ${call.id} is held by the other side: only they can take it back`);
    }
    const other = this.others(call).find((c) => c.state === CallState.Active || c.state === CallState.Waiting);
    if (other?.state === CallState.Active) {
      throw new CallStateError(`call ${other.id} is active: use swap to hold it and resume call ${call.id}`);
    }
    if (other) {
      throw new CallStateError(`call ${other.id} is waiting, and resuming now would answer it instead: answer or reject it first`);
    }
    // Held by both sides: ours ends, the call stays held until the other side takes it back.
    await this.chld2([[call, remote ? CallState.Held : CallState.Active]]);
  }

  private async doSwap(): Promise<{ active: Call; held: Call }> {
    const { active: wasActive, next } = swapPair(this.ctx.calls());
    await this.chld2([
      [wasActive, CallState.Held],
      [next, CallState.Active],
    ]);
    return { active: next, held: wasActive };
  }

  /** Sends `AT+CHLD=2` and waits until the module reports each call in its expected state. */
  private async chld2(expect: Array<[Call, CallState]>): Promise<void> {
    const cmd = 'AT+CHLD=2';
    const reported = whenStates(expect, STATE_REPORT_MS);
    try {
      await this.send(cmd, 'change the held call', { timeoutMs: this.networkTimeout() });
    } catch (err) {
      reported.cancel();
      throw err;
    }
    this.ctx.poll(); // a module without call state URCs shows the change in AT+CLCC only
    const missing = await reported.done;
    if (missing) {
      throw notReported(cmd, missing);
    }
  }

  private others(call: Call): Call[] {
    return this.ctx.calls().filter((c) => c !== call && !c.ended);
  }

  private networkTimeout(): number {
    return networkCommandTimeout(this.ctx);
  }

  // ───────────────────────────── audio ─────────────────────────────

  async setMute(on: boolean): Promise<void> {
    await this.supported('mute');
    await this.send(`AT+CMUT=${on ? 1 : 0}`, on ? 'mute the microphone' : 'unmute the microphone');
    this.muted = on;
  }

  async getMute(): Promise<boolean> {
    await this.supported('mute');
    return (await this.read('+CMUT')) === 1;
  }

  async setVolume(level: number): Promise<void> {
    const range = await this.volumeRange();
    const moduleLevel = toModuleLevel(level, range);
    await this.send(`AT+CLVL=${moduleLevel}`, 'set the volume');
    this.lastVolume = { level, moduleLevel };
  }

  async getVolume(): Promise<number> {
    const range = await this.volumeRange();
    const moduleLevel = await this.read('+CLVL');
    const last = this.lastVolume;
    return last && last.moduleLevel === moduleLevel ? last.level : fromModuleLevel(moduleLevel, range);
  }

  async setChannel(channel: AudioChannel): Promise<void> {
    const values = await this.supported('channel');
    const n = CHANNEL_NUMBER[channel];
    if (!values.includes(n)) {
      throw new NotSupportedError(`the ${channel} audio channel is not supported on this line (${this.ctx.describeModem()})`);
    }
    await this.send(`AT${this.channelCommand()}=${n}`, `switch to the ${channel} channel`);
  }

  async getChannel(): Promise<AudioChannel | null> {
    await this.supported('channel');
    const n = await this.read(this.channelCommand());
    return (Object.keys(CHANNEL_NUMBER) as AudioChannel[]).find((c) => CHANNEL_NUMBER[c] === n) ?? null;
  }

  private channelCommand(): string {
    return commandOf('channel', this.ctx.profile()) as string;
  }

  private async volumeRange(): Promise<LevelRange> {
    const values = await this.supported('volume');
    return { min: values[0], max: values[values.length - 1] };
  }

  /** The values the module accepts for `setting`, probing if need be; NotSupportedError if none. */
  private async supported(setting: Setting): Promise<number[]> {
    const values = this.probed.has(setting) ? this.probed.get(setting) : await this.probe(setting);
    if (!values) throw new NotSupportedError(`${SETTING_WORDS[setting]} is not supported on this line (${this.ctx.describeModem()})`);
    return values;
  }

  /**
   * `AT+X=?`: remembers the values listed, or null when the module refused the command (it lacks it).
   * A timeout remembers nothing, so that the next use asks again.
   */
  private async probe(setting: Setting): Promise<number[] | null> {
    const cmd = commandOf(setting, this.ctx.profile());
    let values: number[] | null = null;
    if (cmd) {
      try {
        const res = await this.ctx.channel().send(`AT${cmd}=?`, { expect: [`${cmd}:`] });
        values = res.lines.length > 0 ? parseTestValues(res.lines[0]) : null;
      } catch (err) {
        if (!(err instanceof AtError && err.kind === 'error')) throw commandFailed(err, `AT${cmd}=?`, 'probe the module');
      }
    }
    this.probed.set(setting, values);
    return values;
  }

  /** `AT+X?` → the first number of `+X: <n>`. */
  private async read(cmd: string): Promise<number> {
    const res = await this.send(`AT${cmd}?`, 'read the setting', { expect: [`${cmd}:`] });
    const value = /:\s*(\d+)/.exec(res.lines[0] ?? '');
    if (!value) throw new CommandFailedError(`the modem did not say its setting: ${res.lines[0] ?? 'no answer'}`, `AT${cmd}?`);
    return Number(value[1]);
  }

  private async send(cmd: string, what: string, options: AtCommandOptions = {}): Promise<{ lines: string[] }> {
    try {
      return await this.ctx.channel().send(cmd, options);
    } catch (err) {
      throw commandFailed(err, cmd, what);
    }
  }
}

/**
 * A channel failure as the error a flow sees (a line that went down stays LineNotReadyError);
 * `withAnswer`: its detail is the command and the module's answer, not the command alone.
 */
export function commandFailed(err: unknown, cmd: string, what: string, withAnswer = false): Error {
  if (!(err instanceof AtError)) return err as Error;
  const answer = err.final ?? err.message;
  return new CommandFailedError(`the modem could not ${what}: ${answer}`, withAnswer ? `${cmd} → ${answer}` : cmd);
}

/**
 * Resolves when every call is in its state (null), or with words for the first one that is not when
 * it ends or the time is up. `cancel()` stops waiting (the command failed).
 */
function whenStates(expect: Array<[Call, CallState]>, ms: number): { done: Promise<string | null>; cancel(): void } {
  let cancel = (): void => undefined;
  const done = new Promise<string | null>((resolve) => {
    const pending = (): [Call, CallState] | undefined => expect.find(([call, state]) => call.state !== state);
    const check = (): void => {
      const p = pending();
      if (!p) finish(null);
      else if (p[0].ended) finish(`call ${p[0].id} ${p[1]} (it ended)`);
    };
    const finish = (result: string | null): void => {
      clearTimeout(timer);
      for (const [call] of expect) {
        call.off('transition', check);
        call.off('ended', check);
      }
      resolve(result);
    };
    const timer = setTimeout(() => {
      const p = pending();
      finish(p ? `call ${p[0].id} ${p[1]}` : null);
    }, ms);
    for (const [call] of expect) {
      call.on('transition', check);
      call.on('ended', check);
    }
    cancel = () => finish(null);
    check();
  });
  return { done, cancel };
}
