import type { Call } from '../call/call';
import type { ForwardingCapability, ForwardRequest, ForwardRule } from '../capabilities/forwarding';
import { NotSupportedError } from '../errors';
import type { SipCallContext, SipCallFeature } from './sip-call-context';

/** What to do with a REFER the other side sends (it asks us to call someone and leave this call). */
export type IncomingReferPolicy = 'follow' | 'refuse';
export const INCOMING_REFER_POLICIES: readonly IncomingReferPolicy[] = ['follow', 'refuse'];

export interface SipForwardingOptions {
  /** Default `refuse`. */
  incomingRefer?: IncomingReferPolicy;
}

/**
 * Forwarding on a SIP line. Network forwarding rules are the mobile network's (`AT+CCFC`): a SIP line
 * has none. (Being built: redirect by 302, transfer by REFER.)
 */
export class SipForwarding implements ForwardingCapability, SipCallFeature {
  readonly name = 'forwarding';
  constructor(
    private readonly ctx: SipCallContext,
    readonly options: SipForwardingOptions = {},
  ) {}

  async setRule(_request: ForwardRequest): Promise<ForwardRule[]> {
    throw new NotSupportedError(
      `network forwarding rules are not supported on a SIP line (${this.ctx.description()}): they are the mobile network's (AT+CCFC); set forwarding on the PBX`,
    );
  }

  async divert(_call: Call, _number: string): Promise<void> {
    throw this.notYet('diverting a call');
  }

  async transferToCall(_call: Call, _other: Call): Promise<void> {
    throw this.notYet('transferring a call');
  }

  private notYet(what: string): NotSupportedError {
    return new NotSupportedError(`${what} is not supported on a SIP line (${this.ctx.description()}) in this version`);
  }
}
