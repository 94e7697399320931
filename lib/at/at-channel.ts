/**
 * The AT command channel: one queue of commands over a modem's serial port, and the dispatch of every
 * other line as an unsolicited result code (URC).
 *
 * Why this is written by hand: the AT packages on npm send a command and collect lines until `OK`,
 * which is not enough for a 3GPP TS 27.007 voice modem. A URC (`RING`, `+CLIP:`, `^DSCI:`,
 * `+QIND: "ccinfo"`) can arrive in the middle of a command's answer and must reach its handler, not
 * the answer; a command must claim only its own info lines (by prefix, or bare lines for `ATI`); and
 * after a timeout the channel has to resynchronise (`AT` → `OK`, then a quiet period) so that a late
 * reply is never read as the next command's answer. No library does that attribution and resync, and
 * ModemManager, oFono and chan_quectel all carry their own for the same reason.
 *
 * The phases of the channel:
 *
 * ```
 *            send()                  final result
 *   idle ───────────────▶ command ──────────────────▶ idle (the next command)
 *    ▲                       │ timeout
 *    │                       ▼
 *    │                    resync ── no answer after resyncAttempts ─▶ unresponsive
 *    │                       │ AT → OK (or ERROR)                  (sends reject until close())
 *    │                       ▼
 *    └── resyncQuietMs ──  quiet   (each late final restarts the wait)
 *        without a final
 *
 *   any phase ── close(), or the port ends ──▶ closed
 * ```
 */
import { EventEmitter } from 'node:events';
import { Logger, SILENT_LOGGER } from '../backend';
import { describe, printable } from '../validate';
import { DATA_PROMPT, LineFramer, MAX_BINARY_LENGTH } from './line-framer';

/**
 * Which final results a command owns (the one ownership model of call outcomes, docs/architecture.md):
 * - `basic`: `OK`, `ERROR`, `+CME ERROR` / `+CMS ERROR`. Every command but the two below, `AT+CHLD`
 *   and `AT+CHUP` included: a `NO CARRIER` while they are in flight is about some call, not their answer.
 * - `answer` (`ATA`): basic, and `NO CARRIER` (V.250: the call to answer is gone). The backend sends
 *   `ATA` only when the ringing call is the only one, so a `NO CARRIER` then can only be about it.
 * - `dial` (`ATD`): basic, `CONNECT` (success), and every call progress result (27.007 / V.250:
 *   `BUSY`, `NO ANSWER`, `NO CARRIER`, `NO DIALTONE`): the dialled call's outcome.
 * A call progress result that no command in flight owns is a URC.
 */
export type FinalSet = 'basic' | 'answer' | 'dial';
const FINAL_SETS: readonly FinalSet[] = ['basic', 'answer', 'dial'];

export interface AtCommandOptions {
  /** Milliseconds to wait for the final result (default: the channel's `defaultTimeoutMs`). */
  timeoutMs?: number;
  /** The info-response prefixes this command claims, e.g. `['+CLCC:']`. */
  expect?: readonly string[];
  /** Also claim bare lines (`ATI`, `AT+CGMM`, `AT+CGMR` answer without a prefix). */
  expectBare?: boolean;
  /** The call progress results the command owns (default `basic`: none), see {@link FinalSet}. */
  finals?: FinalSet;
  /** Log the command as `<redacted>` (and never put it in a response or an error): `AT+CPIN="1234"`. */
  secret?: boolean;
  /** Written, followed by Ctrl-Z, when the modem's `> ` prompt arrives. */
  data?: string;
  /**
   * The command answers `CONNECT` (or `CONNECT <n>`), then raw bytes, then its info lines and final
   * result (`AT+QFDWL`, `AT+QFREAD`). The bytes come back as {@link AtResponse.data}, read exactly:
   * `<n>` of them, else `length` (give it when the module's `CONNECT` carries no length). The
   * `CONNECT` line itself is claimed as an info line.
   */
  binary?: { length?: number };
}

export interface AtResponse {
  /** The command as sent (`<redacted>` for a secret one). */
  command: string;
  /** The info lines the command claimed, in order. */
  lines: string[];
  /** The final result: `OK`, or `CONNECT...` for a `dial` command. */
  final: string;
  /** A `binary` command's raw bytes (absent when the module sent none). */
  data?: Buffer;
}

/**
 * - `error`: the modem answered with a failure final (`ERROR`, `+CME ERROR: n`, `BUSY`...).
 * - `timeout`: no final result in time.
 * - `closed`: the channel was closed, or its port ended, before the command finished.
 * - `unresponsive`: the modem did not answer `AT` after a timeout; reopen the port.
 */
export type AtErrorKind = 'error' | 'timeout' | 'closed' | 'unresponsive';

export class AtError extends Error {
  /** The failure final result, for kind `error`. */
  readonly final?: string;
  /** The info lines the command had claimed before it failed. */
  readonly lines: string[];
  /** The 27.007 code of a `+CME ERROR:` final, numeric (`+CME ERROR: 3`) or verbose (`operation not allowed`). */
  readonly cmeCode?: number;

  constructor(
    readonly kind: AtErrorKind,
    /** The command (`<redacted>` for a secret one). */
    readonly command: string,
    message: string,
    details: { final?: string; lines?: string[] } = {},
  ) {
    super(message);
    this.name = 'AtError';
    this.final = details.final;
    this.lines = details.lines ?? [];
    const code = details.final === undefined ? undefined : cmeErrorCode(details.final);
    if (code !== undefined) this.cmeCode = code;
  }
}

/**
 * The verbose texts of 3GPP TS 27.007 §9.2.1 (`AT+CMEE=2`) for the codes a line acts on, lower case.
 * Written out here because no maintained npm package carries the 27.007 table; only the general
 * errors are listed, the rest of a verbose answer keeps its text in `final`.
 */
const CME_TEXTS: ReadonlyMap<string, number> = new Map([
  ['phone failure', 0],
  ['no connection to phone', 1],
  ['operation not allowed', 3],
  ['operation not supported', 4],
  ['sim not inserted', 10],
  ['sim pin required', 11],
  ['sim puk required', 12],
  ['sim failure', 13],
  ['sim busy', 14],
  ['sim wrong', 15],
  ['incorrect password', 16],
  ['memory full', 20],
  ['invalid index', 21],
  ['not found', 22],
  ['memory failure', 23],
  ['no network service', 30],
  ['network timeout', 31],
  ['network not allowed - emergency calls only', 32],
  ['unknown', 100],
]);

/**
 * The 27.007 error code of a `+CME ERROR:` final result, in either form a module prints it:
 * numeric (`+CME ERROR: 30`, `AT+CMEE=1`) or verbose (`+CME ERROR: no network service`,
 * `AT+CMEE=2`, or a module that ignores `AT+CMEE=1`). `undefined` for any other line or text.
 */
export function cmeErrorCode(final: string): number | undefined {
  const m = /^\+CME ERROR:\s*(.*?)\s*$/i.exec(final);
  if (!m) return undefined;
  if (/^\d+$/.test(m[1])) return Number(m[1]);
  return CME_TEXTS.get(m[1].toLowerCase().replace(/\s+/g, ' '));
}

export interface AtChannelOptions {
  log?: Logger;
  /** Milliseconds a command waits for its final result unless it says otherwise (default 300). */
  defaultTimeoutMs?: number;
  /** How many `AT` probes after a timeout before the modem is unresponsive (default 3). */
  resyncAttempts?: number;
  /** Milliseconds each `AT` probe waits for `OK` (default 500). */
  resyncTimeoutMs?: number;
  /** Milliseconds without any final result before the next command is sent (default 100). */
  resyncQuietMs?: number;
  /** Passed to the {@link LineFramer} (default 4096). */
  maxLineLength?: number;
}

export type UrcHandler = (line: string) => void;

const REDACTED = '<redacted>';
const MAX_TIMER_MS = 2_147_483_647;
const CTRL_Z = '\x1a';
const ESC = '\x1b';
/** How much of a line the traffic log shows. */
const LOG_WIDTH = 200;
/** The call progress results: finals of a `dial` command, URCs otherwise. */
const DIAL_FAILURES: ReadonlySet<string> = new Set(['NO CARRIER', 'BUSY', 'NO ANSWER', 'NO DIALTONE']);
/** URCs without a `+XXX:` prefix, which a command that claims bare lines must still leave alone. */
const BARE_URCS: ReadonlySet<string> = new Set(['RING', 'RDY', ...DIAL_FAILURES]);
/**
 * A line shaped like an info response or a URC: `+CLIP: ...`, `^DSCI: ...`, and the vendor prefixes
 * `*` (Marvell: `*RADIOPOWER: 1`, gammu#841), `$`, `%` (Nordic `%XCONNSTAT:`) and `#` (Telit `#SRING:`).
 * A command that claims bare lines (`ATI`, `AT+CGMM`) never takes one of these for its answer.
 */
const PREFIXED = /^[+^*$%#][A-Za-z0-9_]+:/;

type Outcome = 'success' | 'failure';

/** Whether `line` is a final result of the set, and which. */
function finalOutcome(line: string, set: FinalSet): Outcome | undefined {
  if (line === 'OK') return 'success';
  if (line === 'ERROR' || line.startsWith('+CME ERROR:') || line.startsWith('+CMS ERROR:')) return 'failure';
  // Huawei firmware (E1750, gammu#94) answers a command it lacks with this instead of ERROR;
  // ModemManager's parser (mm-serial-parsers.c) takes it as a failure too.
  if (line === 'COMMAND NOT SUPPORT') return 'failure';
  if (set === 'dial') {
    if (line === 'CONNECT' || line.startsWith('CONNECT ')) return 'success';
    if (DIAL_FAILURES.has(line)) return 'failure';
  }
  if (set === 'answer' && line === 'NO CARRIER') return 'failure';
  return undefined;
}

interface Job {
  readonly command: string;
  /** What logs, responses and errors show: the command, or `<redacted>`. */
  readonly label: string;
  readonly timeoutMs: number;
  readonly expect: readonly string[];
  readonly expectBare: boolean;
  readonly finals: FinalSet;
  readonly data: string | undefined;
  dataSent: boolean;
  /** For a `binary` command: the length to read after a bare `CONNECT` (null: not a binary command). */
  readonly binary: { length?: number } | null;
  /** The binary block received. */
  received?: Buffer;
  readonly lines: string[];
  readonly resolve: (response: AtResponse) => void;
  readonly reject: (error: Error) => void;
}

type State =
  | { readonly phase: 'idle' }
  | { readonly phase: 'command'; readonly job: Job }
  /** Probing with `AT` after `stale` timed out. */
  | { readonly phase: 'resync'; readonly stale: Job; readonly attempt: number }
  /** `OK` came back: waiting until no final result arrives for `resyncQuietMs`. */
  | { readonly phase: 'quiet'; readonly stale: Job }
  | { readonly phase: 'unresponsive' }
  | { readonly phase: 'closed' };

interface Subscription {
  readonly handler: UrcHandler;
}

/**
 * One command queue over a serial port (a Duplex: serialport's `SerialPort`, `SerialPortMock`, or a
 * test stream pair). The channel reads the port through a {@link LineFramer} and writes commands to
 * it; it never closes the port, which belongs to its owner.
 *
 * Attribution: a line belongs to the command in flight only if it is a final result of its
 * {@link FinalSet}, starts with one of its `expect` prefixes, or (with `expectBare`) is a bare line that
 * is not a known URC. The echo of the command is dropped. Every other line is a URC: it goes to the
 * handler registered with the longest matching prefix ({@link onUrc}), then out as `urc`.
 *
 * Events:
 * - `urc` (line): every line not claimed by a command, after the handlers ran.
 * - `unknown-urc` (line): a URC no handler's prefix matched.
 * - `resync`: a command timed out and the channel starts probing with `AT` (once per episode).
 * - `resynced`: the probing got its `OK` and the quiet period passed; commands flow again.
 * - `unresponsive`: resynchronising failed; every `send()` now rejects until `close()`.
 * - `close`: the channel closed (by `close()`, or because the port ended or failed to write).
 *
 * The channel MUST NOT emit `error` or throw because of the bytes it reads; a URC handler that throws
 * is logged and does not disturb the channel.
 */
export class AtChannel extends EventEmitter {
  private readonly log: Logger;
  private readonly defaultTimeoutMs: number;
  private readonly resyncAttempts: number;
  private readonly resyncTimeoutMs: number;
  private readonly resyncQuietMs: number;
  private readonly framer: LineFramer;
  private readonly queue: Job[] = [];
  private readonly handlers = new Map<string, Subscription[]>();
  private state: State = { phase: 'idle' };
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly port: NodeJS.ReadWriteStream,
    options: AtChannelOptions = {},
  ) {
    super();
    if (port === null || typeof port !== 'object' || typeof port.pipe !== 'function' || typeof port.write !== 'function') {
      throw new TypeError(`"port" must be a readable and writable stream, got ${describe(port)}`);
    }
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`AtChannel options must be an object, got ${describe(options)}`);
    }
    this.log = checkLogger(options.log);
    this.defaultTimeoutMs = checkNumber('defaultTimeoutMs', options.defaultTimeoutMs, 300, 1);
    this.resyncAttempts = checkNumber('resyncAttempts', options.resyncAttempts, 3, 1, true);
    this.resyncTimeoutMs = checkNumber('resyncTimeoutMs', options.resyncTimeoutMs, 500, 1);
    this.resyncQuietMs = checkNumber('resyncQuietMs', options.resyncQuietMs, 100, 0);
    this.framer = new LineFramer({ maxLineLength: options.maxLineLength });
    this.framer.on('data', this.onLine);
    this.framer.on('end', this.onPortEnded);
    port.on('close', this.onPortEnded);
    port.pipe(this.framer);
  }

  /** True while a command is in flight or the channel is resynchronising. */
  get busy(): boolean {
    const { phase } = this.state;
    return phase === 'command' || phase === 'resync' || phase === 'quiet';
  }

  /** How many commands wait behind the one in flight. */
  get queueLength(): number {
    return this.queue.length;
  }

  /**
   * Queues a command (written as `command` + CR when its turn comes; one in flight at a time).
   * Resolves on `OK` (or `CONNECT` for `finals: 'dial'`); rejects with an {@link AtError}, or with a
   * `TypeError` naming the argument when the command or an option is not acceptable (nothing is sent).
   */
  send(command: string, options: AtCommandOptions = {}): Promise<AtResponse> {
    return new Promise<AtResponse>((resolve, reject) => {
      const job = makeJob(command, options, this.defaultTimeoutMs, resolve, reject);
      if (this.state.phase === 'closed') {
        reject(new AtError('closed', job.label, `${printable(job.label)} not sent: the AT channel is closed`));
      } else if (this.state.phase === 'unresponsive') {
        reject(unresponsiveError(job));
      } else {
        this.queue.push(job);
        this.pump();
      }
    });
  }

  /**
   * Calls `handler` with every URC that starts with `prefix`, unless a longer registered prefix also
   * matches (then only that one's handlers run). Returns the function that unsubscribes.
   */
  onUrc(prefix: string, handler: UrcHandler): () => void {
    if (typeof prefix !== 'string' || prefix === '') {
      throw new TypeError(`"prefix" must be a non-empty string, got ${describe(prefix)}`);
    }
    if (typeof handler !== 'function') throw new TypeError(`"handler" must be a function, got ${describe(handler)}`);
    const subscription: Subscription = { handler };
    const list = this.handlers.get(prefix) ?? [];
    list.push(subscription);
    this.handlers.set(prefix, list);
    return () => {
      const current = this.handlers.get(prefix);
      const index = current ? current.indexOf(subscription) : -1;
      if (!current || index < 0) return;
      current.splice(index, 1);
      if (current.length === 0) this.handlers.delete(prefix);
    };
  }

  /**
   * Stops reading the port (the port itself stays open: its owner closes it) and rejects the command
   * in flight and every queued one with kind `closed`. Calling it again does nothing.
   */
  close(): void {
    this.shutdown('the AT channel was closed');
  }

  private shutdown(reason: string): void {
    const previous = this.state;
    if (previous.phase === 'closed') return;
    this.enter({ phase: 'closed' });
    this.port.unpipe(this.framer);
    this.port.removeListener('close', this.onPortEnded);
    this.framer.removeListener('data', this.onLine);
    this.framer.removeListener('end', this.onPortEnded);
    this.framer.destroy();
    const pending = previous.phase === 'command' ? [previous.job, ...this.queue] : [...this.queue];
    this.queue.length = 0;
    this.log.debug(`AT channel closed: ${reason}`);
    for (const job of pending) {
      job.reject(new AtError('closed', job.label, `${printable(job.label)}: ${reason}`, { lines: job.lines }));
    }
    this.safeEmit('close');
  }

  private readonly onPortEnded = (): void => {
    this.shutdown('the serial port closed');
  };

  /** Leaves the current phase (and its timer) for `next`. */
  private enter(next: State): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    // Whatever binary block was expected, it belonged to the command that is over now.
    this.framer.cancelBinary();
    this.state = next;
  }

  /** Sends the next queued command if the channel is idle. */
  private pump(): void {
    if (this.state.phase !== 'idle') return;
    const job = this.queue.shift();
    if (!job) return;
    this.enter({ phase: 'command', job });
    // The timer is set before writing: a port may answer synchronously, inside write().
    this.timer = setTimeout(() => this.onTimeout(job), job.timeoutMs);
    // Armed before writing too: the bytes after CONNECT often come in the same chunk as the line.
    if (job.binary) this.framer.expectBinary(job.binary.length);
    this.log.debug(`→ ${printable(job.label, LOG_WIDTH)}`);
    this.write(`${job.command}\r`);
  }

  private write(text: string): void {
    this.port.write(text, (err?: Error | null) => {
      if (err) this.shutdown(`writing to the serial port failed: ${err.message}`);
    });
  }

  private readonly onLine = (line: string | Buffer): void => {
    const state = this.state;
    if (typeof line !== 'string') {
      this.onBinary(state, line);
      return;
    }
    switch (state.phase) {
      case 'command':
        this.onCommandLine(state.job, line);
        return;
      case 'resync':
      case 'quiet':
        this.onResyncLine(state, line);
        return;
      case 'closed':
        return;
      default:
        this.onIdleLine(line);
    }
  };

  /** A binary block from the framer: the data of the binary command in flight. */
  private onBinary(state: State, block: Buffer): void {
    if (state.phase === 'command' && state.job.binary && state.job.received === undefined) {
      state.job.received = block;
      this.log.debug(`← <binary: ${block.length} bytes>`);
      return;
    }
    this.log.debug(`a binary block of ${block.length} bytes no command is waiting for: dropped`);
  }

  private onCommandLine(job: Job, line: string): void {
    if (line === job.command) {
      this.log.debug(`← ${printable(job.label, LOG_WIDTH)} (echo, dropped)`);
      return;
    }
    this.logLine(line);
    if (line === DATA_PROMPT) {
      this.onPrompt(job);
      return;
    }
    const outcome = finalOutcome(line, job.finals);
    if (outcome) {
      this.finish(job, line, outcome);
    } else if (claims(job, line) || (job.expectBare && this.isBare(line)) || (job.binary !== null && isConnect(line))) {
      job.lines.push(line);
    } else {
      this.dispatchUrc(line);
    }
  }

  private onIdleLine(line: string): void {
    this.logLine(line);
    if (line === DATA_PROMPT) {
      this.onPrompt(undefined);
    } else if (finalOutcome(line, 'basic')) {
      this.log.debug(`stray ${printable(line)} with no command in flight: dropped`);
    } else {
      this.dispatchUrc(line);
    }
  }

  /**
   * While resynchronising: the echo of `AT` or of the timed-out command, and any late final result or
   * info line of that command, are stale and dropped; everything else is still a URC (a RING is never
   * lost). The call progress results (NO CARRIER, BUSY...) are URCs here too. The probe's answer may be
   * `ERROR` (oFono's phonesim, a module half way through its boot): the module is talking either way,
   * and the quiet period that follows absorbs a late final of the stale command whichever came first.
   */
  private onResyncLine(state: State & { phase: 'resync' | 'quiet' }, line: string): void {
    const { stale } = state;
    if (line === 'AT' || line === stale.command) {
      this.log.debug(`← ${line === 'AT' ? 'AT' : printable(stale.label, LOG_WIDTH)} (echo, dropped)`);
      return;
    }
    this.logLine(line);
    if (line === DATA_PROMPT) {
      this.onPrompt(undefined);
    } else if (finalOutcome(line, 'dial') && !DIAL_FAILURES.has(line)) {
      if (state.phase === 'resync' && finalOutcome(line, 'basic')) {
        this.enterQuiet(stale);
        return;
      }
      this.log.debug(`stale ${printable(line)} (late answer to ${printable(stale.label)}): dropped`);
      // A final result arrived: the modem is still talking, so the quiet period starts again.
      if (state.phase === 'quiet') this.enterQuiet(stale);
    } else if (claims(stale, line) || (stale.expectBare && this.isBare(line))) {
      this.log.debug(`stale ${printable(line)} (late answer to ${printable(stale.label)}): dropped`);
    } else {
      this.dispatchUrc(line);
    }
  }

  private onPrompt(job: Job | undefined): void {
    if (job && job.data !== undefined) {
      if (job.dataSent) {
        // Some modems prompt again after each line of the text: it is on its way already.
        this.log.debug('another data prompt for the same command: ignored');
        return;
      }
      job.dataSent = true;
      this.log.debug(`→ <data: ${job.data.length} characters>`);
      this.write(`${job.data}${CTRL_Z}`);
      return;
    }
    // A modem waiting for data would take the next commands as text: cancel with ESC.
    this.log.warn('the modem asked for data that no command has: cancelled with ESC');
    this.write(ESC);
  }

  private finish(job: Job, final: string, outcome: Outcome): void {
    this.enter({ phase: 'idle' });
    if (outcome === 'success') {
      job.resolve(job.received ? { command: job.label, lines: job.lines, final, data: job.received } : { command: job.label, lines: job.lines, final });
    } else {
      const message = `${printable(job.label)} failed: ${printable(final)}`;
      job.reject(new AtError('error', job.label, message, { final, lines: job.lines }));
    }
    this.pump();
  }

  private onTimeout(job: Job): void {
    const message = `${printable(job.label)}: no final result within ${job.timeoutMs} ms`;
    this.log.debug(`${message}: resynchronising`);
    job.reject(new AtError('timeout', job.label, message, { lines: job.lines }));
    this.safeEmit('resync');
    this.resync(job, 1);
  }

  private resync(stale: Job, attempt: number): void {
    if (attempt > this.resyncAttempts) {
      this.becomeUnresponsive();
      return;
    }
    this.enter({ phase: 'resync', stale, attempt });
    this.timer = setTimeout(() => this.resync(stale, attempt + 1), this.resyncTimeoutMs);
    this.log.debug(`→ AT (resync ${attempt}/${this.resyncAttempts})`);
    this.write('AT\r');
  }

  private enterQuiet(stale: Job): void {
    this.enter({ phase: 'quiet', stale });
    this.timer = setTimeout(() => {
      this.log.debug('AT channel resynchronised');
      this.enter({ phase: 'idle' });
      this.safeEmit('resynced');
      this.pump();
    }, this.resyncQuietMs);
  }

  private becomeUnresponsive(): void {
    this.enter({ phase: 'unresponsive' });
    this.log.warn(`the modem did not answer AT ${this.resyncAttempts} times: it is unresponsive`);
    const queued = this.queue.splice(0);
    for (const job of queued) job.reject(unresponsiveError(job));
    this.safeEmit('unresponsive');
  }

  /** A line a command with `expectBare` may claim: no known URC, no registered prefix, no `+XXX:`. */
  private isBare(line: string): boolean {
    return !BARE_URCS.has(line) && !PREFIXED.test(line) && this.handlerPrefix(line) === undefined;
  }

  private handlerPrefix(line: string): string | undefined {
    let best: string | undefined;
    for (const prefix of this.handlers.keys()) {
      if (line.startsWith(prefix) && (best === undefined || prefix.length > best.length)) best = prefix;
    }
    return best;
  }

  private dispatchUrc(line: string): void {
    const prefix = this.handlerPrefix(line);
    const subscriptions = prefix === undefined ? [] : [...(this.handlers.get(prefix) ?? [])];
    for (const { handler } of subscriptions) {
      try {
        handler(line);
      } catch (err) {
        this.log.warn(`the handler for "${printable(prefix ?? '')}" URCs failed on ${printable(line)}: ${errorText(err)}`);
      }
    }
    if (prefix === undefined) {
      this.log.debug(`unknown URC ${printable(line, LOG_WIDTH)}`);
      this.safeEmit('unknown-urc', line);
    }
    this.safeEmit('urc', line);
  }

  /** Emits without letting a listener's exception reach the stream that delivered the line. */
  private safeEmit(event: string, ...args: unknown[]): void {
    try {
      this.emit(event, ...args);
    } catch (err) {
      this.log.warn(`a listener of the AT channel's "${event}" event failed: ${errorText(err)}`);
    }
  }

  private logLine(line: string): void {
    this.log.debug(`← ${printable(line, LOG_WIDTH)}`);
  }
}

function isConnect(line: string): boolean {
  return line === 'CONNECT' || line.startsWith('CONNECT ');
}

function claims(job: Job, line: string): boolean {
  return job.expect.some((prefix) => line.startsWith(prefix));
}

function unresponsiveError(job: Job): AtError {
  return new AtError(
    'unresponsive',
    job.label,
    `${printable(job.label)} not sent: the modem is unresponsive (reopen the port)`,
  );
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : printable(String(err));
}

function makeJob(
  command: string,
  options: AtCommandOptions,
  defaultTimeoutMs: number,
  resolve: Job['resolve'],
  reject: Job['reject'],
): Job {
  if (typeof command !== 'string' || command === '' || /[\r\n\x1a\x1b]/.test(command)) {
    throw new TypeError(`"command" must be one line of text without CR, LF, Ctrl-Z or ESC, got ${describe(command)}`);
  }
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`AT command options must be an object, got ${describe(options)}`);
  }
  const expect = options.expect ?? [];
  if (!Array.isArray(expect) || !expect.every((p) => typeof p === 'string' && p !== '')) {
    throw new TypeError(`"expect" must be an array of non-empty strings, got ${describe(expect)}`);
  }
  const finals = options.finals ?? 'basic';
  if (!FINAL_SETS.includes(finals)) {
    throw new TypeError(`"finals" must be one of ${FINAL_SETS.join(', ')}, got ${describe(finals)}`);
  }
  const { data } = options;
  if (data !== undefined && (typeof data !== 'string' || /[\x1a\x1b]/.test(data))) {
    throw new TypeError(`"data" must be text without Ctrl-Z or ESC, got ${describe(data)}`);
  }
  const binary = checkBinary(options.binary);
  return {
    command,
    label: options.secret ? REDACTED : command,
    timeoutMs: checkNumber('timeoutMs', options.timeoutMs, defaultTimeoutMs, 1),
    expect: [...expect],
    expectBare: options.expectBare === true,
    finals,
    data,
    dataSent: false,
    binary,
    lines: [],
    resolve,
    reject,
  };
}

function checkBinary(binary: AtCommandOptions['binary']): { length?: number } | null {
  if (binary === undefined) return null;
  if (binary === null || typeof binary !== 'object') {
    throw new TypeError(`"binary" must be an object ({ length }), got ${describe(binary)}`);
  }
  const { length } = binary;
  if (length !== undefined && (!Number.isSafeInteger(length) || length < 0 || length > MAX_BINARY_LENGTH)) {
    throw new TypeError(`"binary.length" must be a whole number from 0 to ${MAX_BINARY_LENGTH}, got ${describe(length)}`);
  }
  return length === undefined ? {} : { length };
}

function checkNumber(name: string, value: unknown, fallback: number, min: number, integer = false): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < min ||
    value > MAX_TIMER_MS ||
    (integer && !Number.isInteger(value))
  ) {
    const kind = integer ? 'a whole number' : 'a number';
    throw new TypeError(`"${name}" must be ${kind} from ${min} to ${MAX_TIMER_MS}, got ${describe(value)}`);
  }
  return value;
}

function checkLogger(log: Logger | undefined): Logger {
  if (log === undefined) return SILENT_LOGGER;
  const methods = ['debug', 'info', 'warn', 'error'] as const;
  if (log === null || typeof log !== 'object' || !methods.every((m) => typeof log[m] === 'function')) {
    throw new TypeError(`"log" must have debug, info, warn and error methods, got ${describe(log)}`);
  }
  return log;
}
