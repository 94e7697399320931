import { Call } from '../../call/call';
import { ForwardMode, ForwardReason, ForwardRule, ForwardingCapability } from '../../capabilities';
import { NotSupportedError } from '../../errors';
import { AtFeatureContext, AtFeatureHooks } from '../at-feature';

/** Call forwarding (`AT+CCFC`), divert (`AT+CTFR`), transfer (`AT+CHLD=4`). Not written yet: the AT feature issue. */
export class AtForwarding implements ForwardingCapability, AtFeatureHooks {
  readonly name = 'forwarding';

  constructor(private readonly ctx: AtFeatureContext) {}

  private notYet(what: string): never {
    throw new NotSupportedError(`${what} is not implemented yet on this line (${this.ctx.describeModem()})`);
  }

  async setRule(_reason: ForwardReason, _mode: ForwardMode, _number?: string): Promise<ForwardRule[]> {
    this.notYet('call forwarding');
  }
  async divert(_call: Call, _number: string): Promise<void> {
    this.notYet('diverting a call');
  }
  async transfer(_call: Call, _number: string): Promise<void> {
    this.notYet('transferring a call');
  }
  async transferToCall(_call: Call, _other: Call): Promise<void> {
    this.notYet('transferring a call');
  }
}
