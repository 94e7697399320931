/**
 * Profiles of the built-in emulated cellular module: which module it pretends to be and which of the
 * quirks of that family it reproduces. A profile is plain data; {@link EmulatedModem} reads it.
 *
 * The quirks are the ones the AT backend has to cope with on real hardware (design §4):
 * - ASR-based Quectel modules report call state with `^DSCI:` (after `AT^DSCI=1`) and ring with `RING`.
 * - Unisoc-based Quectel modules report call state with `+QIND: "ccinfo",...` (after
 *   `AT+QINDCFG="ccinfo",1`), send no `RING` at all for an incoming call, and list a phantom data call
 *   (mode 1) in `AT+CLCC`.
 * - A plain 3GPP TS 27.007 modem has no call state URC: progress is seen through `AT+CLCC` and the final
 *   result codes (`NO CARRIER`, `BUSY`, `NO ANSWER`) only.
 */

/** How the module reports call state changes on its own. */
export type CallStateUrc =
  /** `^DSCI: <id>,<dir>,<stat>,<type>,"<number>",<numtype>[,<q850>]`, enabled by `AT^DSCI=1`. */
  | 'dsci'
  /** `+QIND: "ccinfo",<idx>,<dir>,<state>,<mode>,<mpty>,"<number>",<type>`, by `AT+QINDCFG="ccinfo",1`. */
  | 'ccinfo'
  /** Nothing: poll `AT+CLCC`. */
  | 'none';

export interface EmulatorProfile {
  /** The key in {@link EMULATOR_PROFILES}, used in `sim:<name>`. */
  readonly name: string;
  /** One line for people (docs, the editor's help). */
  readonly description: string;
  /** `AT+CGMI` and the first line of `ATI`. */
  readonly manufacturer: string;
  /** `AT+CGMM` and the second line of `ATI`. */
  readonly model: string;
  /** `AT+CGMR`; `ATI` shows it as `Revision: <revision>`. */
  readonly revision: string;
  /** `AT+CGSN`. */
  readonly imei: string;
  /** Accepts the Quectel vendor commands `AT+QHUP`, `AT+QINDCFG` and `AT+QTONEDET`. */
  readonly quectel: boolean;
  readonly callStateUrc: CallStateUrc;
  /** Sends `RING` (or `+CRING: VOICE` after `AT+CRC=1`) for an incoming call. */
  readonly ringsOnIncoming: boolean;
  /**
   * `+CLIP:` layout: `quectel` is `+CLIP: "<n>",<type>,"",0,"<name>",0`, `3gpp` is
   * `+CLIP: "<n>",<type>,,,<alpha>,<validity>` with empty optional fields.
   */
  readonly clipStyle: 'quectel' | '3gpp';
  /** When set, `AT+CLCC` always lists a data call with this index (mode 1); voice calls never get it. */
  readonly phantomDataCallIndex?: number;
  /** `AT+CMEE` after power-on and `ATZ`. */
  readonly cmeeDefault: 0 | 1 | 2;
  /** When set, the SIM asks for this PIN after power-on (`+CPIN: SIM PIN`) until `AT+CPIN="<pin>"`. */
  readonly pin?: string;
}

function profile(p: EmulatorProfile): EmulatorProfile {
  return Object.freeze({ ...p });
}

export const EMULATOR_PROFILES: Readonly<Record<string, EmulatorProfile>> = Object.freeze({
  ec600n: profile({
    name: 'ec600n',
    description: 'Quectel EC600N (ASR): ^DSCI call state, RING and +CLIP for incoming calls',
    manufacturer: 'Quectel',
    model: 'EC600N',
    revision: 'EC600NCNLCR03A01M08',
    imei: '869000000000016',
    quectel: true,
    callStateUrc: 'dsci',
    ringsOnIncoming: true,
    clipStyle: 'quectel',
    cmeeDefault: 1,
  }),
  ec200u: profile({
    name: 'ec200u',
    description: 'Quectel EC200U (Unisoc): +QIND "ccinfo" call state, no RING (only +CLIP), phantom data call in +CLCC',
    manufacturer: 'Quectel',
    model: 'EC200U',
    revision: 'EC200UCNAAR03A03M08',
    imei: '869000000000024',
    quectel: true,
    callStateUrc: 'ccinfo',
    ringsOnIncoming: false,
    clipStyle: 'quectel',
    phantomDataCallIndex: 7,
    cmeeDefault: 1,
  }),
  ec25: profile({
    name: 'ec25',
    description: 'Quectel EC25 (EC2x/EG2x): +QIND "ccinfo" call state, RING and +CLIP for incoming calls',
    manufacturer: 'Quectel',
    model: 'EC25',
    revision: 'EC25EFAR06A06M4G',
    imei: '869000000000032',
    quectel: true,
    callStateUrc: 'ccinfo',
    ringsOnIncoming: true,
    clipStyle: 'quectel',
    cmeeDefault: 1,
  }),
  bg95: profile({
    name: 'bg95',
    description: 'Quectel BG95 (LTE-M/NB-IoT, no voice calls): a voice line refuses it once it has identified it',
    manufacturer: 'Quectel',
    model: 'BG95-M3',
    revision: 'BG95M3LAR02A03',
    imei: '869000000000057',
    quectel: true,
    callStateUrc: 'none',
    ringsOnIncoming: false,
    clipStyle: '3gpp',
    cmeeDefault: 1,
  }),
  generic: profile({
    name: 'generic',
    description: 'A plain 3GPP TS 27.007 modem: RING/+CRING and +CLIP, no call state URC (poll AT+CLCC)',
    manufacturer: 'Generic',
    model: 'GSM Modem',
    revision: 'GENERIC-1.0',
    imei: '869000000000040',
    quectel: false,
    callStateUrc: 'none',
    ringsOnIncoming: true,
    clipStyle: '3gpp',
    cmeeDefault: 0,
  }),
});

/** The names of the built-in profiles, for messages that list them. */
export function emulatorProfileNames(): string[] {
  return Object.keys(EMULATOR_PROFILES);
}
