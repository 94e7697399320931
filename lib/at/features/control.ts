import { Call } from '../../call/call';
import { AudioChannel, ControlCapability } from '../../capabilities';
import { NotSupportedError } from '../../errors';
import { AtFeatureContext, AtFeatureHooks } from '../at-feature';

/** Hold / resume / swap, mute, volume and audio channel over AT. Not written yet: the AT feature issue. */
export class AtControl implements ControlCapability, AtFeatureHooks {
  readonly name = 'control';

  constructor(private readonly ctx: AtFeatureContext) {}

  private notYet(what: string): never {
    throw new NotSupportedError(`${what} is not implemented yet on this line (${this.ctx.describeModem()})`);
  }

  async hold(_call: Call): Promise<void> {
    this.notYet('hold');
  }
  async resume(_call: Call): Promise<void> {
    this.notYet('resume');
  }
  async swap(): Promise<void> {
    this.notYet('swap');
  }
  async setMute(_on: boolean): Promise<void> {
    this.notYet('mute');
  }
  async setVolume(_level: number): Promise<void> {
    this.notYet('volume');
  }
  async getVolume(): Promise<number> {
    this.notYet('volume');
  }
  async setChannel(_channel: AudioChannel): Promise<void> {
    this.notYet('the audio channel');
  }
}
