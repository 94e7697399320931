import { Call, CallReport } from '../call/call';
import { MAX_DTMF_DIGITS, isDtmfSymbol } from '../capabilities/dtmf';
import { InvalidInputError } from '../errors';
import { describe, printable } from '../validate';

/**
 * Collecting DTMF digits on one call ("gather"), the same for every backend: it listens to the
 * line's `report` events (each `dtmf` report of its call is one key press) and ends for exactly one
 * {@link GatherEndReason}.
 *
 * ```
 *   start ──(first-digit timeout)──────────────────────────► first-digit-timeout
 *     │
 *     └─ digit ─► collecting ──(inter-digit timeout)───────► inter-digit-timeout
 *                  │  ▲  │
 *                  └──┘  ├──(finish key, not kept)──────────► finish-key
 *                 digit  └──(maxDigits reached)─────────────► max-digits
 *
 *   at any point: the call ends ──► call-ended;  cancel() or a newer gather ──► cancelled
 * ```
 *
 * Digits pressed before the gather started are not counted (there is no buffer of earlier digits),
 * except the ones handed to it as `pressed`: the key that stopped a prompt (voice-play's barge-in)
 * is the caller's first answer, and a flow that wires the prompt into the gather passes it on.
 */
export type GatherEndReason = 'max-digits' | 'finish-key' | 'first-digit-timeout' | 'inter-digit-timeout' | 'call-ended' | 'cancelled';

export interface GatherResult {
  /** The digits collected, in order, without the finish key. */
  digits: string;
  reason: GatherEndReason;
}

export interface GatherOptions {
  /** Ends the gather when this many digits were collected (1 to 64). */
  maxDigits: number;
  /** The key that ends the gather (not kept in the digits), or null for none. */
  finishKey: string | null;
  /** Wait for the first digit, in ms; 0: wait until another reason ends it. */
  firstDigitTimeoutMs: number;
  /** Wait after each digit for the next one, in ms; 0: no limit. */
  interDigitTimeoutMs: number;
}

/** What a gather does when a flow does not say: up to 64 digits ended by `#`, 5 s for the first, 3 s between. */
export const GATHER_DEFAULTS: Readonly<GatherOptions> = Object.freeze({
  maxDigits: MAX_DTMF_DIGITS,
  finishKey: '#',
  firstDigitTimeoutMs: 5000,
  interDigitTimeoutMs: 3000,
});

/** Longest timeout accepted: 10 minutes. */
export const MAX_GATHER_TIMEOUT_MS = 600_000;

const OPTION_NAMES = Object.keys(GATHER_DEFAULTS) as (keyof GatherOptions)[];

/**
 * Reads gather options from a flow (`msg.gather`, or the node's settings): every property optional,
 * defaults from {@link GATHER_DEFAULTS}, numbers also as numeric strings. Throws
 * {@link InvalidInputError} for a value out of range or an unknown property (a typo such as
 * `maxdigits` must not be ignored silently).
 */
export function checkGatherOptions(input: unknown = {}): GatherOptions {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidInputError(`the gather options must be an object, got ${describe(input)}`);
  }
  const given = input as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(OPTION_NAMES as string[]).includes(key)) {
      throw new InvalidInputError(`unknown gather option "${printable(key)}": use ${OPTION_NAMES.join(', ')}`);
    }
  }
  const pick = (key: keyof GatherOptions): unknown => (given[key] === undefined ? GATHER_DEFAULTS[key] : given[key]);
  return {
    maxDigits: checkInteger(pick('maxDigits'), 'maxDigits', 1, MAX_DTMF_DIGITS),
    finishKey: checkFinishKey(pick('finishKey')),
    firstDigitTimeoutMs: checkInteger(pick('firstDigitTimeoutMs'), 'firstDigitTimeoutMs', 0, MAX_GATHER_TIMEOUT_MS),
    interDigitTimeoutMs: checkInteger(pick('interDigitTimeoutMs'), 'interDigitTimeoutMs', 0, MAX_GATHER_TIMEOUT_MS),
  };
}

function checkInteger(value: unknown, name: string, min: number, max: number): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new InvalidInputError(`the gather option ${name} must be a whole number from ${min} to ${max}, got ${describe(value)}`);
  }
  return n;
}

/** One DTMF symbol, or `null` / `''` / `"none"` for no finish key. */
function checkFinishKey(value: unknown): string | null {
  if (value === null || value === '' || value === 'none') return null;
  const key = typeof value === 'string' ? value.toUpperCase() : value;
  if (!isDtmfSymbol(key)) {
    throw new InvalidInputError(`the gather option finishKey must be one of 0-9, *, #, A-D or "none", got ${describe(value)}`);
  }
  return key;
}

/** Where a gather hears key presses: the line (its `report` events). */
export interface ReportSource {
  on(event: 'report', listener: (report: CallReport) => void): unknown;
  off(event: 'report', listener: (report: CallReport) => void): unknown;
}

/** Timers, replaceable by a test clock. */
export interface GatherClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const REAL_CLOCK: GatherClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * One gather on one call. It starts listening when constructed and ends once: {@link result}
 * resolves (never rejects) and every listener and timer it added is removed.
 */
export class Gather {
  readonly result: Promise<GatherResult>;
  private digits = '';
  private timer: unknown = null;
  private finished: GatherResult | null = null;
  private resolve!: (r: GatherResult) => void;
  private readonly onReport = (r: CallReport): void => this.take(r);
  private readonly onEnded = (): void => this.finish('call-ended');

  constructor(
    readonly call: Call,
    private readonly source: ReportSource,
    readonly options: Readonly<GatherOptions>,
    private readonly clock: GatherClock = REAL_CLOCK,
    pressed = '',
  ) {
    this.result = new Promise((resolve) => (this.resolve = resolve));
    if (call.ended) {
      this.finish('call-ended');
      return;
    }
    source.on('report', this.onReport);
    call.once('ended', this.onEnded);
    this.arm(options.firstDigitTimeoutMs, 'first-digit-timeout');
    for (const digit of pressed) this.press(digit);
  }

  /** True until the gather has ended. */
  get active(): boolean {
    return this.finished === null;
  }

  /** Ends the gather now (`cancelled`), keeping the digits collected so far. */
  cancel(): void {
    this.finish('cancelled');
  }

  private take(r: CallReport): void {
    if (r.call !== this.call || r.topic !== 'dtmf') return;
    this.press(r.payload.digit);
  }

  private press(digit: unknown): void {
    if (!this.active || !isDtmfSymbol(digit)) return; // the backend contract says a bad digit cannot come; never count it
    if (digit === this.options.finishKey) {
      this.finish('finish-key');
      return;
    }
    this.digits += digit;
    if (this.digits.length >= this.options.maxDigits) this.finish('max-digits');
    else this.arm(this.options.interDigitTimeoutMs, 'inter-digit-timeout');
  }

  /** (Re)starts the one timer; 0 ms means no limit. */
  private arm(ms: number, reason: GatherEndReason): void {
    this.disarm();
    if (ms > 0) this.timer = this.clock.setTimeout(() => this.finish(reason), ms);
  }

  private disarm(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private finish(reason: GatherEndReason): void {
    if (this.finished) return;
    this.finished = { digits: this.digits, reason };
    this.disarm();
    this.source.off('report', this.onReport);
    this.call.off('ended', this.onEnded);
    this.resolve(this.finished);
  }
}
