import { Call } from '../../call/call';
import { AudioCapability, PlaySource, Playback, Recording, RecordingOptions } from '../../capabilities';
import { NotSupportedError } from '../../errors';
import { AtFeatureContext, AtFeatureHooks } from '../at-feature';

/** Recording (`AT+QAUDRD`), streaming and playback (`AT+QPCMV`). Not written yet: the AT feature issue. */
export class AtAudio implements AudioCapability, AtFeatureHooks {
  readonly name = 'audio';

  constructor(private readonly ctx: AtFeatureContext) {}

  async record(_call: Call, _options: RecordingOptions): Promise<Recording> {
    throw new NotSupportedError(`recording is not implemented yet on this line (${this.ctx.describeModem()})`);
  }

  async play(_call: Call, _source: PlaySource): Promise<Playback> {
    throw new NotSupportedError(`playing audio is not implemented yet on this line (${this.ctx.describeModem()})`);
  }
}
