/**
 * The emulated module's built-in commands, as a table by command name (like its feature modules,
 * features/): identity, settings, SIM, radio, and the call commands that act on the simulated
 * network (network.ts). The module (emulated-modem.ts) asks a feature first, then this table, and
 * answers `ERROR` to a name in neither.
 */
import { AtCommand, parseIntArg } from './at-command';
import { ClccStat, phantomClccLine, clccLine } from './call-urcs';
import { EmulatedSim, SIM_PIN_ATTEMPTS, SIM_PUK_ATTEMPTS } from './emulated-sim';
import { EmulatorReply } from './emulator-feature';
import { ModemState } from './modem-state';
import { CallRecord, EmulatedNetwork, MAX_CALLS } from './network';
import { EmulatorProfile } from './profiles';
import { q850Text } from '../../call/q850-text';

/** The final result comes later (ATD with AT+COLP=1). */
export const PENDING = 'pending';
export type BuiltinOutcome = EmulatorReply | typeof PENDING;
export type BuiltinCommand = (cmd: AtCommand) => BuiltinOutcome;

/** What the built-in commands need of the module. */
export interface BuiltinHost {
  readonly profile: EmulatorProfile;
  readonly state: ModemState;
  /** The SIM card: its PIN, PUK and retry counters. */
  readonly sim: EmulatedSim;
  /** `+CME ERROR: <code>` as the host's AT+CMEE asks (or plain ERROR). */
  cme(code: number): EmulatorReply;
  urc(line: string): void;
  reboot(): void;
  /** `ATZ` / `AT&F`: settings back to their defaults. */
  resetSettings(): void;
}

interface Switch {
  max: number;
  get(): number;
  set(value: number): void;
  read(value: number): string;
}

/** `ATD<number>[I|i][G|g];` (27.007 §6.2: CLIR invocation / suppression, CUG): the modifiers are taken, the number is dialled. */
const DIAL_RE = /^(\+?[0-9*#]{1,40})([Ii]?)[Gg]?;$/;

/** `AT+CPIN?`'s answer: `READY`, `SIM PIN`, or `SIM PUK` once three wrong PINs blocked the card. */
export function simState(state: ModemState, sim: EmulatedSim): string {
  if (!state.simLocked) return 'READY';
  return sim.blocked ? 'SIM PUK' : 'SIM PIN';
}

export function ok(info?: string[]): EmulatorReply {
  return { info, final: 'OK' };
}

export class BuiltinCommands {
  constructor(
    private readonly m: BuiltinHost,
    private readonly net: EmulatedNetwork,
  ) {}

  /** The commands by upper-case name: `''` for a bare `AT`, `S` for every `ATS<n>` register. */
  table(): Readonly<Record<string, BuiltinCommand>> {
    const p = this.m.profile;
    const state = this.m.state;
    const error = (): EmulatorReply => ({ final: 'ERROR' });
    const t: Record<string, BuiltinCommand> = {
      '': () => (state.quirks.bareAtError ? error() : ok()),
      Q: () => ok(),
      X: () => ok(),
      '&W': () => ok(),
      E: (cmd) => {
        if (cmd.value !== '' && cmd.value !== '0' && cmd.value !== '1') return error();
        return { final: 'OK', after: () => (state.echo = cmd.value === '1') };
      },
      V: (cmd) => (cmd.value === '0' ? error() : ok()),
      Z: () => ({ final: 'OK', after: () => this.m.resetSettings() }),
      '&F': () => ({ final: 'OK', after: () => this.m.resetSettings() }),
      I: (cmd) => (cmd.value === '' || cmd.value === '0' ? ok([p.manufacturer, p.model, `Revision: ${p.revision}`]) : ok()),
      '+GMI': () => ok([p.manufacturer]),
      '+CGMI': () => ok([p.manufacturer]),
      '+GMM': () => ok([p.model]),
      '+CGMM': () => ok([p.model]),
      '+GMR': () => ok([p.revision]),
      '+CGMR': () => ok([p.revision]),
      '+GSN': () => ok([p.imei]),
      '+CGSN': () => ok([p.imei]),
      '+CIMI': () => (state.simLocked ? this.m.cme(11) : ok(['001010000000001'])),
      '+CSQ': () => ok(['+CSQ: 24,99']),
      '+COPS': (cmd) => (cmd.kind === 'read' ? ok([state.cfun === 1 ? '+COPS: 0,0,"EMULATOR",7' : '+COPS: 0']) : ok()),
      '+CPIN': (cmd) => this.cpin(cmd),
      // The attempts counters: Quectel's own command, or the 27.007 one (the generic modem).
      '+QPINC': (cmd) => (p.quectel ? this.qpinc(cmd) : error()),
      '+CPINR': (cmd) => (p.quectel ? error() : this.cpinr(cmd)),
      '+CFUN': (cmd) => this.cfunCommand(cmd),
      '+CLCC': (cmd) => (cmd.kind === 'exec' ? ok(this.clccLines()) : cmd.kind === 'test' ? ok() : error()),
      D: (cmd) => this.dial(cmd.value),
      A: () => this.answer(),
      H: () => ({ final: 'OK', after: () => this.net.endAll(16) }),
      '+CHUP': () => ({ final: 'OK', after: () => this.net.endAll(16) }),
      '+CHLD': (cmd) => this.chld(cmd),
      '+CEER': () => {
        const q850 = this.net.lastEnd?.q850 ?? 0;
        return ok([`+CEER: "CC INFO",${q850},"${q850Text(q850)}"`]);
      },
      S: (cmd) => this.sRegister(cmd),
    };
    if (p.quectel) {
      t['+QHUP'] = (cmd) => this.qhup(cmd);
      t['+QINDCFG'] = (cmd) => this.qindcfg(cmd);
    }
    for (const [name, sw] of Object.entries(this.createSwitches())) t[name] = (cmd) => this.handleSwitch(cmd, sw);
    return t;
  }

  /** The on/off (or 0..n) settings, each with the same set / read / test forms. */
  createSwitches(): Record<string, Switch> {
    const flag = (get: () => boolean, set: (on: boolean) => void, read: (v: number) => string): Switch => ({
      max: 1,
      get: () => (get() ? 1 : 0),
      set: (v) => set(v === 1),
      read,
    });
    const registration = (name: string): Switch => {
      let mode = 0;
      return { max: 2, get: () => mode, set: (v) => (mode = v), read: (v) => `${name}: ${v},${this.m.state.cfun === 1 ? 1 : 0}` };
    };
    const switches: Record<string, Switch> = {
      '+CMEE': { max: 2, get: () => this.m.state.cmee, set: (v) => (this.m.state.cmee = v), read: (v) => `+CMEE: ${v}` },
      '+CLIP': flag(() => this.m.state.clip, (on) => (this.m.state.clip = on), (v) => `+CLIP: ${v},1`),
      '+CRC': flag(() => this.m.state.crc, (on) => (this.m.state.crc = on), (v) => `+CRC: ${v}`),
      '+CCWA': flag(() => this.m.state.ccwa, (on) => (this.m.state.ccwa = on), (v) => `+CCWA: ${v}`),
      '+COLP': flag(() => this.m.state.colp, (on) => (this.m.state.colp = on), (v) => `+COLP: ${v},1`),
      '+CVHU': { max: 1, get: () => this.m.state.cvhu, set: (v) => (this.m.state.cvhu = v), read: (v) => `+CVHU: ${v}` },
      '+CREG': registration('+CREG'),
      '+CGREG': registration('+CGREG'),
      '+CEREG': registration('+CEREG'),
    };
    if (this.m.profile.callStateUrc === 'dsci') {
      switches['^DSCI'] = flag(() => this.m.state.dsci, (on) => (this.m.state.dsci = on), (v) => `^DSCI: ${v}`);
    }
    if (this.m.profile.quectel) {
      switches['+QTONEDET'] = flag(() => this.m.state.toneDetection, (on) => (this.m.state.toneDetection = on), (v) => `+QTONEDET: ${v}`);
    }
    return switches;
  }

  handleSwitch(cmd: AtCommand, sw: Switch): BuiltinOutcome {
    switch (cmd.kind) {
      case 'read':
        return ok([sw.read(sw.get())]);
      case 'test':
        return ok([`${cmd.name}: (0-${sw.max})`]);
      case 'exec':
        return ok();
      case 'set': {
        const value = parseIntArg(cmd.args[0]);
        if (value === null || value > sw.max) return this.m.cme(50);
        // AT+CCWA=<n>,2 queries the network's call waiting status.
        const info = cmd.name === '+CCWA' && cmd.args[1] === '2' ? ['+CCWA: 1,1'] : undefined;
        return { info, final: 'OK', after: () => sw.set(value) };
      }
    }
  }

  sRegister(cmd: AtCommand): BuiltinOutcome {
    const n = Number(cmd.name.slice(1));
    if (cmd.kind === 'read') return ok([String(this.m.state.registers.get(n) ?? 0).padStart(3, '0')]);
    const value = parseIntArg(cmd.value === '' ? '0' : cmd.value);
    if (value === null || value > 255) return this.m.cme(50);
    this.m.state.registers.set(n, value);
    return ok();
  }

  /** `AT+CPIN="<pin>"`, or `AT+CPIN="<puk>","<new pin>"` for a blocked card (27.007 §8.3). */
  cpin(cmd: AtCommand): BuiltinOutcome {
    if (cmd.kind === 'read') return ok([`+CPIN: ${simState(this.m.state, this.m.sim)}`]);
    if (cmd.kind === 'test') return ok();
    if (cmd.kind !== 'set') return { final: 'ERROR' };
    if (!this.m.state.simLocked) return this.m.cme(3);
    const unlocked = (): EmulatorReply => ({
      final: 'OK',
      after: () => {
        this.m.state.simLocked = false;
        this.m.urc('+CPIN: READY');
      },
    });
    const sim = this.m.sim;
    if (sim.blocked) {
      if (cmd.args.length < 2) return this.m.cme(12);
      return sim.unblock(cmd.args[0], cmd.args[1]) ? unlocked() : this.m.cme(16);
    }
    return sim.checkPin(cmd.args[0] ?? '') ? unlocked() : this.m.cme(16);
  }

  /** Quectel `AT+QPINC="SC"`: `+QPINC: "SC",<PIN attempts left>,<PUK attempts left>` ("P2": PIN2). */
  qpinc(cmd: AtCommand): BuiltinOutcome {
    const sim = this.m.sim;
    const line = (code: string): string =>
      code === 'SC' ? `+QPINC: "SC",${sim.pinAttemptsLeft},${sim.pukAttemptsLeft}` : `+QPINC: "P2",${SIM_PIN_ATTEMPTS},${SIM_PUK_ATTEMPTS}`;
    if (cmd.kind === 'test') return ok(['+QPINC: ("SC","P2")']);
    if (cmd.kind === 'read') return ok([line('SC'), line('P2')]);
    const code = (cmd.args[0] ?? '').toUpperCase();
    if (cmd.kind !== 'set' || (code !== 'SC' && code !== 'P2')) return this.m.cme(50);
    return ok([line(code)]);
  }

  /** 27.007 §8.65 `AT+CPINR[="<sel_code>"]`: `+CPINR: <code>,<retries>,<default retries>`. */
  cpinr(cmd: AtCommand): BuiltinOutcome {
    const all: Array<[string, number, number]> = [
      ['SIM PIN', this.m.sim.pinAttemptsLeft, SIM_PIN_ATTEMPTS],
      ['SIM PUK', this.m.sim.pukAttemptsLeft, SIM_PUK_ATTEMPTS],
    ];
    if (cmd.kind === 'test') return ok();
    if (cmd.kind === 'read') return { final: 'ERROR' };
    const sel = (cmd.args[0] ?? '').toUpperCase();
    const chosen = cmd.kind === 'exec' ? all : all.filter(([code]) => code === sel);
    if (chosen.length === 0) return this.m.cme(50);
    return ok(chosen.map(([code, n, d]) => `+CPINR: ${code},${n},${d}`));
  }

  cfunCommand(cmd: AtCommand): BuiltinOutcome {
    if (cmd.kind === 'read') return ok([`+CFUN: ${this.m.state.cfun}`]);
    if (cmd.kind === 'test') return ok(['+CFUN: (0,1,4),(0-1)']);
    if (cmd.kind !== 'set') return { final: 'ERROR' };
    const fun = parseIntArg(cmd.args[0]);
    const reset = cmd.args[1] === undefined ? 0 : parseIntArg(cmd.args[1]);
    if ((fun !== 0 && fun !== 1 && fun !== 4) || (reset !== 0 && reset !== 1)) return this.m.cme(50);
    if (reset === 1) return { final: 'OK', after: () => this.m.reboot() };
    return {
      final: 'OK',
      after: () => {
        this.m.state.cfun = fun;
        if (fun !== 1) this.net.endAll(16);
      },
    };
  }

  qindcfg(cmd: AtCommand): BuiltinOutcome {
    if (cmd.kind === 'test') return ok(['+QINDCFG: "all",(0,1),(0,1)', '+QINDCFG: "ccinfo",(0,1),(0,1)']);
    if (cmd.kind !== 'set') return { final: 'ERROR' };
    const type = (cmd.args[0] ?? '').toLowerCase();
    if (type === 'ccinfo' && this.m.profile.callStateUrc !== 'ccinfo') return this.m.cme(4);
    if (!['all', 'csq', 'smsfull', 'ring', 'smsincoming', 'act', 'ccinfo'].includes(type)) return this.m.cme(50);
    if (cmd.args.length === 1) {
      return ok([`+QINDCFG: "${type}",${type === 'ccinfo' && this.m.state.ccinfo ? 1 : 0}`]);
    }
    const enable = parseIntArg(cmd.args[1]);
    if (enable !== 0 && enable !== 1) return this.m.cme(50);
    return { final: 'OK', after: () => (type === 'ccinfo' || type === 'all' ? this.setCcinfo(enable === 1) : undefined) };
  }

  setCcinfo(on: boolean): void {
    if (this.m.profile.callStateUrc === 'ccinfo') this.m.state.ccinfo = on;
  }

  clccLines(): string[] {
    const lines = [...this.net.list].sort((a, b) => a.idx - b.idx).map((c) => ({ idx: c.idx, line: clccLine(c) }));
    const phantom = this.m.profile.phantomDataCallIndex;
    if (phantom !== undefined) lines.push({ idx: phantom, line: phantomClccLine(phantom) });
    return lines.sort((a, b) => a.idx - b.idx).map((l) => l.line);
  }

  dial(value: string): BuiltinOutcome {
    const m = DIAL_RE.exec(value);
    if (!m) return { final: 'ERROR' };
    if (this.m.state.simLocked) return this.m.cme(11);
    if (this.m.state.cfun !== 1) return this.m.cme(30);
    const busyWith = this.net.list.some((c) => c.stat !== ClccStat.Active && c.stat !== ClccStat.Held);
    const heldAndActive = this.net.has(ClccStat.Held) && this.net.has(ClccStat.Active);
    if (busyWith || heldAndActive || this.net.list.length >= MAX_CALLS) return this.m.cme(3);
    const number = m[1];
    if (this.m.state.colp || this.m.state.quirks.dialResultWhenDecided) {
      this.net.pendingDial = this.net.placeCall(number);
      return PENDING;
    }
    return { final: 'OK', after: () => void this.net.placeCall(number) };
  }

  answer(): BuiltinOutcome {
    const call = this.net.list.find((c) => c.stat === ClccStat.Incoming);
    if (!call) return this.net.has(ClccStat.Waiting) ? this.m.cme(3) : { final: 'NO CARRIER' };
    return { final: 'OK', after: () => this.net.setStat(call, ClccStat.Active) };
  }

  qhup(cmd: AtCommand): BuiltinOutcome {
    if (cmd.kind === 'test') return ok(['+QHUP: (1-127),(1-7)']);
    if (cmd.kind !== 'set') return { final: 'ERROR' };
    const cause = parseIntArg(cmd.args[0]);
    if (cause === null || cause < 1 || cause > 127) return this.m.cme(50);
    if (cmd.args[1] === undefined) return { final: 'OK', after: () => this.net.endAll(cause) };
    const call = this.net.callByIdx(cmd.args[1]);
    if (!call) return this.m.cme(21);
    return { final: 'OK', after: () => this.net.endCall(call, cause, 'local') };
  }

  /**
   * AT+CHLD=0, 1, 1<idx>, 2, 2<idx>, 3 (3GPP TS 27.007 §7.13; multiparty: 22.084): 3 joins the held and
   * the active call into the multiparty call, 2<idx> on one of its parties splits it out; 4 (transfer)
   * is features/forwarding.ts.
   */
  chld(cmd: AtCommand): BuiltinOutcome {
    if (cmd.kind === 'test') return ok(['+CHLD: (0,1,1x,2,2x,3)']);
    if (cmd.kind !== 'set') return { final: 'ERROR' };
    const m = /^([0-4])(\d?)$/.exec(cmd.value);
    if (!m) return this.m.cme(50);
    const [, op, idxText] = m;
    const byState = (stat: ClccStat): CallRecord[] => this.net.list.filter((c) => c.stat === stat);
    // "The other call" of CHLD=1 / 2: the waiting call, else the held call (or every party of the held multiparty call).
    const otherGroup = (): CallRecord[] => (byState(ClccStat.Waiting).length > 0 ? byState(ClccStat.Waiting).slice(0, 1) : byState(ClccStat.Held));
    const change = (fn: (() => void) | null): BuiltinOutcome => (fn ? { final: 'OK', after: fn } : this.m.cme(3));
    if (op === '3' && idxText === '') return change(this.net.joinMultiparty());
    if (op === '3' || op === '4') return this.m.cme(4);
    if (idxText !== '') {
      const call = this.net.callByIdx(idxText);
      if (!call) return this.m.cme(21);
      if (op === '1') return { final: 'OK', after: () => this.net.endCall(call, 16, 'local') };
      if (op !== '2') return this.m.cme(50);
      if (call.mpty) return change(this.net.splitMultiparty(call));
      return {
        final: 'OK',
        after: () => {
          for (const c of byState(ClccStat.Active)) if (c !== call) this.net.setStat(c, ClccStat.Held);
          if (call.stat !== ClccStat.Active) this.net.setStat(call, ClccStat.Active);
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
            if (held.length > 0) for (const c of held) this.net.endCall(c, 16, 'local', false);
            else for (const c of waiting) this.net.endCall(c, 17, 'local', false);
          },
        };
      }
      case '1':
        return {
          final: 'OK',
          after: () => {
            for (const c of byState(ClccStat.Active)) this.net.endCall(c, 16, 'local', false);
            for (const c of otherGroup()) this.net.setStat(c, ClccStat.Active);
          },
        };
      default: {
        // 2: hold the active calls and take the waiting (or held) one.
        const other = otherGroup();
        const active = byState(ClccStat.Active);
        if (other.length === 0 && active.length === 0) return this.m.cme(3);
        return {
          final: 'OK',
          after: () => {
            for (const c of active) this.net.setStat(c, ClccStat.Held);
            for (const c of other) this.net.setStat(c, ClccStat.Active);
          },
        };
      }
    }
  }
}
