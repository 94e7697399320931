import { Call } from '../call/call';
import { InvalidInputError } from '../errors';
import { describe, printable } from '../validate';

/**
 * DTMF on a line: send digits into a connected call, and report the digits the far end presses.
 *
 * Received digits are reported on the call as `call.report('dtmf', { digit, source })` (one report
 * per key press, `digit` one of {@link DTMF_SYMBOLS}), which the line turns into `dtmf` events and
 * feeds to gathers (lib/line/gather.ts). A backend MUST NOT report a digit on a call that is neither
 * connected nor in early media (an outgoing call hearing the network's audio before the answer: the
 * keys of an announcement), and MUST NOT report anything but the sixteen DTMF symbols.
 */
export interface DtmfCapability {
  /**
   * Sends `digits` (already validated with {@link checkDtmfDigits}) into a connected call, each tone
   * lasting `durationMs` (validated with {@link checkDtmfDuration}). MUST check the digits again
   * before anything reaches the wire. MUST throw CallStateError when the call is not connected,
   * NotSupportedError (naming the module) when the line cannot send DTMF, CommandFailedError when the
   * modem or peer refused them. MUST resolve only when every digit was accepted.
   */
  send(call: Call, digits: string, options: { durationMs: number }): Promise<void>;
  /**
   * Makes sure the digits the far end presses on this call are reported (AT: `AT+QTONEDET=1`,
   * re-applied after every restart of the module). MUST throw NotSupportedError (naming the module)
   * when the line cannot detect DTMF. Digits pressed before it resolves may be lost.
   */
  enableDetection(call: Call): Promise<void>;
  /**
   * Switches the reporting of the keys the far end presses on or off, for the whole line (QuecPython
   * `voiceCall.dtmfDetEnable`; AT: `AT+QTONEDET=<1|0>`). While off, the backend MUST NOT report a
   * key and {@link enableDetection} MUST throw CallStateError; the choice MUST hold across a module
   * restart and a reconnect (re-applied) until it is changed again. MUST throw NotSupportedError
   * (naming the module) when the line cannot detect DTMF at all.
   */
  setDetection(on: boolean): Promise<void>;
  /**
   * True unless {@link setDetection} switched detection off (the line's choice, not the module's
   * state); null when the line cannot detect DTMF at all.
   */
  readonly detection: boolean | null;
}

/** The error of a gather while detection is switched off (both backends say the same). */
export function detectionOffMessage(line: string): string {
  return `DTMF detection is switched off on this line (${line}): switch it on first (voice-control, set-dtmf-detection true)`;
}

/** The sixteen DTMF symbols (ITU-T Q.23), in keypad order. */
export const DTMF_SYMBOLS = '123A456B789C*0#D';

/** Most digits one request may send or collect. */
export const MAX_DTMF_DIGITS = 64;

/** Tone length accepted from a flow (the range of QuecPython's `voiceCall.startDtmf`). */
export const MIN_DTMF_DURATION_MS = 100;
export const MAX_DTMF_DURATION_MS = 1000;
/**
 * The default tone length: the shortest `startDtmf` accepts, as in its own example, and well above
 * the 40 ms a receiver needs (ITU-T Q.24). On GSM/LTE the network may lengthen it.
 */
export const DEFAULT_DTMF_DURATION_MS = 100;

const DIGITS_RE = /^[0-9*#A-D]+$/;

/** True for one DTMF symbol (upper case). */
export function isDtmfSymbol(value: unknown): value is string {
  return typeof value === 'string' && value.length === 1 && DTMF_SYMBOLS.includes(value);
}

/**
 * The digits to send, upper-cased (`a`-`d` are accepted for `A`-`D`), or an {@link InvalidInputError}:
 * only 0-9, `*`, `#` and A-D, 1 to {@link MAX_DTMF_DIGITS} of them. A number is read as its decimal
 * digits (a leading zero is lost: send a string). Nothing else can reach a modem, so `123;+CFUN=0`
 * never becomes a second command.
 */
export function checkDtmfDigits(value: unknown): string {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) value = String(value);
  if (typeof value !== 'string') {
    throw new InvalidInputError(`the DTMF digits must be a string such as "123#", got ${describe(value)}`);
  }
  if (value === '') throw new InvalidInputError('there are no DTMF digits to send');
  const digits = value.toUpperCase();
  if (digits.length > MAX_DTMF_DIGITS || !DIGITS_RE.test(digits)) {
    throw new InvalidInputError(
      `the DTMF digits "${printable(value)}" are not valid: use 0-9, *, # and A-D, at most ${MAX_DTMF_DIGITS} of them`,
    );
  }
  return digits;
}

/**
 * The tone length in milliseconds, {@link MIN_DTMF_DURATION_MS} to {@link MAX_DTMF_DURATION_MS}
 * (a numeric string from the editor is accepted), or an {@link InvalidInputError}.
 */
export function checkDtmfDuration(value: unknown): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < MIN_DTMF_DURATION_MS || n > MAX_DTMF_DURATION_MS) {
    throw new InvalidInputError(
      `the DTMF duration must be ${MIN_DTMF_DURATION_MS} to ${MAX_DTMF_DURATION_MS} milliseconds, got ${describe(value)}`,
    );
  }
  return n;
}
