import type { WithheldReason } from '../call/call';

/**
 * Parsers for the call-related lines of 27.007 and Quectel modules. Every parser is tolerant: it
 * returns `null` for a line it cannot read (and the caller logs it at debug), never throws, and
 * ignores extra trailing fields (firmware versions add some).
 */

/** Splits the parameters of an AT response (`a,"b,c",d`) into fields, keeping quoted commas. */
export function splitFields(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    else if (ch === ',' && !quoted) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

/** The parameters after `<prefix>`, e.g. `+CLCC: 1,0,...` → `1,0,...`. */
function afterPrefix(line: string, prefix: string): string | null {
  return line.startsWith(prefix) ? line.slice(prefix.length).trim() : null;
}

function int(field: string | undefined): number | null {
  if (field === undefined || !/^-?\d+$/.test(field)) return null;
  return Number(field);
}

/** 27.007 `+CLCC` stat values. */
export enum ClccStat {
  Active = 0,
  Held = 1,
  Dialing = 2,
  Alerting = 3,
  Incoming = 4,
  Waiting = 5,
  /** Not a CLCC value: the call is gone (ccinfo -1, ^DSCI 6, or missing from the list). */
  Released = -1,
}

/** One observation of one call, whatever line it came from. */
export interface CallObservation {
  index: number;
  /** 0 mobile originated (outbound), 1 mobile terminated (inbound). */
  dir: 0 | 1;
  stat: ClccStat;
  /** 0 voice; anything else (data, fax) is not ours. */
  mode: number;
  number: string;
  numberType?: number;
  multiparty?: boolean;
  /** Q.850 cause given with a release (^DSCI on some firmware). */
  q850?: number;
  /** ^DSCI `<tone_info>` (ASR): true when 1 (the module plays no tones: they are in-band), false when 0. */
  inbandTones?: boolean;
}

const STATS = new Set([-1, 0, 1, 2, 3, 4, 5]);

function observation(
  index: number | null,
  dir: number | null,
  stat: number | null,
  mode: number | null,
  number: string | undefined,
  numberType: number | null,
  mpty: number | null,
): CallObservation | null {
  if (index === null || index < 0 || (dir !== 0 && dir !== 1) || stat === null || !STATS.has(stat)) return null;
  const o: CallObservation = { index, dir, stat, mode: mode ?? 0, number: number ?? '' };
  if (numberType !== null) o.numberType = numberType;
  if (mpty !== null) o.multiparty = mpty === 1;
  return o;
}

/** `+CLCC: <idx>,<dir>,<stat>,<mode>,<mpty>[,<number>,<type>[,<alpha>]]` */
export function parseClcc(line: string): CallObservation | null {
  const rest = afterPrefix(line, '+CLCC:');
  if (rest === null) return null;
  const f = splitFields(rest);
  return observation(int(f[0]), int(f[1]), int(f[2]), int(f[3]), f[5], int(f[6]), int(f[4]));
}

/** Quectel `+QIND: "ccinfo",<idx>,<dir>,<state>,<mode>,<mpty>,<number>,<type>` (CLCC states, -1 released). */
export function parseCcinfo(line: string): CallObservation | null {
  const rest = afterPrefix(line, '+QIND:');
  if (rest === null) return null;
  const f = splitFields(rest);
  if (f[0] !== 'ccinfo') return null;
  return observation(int(f[1]), int(f[2]), int(f[3]), int(f[4]), f[6], int(f[7]), int(f[5]));
}

/**
 * How a firmware numbers `^DSCI`'s `<stat>`; the two families differ (docs/traces.md, "^DSCI"):
 * - `asr`: the Quectel manual for the ASR modules (EC200N/EC600N/EC600S...), AT^DSCI: 1 hold,
 *   2 originating (dialing), 3 connected, 4 incoming, 5 waiting, 6 end, 7 alerting;
 * - `clcc`: Unisoc/Spreadtrum firmware (its Android RIL, sprd_ril.c, reads `<stat>` as the RIL call
 *   state, i.e. as `+CLCC`): 0 active, 1 held, 2 dialing, 3 alerting, 4 incoming, 5 waiting, and
 *   6 disconnected.
 * The same digit means different things (3 is "connected" for one, "alerting" for the other), so
 * reading a line with the wrong table announces a call answered while it still rings.
 */
export type DsciNumbering = 'asr' | 'clcc';

const DSCI_STAT: Readonly<Record<DsciNumbering, Readonly<Record<number, ClccStat>>>> = {
  asr: {
    1: ClccStat.Held,
    2: ClccStat.Dialing,
    3: ClccStat.Active,
    4: ClccStat.Incoming,
    5: ClccStat.Waiting,
    6: ClccStat.Released,
    7: ClccStat.Alerting,
  },
  clcc: {
    0: ClccStat.Active,
    1: ClccStat.Held,
    2: ClccStat.Dialing,
    3: ClccStat.Alerting,
    4: ClccStat.Incoming,
    5: ClccStat.Waiting,
    6: ClccStat.Released,
  },
};

/**
 * Quectel / Unisoc `^DSCI:`. Firmware differs in the fields around the number, quoted or not, and in
 * the numbering of `<stat>` ({@link DsciNumbering}):
 * - ASR (EC200N/EC600N manual): `^DSCI: <id>,<dir>,<stat>,<type>,<number>,<num_type>[,<tone_info>]`,
 *   e.g. `^DSCI: 1,0,2,0,10086,129,0`, numbered `asr`;
 * - Unisoc/Spreadtrum RIL: `^DSCI: <id>,<dir>,<stat>,<type>,<mpty>,<number>,<num_type>,[<bs>],[<cause>],...`,
 *   e.g. `^DSCI: 1,0,6,0,0,"13611112222",129,,17,128,"",255` (the Q.850 cause is the 9th field),
 *   numbered `clcc`.
 * The number is the first quoted field, else the field at its layout's place (the Unisoc layout is
 * told by an `<mpty>` of 0/1 before it and a number type after it). The layout tells the numbering
 * unless `numbering` is given. For a released call in the first layout, the last number after
 * `<num_type>` is read as the Q.850 cause, unless it is 0 (no Q.850 cause is 0: it is the ASR
 * `<tone_info>`).
 */
export function parseDsci(line: string, numbering?: DsciNumbering): CallObservation | null {
  const rest = afterPrefix(line, '^DSCI:');
  if (rest === null) return null;
  const raw = rest.split(',');
  const f = splitFields(rest);
  const isNumberType = (x: string | undefined): boolean => {
    const n = int(x);
    return n !== null && n >= 128 && n <= 255;
  };
  const quoted = raw.findIndex((x) => x.trim().startsWith('"'));
  const unisoc = (int(f[4]) === 0 || int(f[4]) === 1) && isNumberType(f[6]);
  const numberAt = quoted >= 0 ? quoted : unisoc ? 5 : f.length > 4 ? 4 : -1;
  const stat = DSCI_STAT[numbering ?? (numberAt === 5 ? 'clcc' : 'asr')][int(f[2]) ?? NaN];
  if (stat === undefined) return null;
  const o = observation(int(f[0]), int(f[1]), stat, int(f[3]), numberAt >= 0 ? f[numberAt] : '', null, null);
  if (!o) return null;
  if (numberAt === 5) {
    const mpty = int(f[4]);
    if (mpty !== null) o.multiparty = mpty === 1;
  }
  if (numberAt >= 0) {
    const typ = int(f[numberAt + 1]);
    if (typ !== null) o.numberType = typ;
    // ASR's `<tone_info>` (EC200N/EC600N manual, AT^DSCI: 0 the host plays the prompt tones, 1 it
    // does not), after <num_type>. On a release that place may hold the cause instead: not read there.
    const tone = unisoc ? null : int(f[numberAt + 2]);
    if (stat !== ClccStat.Released && (tone === 0 || tone === 1)) o.inbandTones = tone === 1;
    if (stat === ClccStat.Released) {
      const cause = unisoc && numberAt === 5 ? int(f[8]) : f.slice(numberAt + 2).map(int).filter((x): x is number => x !== null).pop();
      // Q.850 causes are 1-127; Unisoc firmware puts IMS/SIP reasons (e.g. 1200) in the same field.
      if (cause !== null && cause !== undefined && cause > 0 && cause <= 127) o.q850 = cause;
    }
  }
  return o;
}

export interface CallerId {
  number: string;
  numberType?: number;
  name?: string;
  /** Why the number is not shown, when it is not (see {@link withheldReasonOf}). */
  withheld?: WithheldReason;
}

/** `+CLIP: <number>,<type>[,<subaddr>,<satype>[,<alpha>[,<CLI validity>]]]` */
export function parseClip(line: string): CallerId | null {
  const rest = afterPrefix(line, '+CLIP:');
  return rest === null ? null : callerId(splitFields(rest), 4, 5);
}

/** `+CCWA: <number>,<type>,<class>[,<alpha>][,<CLI validity>[,<subaddr>,<satype>[,<priority>]]]` (call waiting). */
export function parseCcwa(line: string): CallerId | null {
  const rest = afterPrefix(line, '+CCWA:');
  return rest === null ? null : callerId(splitFields(rest), 3, 4);
}

/**
 * 27.007 `<CLI validity>`: 0 valid; 1 withheld by the originator; 2 not available (interworking,
 * limits of the originating network); 3 the caller is a payphone; 4 not available for other reasons.
 */
const CLI_VALIDITY: Readonly<Record<number, WithheldReason | null>> = {
  0: null,
  1: 'withheld',
  2: 'unavailable',
  3: 'payphone',
  4: 'unavailable',
};

/**
 * Why a caller id shows no number: its `<CLI validity>` when given (an unknown value is read as
 * `unavailable`); without one, an empty number is `unavailable` (the network gave none). Null: shown.
 */
export function withheldReasonOf(number: string, validity: string | undefined): WithheldReason | null {
  const v = int(validity);
  if (v !== null) return v in CLI_VALIDITY ? CLI_VALIDITY[v] : 'unavailable';
  return number === '' ? 'unavailable' : null;
}

function callerId(f: string[], nameAt: number, validityAt: number): CallerId | null {
  if (f.length < 1) return null;
  const id: CallerId = { number: f[0] };
  const typ = int(f[1]);
  if (typ !== null) id.numberType = typ;
  if (f[nameAt]) id.name = f[nameAt];
  const withheld = withheldReasonOf(f[0], f[validityAt]);
  if (withheld) id.withheld = withheld;
  return id;
}

/**
 * Supplementary service notifications (27.007 §7.17, after `AT+CSSN=1,1`):
 * `+CSSI: <code1>[,<index>]` while our call is set up, `+CSSU: <code2>[,<index>[,<number>,<type>...]]`
 * during a call. `<index>` is a closed user group's, not a call's: neither names the call.
 */
export interface SsNotification {
  /** `+CSSI` (mobile originated, during set-up) or `+CSSU` (unsolicited, during a call). */
  kind: 'cssi' | 'cssu';
  code: number;
  /** The code in words (27.007), or "code <n>" for one it does not list. */
  text: string;
}

const CSSI_TEXT: Readonly<Record<number, string>> = {
  0: 'unconditional call forwarding is active',
  1: 'some conditional call forwarding is active',
  2: 'the call has been forwarded',
  3: 'the call is waiting',
  4: 'this is a closed user group call',
  5: 'outgoing calls are barred',
  6: 'incoming calls are barred',
  7: 'the CLIR suppression was rejected',
  8: 'the call has been deflected',
};

/** `+CSSU` codes; 2 and 3 are the other side's hold. */
export const CSSU_HELD = 2;
export const CSSU_RETRIEVED = 3;
const CSSU_TEXT: Readonly<Record<number, string>> = {
  0: 'this is a forwarded call',
  1: 'this is a closed user group call',
  [CSSU_HELD]: 'the other side put the call on hold',
  [CSSU_RETRIEVED]: 'the other side took the call back',
  4: 'the call joined a multiparty call',
  5: 'the held call was released',
  6: 'a forward check message was received',
  7: 'the call is being connected (explicit call transfer, alerting)',
  8: 'the call is connected (explicit call transfer)',
  9: 'this is a deflected call',
  10: 'an additional incoming call was forwarded',
};

/** `+CSSI: <code1>...` or `+CSSU: <code2>...`; null for anything else. */
export function parseSsNotification(line: string): SsNotification | null {
  for (const [prefix, kind, words] of [
    ['+CSSI:', 'cssi', CSSI_TEXT],
    ['+CSSU:', 'cssu', CSSU_TEXT],
  ] as const) {
    const rest = afterPrefix(line, prefix);
    if (rest === null) continue;
    const code = int(splitFields(rest)[0]);
    if (code === null || code < 0) return null;
    return { kind, code, text: words[code] ?? `code ${code}` };
  }
  return null;
}

export interface CeerReport {
  text: string;
  q850?: number;
}

/**
 * `+CEER: ...`: free-form by 27.007. Quectel sends `+CEER: "CC INFO",16,"Normal call clearing"` or
 * `+CEER: "CC REJECT",17,"User busy"`; others only text. Reads the first number as the Q.850 cause.
 */
export function parseCeer(line: string): CeerReport | null {
  const rest = afterPrefix(line, '+CEER:');
  if (rest === null) return null;
  const f = splitFields(rest);
  const num = f.map(int).find((x): x is number => x !== null);
  const text = f.filter((x) => int(x) === null && x !== '').join(': ');
  return num === undefined ? { text } : { text, q850: num };
}

/** Words in a +CEER text, for modems that give no number. */
export function q850FromText(text: string): number | undefined {
  const t = text.toLowerCase();
  if (t.includes('busy')) return 17;
  if (t.includes('no answer') || t.includes('no user responding')) return 19;
  if (t.includes('rejected')) return 21;
  if (t.includes('unassigned') || t.includes('unallocated')) return 1;
  if (t.includes('normal')) return 16;
  if (t.includes('congestion') || t.includes('no circuit')) return 34;
  return undefined;
}
