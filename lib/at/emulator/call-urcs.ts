/**
 * The lines the emulated module writes about calls, one function a line format, so that the formats
 * stand in one place (and in docs/emulator.md).
 */
import type { EmulatorProfile } from './profiles';

/** `<stat>` of `+CLCC` (3GPP TS 27.007 §7.18), also the `<state>` of Quectel's ccinfo. */
// The emulator deliberately shares no parsing or formatting code with the host side (lib/at/urc-parsers.ts):
// it is the test double of a real module, and a shared helper would hide the same bug on both sides.
export enum ClccStat {
  Active = 0,
  Held = 1,
  Dialing = 2,
  Alerting = 3,
  Incoming = 4,
  Waiting = 5,
}

/** What a line about a call needs to know about it. */
export interface CallLine {
  readonly idx: number;
  /** 0 mobile originated (outgoing), 1 mobile terminated (incoming). */
  readonly dir: 0 | 1;
  readonly stat: ClccStat;
  /** `''` for a withheld caller. */
  readonly number: string;
  readonly numberType: number;
  readonly name?: string;
  /** 27.007 `<CLI validity>` of `+CLIP` / `+CCWA`: 0 shown, 1 withheld, 2 not available, 3 payphone, 4 other. */
  readonly cliValidity: number;
  /** One of the parties of the module's multiparty call (3GPP TS 22.084): `<mpty>` 1. */
  readonly mpty?: boolean;
}

/** `^DSCI` `<stat>` for each CLCC stat: 1 hold, 2 dialing, 3 connected, 4 incoming, 5 waiting, 7 alerting. */
const DSCI_STAT: Readonly<Record<ClccStat, number>> = {
  [ClccStat.Active]: 3,
  [ClccStat.Held]: 1,
  [ClccStat.Dialing]: 2,
  [ClccStat.Alerting]: 7,
  [ClccStat.Incoming]: 4,
  [ClccStat.Waiting]: 5,
};
const DSCI_END = 6;
const CCINFO_RELEASED = -1;

/** 145 international (leading `+`), 129 national/unknown, 128 withheld (no number). */
export function numberTypeOf(number: string): number {
  if (number === '') return 128;
  return number.startsWith('+') ? 145 : 129;
}

/**
 * `^DSCI: 1,0,2,0,"10086",129`; with the Q.850 cause of an ended call: `^DSCI: 1,0,6,0,"10086",129,17`;
 * with `toneInfo` (ASR's `<tone_info>`: 0 the host plays the tones, 1 it does not) on the other
 * states: `^DSCI: 1,0,7,0,"10086",129,1`.
 */
export function dsciLine(call: CallLine, endedWithQ850?: number, toneInfo?: 0 | 1): string {
  const stat = endedWithQ850 === undefined ? DSCI_STAT[call.stat] : DSCI_END;
  const base = `^DSCI: ${call.idx},${call.dir},${stat},0,"${call.number}",${call.numberType}`;
  if (endedWithQ850 !== undefined) return `${base},${endedWithQ850}`;
  return toneInfo === undefined ? base : `${base},${toneInfo}`;
}

/** `+QIND: "ccinfo",1,0,2,0,0,"10086",129` (`<mpty>` 1 for a party of the multiparty call); an ended call has state -1. */
export function ccinfoLine(call: CallLine, ended = false): string {
  const state = ended ? CCINFO_RELEASED : call.stat;
  return `+QIND: "ccinfo",${call.idx},${call.dir},${state},0,${call.mpty ? 1 : 0},"${call.number}",${call.numberType}`;
}

/** `+CLCC: 1,0,0,0,0,"10086",129` (voice; `<mpty>` 1 for a party of the multiparty call). */
export function clccLine(call: CallLine): string {
  return `+CLCC: ${call.idx},${call.dir},${call.stat},0,${call.mpty ? 1 : 0},"${call.number}",${call.numberType}`;
}

/** The phantom data call some Unisoc modules list: `+CLCC: 7,0,0,1,0,"",0`. */
export function phantomClccLine(idx: number): string {
  return `+CLCC: ${idx},0,0,1,0,"",0`;
}

/**
 * Caller id. Quectel: `+CLIP: "10086",129,"",0,"",0`; 3GPP: `+CLIP: "10086",129,,,,0`. A caller without
 * a number has an empty number, type 128 and its CLI validity (1 withheld, by default).
 */
export function clipLine(profile: EmulatorProfile, call: CallLine): string {
  const validity = call.cliValidity;
  const head = `+CLIP: "${call.number}",${call.numberType}`;
  if (profile.clipStyle === 'quectel') return `${head},"",0,"${call.name ?? ''}",${validity}`;
  return `${head},,,${call.name === undefined ? '' : `"${call.name}"`},${validity}`;
}

/**
 * Call waiting: `+CCWA: "10086",129,1` (class 1, voice); a caller without a number adds an empty
 * `<alpha>` and its CLI validity: `+CCWA: "",128,1,,1`.
 */
export function ccwaLine(call: CallLine): string {
  const head = `+CCWA: "${call.number}",${call.numberType},1`;
  return call.cliValidity === 0 ? head : `${head},,${call.cliValidity}`;
}

/** `+CSSU: <code2>` (27.007 §7.17): 2 the other side holds the call, 3 it took it back. */
export function cssuLine(code: number): string {
  return `+CSSU: ${code}`;
}

/** The ASCII code a `+QTONEDET` URC carries for a DTMF digit: 49 for `1`, 42 for `*`, 35 for `#`. */
export function qtonedetLine(digit: string): string {
  return `+QTONEDET: ${digit.toUpperCase().charCodeAt(0)}`;
}
