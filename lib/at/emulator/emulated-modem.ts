import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { Logger, SILENT_LOGGER } from '../../backend';
import { CallStateError, InvalidInputError, UnknownCallError } from '../../errors';
import { printable, validatePhoneNumber } from '../../validate';
import { AtCommand, parseAtCommand } from './at-command';
import {
  CallLine,
  ClccStat,
  ccinfoLine,
  ccwaLine,
  clccLine,
  clipLine,
  dsciLine,
  numberTypeOf,
  phantomClccLine,
  qtonedetLine,
} from './call-urcs';
import { EMULATOR_PROFILES, EmulatorProfile, emulatorProfileNames } from './profiles';
import { q850Text } from './q850-text';
import { EmulatorFeature, EmulatorHost, EmulatorCommandHandler } from './emulator-feature';
import { EMULATOR_FEATURES } from './features';

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
  /** Seed of the command delay jitter (default 1). */
  seed?: number;
}

/** What the far end does with a call we dial. */
export type DialBehaviour = 'answer' | 'busy' | 'no-answer' | 'reject' | 'not-found' | 'ring';
export const DIAL_BEHAVIOURS: readonly DialBehaviour[] = ['answer', 'busy', 'no-answer', 'reject', 'not-found', 'ring'];

export type EmulatedCallState = 'dialing' | 'alerting' | 'incoming' | 'waiting' | 'active' | 'held' | 'ended';

/** A snapshot of one call as the module sees it. */
export interface EmulatedCallInfo {
  /** The module's call index (`+CLCC` `<idx>`): the lowest free one from 1, reused after the call. */
  readonly idx: number;
  readonly direction: 'outgoing' | 'incoming';
  readonly state: EmulatedCallState;
  /** `''` for a withheld caller. */
  readonly number: string;
  readonly name?: string;
  /** Ended calls: the Q.850 cause reported (absent when a reboot dropped the call). */
  readonly q850?: number;
  /** Ended calls: who ended it. */
  readonly endedBy?: 'local' | 'remote';
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

interface CallRecord extends CallLine {
  stat: ClccStat;
  readonly serial: number;
  rings: number;
  readonly timers: Set<NodeJS.Timeout>;
}

/** A command's answer: information lines, the final result, then what happens after it was sent. */
interface Reply {
  info?: string[];
  final: string;
  after?: () => void;
}
/** The final result comes later (ATD with AT+COLP=1). */
const PENDING = 'pending';
type Outcome = Reply | typeof PENDING;

interface Switch {
  max: number;
  get(): number;
  set(value: number): void;
  read(value: number): string;
}

const MAX_LINE = 1024;
const MAX_RECORDED_COMMANDS = 10000;
const MAX_CALLS = 7;
const DTMF_RE = /^[0-9*#A-D]*$/i;
const DIAL_RE = /^(\+?[0-9*#]{1,40});$/;

const CME_TEXT: Readonly<Record<number, string>> = {
  3: 'operation not allowed',
  4: 'operation not supported',
  11: 'SIM PIN required',
  16: 'incorrect password',
  21: 'invalid index',
  30: 'no network service',
  50: 'Incorrect parameters',
};

const STATE_OF_STAT: Readonly<Record<ClccStat, EmulatedCallState>> = {
  [ClccStat.Active]: 'active',
  [ClccStat.Held]: 'held',
  [ClccStat.Dialing]: 'dialing',
  [ClccStat.Alerting]: 'alerting',
  [ClccStat.Incoming]: 'incoming',
  [ClccStat.Waiting]: 'waiting',
};

/**
 * The default number plan for calls the host dials: numbers ending in `486` are busy (Q.850 17), `408`
 * ring without answer (19), `603` reject (21), `404` do not exist (1); anything else answers.
 */
export function plannedDialBehaviour(number: string): DialBehaviour {
  if (number.endsWith('486')) return 'busy';
  if (number.endsWith('408')) return 'no-answer';
  if (number.endsWith('603')) return 'reject';
  if (number.endsWith('404')) return 'not-found';
  return 'answer';
}

/** The final result code a remote end gives, from its Q.850 cause. */
function finalResultFor(q850: number): string {
  if (q850 === 17) return 'BUSY';
  if (q850 === 18 || q850 === 19) return 'NO ANSWER';
  return 'NO CARRIER';
}

/** A small seeded PRNG (mulberry32), so that jittered delays repeat from run to run. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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

  private readonly timing: EmulatorTiming;
  private readonly log: Logger;
  private readonly pin: string | undefined;
  private readonly random: () => number;

  private power: PowerState = 'on';
  private silent = false;
  private echo = true;
  private cmee: number;
  private clip = false;
  private crc = false;
  private ccwa = false;
  private colp = false;
  /** `AT+CVHU`: accepted and reported; ATH ends voice calls either way. */
  private cvhu = 0;
  private dsci = false;
  private ccinfo = false;
  private toneDetection = false;
  private cfun = 1;
  private simLocked: boolean;
  private readonly registers = new Map<number, number>();
  private readonly switches: Readonly<Record<string, Switch>>;
  private readonly features: EmulatorFeature[];
  private readonly featureCommands = new Map<string, EmulatorCommandHandler>();

  private input = '';
  private readonly queue: string[] = [];
  private commandTimer: NodeJS.Timeout | null = null;
  /** The call of an `ATD` whose final result waits for the far end (AT+COLP=1). */
  private pendingDial: CallRecord | null = null;

  private callList: CallRecord[] = [];
  private serial = 0;
  private lastEnd: { q850: number } | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();

  private defaultBehaviour: DialBehaviour | null = null;
  private readonly behaviourByNumber = new Map<string, DialBehaviour>();
  private demo: { timer: NodeJS.Timeout; hangupAfter: number; digits: string; digitsAfter: number } | null = null;
  private quirks: Required<EmulatorQuirks> = { bareAtError: false, dialResultWhenDecided: false, noCarrierOnLocalRelease: false };

  constructor(profile: string | EmulatorProfile, options: EmulatedModemOptions = {}) {
    super();
    this.profile = resolveProfile(profile);
    this.timing = resolveTiming(options.timing);
    this.log = options.log ?? SILENT_LOGGER;
    this.pin = options.pin ?? this.profile.pin;
    this.random = seededRandom(options.seed ?? 1);
    this.cmee = this.profile.cmeeDefault;
    this.simLocked = this.pin !== undefined;
    if (options.quirks !== undefined) this.setQuirks(options.quirks);
    this.switches = this.createSwitches();
    const host: EmulatorHost = {
      modem: this,
      profile: this.profile,
      log: this.log,
      ok: (info) => ok(info),
      cme: (code) => this.cme(code),
      error: () => ({ final: 'ERROR' }),
      urc: (line) => this.urc(line),
      schedule: (ms, fn) => this.schedule(ms, fn),
      calls: () => this.callList.map((c) => this.snapshot(c)),
      endCall: (idx, q850, by) => this.endCall(this.findCall(idx, () => true), q850, by),
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
    if (this.echo && this.power === 'on') this.output(Buffer.from(text, 'latin1'));
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
    for (const call of this.callList) this.clearCallTimers(call);
    this.callList = [];
    this.demo = null;
    this.commandTimer = null;
    this.pendingDial = null;
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
    return [...this.callList].sort((a, b) => a.idx - b.idx).map((c) => this.snapshot(c));
  }

  get settings(): EmulatorSettings {
    return {
      echo: this.echo,
      cmee: this.cmee,
      clip: this.clip,
      crc: this.crc,
      ccwa: this.ccwa,
      colp: this.colp,
      dsci: this.dsci,
      ccinfo: this.ccinfo,
      toneDetection: this.toneDetection,
      autoAnswerRings: this.registers.get(0) ?? 0,
      simLocked: this.simLocked,
      functionality: this.cfun,
    };
  }

  // ── scripting: the far end and the network ──────────────────────────────────────────────────

  /**
   * A call comes in from `number` (`''` for a withheld caller). It is `incoming` and rings, or `waiting`
   * when the module already has a call. Returns the module's call index.
   */
  incomingCall(number: string, opts: { name?: string } = {}): number {
    const caller = number === '' ? '' : validatePhoneNumber(number, 'caller number');
    if (opts.name !== undefined && (typeof opts.name !== 'string' || /["\r\n]/.test(opts.name))) {
      throw new InvalidInputError('the caller name must be a string without quotes or line breaks');
    }
    this.requireNetwork();
    if (this.callList.length >= MAX_CALLS) throw new CallStateError('the emulated module has no free call index');
    const waiting = this.callList.length > 0;
    const call = this.addCall(1, waiting ? ClccStat.Waiting : ClccStat.Incoming, caller, opts.name);
    if (!waiting) this.startRinging(call);
    else if (this.ccwa) this.urc(ccwaLine(call));
    return call.idx;
  }

  /** The far end answers the outgoing call `idx` (default: the newest one still dialing or alerting). */
  remoteAnswer(idx?: number): void {
    const call = this.findCall(idx, (c) => c.dir === 0 && (c.stat === ClccStat.Dialing || c.stat === ClccStat.Alerting));
    this.connect(call);
  }

  /** The far end (or the network) ends call `idx` (default: the newest call) with a Q.850 cause. */
  remoteHangup(idx?: number, q850 = 16): void {
    if (!Number.isInteger(q850) || q850 < 0 || q850 > 127) throw new InvalidInputError('q850 must be 0..127');
    const call = this.findCall(idx, () => true);
    this.endCall(call, q850, 'remote');
  }

  /** The caller gives up before the incoming (or waiting) call `idx` was answered. */
  remoteCancel(idx?: number): void {
    const call = this.findCall(idx, (c) => c.stat === ClccStat.Incoming || c.stat === ClccStat.Waiting);
    this.endCall(call, 16, 'remote');
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
        if (this.toneDetection) this.urc(qtonedetLine(digit));
      }),
    );
  }

  /**
   * What the far end does with calls the host dials: to `forNumber` only, or to every number (replacing
   * the number plan of {@link plannedDialBehaviour}). Applies to calls dialled afterwards.
   */
  setDialBehaviour(behaviour: DialBehaviour, forNumber?: string): void {
    if (!DIAL_BEHAVIOURS.includes(behaviour)) {
      throw new TypeError(`behaviour must be one of ${DIAL_BEHAVIOURS.join(', ')}`);
    }
    if (forNumber === undefined) this.defaultBehaviour = behaviour;
    else this.behaviourByNumber.set(validatePhoneNumber(forNumber), behaviour);
  }

  /** Turns behaviours of other firmware on or off (those not named keep their setting); see {@link EmulatorQuirks}. */
  setQuirks(quirks: EmulatorQuirks): void {
    if (quirks === null || typeof quirks !== 'object') throw new TypeError('quirks must be an object');
    for (const [name, on] of Object.entries(quirks)) {
      if (!(QUIRKS as readonly string[]).includes(name)) throw new TypeError(`unknown quirk "${printable(name)}": use ${QUIRKS.join(', ')}`);
      if (typeof on !== 'boolean') throw new TypeError(`quirk ${name} must be true or false`);
      this.quirks[name as keyof EmulatorQuirks] = on;
    }
  }

  /** The quirks in effect. */
  get quirksInEffect(): Readonly<Required<EmulatorQuirks>> {
    return { ...this.quirks };
  }

  /** Back to the number plan for every number. */
  resetDialBehaviour(): void {
    this.defaultBehaviour = null;
    this.behaviourByNumber.clear();
  }

  /**
   * The module restarts: every call is dropped without a word, every setting is forgotten (echo back
   * on), then after `bootTime` it sends `RDY` and `+CPIN: READY` (or `+CPIN: SIM PIN`).
   */
  reboot(): void {
    if (this.power === 'closed') return;
    for (const call of this.callList) {
      this.clearCallTimers(call);
      this.emit('call-changed', { ...this.snapshot(call), state: 'ended', endedBy: 'local' } satisfies EmulatedCallInfo);
    }
    this.callList = [];
    this.pendingDial = null;
    this.queue.length = 0;
    this.input = '';
    if (this.commandTimer) this.cancelTimer(this.commandTimer);
    this.commandTimer = null;
    this.resetSettings();
    this.dsci = false;
    this.ccinfo = false;
    this.toneDetection = false;
    this.cfun = 1;
    this.simLocked = this.pin !== undefined;
    this.power = 'booting';
    this.log.info(`emulated ${this.profile.model}: rebooting`);
    this.schedule(this.timing.bootTime, () => {
      this.power = 'on';
      this.urc('RDY');
      this.urc(this.simLocked ? '+CPIN: SIM PIN' : '+CPIN: READY');
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
      if (this.callList.length > 0 || !this.networkReady()) return;
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
    if (this.pendingDial) {
      // V.250: any character received while a dial is in progress aborts it; the line is discarded.
      const call = this.pendingDial;
      this.endCall(call, 16, 'local');
      return;
    }
    if (this.silent || this.power !== 'on') return;
    this.queue.push(line);
    this.pump();
  }

  /** Runs the next queued command after the command delay; one command at a time. */
  private pump(): void {
    if (this.commandTimer || this.pendingDial || this.queue.length === 0 || this.power !== 'on') return;
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
    let outcome: Outcome;
    try {
      outcome = cmd ? this.handle(cmd) : { final: 'ERROR' };
    } catch (err) {
      this.log.error(`emulated ${this.profile.model}: ${(err as Error).message}`);
      outcome = { final: 'ERROR' };
    }
    if (outcome !== PENDING) this.sendReply(outcome);
  }

  private sendReply(reply: Reply): void {
    const info = reply.info && reply.info.length > 0 ? `\r\n${reply.info.join('\r\n')}\r\n` : '';
    this.output(Buffer.from(`${info}\r\n${reply.final}\r\n`, 'latin1'));
    reply.after?.();
  }

  private handle(cmd: AtCommand): Outcome {
    // A feature that extends only part of a built-in command (AT+CHLD=4) returns undefined for the rest.
    const byFeature = this.featureCommands.get(cmd.name)?.(cmd);
    if (byFeature) return byFeature;
    const sw = this.switches[cmd.name];
    if (sw) return this.handleSwitch(cmd, sw);
    const quectelOnly = cmd.name === '+QHUP' || cmd.name === '+QINDCFG' || cmd.name === '+QTONEDET';
    if (quectelOnly && !this.profile.quectel) return { final: 'ERROR' };
    if (/^S\d+$/.test(cmd.name)) return this.sRegister(cmd);
    const p = this.profile;
    switch (cmd.name) {
      case '':
        return this.quirks.bareAtError ? { final: 'ERROR' } : ok();
      case 'Q':
      case 'X':
      case '&W':
        return ok();
      case 'E':
        if (cmd.value !== '' && cmd.value !== '0' && cmd.value !== '1') return { final: 'ERROR' };
        return { final: 'OK', after: () => (this.echo = cmd.value === '1') };
      case 'V':
        return cmd.value === '0' ? { final: 'ERROR' } : ok();
      case 'Z':
      case '&F':
        return { final: 'OK', after: () => this.resetSettings() };
      case 'I':
        return cmd.value === '' || cmd.value === '0' ? ok([p.manufacturer, p.model, `Revision: ${p.revision}`]) : ok();
      case '+GMI':
      case '+CGMI':
        return ok([p.manufacturer]);
      case '+GMM':
      case '+CGMM':
        return ok([p.model]);
      case '+GMR':
      case '+CGMR':
        return ok([p.revision]);
      case '+GSN':
      case '+CGSN':
        return ok([p.imei]);
      case '+CIMI':
        return this.simLocked ? this.cme(11) : ok(['001010000000001']);
      case '+CSQ':
        return ok(['+CSQ: 24,99']);
      case '+COPS':
        return cmd.kind === 'read' ? ok([this.cfun === 1 ? '+COPS: 0,0,"EMULATOR",7' : '+COPS: 0']) : ok();
      case '+CPIN':
        return this.cpin(cmd);
      case '+CFUN':
        return this.cfunCommand(cmd);
      case '+QINDCFG':
        return this.qindcfg(cmd);
      case '+CLCC':
        return cmd.kind === 'exec' ? ok(this.clccLines()) : cmd.kind === 'test' ? ok() : { final: 'ERROR' };
      case 'D':
        return this.dial(cmd.value);
      case 'A':
        return this.answer();
      case 'H':
      case '+CHUP':
        return { final: 'OK', after: () => this.endAll(16) };
      case '+QHUP':
        return this.qhup(cmd);
      case '+CHLD':
        return this.chld(cmd);
      case '+CEER': {
        const q850 = this.lastEnd?.q850 ?? 0;
        return ok([`+CEER: "CC INFO",${q850},"${q850Text(q850)}"`]);
      }
      default:
        return { final: 'ERROR' };
    }
  }

  /** The on/off (or 0..n) settings, each with the same set / read / test forms. */
  private createSwitches(): Record<string, Switch> {
    const flag = (get: () => boolean, set: (on: boolean) => void, read: (v: number) => string): Switch => ({
      max: 1,
      get: () => (get() ? 1 : 0),
      set: (v) => set(v === 1),
      read,
    });
    const registration = (name: string): Switch => {
      let mode = 0;
      return { max: 2, get: () => mode, set: (v) => (mode = v), read: (v) => `${name}: ${v},${this.cfun === 1 ? 1 : 0}` };
    };
    const switches: Record<string, Switch> = {
      '+CMEE': { max: 2, get: () => this.cmee, set: (v) => (this.cmee = v), read: (v) => `+CMEE: ${v}` },
      '+CLIP': flag(() => this.clip, (on) => (this.clip = on), (v) => `+CLIP: ${v},1`),
      '+CRC': flag(() => this.crc, (on) => (this.crc = on), (v) => `+CRC: ${v}`),
      '+CCWA': flag(() => this.ccwa, (on) => (this.ccwa = on), (v) => `+CCWA: ${v}`),
      '+COLP': flag(() => this.colp, (on) => (this.colp = on), (v) => `+COLP: ${v},1`),
      '+CVHU': { max: 1, get: () => this.cvhu, set: (v) => (this.cvhu = v), read: (v) => `+CVHU: ${v}` },
      '+CREG': registration('+CREG'),
      '+CGREG': registration('+CGREG'),
      '+CEREG': registration('+CEREG'),
    };
    if (this.profile.callStateUrc === 'dsci') {
      switches['^DSCI'] = flag(() => this.dsci, (on) => (this.dsci = on), (v) => `^DSCI: ${v}`);
    }
    if (this.profile.quectel) {
      switches['+QTONEDET'] = flag(() => this.toneDetection, (on) => (this.toneDetection = on), (v) => `+QTONEDET: ${v}`);
    }
    return switches;
  }

  private handleSwitch(cmd: AtCommand, sw: Switch): Outcome {
    switch (cmd.kind) {
      case 'read':
        return ok([sw.read(sw.get())]);
      case 'test':
        return ok([`${cmd.name}: (0-${sw.max})`]);
      case 'exec':
        return ok();
      case 'set': {
        const value = parseIntArg(cmd.args[0]);
        if (value === null || value > sw.max) return this.cme(50);
        // AT+CCWA=<n>,2 queries the network's call waiting status.
        const info = cmd.name === '+CCWA' && cmd.args[1] === '2' ? ['+CCWA: 1,1'] : undefined;
        return { info, final: 'OK', after: () => sw.set(value) };
      }
    }
  }

  private sRegister(cmd: AtCommand): Outcome {
    const n = Number(cmd.name.slice(1));
    if (cmd.kind === 'read') return ok([String(this.registers.get(n) ?? 0).padStart(3, '0')]);
    const value = parseIntArg(cmd.value === '' ? '0' : cmd.value);
    if (value === null || value > 255) return this.cme(50);
    this.registers.set(n, value);
    return ok();
  }

  private cpin(cmd: AtCommand): Outcome {
    if (cmd.kind === 'read') return ok([this.simLocked ? '+CPIN: SIM PIN' : '+CPIN: READY']);
    if (cmd.kind === 'test') return ok();
    if (cmd.kind !== 'set') return { final: 'ERROR' };
    if (!this.simLocked) return this.cme(3);
    if (cmd.args[0] !== this.pin) return this.cme(16);
    return {
      final: 'OK',
      after: () => {
        this.simLocked = false;
        this.urc('+CPIN: READY');
      },
    };
  }

  private cfunCommand(cmd: AtCommand): Outcome {
    if (cmd.kind === 'read') return ok([`+CFUN: ${this.cfun}`]);
    if (cmd.kind === 'test') return ok(['+CFUN: (0,1,4),(0-1)']);
    if (cmd.kind !== 'set') return { final: 'ERROR' };
    const fun = parseIntArg(cmd.args[0]);
    const reset = cmd.args[1] === undefined ? 0 : parseIntArg(cmd.args[1]);
    if ((fun !== 0 && fun !== 1 && fun !== 4) || (reset !== 0 && reset !== 1)) return this.cme(50);
    if (reset === 1) return { final: 'OK', after: () => this.reboot() };
    return {
      final: 'OK',
      after: () => {
        this.cfun = fun;
        if (fun !== 1) this.endAll(16);
      },
    };
  }

  private qindcfg(cmd: AtCommand): Outcome {
    if (cmd.kind === 'test') return ok(['+QINDCFG: "all",(0,1),(0,1)', '+QINDCFG: "ccinfo",(0,1),(0,1)']);
    if (cmd.kind !== 'set') return { final: 'ERROR' };
    const type = (cmd.args[0] ?? '').toLowerCase();
    if (type === 'ccinfo' && this.profile.callStateUrc !== 'ccinfo') return this.cme(4);
    if (!['all', 'csq', 'smsfull', 'ring', 'smsincoming', 'act', 'ccinfo'].includes(type)) return this.cme(50);
    if (cmd.args.length === 1) {
      return ok([`+QINDCFG: "${type}",${type === 'ccinfo' && this.ccinfo ? 1 : 0}`]);
    }
    const enable = parseIntArg(cmd.args[1]);
    if (enable !== 0 && enable !== 1) return this.cme(50);
    return { final: 'OK', after: () => (type === 'ccinfo' || type === 'all' ? this.setCcinfo(enable === 1) : undefined) };
  }

  private setCcinfo(on: boolean): void {
    if (this.profile.callStateUrc === 'ccinfo') this.ccinfo = on;
  }

  private clccLines(): string[] {
    const lines = [...this.callList].sort((a, b) => a.idx - b.idx).map((c) => ({ idx: c.idx, line: clccLine(c) }));
    const phantom = this.profile.phantomDataCallIndex;
    if (phantom !== undefined) lines.push({ idx: phantom, line: phantomClccLine(phantom) });
    return lines.sort((a, b) => a.idx - b.idx).map((l) => l.line);
  }

  private dial(value: string): Outcome {
    const m = DIAL_RE.exec(value);
    if (!m) return { final: 'ERROR' };
    if (this.simLocked) return this.cme(11);
    if (this.cfun !== 1) return this.cme(30);
    const busyWith = this.callList.some((c) => c.stat !== ClccStat.Active && c.stat !== ClccStat.Held);
    const heldAndActive = this.has(ClccStat.Held) && this.has(ClccStat.Active);
    if (busyWith || heldAndActive || this.callList.length >= MAX_CALLS) return this.cme(3);
    const number = m[1];
    const start = (): CallRecord => {
      // Dialling while in a call puts that call on hold first (3GPP TS 22.083).
      for (const c of this.callList) if (c.stat === ClccStat.Active) this.setStat(c, ClccStat.Held);
      const call = this.addCall(0, ClccStat.Dialing, number);
      this.runFarEnd(call, this.behaviourFor(number));
      return call;
    };
    if (this.colp || this.quirks.dialResultWhenDecided) {
      this.pendingDial = start();
      return PENDING;
    }
    return { final: 'OK', after: () => void start() };
  }

  private behaviourFor(number: string): DialBehaviour {
    return this.behaviourByNumber.get(number) ?? this.defaultBehaviour ?? plannedDialBehaviour(number);
  }

  /** What happens to a dialled call: alerting, then answer / reject / no answer, or an early busy. */
  private runFarEnd(call: CallRecord, behaviour: DialBehaviour): void {
    const t = this.timing;
    this.log.debug(`emulated ${this.profile.model}: far end of call ${call.idx} will ${behaviour}`);
    // Each step happens only if the call is still where the step expects it (remoteAnswer() may come first).
    const whileIn = (stat: ClccStat, step: () => void) => (): void => {
      if (call.stat === stat) step();
    };
    if (behaviour === 'busy' || behaviour === 'not-found') {
      const q850 = behaviour === 'busy' ? 17 : 1;
      this.schedule(t.alertAfter, whileIn(ClccStat.Dialing, () => this.endCall(call, q850, 'remote')), call);
      return;
    }
    const alerting = (): void => {
      this.setStat(call, ClccStat.Alerting);
      if (behaviour === 'answer') {
        this.schedule(t.answerAfter, whileIn(ClccStat.Alerting, () => this.connect(call)), call);
      } else if (behaviour === 'reject') {
        this.schedule(t.answerAfter, whileIn(ClccStat.Alerting, () => this.endCall(call, 21, 'remote')), call);
      } else if (behaviour === 'no-answer') {
        this.schedule(t.noAnswerAfter, whileIn(ClccStat.Alerting, () => this.endCall(call, 19, 'remote')), call);
      }
    };
    this.schedule(t.alertAfter, whileIn(ClccStat.Dialing, alerting), call);
  }

  private answer(): Outcome {
    const call = this.callList.find((c) => c.stat === ClccStat.Incoming);
    if (!call) return this.has(ClccStat.Waiting) ? this.cme(3) : { final: 'NO CARRIER' };
    return { final: 'OK', after: () => this.setStat(call, ClccStat.Active) };
  }

  private qhup(cmd: AtCommand): Outcome {
    if (cmd.kind === 'test') return ok(['+QHUP: (1-127),(1-7)']);
    if (cmd.kind !== 'set') return { final: 'ERROR' };
    const cause = parseIntArg(cmd.args[0]);
    if (cause === null || cause < 1 || cause > 127) return this.cme(50);
    if (cmd.args[1] === undefined) return { final: 'OK', after: () => this.endAll(cause) };
    const call = this.callByIdx(cmd.args[1]);
    if (!call) return this.cme(21);
    return { final: 'OK', after: () => this.endCall(call, cause, 'local') };
  }

  /** AT+CHLD=0, 1, 1<idx>, 2, 2<idx> (3GPP TS 27.007 §7.13); 3 (conference) is not offered, 4 (transfer) is features/forwarding.ts. */
  private chld(cmd: AtCommand): Outcome {
    if (cmd.kind === 'test') return ok(['+CHLD: (0,1,1x,2,2x)']);
    if (cmd.kind !== 'set') return { final: 'ERROR' };
    const m = /^([0-4])(\d?)$/.exec(cmd.value);
    if (!m) return this.cme(50);
    const [, op, idxText] = m;
    const byState = (stat: ClccStat): CallRecord[] => this.callList.filter((c) => c.stat === stat);
    const waitingOrHeld = (): CallRecord | undefined => byState(ClccStat.Waiting)[0] ?? byState(ClccStat.Held)[0];
    if (op === '3' || op === '4') return this.cme(4);
    if (idxText !== '') {
      const call = this.callByIdx(idxText);
      if (!call) return this.cme(21);
      if (op === '1') return { final: 'OK', after: () => this.endCall(call, 16, 'local') };
      if (op !== '2') return this.cme(50);
      return {
        final: 'OK',
        after: () => {
          for (const c of byState(ClccStat.Active)) if (c !== call) this.setStat(c, ClccStat.Held);
          if (call.stat !== ClccStat.Active) this.setStat(call, ClccStat.Active);
        },
      };
    }
    switch (op) {
      case '0': {
        // Release the held calls, or reject the waiting call (user determined user busy).
        const held = byState(ClccStat.Held);
        const waiting = byState(ClccStat.Waiting);
        return {
          final: 'OK',
          after: () => {
            if (held.length > 0) for (const c of held) this.endCall(c, 16, 'local', false);
            else for (const c of waiting) this.endCall(c, 17, 'local', false);
          },
        };
      }
      case '1':
        return {
          final: 'OK',
          after: () => {
            for (const c of byState(ClccStat.Active)) this.endCall(c, 16, 'local', false);
            const other = waitingOrHeld();
            if (other) this.setStat(other, ClccStat.Active);
          },
        };
      default: {
        // 2: hold the active calls and take the waiting (or held) one.
        const other = waitingOrHeld();
        const active = byState(ClccStat.Active);
        if (!other && active.length === 0) return this.cme(3);
        return {
          final: 'OK',
          after: () => {
            for (const c of active) this.setStat(c, ClccStat.Held);
            if (other) this.setStat(other, ClccStat.Active);
          },
        };
      }
    }
  }

  private cme(code: number): Reply {
    if (this.cmee === 0) return { final: 'ERROR' };
    return { final: this.cmee === 1 ? `+CME ERROR: ${code}` : `+CME ERROR: ${CME_TEXT[code] ?? 'unknown'}` };
  }

  private resetSettings(): void {
    this.echo = true;
    this.cmee = this.profile.cmeeDefault;
    this.clip = false;
    this.crc = false;
    this.ccwa = false;
    this.colp = false;
    this.cvhu = 0;
    this.registers.clear();
    for (const f of this.features) f.reset?.();
  }

  // ── call model ──────────────────────────────────────────────────────────────────────────────

  private addCall(dir: 0 | 1, stat: ClccStat, number: string, name?: string): CallRecord {
    const used = new Set(this.callList.map((c) => c.idx));
    if (this.profile.phantomDataCallIndex !== undefined) used.add(this.profile.phantomDataCallIndex);
    let idx = 1;
    while (used.has(idx)) idx++;
    const call: CallRecord = {
      serial: ++this.serial,
      idx,
      dir,
      stat,
      number,
      numberType: numberTypeOf(number),
      name,
      rings: 0,
      timers: new Set(),
    };
    this.callList.push(call);
    this.log.debug(`emulated ${this.profile.model}: call ${idx} ${STATE_OF_STAT[stat]}`);
    this.reportState(call);
    this.emit('call-changed', this.snapshot(call));
    if (this.demo) {
      this.schedule(this.demo.hangupAfter, () => this.endCall(call, 16, 'remote'), call);
    }
    return call;
  }

  private setStat(call: CallRecord, stat: ClccStat): void {
    if (call.stat === stat) return;
    call.stat = stat;
    this.log.debug(`emulated ${this.profile.model}: call ${call.idx} ${STATE_OF_STAT[stat]}`);
    this.reportState(call);
    this.emit('call-changed', this.snapshot(call));
    if (stat === ClccStat.Incoming) this.startRinging(call);
    if (stat === ClccStat.Active && this.demo?.digits) {
      const digits = this.demo.digits;
      this.schedule(this.demo.digitsAfter, () => this.pressDigits(digits, 300), call);
    }
  }

  /** The far end answered: the call is active (and a pending `ATD` gets `+COLP` and `OK`). */
  private connect(call: CallRecord): void {
    if (this.pendingDial === call) {
      this.pendingDial = null;
      this.sendReply({ info: this.colp ? [`+COLP: "${call.number}",${call.numberType}`] : undefined, final: 'OK' });
      this.pump();
    }
    this.setStat(call, ClccStat.Active);
  }

  /**
   * Ends a call: the state URC of an ended call, then, when the far end or the network ended it, the
   * final result code (`BUSY`, `NO ANSWER`, `NO CARRIER`). A waiting call left alone starts ringing.
   */
  private endCall(call: CallRecord, q850: number, by: 'local' | 'remote', promoteWaiting = true): void {
    const at = this.callList.indexOf(call);
    if (at < 0) return;
    this.callList.splice(at, 1);
    this.clearCallTimers(call);
    this.lastEnd = { q850 };
    this.log.debug(`emulated ${this.profile.model}: call ${call.idx} ended by ${by}, Q.850 ${q850}`);
    this.reportState(call, q850);
    const final = by === 'remote' ? finalResultFor(q850) : 'NO CARRIER';
    if (this.pendingDial === call) {
      this.pendingDial = null;
      this.sendReply({ final });
      this.pump();
    } else if (by === 'remote' || this.quirks.noCarrierOnLocalRelease) {
      this.urc(final);
    }
    this.emit('call-changed', { ...this.snapshot(call), state: 'ended', q850, endedBy: by } satisfies EmulatedCallInfo);
    if (promoteWaiting) this.promoteWaiting();
  }

  private endAll(q850: number): void {
    for (const call of [...this.callList]) this.endCall(call, q850, 'local', false);
  }

  /** A waiting call becomes an ordinary incoming call once no other call is in progress. */
  private promoteWaiting(): void {
    const waiting = this.callList.find((c) => c.stat === ClccStat.Waiting);
    if (waiting && this.callList.every((c) => c === waiting || c.stat === ClccStat.Waiting)) {
      this.setStat(waiting, ClccStat.Incoming);
    }
  }

  private startRinging(call: CallRecord): void {
    const ring = (): void => {
      if (call.stat !== ClccStat.Incoming || !this.callList.includes(call)) return;
      call.rings++;
      if (this.profile.ringsOnIncoming) this.urc(this.crc ? '+CRING: VOICE' : 'RING');
      if (this.clip) this.urc(clipLine(this.profile, call));
      const autoAnswer = this.registers.get(0) ?? 0;
      if (autoAnswer > 0 && call.rings >= autoAnswer) this.setStat(call, ClccStat.Active);
      else this.schedule(this.timing.ringInterval, ring, call);
    };
    ring();
  }

  private reportState(call: CallRecord, endedWithQ850?: number): void {
    if (this.dsci) this.urc(dsciLine(call, endedWithQ850));
    if (this.ccinfo) this.urc(ccinfoLine(call, endedWithQ850 !== undefined));
  }

  private snapshot(call: CallRecord): EmulatedCallInfo {
    const info: EmulatedCallInfo = {
      idx: call.idx,
      direction: call.dir === 0 ? 'outgoing' : 'incoming',
      state: STATE_OF_STAT[call.stat],
      number: call.number,
    };
    return call.name === undefined ? info : { ...info, name: call.name };
  }

  private findCall(idx: number | undefined, fits: (c: CallRecord) => boolean): CallRecord {
    if (idx === undefined) {
      const candidates = this.callList.filter(fits);
      const newest = candidates[candidates.length - 1];
      if (!newest) throw new UnknownCallError('the emulated module has no call in a state for this');
      return newest;
    }
    const call = this.callList.find((c) => c.idx === idx);
    if (!call) throw new UnknownCallError(`the emulated module has no call ${idx}`);
    if (!fits(call)) throw new CallStateError(`call ${idx} is ${STATE_OF_STAT[call.stat]}`);
    return call;
  }

  private callByIdx(text: string): CallRecord | undefined {
    const idx = parseIntArg(text);
    return this.callList.find((c) => c.idx === idx);
  }

  private has(stat: ClccStat): boolean {
    return this.callList.some((c) => c.stat === stat);
  }

  private networkReady(): boolean {
    return this.power === 'on' && !this.simLocked && this.cfun === 1;
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

  private schedule(ms: number, fn: () => void, call?: CallRecord): NodeJS.Timeout {
    const owner = call ? call.timers : this.timers;
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

  private clearCallTimers(call: CallRecord): void {
    for (const t of call.timers) clearTimeout(t);
    call.timers.clear();
  }
}

function ok(info?: string[]): Reply {
  return { info, final: 'OK' };
}

function parseIntArg(text: string | undefined): number | null {
  if (text === undefined || !/^\d{1,3}$/.test(text)) return null;
  return Number(text);
}
