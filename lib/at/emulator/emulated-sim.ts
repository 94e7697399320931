import { InvalidInputError } from '../../errors';

/** What a SIM allows before it blocks: 3 PINs, then 10 PUKs (3GPP TS 31.101 / ETSI TS 102 221). */
export const SIM_PIN_ATTEMPTS = 3;
export const SIM_PUK_ATTEMPTS = 10;

export interface EmulatedSimOptions {
  /** The PIN the SIM asks for at power-on; absent: no PIN (the SIM is READY at once). */
  pin?: string;
  /** The PUK that unblocks it (default `12345678`). */
  puk?: string;
  /** PIN attempts left at the start (default 3; 0 starts blocked, asking for the PUK). */
  pinAttempts?: number;
}

/**
 * The emulated SIM card: its PIN, its PUK and their retry counters. It outlives the emulated module
 * that reads it (a `sim:` line's reconnects power up a new module, with the same card in it), as a
 * card outlives a module restart: three wrong PINs block it until the PUK is given.
 */
export class EmulatedSim {
  private pin: string | undefined;
  private readonly puk: string;
  private pinLeft: number;
  private pukLeft = SIM_PUK_ATTEMPTS;
  /** Every PIN the SIM was asked to check (`AT+CPIN="<pin>"`), right or wrong, in order. */
  readonly pinChecks: string[] = [];

  constructor(options: EmulatedSimOptions = {}) {
    for (const [name, v] of [['pin', options.pin], ['puk', options.puk]] as const) {
      if (v !== undefined && !/^[0-9]{4,8}$/.test(v)) throw new InvalidInputError(`the emulated SIM's ${name} must be 4 to 8 digits`);
    }
    const attempts = options.pinAttempts ?? SIM_PIN_ATTEMPTS;
    if (!Number.isInteger(attempts) || attempts < 0 || attempts > SIM_PIN_ATTEMPTS) {
      throw new InvalidInputError(`the emulated SIM's PIN attempts must be a whole number from 0 to ${SIM_PIN_ATTEMPTS}`);
    }
    this.pin = options.pin;
    this.puk = options.puk ?? '12345678';
    this.pinLeft = attempts;
  }

  /** The SIM wants its PIN after power-on (or its PUK, once blocked). */
  get locksAtPowerOn(): boolean {
    return this.pin !== undefined || this.blocked;
  }

  /** Three wrong PINs: `+CPIN: SIM PUK` until the PUK is given. */
  get blocked(): boolean {
    return this.pinLeft === 0;
  }

  get pinAttemptsLeft(): number {
    return this.pinLeft;
  }

  get pukAttemptsLeft(): number {
    return this.pukLeft;
  }

  /** Checks a PIN: a right one resets the counter, a wrong one costs an attempt. */
  checkPin(pin: string): boolean {
    this.pinChecks.push(pin);
    if (this.blocked) return false;
    if (pin === this.pin) {
      this.pinLeft = SIM_PIN_ATTEMPTS;
      return true;
    }
    this.pinLeft--;
    return false;
  }

  /** Unblocks with the PUK and sets a new PIN (`AT+CPIN="<puk>","<new pin>"`). */
  unblock(puk: string, newPin: string): boolean {
    if (this.pukLeft === 0 || !/^[0-9]{4,8}$/.test(newPin)) return false;
    if (puk !== this.puk) {
      this.pukLeft--;
      return false;
    }
    this.pin = newPin;
    this.pinLeft = SIM_PIN_ATTEMPTS;
    this.pukLeft = SIM_PUK_ATTEMPTS;
    return true;
  }
}
