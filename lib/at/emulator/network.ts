/**
 * The simulated network behind the emulated module: its calls (the list `AT+CLCC` shows), the far
 * end of each (what happens to a call the host dials: the number plan, {@link DialBehaviour}), and
 * the state URCs and final result codes each change of a call makes the module print. The byte
 * handling and the commands are the module's (emulated-modem.ts, builtin-commands.ts).
 */
import { Logger } from '../../backend';
import { CallStateError, InvalidInputError, UnknownCallError } from '../../errors';
import { validatePhoneNumber } from '../../validate';
import { parseIntArg } from './at-command';
import { CallLine, ClccStat, ccinfoLine, ccwaLine, clipLine, dsciLine, numberTypeOf } from './call-urcs';
import type { EmulatorTiming } from './emulated-modem';
import { EmulatorReply } from './emulator-feature';
import { ModemState } from './modem-state';
import { EmulatorProfile } from './profiles';

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
  /** Present (true) while the call is a party of the module's multiparty call. */
  readonly multiparty?: true;
}

export interface CallRecord extends CallLine {
  stat: ClccStat;
  mpty: boolean;
  readonly serial: number;
  rings: number;
  readonly timers: Set<NodeJS.Timeout>;
}

/** The most calls the module holds at once. */
export const MAX_CALLS = 7;

/** The most remote parties of a multiparty call (3GPP TS 22.084 §1.2: "a maximum of 5 remote parties"). */
export const MAX_MPTY_PARTIES = 5;

export const STATE_OF_STAT: Readonly<Record<ClccStat, EmulatedCallState>> = {
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

/** Why an incoming call has no number (its `+CLIP` / `+CCWA` CLI validity). */
export type EmulatedWithheld = 'withheld' | 'unavailable' | 'payphone' | 'other';
const CLI_VALIDITY: Readonly<Record<EmulatedWithheld, number>> = { withheld: 1, unavailable: 2, payphone: 3, other: 4 };

/** The final result code a remote end gives, from its Q.850 cause. */
function finalResultFor(q850: number): string {
  if (q850 === 17) return 'BUSY';
  if (q850 === 18 || q850 === 19) return 'NO ANSWER';
  return 'NO CARRIER';
}

/** What the network needs of the module. */
export interface NetworkHost {
  readonly profile: EmulatorProfile;
  readonly timing: EmulatorTiming;
  readonly log: Logger;
  readonly state: ModemState;
  /** Prints `\r\n<line>\r\n` (when powered on and not silent). */
  urc(line: string): void;
  /** The final result of the `ATD` that waited for its call (AT+COLP=1); the next command may run. */
  replyToDial(reply: EmulatorReply): void;
  /** A timer cleared with `owner` (a call's timers) or when the module closes. */
  schedule(ms: number, fn: () => void, owner?: Set<NodeJS.Timeout>): NodeJS.Timeout;
  /** The module's `call-changed` event. */
  emitChange(info: EmulatedCallInfo): void;
  /** Demo mode's settings, null when it is off. */
  demo(): { hangupAfter: number; digits: string; digitsAfter: number } | null;
  pressDigits(digits: string, gapMs: number): void;
  /** Throws a CallStateError while the module cannot take calls (booting, SIM locked, radio off). */
  requireNetwork(): void;
  /** The `<tone_info>` the module's `^DSCI` lines carry (see EmulatedModem.dsciToneInfo). */
  dsciToneInfo(): 0 | 1 | undefined;
}

export class EmulatedNetwork {
  /** The calls the module has, in the order they came. */
  list: CallRecord[] = [];
  /** The call of an `ATD` whose final result waits for the far end (AT+COLP=1). */
  pendingDial: CallRecord | null = null;
  /** The last call end, for `AT+CEER`. */
  lastEnd: { q850: number } | null = null;
  private serial = 0;
  private defaultBehaviour: DialBehaviour | null = null;
  private readonly behaviourByNumber = new Map<string, DialBehaviour>();

  constructor(private readonly host: NetworkHost) {}

  /** The calls, lowest index first. */
  snapshots(): EmulatedCallInfo[] {
    return [...this.list].sort((a, b) => a.idx - b.idx).map((c) => this.snapshot(c));
  }

  /** A call the host dials: the active call goes on hold first (3GPP TS 22.083), the far end acts. */
  placeCall(number: string): CallRecord {
    for (const c of this.list) if (c.stat === ClccStat.Active) this.setStat(c, ClccStat.Held);
    const call = this.addCall(0, ClccStat.Dialing, number);
    this.runFarEnd(call, this.behaviourFor(number));
    return call;
  }

  /** Every call gone without a word (a reboot, the module closing); `report`: as ended call changes. */
  dropAll(report: boolean): void {
    for (const call of this.list) {
      this.clearCallTimers(call);
      if (report) this.host.emitChange({ ...this.snapshot(call), state: 'ended', endedBy: 'local' });
    }
    this.list = [];
    this.pendingDial = null;
  }

  /**
   * A call comes in from `number` (`''` for a withheld caller). It is `incoming` and rings, or `waiting`
   * when the module already has a call. Returns the module's call index.
   */
  incomingCall(number: string, opts: { name?: string; withheld?: EmulatedWithheld } = {}): number {
    const caller = number === '' ? '' : validatePhoneNumber(number, 'caller number');
    if (opts.withheld !== undefined && (caller !== '' || !Object.hasOwn(CLI_VALIDITY, opts.withheld))) {
      throw new InvalidInputError(`withheld is one of ${Object.keys(CLI_VALIDITY).join(', ')}, for a caller without a number ('')`);
    }
    if (opts.name !== undefined && (typeof opts.name !== 'string' || /["\r\n]/.test(opts.name))) {
      throw new InvalidInputError('the caller name must be a string without quotes or line breaks');
    }
    this.host.requireNetwork();
    if (this.list.length >= MAX_CALLS) throw new CallStateError('the emulated module has no free call index');
    const waiting = this.list.length > 0;
    const validity = caller === '' ? CLI_VALIDITY[opts.withheld ?? 'withheld'] : 0;
    const call = this.addCall(1, waiting ? ClccStat.Waiting : ClccStat.Incoming, caller, opts.name, validity);
    if (!waiting) this.startRinging(call);
    else if (this.host.state.ccwa) this.host.urc(ccwaLine(call));
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

  /** Back to the number plan for every number. */
  resetDialBehaviour(): void {
    this.defaultBehaviour = null;
    this.behaviourByNumber.clear();
  }

  behaviourFor(number: string): DialBehaviour {
    return this.behaviourByNumber.get(number) ?? this.defaultBehaviour ?? plannedDialBehaviour(number);
  }

  /** What happens to a dialled call: alerting, then answer / reject / no answer, or an early busy. */
  runFarEnd(call: CallRecord, behaviour: DialBehaviour): void {
    const t = this.host.timing;
    this.host.log.debug(`emulated ${this.host.profile.model}: far end of call ${call.idx} will ${behaviour}`);
    // Each step happens only if the call is still where the step expects it (remoteAnswer() may come first).
    const whileIn = (stat: ClccStat, step: () => void) => (): void => {
      if (call.stat === stat) step();
    };
    if (behaviour === 'busy' || behaviour === 'not-found') {
      const q850 = behaviour === 'busy' ? 17 : 1;
      this.host.schedule(t.alertAfter, whileIn(ClccStat.Dialing, () => this.endCall(call, q850, 'remote')), call.timers);
      return;
    }
    const alerting = (): void => {
      this.setStat(call, ClccStat.Alerting);
      if (behaviour === 'answer') {
        this.host.schedule(t.answerAfter, whileIn(ClccStat.Alerting, () => this.connect(call)), call.timers);
      } else if (behaviour === 'reject') {
        this.host.schedule(t.answerAfter, whileIn(ClccStat.Alerting, () => this.endCall(call, 21, 'remote')), call.timers);
      } else if (behaviour === 'no-answer') {
        this.host.schedule(t.noAnswerAfter, whileIn(ClccStat.Alerting, () => this.endCall(call, 19, 'remote')), call.timers);
      }
    };
    this.host.schedule(t.alertAfter, whileIn(ClccStat.Dialing, alerting), call.timers);
  }

  addCall(dir: 0 | 1, stat: ClccStat, number: string, name?: string, cliValidity = 0): CallRecord {
    const used = new Set(this.list.map((c) => c.idx));
    if (this.host.profile.phantomDataCallIndex !== undefined) used.add(this.host.profile.phantomDataCallIndex);
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
      cliValidity,
      mpty: false,
      rings: 0,
      timers: new Set(),
    };
    this.list.push(call);
    this.host.log.debug(`emulated ${this.host.profile.model}: call ${idx} ${STATE_OF_STAT[stat]}`);
    this.reportState(call);
    this.host.emitChange(this.snapshot(call));
    const demo = this.host.demo();
    if (demo) this.host.schedule(demo.hangupAfter, () => this.endCall(call, 16, 'remote'), call.timers);
    return call;
  }

  setStat(call: CallRecord, stat: ClccStat): void {
    if (call.stat === stat) return;
    call.stat = stat;
    this.host.log.debug(`emulated ${this.host.profile.model}: call ${call.idx} ${STATE_OF_STAT[stat]}`);
    this.reportState(call);
    this.host.emitChange(this.snapshot(call));
    if (stat === ClccStat.Incoming) this.startRinging(call);
    const demo = this.host.demo();
    if (stat === ClccStat.Active && demo?.digits) {
      this.host.schedule(demo.digitsAfter, () => this.host.pressDigits(demo.digits, 300), call.timers);
    }
  }

  /** The far end answered: the call is active (and a pending `ATD` gets `+COLP` and `OK`). */
  connect(call: CallRecord): void {
    if (this.pendingDial === call) {
      this.pendingDial = null;
      this.host.replyToDial({ info: this.host.state.colp ? [`+COLP: "${call.number}",${call.numberType}`] : undefined, final: 'OK' });
    }
    this.setStat(call, ClccStat.Active);
  }

  /**
   * Ends a call: the state URC of an ended call, then, when the far end or the network ended it, the
   * final result code (`BUSY`, `NO ANSWER`, `NO CARRIER`). A waiting call left alone starts ringing.
   */
  endCall(call: CallRecord, q850: number, by: 'local' | 'remote', promoteWaiting = true): void {
    const at = this.list.indexOf(call);
    if (at < 0) return;
    this.list.splice(at, 1);
    this.clearCallTimers(call);
    this.lastEnd = { q850 };
    this.host.log.debug(`emulated ${this.host.profile.model}: call ${call.idx} ended by ${by}, Q.850 ${q850}`);
    this.reportState(call, q850);
    const final = by === 'remote' ? finalResultFor(q850) : 'NO CARRIER';
    if (this.pendingDial === call) {
      this.pendingDial = null;
      this.host.replyToDial({ final });
    } else if (by === 'remote' || this.host.state.quirks.noCarrierOnLocalRelease) {
      this.host.urc(final);
    }
    this.host.emitChange({ ...this.snapshot(call), state: 'ended', q850, endedBy: by } satisfies EmulatedCallInfo);
    if (call.mpty) this.dissolveLoneParty();
    if (promoteWaiting) this.promoteWaiting();
  }

  /**
   * `AT+CHLD=3` (3GPP TS 22.084 §1.3.1): the held call (or held multiparty call) and the active one
   * become one active multiparty call. False (the module refuses) without exactly that pair, or when
   * it would have more than {@link MAX_MPTY_PARTIES} remote parties. Returns the change, to run after
   * the module's `OK`, or null when refused.
   */
  joinMultiparty(): (() => void) | null {
    const held = this.list.filter((c) => c.stat === ClccStat.Held);
    const active = this.list.filter((c) => c.stat === ClccStat.Active);
    if (held.length === 0 || active.length === 0 || held.length + active.length > MAX_MPTY_PARTIES) return null;
    // Two groups only: a held single call or the held multiparty, and the active call or multiparty.
    if ((held.length > 1 && !held.every((c) => c.mpty)) || (active.length > 1 && !active.every((c) => c.mpty))) return null;
    return () => {
      for (const c of [...held, ...active]) {
        if (!this.list.includes(c)) continue;
        c.mpty = true;
        if (c.stat === ClccStat.Held) this.setStat(c, ClccStat.Active);
      }
      this.dissolveLoneParty();
    };
  }

  /**
   * `AT+CHLD=2<idx>` on a party of the active multiparty call (22.084 §1.3.2, private communication):
   * that party leaves the multiparty and stays active, the others are held. False when `call` is not
   * a party of an active multiparty call, or a call is already held. Returns the change, to run after
   * the module's `OK`, or null when refused.
   */
  splitMultiparty(call: CallRecord): (() => void) | null {
    if (!call.mpty || call.stat !== ClccStat.Active || this.has(ClccStat.Held)) return null;
    return () => {
      call.mpty = false;
      for (const c of this.list) if (c !== call && c.mpty) this.setStat(c, ClccStat.Held);
      this.dissolveLoneParty();
    };
  }

  /** A multiparty call of one party is an ordinary call again. */
  private dissolveLoneParty(): void {
    const parties = this.list.filter((c) => c.mpty);
    if (parties.length === 1) parties[0].mpty = false;
  }

  endAll(q850: number): void {
    for (const call of [...this.list]) this.endCall(call, q850, 'local', false);
  }

  /** A waiting call becomes an ordinary incoming call once no other call is in progress. */
  promoteWaiting(): void {
    const waiting = this.list.find((c) => c.stat === ClccStat.Waiting);
    if (waiting && this.list.every((c) => c === waiting || c.stat === ClccStat.Waiting)) {
      this.setStat(waiting, ClccStat.Incoming);
    }
  }

  startRinging(call: CallRecord): void {
    const ring = (): void => {
      if (call.stat !== ClccStat.Incoming || !this.list.includes(call)) return;
      call.rings++;
      if (this.host.profile.ringsOnIncoming) this.host.urc(this.host.state.crc ? '+CRING: VOICE' : 'RING');
      if (this.host.state.clip) this.host.urc(clipLine(this.host.profile, call));
      const autoAnswer = this.host.state.registers.get(0) ?? 0;
      if (autoAnswer > 0 && call.rings >= autoAnswer) this.setStat(call, ClccStat.Active);
      else this.host.schedule(this.host.timing.ringInterval, ring, call.timers);
    };
    ring();
  }

  reportState(call: CallRecord, endedWithQ850?: number): void {
    if (this.host.state.dsci) this.host.urc(dsciLine(call, endedWithQ850, this.host.dsciToneInfo()));
    if (this.host.state.ccinfo) this.host.urc(ccinfoLine(call, endedWithQ850 !== undefined));
  }

  snapshot(call: CallRecord): EmulatedCallInfo {
    const info: EmulatedCallInfo = {
      idx: call.idx,
      direction: call.dir === 0 ? 'outgoing' : 'incoming',
      state: STATE_OF_STAT[call.stat],
      number: call.number,
      ...(call.mpty ? { multiparty: true as const } : {}),
    };
    return call.name === undefined ? info : { ...info, name: call.name };
  }

  findCall(idx: number | undefined, fits: (c: CallRecord) => boolean): CallRecord {
    if (idx === undefined) {
      const candidates = this.list.filter(fits);
      const newest = candidates[candidates.length - 1];
      if (!newest) throw new UnknownCallError('the emulated module has no call in a state for this');
      return newest;
    }
    const call = this.list.find((c) => c.idx === idx);
    if (!call) throw new UnknownCallError(`the emulated module has no call ${idx}`);
    if (!fits(call)) throw new CallStateError(`call ${idx} is ${STATE_OF_STAT[call.stat]}`);
    return call;
  }

  callByIdx(text: string): CallRecord | undefined {
    const idx = parseIntArg(text);
    return this.list.find((c) => c.idx === idx);
  }

  has(stat: ClccStat): boolean {
    return this.list.some((c) => c.stat === stat);
  }

  clearCallTimers(call: CallRecord): void {
    for (const t of call.timers) clearTimeout(t);
    call.timers.clear();
  }
}
