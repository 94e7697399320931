import { VoiceError } from '../errors';

/**
 * No RTP port could be bound in the configured range: every pair is held by a call of this process
 * or by another program. The SIP layer answers a new call with 503 (and fails a dial) when it sees it.
 */
export class RtpPortsExhaustedError extends VoiceError {
  constructor(message: string) {
    super(message, 'ENOPORTS');
  }
}
