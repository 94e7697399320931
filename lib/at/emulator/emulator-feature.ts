import { Logger } from '../../backend';
import { AtCommand } from './at-command';
import type { EmulatedCallInfo, EmulatedModem } from './emulated-modem';
import { EmulatorProfile } from './profiles';

/** A command's answer: information lines, the final result, then what happens once it was sent. */
export interface EmulatorReply {
  info?: string[];
  final: string;
  after?: () => void;
}

/**
 * What a feature module of the emulator may use of the module it extends. Features (DTMF, audio
 * control, forwarding, recording, PCM) live in `features/`, one file each, so that the command
 * interpreter does not grow into one switch of everything.
 */
export interface EmulatorHost {
  readonly modem: EmulatedModem;
  readonly profile: EmulatorProfile;
  readonly log: Logger;
  ok(info?: string[]): EmulatorReply;
  /** `+CME ERROR: <code>` as the host's AT+CMEE asks (or plain ERROR). */
  cme(code: number): EmulatorReply;
  error(): EmulatorReply;
  /** Sends `\r\n<line>\r\n` now (when powered on and not silent). */
  urc(line: string): void;
  /** A timer the module clears when it closes; errors thrown by `fn` are logged. */
  schedule(ms: number, fn: () => void): NodeJS.Timeout;
  /** Calls not ended, in index order. */
  calls(): EmulatedCallInfo[];
  /**
   * Ends call `idx` as the module does: the state URC with the Q.850 cause, and when `by` is `remote`
   * the final result code (`NO CARRIER`...). A waiting call left alone starts ringing.
   */
  endCall(idx: number, q850: number, by: 'local' | 'remote'): void;
}

/** `undefined`: not this feature's (a form of a built-in command it does not extend): the module answers as usual. */
export type EmulatorCommandHandler = (cmd: AtCommand) => EmulatorReply | undefined;

export interface EmulatorFeature {
  /** Its name, for `modem.feature(name)`. */
  readonly name: string;
  /** Commands it answers, by upper-case name (`+VTS`, `+QAUDRD`); they take precedence over built-ins. */
  readonly commands: Readonly<Record<string, EmulatorCommandHandler>>;
  /** The module rebooted or got `AT&F`/`ATZ`: forget volatile settings. */
  reset?(): void;
  /** The module is closing: clear everything. Never throws. */
  close?(): void;
}

export type EmulatorFeatureFactory = (host: EmulatorHost) => EmulatorFeature;
