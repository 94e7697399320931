/**
 * The emulated module's (and its network's) forwarding services: call forwarding rules (`AT+CCFC`,
 * 3GPP TS 27.007 §7.11 / TS 22.082), call deflection (`AT+CTFR`, §7.14) and explicit call transfer
 * (`AT+CHLD=4`, TS 22.091). Written from the standards, sharing no code with the host side (see
 * call-urcs.ts).
 */
import { AtCommand } from '../at-command';
import { numberTypeOf } from '../call-urcs';
import { EmulatorFeature, EmulatorHost, EmulatorReply } from '../emulator-feature';

/** `<reason>` 0–3 are single rules; 4 (all) and 5 (all conditional) address several. */
const ALL_REASONS = [0, 1, 2, 3] as const;
const GROUPS: Readonly<Record<number, readonly number[]>> = { 0: [0], 1: [1], 2: [2], 3: [3], 4: [0, 1, 2, 3], 5: [1, 2, 3] };
const NO_REPLY = 2;
/** The basic service classes the emulated network forwards: voice, data, fax (27.007 default 7). */
const CLASSES = [1, 2, 4] as const;
const DEFAULT_CLASSES = 7;
/** 27.007: the no-reply time when none is given. */
const DEFAULT_TIME = 20;
const NUMBER_RE = /^\+?[0-9*#]{1,40}$/;

/** Q.850 16 (normal clearing): the cause a deflected or transferred call is released with. */
const RELEASED = 16;
const CME = { notAllowed: 3, simPin: 11, noNetwork: 30, badParameters: 50 } as const;

/** One rule of the network, for one reason and one class (TS 22.082: registered and/or active). */
export interface EmulatedForwardRule {
  readonly reason: number;
  readonly classBit: number;
  readonly number: string;
  readonly type: number;
  readonly active: boolean;
  /** No-reply rules only. */
  readonly time?: number;
}

/** The scripting API of the feature, `modem.feature<ForwardingEmulator>('forwarding')`. */
export interface ForwardingEmulator extends EmulatorFeature {
  /** The network's rules, by reason then class. */
  rules(): EmulatedForwardRule[];
  /** Calls diverted with `AT+CTFR`: the module's index and where to. */
  readonly diversions: ReadonlyArray<{ idx: number; number: string; type: number }>;
  /** Explicit call transfers: the held and the other call's indexes. */
  readonly transfers: ReadonlyArray<{ held: number; other: number }>;
  /** The network refuses the next forwarding command (CCFC, CTFR, CHLD=4) with `+CME ERROR: <code>`. */
  refuseNext(code: number): void;
}

export function forwardingFeature(host: EmulatorHost): ForwardingEmulator {
  /** reason → class bit → rule. Network state: a reboot of the module does not forget it. */
  const table = new Map<number, Map<number, EmulatedForwardRule>>();
  const diversions: { idx: number; number: string; type: number }[] = [];
  const transfers: { held: number; other: number }[] = [];
  let refusal: number | null = null;

  /** The network's answer to any request: no SIM, no radio, or a refusal the test asked for. */
  function networkProblem(): EmulatorReply | null {
    const s = host.modem.settings;
    if (s.simLocked) return host.cme(CME.simPin);
    if (s.functionality !== 1) return host.cme(CME.noNetwork);
    if (refusal !== null) {
      const code = refusal;
      refusal = null;
      return host.cme(code);
    }
    return null;
  }

  function ccfc(cmd: AtCommand): EmulatorReply {
    if (cmd.kind === 'test') return host.ok(['+CCFC: (0-5)']);
    if (cmd.kind !== 'set') return host.error();
    const [reasonArg, modeArg, numberArg = '', typeArg = '', classArg = '', , , timeArg = ''] = cmd.args;
    const reason = small(reasonArg, 5);
    const mode = small(modeArg, 4);
    const classes = classArg === '' ? DEFAULT_CLASSES : small(classArg, 255);
    const type = typeArg === '' ? numberTypeOf(numberArg) : small(typeArg, 255);
    const time = small(timeArg, 30); // null when not given
    const bad =
      reason === null ||
      mode === null ||
      classes === null ||
      type === null ||
      (timeArg !== '' && (time === null || time < 1)) ||
      (numberArg !== '' && !NUMBER_RE.test(numberArg)) ||
      (mode === 3 && numberArg === '') ||
      (mode === 2 && reason > 3);
    if (bad) return host.cme(CME.badParameters);
    const problem = networkProblem();
    if (problem) return problem;
    const bits = CLASSES.filter((b) => (classes & b) !== 0);
    if (mode === 2) return host.ok(queryLines(reason, classes, bits));
    const number = type === 145 && numberArg !== '' && !numberArg.startsWith('+') ? `+${numberArg}` : numberArg;
    const targets = GROUPS[reason].flatMap((r) => bits.map((bit) => ({ r, bit, old: table.get(r)?.get(bit) })));
    if (mode === 1 && number === '' && targets.every((t) => t.old === undefined)) {
      return host.cme(CME.notAllowed); // nothing registered that could be enabled
    }
    for (const { r, bit, old } of targets) {
      const rules = table.get(r) ?? new Map<number, EmulatedForwardRule>();
      table.set(r, rules);
      if (mode === 4) rules.delete(bit);
      else if (mode === 0) {
        if (old) rules.set(bit, { ...old, active: false }); // deactivation keeps the registration
      } else {
        // Registration (3), and enabling (1) with a number or a registered one, also activate (TS 22.082).
        const to = number !== '' ? { number, type } : old;
        if (to) {
          const rule = { reason: r, classBit: bit, number: to.number, type: to.type, active: true };
          rules.set(bit, r === NO_REPLY ? { ...rule, time: time ?? old?.time ?? DEFAULT_TIME } : rule);
        }
      }
    }
    return host.ok();
  }

  /** One line per active class, or `+CCFC: 0,<classes>` when none is active (27.007). */
  function queryLines(reason: number, classes: number, bits: readonly number[]): string[] {
    const active = bits.map((b) => table.get(reason)?.get(b)).filter((r): r is EmulatedForwardRule => r?.active === true);
    if (active.length === 0) return [`+CCFC: 0,${classes}`];
    return active.map((r) => `+CCFC: 1,${r.classBit},"${r.number}",${r.type}${r.time !== undefined ? `,,,${r.time}` : ''}`);
  }

  /** `AT+CTFR=<number>[,<type>[,<subaddr>[,<satype>]]]`: the ringing (or waiting) call is deflected. */
  function ctfr(cmd: AtCommand): EmulatorReply {
    if (cmd.kind === 'test') return host.ok();
    if (cmd.kind !== 'set') return host.error();
    const [number = '', typeArg = ''] = cmd.args;
    const type = typeArg === '' ? numberTypeOf(number) : small(typeArg, 255);
    if (!NUMBER_RE.test(number) || type === null) return host.cme(CME.badParameters);
    const calls = host.calls();
    const ringing = calls.find((c) => c.state === 'incoming') ?? calls.find((c) => c.state === 'waiting');
    if (!ringing) return host.cme(CME.notAllowed);
    const problem = networkProblem();
    if (problem) return problem;
    return {
      final: 'OK',
      after: () => {
        diversions.push({ idx: ringing.idx, number, type });
        host.endCall(ringing.idx, RELEASED, 'local');
      },
    };
  }

  /** `AT+CHLD=4`: joins the held call with the active (or alerting outgoing) one, and leaves both. */
  function chld(cmd: AtCommand): EmulatorReply | undefined {
    if (cmd.kind !== 'set' || cmd.value !== '4') return undefined; // the module's own AT+CHLD
    const calls = host.calls();
    const held = calls.filter((c) => c.state === 'held');
    const other = calls.filter((c) => c.state === 'active' || c.state === 'alerting');
    if (held.length !== 1 || other.length !== 1) return host.cme(CME.notAllowed);
    const problem = networkProblem();
    if (problem) return problem;
    return {
      final: 'OK',
      after: () => {
        transfers.push({ held: held[0].idx, other: other[0].idx });
        host.endCall(held[0].idx, RELEASED, 'local');
        host.endCall(other[0].idx, RELEASED, 'local');
      },
    };
  }

  return {
    name: 'forwarding',
    commands: { '+CCFC': ccfc, '+CTFR': ctfr, '+CHLD': chld },
    rules: () => ALL_REASONS.flatMap((r) => [...(table.get(r)?.values() ?? [])]),
    diversions,
    transfers,
    refuseNext(code: number) {
      if (!Number.isInteger(code) || code < 0 || code > 999) throw new TypeError('code must be a +CME ERROR number');
      refusal = code;
    },
  };
}

/** A small non-negative integer argument up to `max`, or null. */
function small(text: string | undefined, max: number): number | null {
  if (text === undefined || !/^\d{1,3}$/.test(text)) return null;
  const n = Number(text);
  return n <= max ? n : null;
}
