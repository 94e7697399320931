import { createHash, randomBytes } from 'node:crypto';
import { Logger } from '../backend';
import { VoiceError } from '../errors';
import { AtChannel, AtError } from './at-channel';
import type { ModemProfile } from './modem-profile';

/**
 * Unlocking the SIM with its PIN, without ever being the one that blocks it.
 *
 * A SIM allows three wrong PINs, then asks for its PUK (`+CPIN: SIM PUK`), which only the person who
 * holds the card's papers can give. So:
 *
 * - a PIN the SIM refused is never sent again by this process: not on a reconnect, not after a module
 *   restart, not after a redeploy with the same credentials (the line waits, in red, for a new PIN);
 * - the PIN is not sent at all when the SIM says it has one attempt left (the package leaves the
 *   attempt that could block the card to a person);
 * - a SIM asking for its PUK is reported as such, and nothing is guessed.
 *
 * The attempts left come from `AT+QPINC="SC"` (Quectel) or `AT+CPINR="SIM PIN"` (3GPP TS 27.007
 * §8.65); a module with neither is fine, the count is then just not known. See docs/reliability.md.
 */

export type SimLockReason =
  /** The SIM refused the PIN just sent (`+CME ERROR: 16`, "incorrect password", or any failure). */
  | 'pin-refused'
  /** This PIN was refused for this port before: not sent again. */
  | 'pin-refused-before'
  /** The SIM has one attempt left (or none): the PIN is not sent. */
  | 'last-attempt'
  /** `+CPIN: SIM PUK`: blocked. */
  | 'puk'
  /** The SIM asks for a PIN and the line has none (or one that is not 4 to 8 digits). */
  | 'pin-missing';

/**
 * The SIM cannot be unlocked with the line's credentials. The line does NOT retry (retrying would
 * either change nothing or cost the SIM an attempt): it stays in this error until it is deployed
 * with new credentials. Never carries the PIN.
 */
export class SimLockedError extends VoiceError {
  constructor(
    message: string,
    readonly reason: SimLockReason,
    /** PIN attempts the SIM has left, when the module could tell. */
    readonly attemptsLeft?: number,
  ) {
    super(message, 'ESIMLOCKED');
  }
}

export interface SimUnlockOptions {
  /** The PIN from the line's credentials (never logged). */
  pin?: string;
  /** The module's profile: picks which attempts counter to ask first. */
  profile: ModemProfile | null;
  log: Logger;
  /** The serial port (its path): a refused PIN is remembered for this port. */
  port: string;
}

/**
 * PINs a SIM refused, per serial port, for the life of the process. Kept as salted hashes (the salt
 * is random per process), so that the memory holds nothing a heap dump could turn back into a PIN.
 * A port is the best name the host has for "this SIM": a SIM swapped on the same port keeps the
 * memory until Node-RED restarts, which errs on the side of the card.
 */
const SALT = randomBytes(16);
const refused = new Set<string>();

function fingerprint(port: string, pin: string): string {
  return createHash('sha256').update(SALT).update(port).update('\0').update(pin).digest('hex');
}

/** `SIM PIN`, `READY`, `SIM PUK`... from `AT+CPIN?`, or null when the module could not tell. */
async function simState(ch: AtChannel): Promise<string | null> {
  const r = await ch.send('AT+CPIN?', { expect: ['+CPIN:'], timeoutMs: 5000 });
  const line = r.lines.find((l) => l.startsWith('+CPIN:'));
  return line === undefined ? null : line.slice('+CPIN:'.length).trim().replace(/^"|"$/g, '').toUpperCase();
}

/**
 * PIN attempts left, or undefined when the module has no way to say. Quectel: `+QPINC: "SC",<pin>,<puk>`;
 * 27.007: `+CPINR: SIM PIN,<retries>,<default>`. Each is tried; one the module refuses is skipped.
 */
export async function pinAttemptsLeft(ch: AtChannel, profile: ModemProfile | null): Promise<number | undefined> {
  const qpinc = async (): Promise<number | undefined> => {
    const r = await ch.send('AT+QPINC="SC"', { expect: ['+QPINC:'], timeoutMs: 2000 });
    const m = r.lines.map((l) => /^\+QPINC:\s*"?SC"?\s*,\s*(\d+)/i.exec(l)).find(Boolean);
    return m ? Number(m[1]) : undefined;
  };
  const cpinr = async (): Promise<number | undefined> => {
    const r = await ch.send('AT+CPINR="SIM PIN"', { expect: ['+CPINR:'], timeoutMs: 2000 });
    const m = r.lines.map((l) => /^\+CPINR:\s*"?SIM PIN"?\s*,\s*(\d+)/i.exec(l)).find(Boolean);
    return m ? Number(m[1]) : undefined;
  };
  const order = profile?.name.startsWith('quectel') ? [qpinc, cpinr] : [cpinr, qpinc];
  for (const ask of order) {
    try {
      const n = await ask();
      if (n !== undefined) return n;
    } catch (err) {
      if (err instanceof AtError && (err.kind === 'closed' || err.kind === 'unresponsive')) throw err;
      // ERROR: the module has no such command. The other one, or nothing.
    }
  }
  return undefined;
}

function attempts(n: number | undefined): string {
  if (n === undefined) return '';
  return ` (${n} attempt${n === 1 ? '' : 's'} left)`;
}

const SET_PIN = "set the right PIN in the line's credentials and deploy";

/**
 * Brings the SIM to READY, or throws a {@link SimLockedError} (the line must not retry) or another
 * error (the line may retry: e.g. `PH-SIM PIN`, which no PIN of ours changes either, but costs
 * nothing to ask again). A module that cannot tell the SIM state (no `AT+CPIN?`) is left as is:
 * calls will fail, and say why.
 */
export async function unlockSim(ch: AtChannel, opts: SimUnlockOptions): Promise<void> {
  const { log } = opts;
  let state: string | null;
  try {
    state = await simState(ch);
  } catch (err) {
    if (err instanceof AtError && (err.kind === 'closed' || err.kind === 'unresponsive')) throw err;
    log.warn(`SIM state unknown: ${(err as Error).message}`);
    return;
  }
  if (state === null) {
    log.warn('SIM state unknown: AT+CPIN? gave no +CPIN line');
    return;
  }
  if (state === 'READY') return;
  if (state === 'SIM PUK') {
    throw locked(log, 'puk', 'the SIM is blocked: it needs its PUK (enter it with another device or AT+CPIN="<PUK>","<new PIN>", then deploy)');
  }
  if (state !== 'SIM PIN') throw new Error(`the SIM is locked (${state}); unlock it first`);

  const pin = opts.pin ?? '';
  if (pin === '') throw locked(log, 'pin-missing', "the SIM needs a PIN: set it in the line's credentials");
  if (!/^[0-9]{4,8}$/.test(pin)) throw locked(log, 'pin-missing', "the SIM PIN must be 4 to 8 digits: correct it in the line's credentials");

  const left = await pinAttemptsLeft(ch, opts.profile);
  const key = fingerprint(opts.port, pin);
  if (refused.has(key)) {
    throw locked(log, 'pin-refused-before', `the SIM refused this PIN before${attempts(left)}: not sent again; ${SET_PIN}`, left);
  }
  if (left !== undefined && left <= 1) {
    throw locked(
      log,
      'last-attempt',
      `the SIM has ${left} PIN attempt${left === 1 ? '' : 's'} left: PIN not sent (a wrong one would block the SIM); ` +
        'unlock it by hand (AT+CPIN) or with another device, then deploy',
      left,
    );
  }
  try {
    await ch.send(`AT+CPIN="${pin}"`, { secret: true, timeoutMs: 5000 });
  } catch (err) {
    // The port went away mid-command: the next connect asks the SIM again (and its attempts counter).
    if (err instanceof AtError && (err.kind === 'closed' || err.kind === 'unresponsive')) throw err;
    // Refused, or no answer in time (the SIM may have counted it): never risked twice.
    refused.add(key);
    const after = await pinAttemptsLeft(ch, opts.profile).catch(() => undefined);
    const nowPuk = (await simState(ch).catch(() => null)) === 'SIM PUK';
    if (nowPuk) throw locked(log, 'puk', 'the SIM refused the PIN and is now blocked: it needs its PUK', 0);
    const why = err instanceof AtError && err.final ? ` (${err.final})` : '';
    throw locked(log, 'pin-refused', `the SIM refused the PIN${attempts(after)}: ${SET_PIN}${why}`, after);
  }
}

function locked(log: Logger, reason: SimLockReason, message: string, left?: number): SimLockedError {
  log.error(message);
  return new SimLockedError(message, reason, left);
}
