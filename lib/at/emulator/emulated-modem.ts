import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { Logger, SILENT_LOGGER } from '../../backend';
import { CallStateError, InvalidInputError } from '../../errors';
import { seededRandom } from '../../seeded-random';
import { printable, validatePhoneNumber } from '../../validate';
import { AtCommand, parseAtCommand } from './at-command';
import { qtonedetLine } from './call-urcs';
import { EMULATOR_PROFILES, EmulatorProfile, emulatorProfileNames } from './profiles';
import { EmulatorFeature, EmulatorHost, EmulatorCommandHandler, EmulatorReply } from './emulator-feature';
import { EMULATOR_FEATURES } from './features';
import { ModemState, initialState } from './modem-state';
import { DialBehaviour, EmulatedCallInfo, EmulatedNetwork, EmulatedWithheld } from './network';
import { BuiltinCommand, BuiltinCommands, BuiltinOutcome, PENDING, ok, simState } from './builtin-commands';
import { EmulatedSim } from './emulated-sim';

export { DIAL_BEHAVIOURS, plannedDialBehaviour } from './network';
export type { DialBehaviour, EmulatedCallInfo, EmulatedCallState, EmulatedWithheld } from './network';

/** All in milliseconds; every delay runs on `setTimeout`, so tests pass small values. */
export interface EmulatorTiming {
  /** `ATD` → the far end alerts (or busy / not-found end the call). */
  alertAfter: number;
  /** Alerting → the far end answers (`answer`) or rejects (`reject`). */
  answerAfter: number;
  /** Alerting → the network gives up (`no-answer`: `NO ANSWER`, Q.850 19). */
  noAnswerAfter: number;
  /** Between two `RING` / `+CLIP` of an incoming call. */
  ringInterval: number;
  /** Reply latency of each command: a fixed value or a `[min, max]` range (seeded, so repeatable). */
  commandDelay: number | readonly [number, number];
  /** `reboot()` → `RDY`. */
  bootTime: number;
}

export const DEFAULT_EMULATOR_TIMING: Readonly<EmulatorTiming> = Object.freeze({
  alertAfter: 300,
  answerAfter: 1000,
  noAnswerAfter: 5000,
  ringInterval: 3000,
  commandDelay: [0, 5] as const,
  bootTime: 500,
});

/**
 * Behaviours of firmware we did not write, off by default: each makes the module act as some real
 * module (or oFono's phonesim) does, for tests of the host against it. See docs/emulator.md.
 */
export interface EmulatorQuirks {
  /** A bare `AT` is answered `ERROR` (oFono's phonesim; modules at boot or with a SIM error). */
  bareAtError?: boolean;
  /**
   * `ATD` gets its final result only when the call is decided: `OK` once the far end answers, or the
   * call's end (`BUSY`, `NO ANSWER`, `NO CARRIER`), as with `AT+COLP=1`, whatever `AT+COLP` says.
   */
  dialResultWhenDecided?: boolean;
  /** `NO CARRIER` after a call the host ended too, not only after one the far end ended. */
  noCarrierOnLocalRelease?: boolean;
}

const QUIRKS: readonly (keyof EmulatorQuirks)[] = ['bareAtError', 'dialResultWhenDecided', 'noCarrierOnLocalRelease'];

export interface EmulatedModemOptions {
  timing?: Partial<EmulatorTiming>;
  /** Behaviours of other firmware (default: none). */
  quirks?: EmulatorQuirks;
  log?: Logger;
  /** The SIM asks for this PIN (overrides the profile's `pin`). */
  pin?: string;
  /**
   * The SIM card in the module (overrides `pin`): give the same one to the modules of successive
   * connections so that its retry counter and PUK state carry over, as a real card's do.
   */
  sim?: EmulatedSim;
  /** Seed of the command delay jitter (default 1). */
  seed?: number;
}

/** The volatile settings the host configured, for tests. */
export interface EmulatorSettings {
  readonly echo: boolean;
  readonly cmee: number;
  readonly clip: boolean;
  readonly crc: boolean;
  readonly ccwa: boolean;
  readonly colp: boolean;
  readonly dsci: boolean;
  readonly ccinfo: boolean;
  readonly toneDetection: boolean;
  /** `ATS0`: rings before the module answers by itself, 0 off. */
  readonly autoAnswerRings: number;
  readonly simLocked: boolean;
  /** `AT+CFUN`. */
  readonly functionality: number;
}

export interface DemoOptions {
  /** An incoming call this often while the line is idle (default 30000). */
  incomingEveryMs?: number;
  /** The first incoming call (default 5000). */
  firstCallAfterMs?: number;
  /** Callers, in turn (default `+4930123456`, `10086`, `5551234`). */
  numbers?: string[];
  /** Calls not ended by then are ended by the far side (default 45000). */
  remoteHangupAfterMs?: number;
  /** Digits the far side presses after a call is answered (default none), 300 ms apart. */
  digits?: string;
  /** When the far side presses `digits`, after the answer (default 1000). */
  digitsAfterMs?: number;
}

type PowerState = 'on' | 'booting' | 'closed';

const MAX_LINE = 1024;
const MAX_RECORDED_COMMANDS = 10000;
const DTMF_RE = /^[0-9*#A-D]*$/i;

const CME_TEXT: Readonly<Record<number, string>> = {
  3: 'operation not allowed',
  4: 'operation not supported',
  11: 'SIM PIN required',
  12: 'SIM PUK required',
  16: 'incorrect password',
  21: 'invalid index',
  30: 'no network service',
  50: 'Incorrect parameters',
};

function resolveTiming(timing: Partial<EmulatorTiming> = {}): EmulatorTiming {
  const merged: EmulatorTiming = { ...DEFAULT_EMULATOR_TIMING, ...timing };
  for (const key of Object.keys(merged) as (keyof EmulatorTiming)[]) {
    const value = merged[key];
    const values = Array.isArray(value) ? value : [value];
    const ok =
      values.length === (Array.isArray(value) ? 2 : 1) &&
      values.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0) &&
      (values.length === 1 || values[0] <= values[1]);
    if (!ok) {
      throw new TypeError(`timing.${key} must be a number of milliseconds >= 0${key === 'commandDelay' ? ' or [min, max]' : ''}`);
    }
  }
  return merged;
}

function resolveProfile(profile: string | EmulatorProfile): EmulatorProfile {
  if (typeof profile !== 'string') return profile;
  const found = EMULATOR_PROFILES[profile.toLowerCase()];
  if (!found) {
    throw new InvalidInputError(
      `unknown emulator profile "${printable(profile)}": use one of ${emulatorProfileNames().join(', ')}`,
    );
  }
  return found;
}

/** Hides the PIN of `AT+CPIN="1234"` in log lines. */
function maskSecrets(line: string): string {
  return line.replace(/^(AT\+CPIN\s*=).*$/i, '$1"****"');
}

/**
 * The built-in emulated cellular module. It speaks AT bytes: the host writes commands with
 * {@link receive} (or through {@link attach}), the module answers and reports calls on `'data'`.
 * The far end and the network are scripted with {@link incomingCall}, {@link remoteAnswer},
 * {@link remoteHangup}, ... or run by themselves in demo mode ({@link startDemo}).
 *
 * Events: `'data'` (Buffer, modem → host), `'command'` (string: each line the host sent, as received),
 * `'call-changed'` ({@link EmulatedCallInfo}: after every change of a call, `state: 'ended'` last),
 * `'close'`.
 *
 * Like a real module it echoes until `ATE0`, answers one command at a time, ignores lines that do not
 * start with `AT`, and forgets every setting (`AT^DSCI=1`, `AT+CLIP=1`, `AT+QTONEDET=1`, ...) when it
 * reboots.
 */
export class EmulatedModem extends EventEmitter {
  readonly profile: EmulatorProfile;
  /** Every command line the host sent, in order (the last 10000), also those a silent module ignored. */
  readonly commands: string[] = [];
  /**
   * The `<tone_info>` its `^DSCI` lines carry (ASR firmware: 0 the host plays the call's tones, 1 it
   * does not, they are in-band), or undefined for lines without it (the default).
   */
  dsciToneInfo: 0 | 1 | undefined = undefined;

  private readonly timing: EmulatorTiming;
  private readonly log: Logger;
  /** The SIM card: its PIN, PUK and retry counters (they survive a reboot; `simLocked` does not). */
  readonly sim: EmulatedSim;
  private readonly random: () => number;

  private power: PowerState = 'on';
  private silent = false;
  /** The settings the host configured (volatile: a reboot forgets them). */
  private readonly state: ModemState;
  /** The calls and the far ends (network.ts). */
  private readonly network: EmulatedNetwork;
  /** The built-in commands by name (builtin-commands.ts). */
  private readonly builtins: Readonly<Record<string, BuiltinCommand>>;
  private readonly features: EmulatorFeature[];
  private readonly featureCommands = new Map<string, EmulatorCommandHandler>();

  private input = '';
  private readonly queue: string[] = [];
  private commandTimer: NodeJS.Timeout | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();
  private demo: { timer: NodeJS.Timeout; hangupAfter: number; digits: string; digitsAfter: number } | null = null;

  constructor(profile: string | EmulatorProfile, options: EmulatedModemOptions = {}) {
    super();
    this.profile = resolveProfile(profile);
    this.timing = resolveTiming(options.timing);
    this.log = options.log ?? SILENT_LOGGER;
    this.sim = options.sim ?? new EmulatedSim({ pin: options.pin ?? this.profile.pin });
    this.random = seededRandom(options.seed ?? 1);
    this.state = initialState(this.profile.cmeeDefault, this.sim.locksAtPowerOn);
    if (options.quirks !== undefined) this.setQuirks(options.quirks);
    this.network = new EmulatedNetwork({
      profile: this.profile,
      timing: this.timing,
      log: this.log,
      state: this.state,
      urc: (line) => this.urc(line),
      replyToDial: (reply) => {
        this.sendReply(reply);
        this.pump();
      },
      schedule: (ms, fn, owner) => this.schedule(ms, fn, owner),
      emitChange: (info) => this.emit('call-changed', info),
      demo: () => this.demo,
      pressDigits: (digits, gapMs) => this.pressDigits(digits, gapMs),
      requireNetwork: () => this.requireNetwork(),
      dsciToneInfo: () => this.dsciToneInfo,
    });
    this.builtins = new BuiltinCommands(
      {
        profile: this.profile,
        state: this.state,
        sim: this.sim,
        cme: (code) => this.cme(code),
        urc: (line) => this.urc(line),
        reboot: () => this.reboot(),
        resetSettings: () => this.resetSettings(),
      },
      this.network,
    ).table();
    const host: EmulatorHost = {
      modem: this,
      profile: this.profile,
      log: this.log,
      ok: (info) => ok(info),
      cme: (code) => this.cme(code),
      error: () => ({ final: 'ERROR' }),
      urc: (line) => this.urc(line),
      schedule: (ms, fn) => this.schedule(ms, fn),
      calls: () => this.network.snapshots(),
      endCall: (idx, q850, by) => this.network.endCall(this.network.findCall(idx, () => true), q850, by),
    };
    this.features = EMULATOR_FEATURES.map((make) => make(host));
    for (const f of this.features) for (const [name, h] of Object.entries(f.commands)) this.featureCommands.set(name, h);
  }

  /** A feature module's own object (its scripting API for tests), by name. */
  feature<T extends EmulatorFeature>(name: string): T {
    const f = this.features.find((x) => x.name === name);
    if (!f) throw new Error(`the emulator has no feature "${name}"`);
    return f as T;
  }

  // ── host side ────────────────────────────────────────────────────────────────────────────────

  /** Bytes from the host. Never throws, whatever they are. */
  receive(bytes: Buffer | string): void {
    if (this.power === 'closed') return;
    let text: string;
    if (typeof bytes === 'string') text = bytes;
    else if (Buffer.isBuffer(bytes)) text = bytes.toString('latin1');
    else return;
    if (text === '') return;
    if (this.state.echo && this.power === 'on') this.output(Buffer.from(text, 'latin1'));
    for (const c of text) {
      if (c === '\r' || c === '\n') {
        const line = this.input.trim();
        this.input = '';
        if (line !== '') this.lineReceived(line);
      } else if (this.input.length < MAX_LINE) {
        this.input += c;
      }
    }
  }

  /**
   * Connects the module to a stream (a serial port's other end): what the stream reads goes to the
   * module, what the module sends is written to the stream. Returns the function that disconnects them.
   */
  attach(stream: Duplex): () => void {
    const fromHost = (chunk: Buffer | string): void => this.receive(chunk);
    const toHost = (data: Buffer): void => {
      if (!stream.destroyed && stream.writable) stream.write(data);
    };
    stream.on('data', fromHost);
    this.on('data', toHost);
    return () => {
      stream.off('data', fromHost);
      this.off('data', toHost);
    };
  }

  /** Clears every timer and stops answering. Never throws; calling it twice is fine. */
  close(): void {
    if (this.power === 'closed') return;
    this.power = 'closed';
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.network.dropAll(false);
    this.demo = null;
    this.commandTimer = null;
    this.queue.length = 0;
    for (const f of this.features) {
      try {
        f.close?.();
      } catch {
        // a feature's cleanup never stops the module from closing
      }
    }
    this.emit('close');
  }

  get closed(): boolean {
    return this.power === 'closed';
  }

  /** The calls the module has now (what `AT+CLCC` would list, without a phantom data call). */
  get calls(): EmulatedCallInfo[] {
    return this.network.snapshots();
  }

  get settings(): EmulatorSettings {
    return {
      echo: this.state.echo,
      cmee: this.state.cmee,
      clip: this.state.clip,
      crc: this.state.crc,
      ccwa: this.state.ccwa,
      colp: this.state.colp,
      dsci: this.state.dsci,
      ccinfo: this.state.ccinfo,
      toneDetection: this.state.toneDetection,
      autoAnswerRings: this.state.registers.get(0) ?? 0,
      simLocked: this.state.simLocked,
      functionality: this.state.cfun,
    };
  }

  // ── scripting: the far end and the network ──────────────────────────────────────────────────

  /**
   * A call comes in from `number` (`''` for a withheld caller). It is `incoming` and rings, or `waiting`
   * when the module already has a call. Returns the module's call index.
   */
  incomingCall(number: string, opts: { name?: string; withheld?: EmulatedWithheld } = {}): number {
    return this.network.incomingCall(number, opts);
  }

  /** The far end answers the outgoing call `idx` (default: the newest one still dialing or alerting). */
  remoteAnswer(idx?: number): void {
    this.network.remoteAnswer(idx);
  }

  /** The far end (or the network) ends call `idx` (default: the newest call) with a Q.850 cause. */
  remoteHangup(idx?: number, q850 = 16): void {
    this.network.remoteHangup(idx, q850);
  }

  /** The caller gives up before the incoming (or waiting) call `idx` was answered. */
  remoteCancel(idx?: number): void {
    this.network.remoteCancel(idx);
  }

  /**
   * The far end presses DTMF digits, one every `gapMs`: each is a `+QTONEDET: <ASCII>` URC when the host
   * enabled tone detection (`AT+QTONEDET=1`), nothing otherwise.
   */
  pressDigits(digits: string, gapMs = 200): void {
    if (typeof digits !== 'string' || !DTMF_RE.test(digits)) {
      throw new InvalidInputError('DTMF digits are 0-9, *, # and A-D');
    }
    [...digits].forEach((digit, i) =>
      this.schedule(i * gapMs, () => {
        if (this.state.toneDetection) this.urc(qtonedetLine(digit));
      }),
    );
  }

  /**
   * What the far end does with calls the host dials: to `forNumber` only, or to every number (replacing
   * the number plan of {@link plannedDialBehaviour}). Applies to calls dialled afterwards.
   */
  setDialBehaviour(behaviour: DialBehaviour, forNumber?: string): void {
    this.network.setDialBehaviour(behaviour, forNumber);
  }

  /** Turns behaviours of other firmware on or off (those not named keep their setting); see {@link EmulatorQuirks}. */
  setQuirks(quirks: EmulatorQuirks): void {
    if (quirks === null || typeof quirks !== 'object') throw new TypeError('quirks must be an object');
    for (const [name, on] of Object.entries(quirks)) {
      if (!(QUIRKS as readonly string[]).includes(name)) throw new TypeError(`unknown quirk "${printable(name)}": use ${QUIRKS.join(', ')}`);
      if (typeof on !== 'boolean') throw new TypeError(`quirk ${name} must be true or false`);
      this.state.quirks[name as keyof EmulatorQuirks] = on;
    }
  }

  /** The quirks in effect. */
  get quirksInEffect(): Readonly<Required<EmulatorQuirks>> {
    return { ...this.state.quirks };
  }

  /** Back to the number plan for every number. */
  resetDialBehaviour(): void {
    this.network.resetDialBehaviour();
  }

  /**
   * The module restarts: every call is dropped without a word, every setting is forgotten (echo back
   * on), then after `bootTime` it sends `RDY` and `+CPIN: READY` (or `+CPIN: SIM PIN`).
   */
  reboot(): void {
    if (this.power === 'closed') return;
    this.network.dropAll(true);
    this.queue.length = 0;
    this.input = '';
    if (this.commandTimer) this.cancelTimer(this.commandTimer);
    this.commandTimer = null;
    this.resetSettings();
    this.state.dsci = false;
    this.state.ccinfo = false;
    this.state.toneDetection = false;
    this.state.cfun = 1;
    this.state.simLocked = this.sim.locksAtPowerOn;
    this.power = 'booting';
    this.log.info(`emulated ${this.profile.model}: rebooting`);
    this.schedule(this.timing.bootTime, () => {
      this.power = 'on';
      this.urc('RDY');
      this.urc(`+CPIN: ${simState(this.state, this.sim)}`);
      this.pump();
    });
  }

  /** A hung module: it still reads (and records) commands but sends nothing at all until switched back. */
  setSilent(on: boolean): void {
    this.silent = on;
    if (on) this.queue.length = 0;
  }

  get isSilent(): boolean {
    return this.silent;
  }

  /** Sends a line as if the module wrote it (`\r\n<text>\r\n`): a URC it would not send by itself, garbage. */
  injectLine(text: string): void {
    if (this.power !== 'closed') this.emit('data', Buffer.from(`\r\n${text}\r\n`, 'latin1'));
  }

  /** Sends raw bytes as they are (partial lines, binary noise). */
  injectData(bytes: Buffer | string): void {
    if (this.power !== 'closed') this.emit('data', Buffer.isBuffer(bytes) ? Buffer.from(bytes) : Buffer.from(bytes, 'latin1'));
  }

  // ── demo mode ───────────────────────────────────────────────────────────────────────────────

  /**
   * People trying flows without hardware: a call comes in every `incomingEveryMs` while the module is
   * idle, and the far side ends every call (incoming or dialled) after `remoteHangupAfterMs`.
   */
  startDemo(options: DemoOptions = {}): void {
    const every = options.incomingEveryMs ?? 30000;
    const first = options.firstCallAfterMs ?? 5000;
    const hangupAfter = options.remoteHangupAfterMs ?? 45000;
    const digitsAfter = options.digitsAfterMs ?? 1000;
    const delays = { incomingEveryMs: every, firstCallAfterMs: first, remoteHangupAfterMs: hangupAfter, digitsAfterMs: digitsAfter };
    for (const [name, value] of Object.entries(delays)) {
      if (!Number.isFinite(value) || value < 0 || (name === 'incomingEveryMs' && value === 0)) {
        throw new TypeError(`${name} must be a positive number of milliseconds`);
      }
    }
    const numbers = (options.numbers ?? ['+4930123456', '10086', '5551234']).map((n) => validatePhoneNumber(n, 'demo number'));
    if (numbers.length === 0) throw new TypeError('numbers must name at least one caller');
    const digits = options.digits ?? '';
    if (!DTMF_RE.test(digits)) throw new TypeError('digits are 0-9, *, # and A-D');
    this.stopDemo();
    let next = 0;
    const tick = (): void => {
      if (!this.demo) return;
      this.demo.timer = this.schedule(every, tick);
      if (this.network.list.length > 0 || !this.networkReady()) return;
      this.incomingCall(numbers[next++ % numbers.length]);
    };
    this.demo = { timer: this.schedule(first, tick), hangupAfter, digits, digitsAfter };
    this.log.info(`emulated ${this.profile.model}: demo mode, a call every ${every} ms`);
  }

  /** Stops new demo calls; calls already in progress still end as scheduled. */
  stopDemo(): void {
    if (!this.demo) return;
    this.cancelTimer(this.demo.timer);
    this.demo = null;
  }

  // ── command interpreter ─────────────────────────────────────────────────────────────────────

  private lineReceived(line: string): void {
    if (!/^AT/i.test(line)) {
      this.log.debug(`emulated ${this.profile.model}: ignoring "${printable(line)}"`);
      return;
    }
    this.commands.push(line);
    if (this.commands.length > MAX_RECORDED_COMMANDS) this.commands.splice(0, this.commands.length - MAX_RECORDED_COMMANDS);
    this.log.debug(`emulated ${this.profile.model} <- ${printable(maskSecrets(line), 120)}`);
    this.emit('command', line);
    if (this.network.pendingDial) {
      // V.250: any character received while a dial is in progress aborts it; the line is discarded.
      const call = this.network.pendingDial;
      this.network.endCall(call, 16, 'local');
      return;
    }
    if (this.silent || this.power !== 'on') return;
    this.queue.push(line);
    this.pump();
  }

  /** Runs the next queued command after the command delay; one command at a time. */
  private pump(): void {
    if (this.commandTimer || this.network.pendingDial || this.queue.length === 0 || this.power !== 'on') return;
    this.commandTimer = this.schedule(this.nextCommandDelay(), () => {
      this.commandTimer = null;
      const line = this.queue.shift();
      if (line === undefined || this.silent || this.power !== 'on') return;
      this.execute(line);
      this.pump();
    });
  }

  private nextCommandDelay(): number {
    const d = this.timing.commandDelay;
    if (typeof d === 'number') return d;
    return Math.round(d[0] + (d[1] - d[0]) * this.random());
  }

  private execute(line: string): void {
    const cmd = parseAtCommand(line);
    let outcome: BuiltinOutcome;
    try {
      outcome = cmd ? this.handle(cmd) : { final: 'ERROR' };
    } catch (err) {
      this.log.error(`emulated ${this.profile.model}: ${(err as Error).message}`);
      outcome = { final: 'ERROR' };
    }
    if (outcome !== PENDING) this.sendReply(outcome);
  }

  private sendReply(reply: EmulatorReply): void {
    const info = reply.info && reply.info.length > 0 ? `\r\n${reply.info.join('\r\n')}\r\n` : '';
    this.output(Buffer.from(`${info}\r\n${reply.final}\r\n`, 'latin1'));
    reply.after?.();
  }

  private handle(cmd: AtCommand): BuiltinOutcome {
    // A feature that extends only part of a built-in command (AT+CHLD=4) returns undefined for the rest.
    const byFeature = this.featureCommands.get(cmd.name)?.(cmd);
    if (byFeature) return byFeature;
    const builtin = this.builtins[/^S\d+$/.test(cmd.name) ? 'S' : cmd.name];
    return builtin ? builtin(cmd) : { final: 'ERROR' };
  }

  private cme(code: number): EmulatorReply {
    if (this.state.cmee === 0) return { final: 'ERROR' };
    return { final: this.state.cmee === 1 ? `+CME ERROR: ${code}` : `+CME ERROR: ${CME_TEXT[code] ?? 'unknown'}` };
  }

  private resetSettings(): void {
    this.state.echo = true;
    this.state.cmee = this.profile.cmeeDefault;
    this.state.clip = false;
    this.state.crc = false;
    this.state.ccwa = false;
    this.state.colp = false;
    this.state.cvhu = 0;
    this.state.registers.clear();
    for (const f of this.features) f.reset?.();
  }

  // ── call model ──────────────────────────────────────────────────────────────────────────────

  private networkReady(): boolean {
    return this.power === 'on' && !this.state.simLocked && this.state.cfun === 1;
  }

  private requireNetwork(): void {
    if (!this.networkReady()) {
      throw new CallStateError(`the emulated module cannot take calls now (${this.power === 'on' ? 'SIM locked or radio off' : this.power})`);
    }
  }

  // ── output and timers ───────────────────────────────────────────────────────────────────────

  private urc(line: string): void {
    if (this.power === 'on') this.output(Buffer.from(`\r\n${line}\r\n`, 'latin1'));
  }

  private output(data: Buffer): void {
    if (this.power === 'closed' || this.silent) return;
    this.emit('data', data);
  }

  private schedule(ms: number, fn: () => void, owner: Set<NodeJS.Timeout> = this.timers): NodeJS.Timeout {
    const timer = setTimeout(() => {
      owner.delete(timer);
      if (this.power === 'closed') return;
      try {
        fn();
      } catch (err) {
        this.log.error(`emulated ${this.profile.model}: ${(err as Error).message}`);
      }
    }, ms);
    owner.add(timer);
    return timer;
  }

  private cancelTimer(timer: NodeJS.Timeout): void {
    clearTimeout(timer);
    this.timers.delete(timer);
  }
}
