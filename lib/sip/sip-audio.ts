import type { Call } from '../call/call';
import type { AudioCapability, Playback, Recording, RecordingOptions } from '../capabilities/audio';
import { NotSupportedError } from '../errors';
import type { SipCallContext, SipCallFeature } from './sip-call-context';

/** Call audio on a SIP line, from the call's RTP session. (Being built.) */
export class SipAudio implements AudioCapability, SipCallFeature {
  readonly name = 'audio';
  constructor(private readonly ctx: SipCallContext) {}

  async record(_call: Call, _options: RecordingOptions): Promise<Recording> {
    throw this.notYet('recording calls');
  }

  async play(_call: Call, _pcm: Int16Array): Promise<Playback> {
    throw this.notYet('playing audio');
  }

  private notYet(what: string): NotSupportedError {
    return new NotSupportedError(`${what} is not supported on a SIP line (${this.ctx.description()}) in this version`);
  }
}
