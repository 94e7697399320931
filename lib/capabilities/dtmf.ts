import { Call } from '../call/call';

/**
 * DTMF on a line. Received digits are reported on the call as `call.report('dtmf', { digit, ... })`
 * (one report per key press), which the line turns into `dtmf` events and feeds to gathers.
 */
export interface DtmfCapability {
  /**
   * Sends `digits` (already validated: 0-9 * # A-D) into a connected call, each lasting
   * `durationMs` (100–1000). MUST resolve only when the modem/peer accepted all of them.
   */
  send(call: Call, digits: string, options: { durationMs: number }): Promise<void>;
  /**
   * Makes sure received digits are reported for this call (AT: `AT+QTONEDET=1`, re-applied after a
   * restart). MUST throw NotSupportedError when the module cannot detect DTMF.
   */
  enableDetection(call: Call): Promise<void>;
}
