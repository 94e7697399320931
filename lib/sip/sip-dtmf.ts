import { SessionState } from 'sip.js';
import type { Session } from 'sip.js';
import { Call } from '../call/call';
import { CallState } from '../call/call-state';
import { checkDtmfDigits, DtmfCapability, isDtmfSymbol } from '../capabilities/dtmf';
import { CallStateError, NotSupportedError } from '../errors';
import { RtpDescriptionHandler } from './rtp-description-handler';
import type { RtpSession } from './rtp-session';
import type { SipCallContext, SipCallFeature } from './sip-call-context';

/** What the SIP DTMF feature needs of the backend: the sip.js session of a call. */
export type SipDtmfContext = Pick<SipCallContext, 'sessionOf' | 'description'>;

/**
 * DTMF on a SIP line, through the call's media (RtpDescriptionHandler): RFC 4733 events by default,
 * in-band tones in `inband` mode. SIP INFO is not implemented yet: sending in that mode is a
 * NotSupportedError (from the handler). Received keys are reported by {@link reportDtmf}.
 */
export class SipDtmf implements DtmfCapability, SipCallFeature {
  readonly name = 'dtmf';
  constructor(private readonly ctx: SipDtmfContext) {}

  /** Reports the peer's keys from when the call is connected (sip.js made the media by then). */
  attach(call: Call, session: Session): void {
    const onState = (state: SessionState): void => {
      if (state !== SessionState.Established) return;
      session.stateChange.removeListener(onState);
      reportDtmf(call, session);
    };
    session.stateChange.addListener(onState);
  }

  async send(call: Call, digits: string, options: { durationMs: number }): Promise<void> {
    const checked = checkDtmfDigits(digits);
    if (call.state !== CallState.Active) throw new CallStateError(`call ${call.id} is ${call.state}: DTMF works only on a connected (active) call`);
    const handler = this.handlerOf(call);
    await handler.sendDigits(checked, options.durationMs);
  }

  /** The media reports every key it receives (RFC 4733 always; tones in `inband` mode): nothing to switch on. */
  async enableDetection(call: Call): Promise<void> {
    this.handlerOf(call);
  }

  private handlerOf(call: Call): RtpDescriptionHandler {
    const session = this.ctx.sessionOf(call);
    const handler = session && RtpDescriptionHandler.of(session);
    if (!handler) throw new NotSupportedError(`DTMF needs the call's media, which call ${call.id} has not got (${this.ctx.description()})`);
    return handler;
  }
}

/**
 * Reports the keys the peer presses on `call` (`call.report('dtmf', { digit, source })`), from the
 * moment its media exists, only while the call is connected (the DTMF contract).
 */
export function reportDtmf(call: Call, session: Session): void {
  const attach = (media: RtpSession): void => {
    media.on('dtmf', (d: { digit: string; source: string }) => {
      if (call.state !== CallState.Active && call.state !== CallState.Held) return;
      if (isDtmfSymbol(d.digit)) call.report('dtmf', { digit: d.digit, source: d.source });
    });
  };
  const handler = RtpDescriptionHandler.of(session);
  if (!handler) return;
  if (handler.session) attach(handler.session);
  else handler.once('session', attach);
}
