import { Call } from '../../call/call';
import { DtmfCapability } from '../../capabilities';
import { NotSupportedError } from '../../errors';
import { AtFeatureContext, AtFeatureHooks } from '../at-feature';

/** DTMF over AT (`AT+VTS`, `+QTONEDET`). Not written yet: the AT feature issue. */
export class AtDtmf implements DtmfCapability, AtFeatureHooks {
  readonly name = 'dtmf';

  constructor(private readonly ctx: AtFeatureContext) {}

  async send(_call: Call, _digits: string, _options: { durationMs: number }): Promise<void> {
    throw new NotSupportedError(`sending DTMF is not implemented yet on this line (${this.ctx.describeModem()})`);
  }

  async enableDetection(_call: Call): Promise<void> {
    throw new NotSupportedError(`DTMF detection is not implemented yet on this line (${this.ctx.describeModem()})`);
  }
}
