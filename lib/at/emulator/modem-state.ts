import type { EmulatorQuirks } from './emulated-modem';

/**
 * The emulated module's settings, shared by its parts (byte handling, built-in commands, the
 * simulated network): what the host configured (volatile: a reboot forgets them, except the quirks,
 * which are the firmware's).
 */
export interface ModemState {
  echo: boolean;
  cmee: number;
  clip: boolean;
  crc: boolean;
  ccwa: boolean;
  colp: boolean;
  /** `AT+CVHU`: accepted and reported; ATH ends voice calls either way. */
  cvhu: number;
  dsci: boolean;
  ccinfo: boolean;
  toneDetection: boolean;
  cfun: number;
  simLocked: boolean;
  /** `ATS<n>` registers (S0: rings before auto-answer). */
  readonly registers: Map<number, number>;
  readonly quirks: Required<EmulatorQuirks>;
}

export function initialState(cmee: number, simLocked: boolean): ModemState {
  return {
    echo: true,
    cmee,
    clip: false,
    crc: false,
    ccwa: false,
    colp: false,
    cvhu: 0,
    dsci: false,
    ccinfo: false,
    toneDetection: false,
    cfun: 1,
    simLocked,
    registers: new Map(),
    quirks: { bareAtError: false, dialResultWhenDecided: false, noCarrierOnLocalRelease: false },
  };
}
