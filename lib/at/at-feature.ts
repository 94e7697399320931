import { HangupRequest, Logger } from '../backend';
import { Call, CallInfo } from '../call/call';
import { AtChannel } from './at-channel';
import { ModemIdentity, ModemProfile } from './modem-profile';
import { SerialDevice } from './serial-device';
import type { AtBackendOptions } from './modem-backend';

/**
 * What an AT feature module (lib/at/features/) may use of the backend. The backend owns the port,
 * the channel and the call table; a feature only sends commands and reads URCs through it.
 */
export interface AtFeatureContext {
  readonly log: Logger;
  readonly options: Readonly<AtBackendOptions>;
  /** The channel while the line is ready; throws LineNotReadyError otherwise. */
  channel(): AtChannel;
  /** The module's profile (after identification); throws LineNotReadyError before. */
  profile(): ModemProfile;
  identity(): ModemIdentity | null;
  /** "Quectel EC200U (quectel-unisoc)": for NotSupportedError messages. */
  describeModem(): string;
  /** The modem's index of a call, polling AT+CLCC once if it is not known yet; CallStateError if none. */
  indexOf(call: Call): Promise<number>;
  calls(): Call[];
  /** The module's latest report of a call (^DSCI, ccinfo, +CLCC: its `multiparty` flag...), if any. */
  callInfo(call: Call): CallInfo | undefined;
  callByIndex(index: number): Call | undefined;
  /** The device the line opened (its emulator for `sim:` ports). */
  device(): SerialDevice | null;
  /** Asks for an AT+CLCC now (after a command that changes calls). */
  poll(): void;
  /** An AT+CLCC now, resolving once the call table follows it (a failed poll resolves too). */
  refresh(): Promise<void>;
  /**
   * Says how a call is about to end because of a command the feature sends (a divert ends the call
   * `redirected`, an explicit transfer `transferred`, by `local`): when the modem then releases it,
   * the call ends with this instead of a remote cause. `null` withdraws it (the command failed).
   */
  expectEnd(call: Call, end: HangupRequest | null): void;
}

/** Hooks a feature module gives the backend. All optional. */
export interface AtFeatureHooks {
  /** For logs: `dtmf`, `control`, `forwarding`, `audio`. */
  readonly name: string;
  /** URC handlers by prefix, installed on every new channel. */
  readonly urcs?: Readonly<Record<string, (line: string) => void>>;
  /**
   * After every initialisation (first connect, reconnect, modem restart): probe with `=?`, re-apply
   * volatile settings. A failure is logged and never stops the line from coming up.
   */
  onReady?(): Promise<void>;
  /** The channel is gone (port lost, modem restarted, stopping). */
  onDown?(): void;
  /** The line is stopping: release what the feature holds (a second port, a file). */
  stop?(): Promise<void>;
}
