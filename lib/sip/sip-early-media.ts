import { Inviter, SessionState } from 'sip.js';
import type { Session } from 'sip.js';
import type { IncomingResponseMessage } from 'sip.js/lib/core';
import type { Call } from '../call/call';
import { RtpDescriptionHandler } from './rtp-description-handler';
import type { SipCallContext, SipCallFeature } from './sip-call-context';

/** What the early media feature needs of the backend: a log. */
export type SipEarlyMediaContext = Pick<SipCallContext, 'log'>;

/** The parts of sip.js 0.21.2's Inviter (api/inviter.js) this feature reads and wraps: private there. */
interface InviterInside {
  earlyMediaDialog?: unknown;
  onAccept?: (inviteResponse: { message: IncomingResponseMessage; session: unknown }) => Promise<void>;
}

/**
 * Early media of an outgoing call (docs/sip-backend.md, "Early media"), a feature of SIP_FEATURES
 * (lib/sip/sip-features.ts). Our INVITE carries the offer
 * and the Inviter runs with `earlyMedia: true`: sip.js applies the answer in the first 18x with SDP
 * (the call is `early-media`, its RtpSession plays, records and detects keys from then), and when
 * the call is answered the same RtpSession goes on. Two things sip.js 0.21.2 does not do, done here:
 *
 * - **The 200's SDP differs from the 18x's** (a gateway whose announcement came from another media
 *   address than the answered call; RFC 3261 §13.2.1 tells the UAC to ignore a later SDP, and sip.js
 *   does): the media follows the 200's SDP ({@link RtpDescriptionHandler.followAnswer}); an SDP that
 *   cannot be used is logged and the media stays as it was.
 * - **The INVITE forked**: the early media came in one early dialog, the 200 in another. sip.js ends
 *   such a call (ACK, BYE with 488, "Early media dialog does not equal confirmed dialog": a WebRTC
 *   offer cannot take a second answer). Our offer can: the answered dialog becomes the one followed,
 *   and the media follows its 200's SDP as above. The other early dialogs end as sip.js ends them
 *   (the proxy cancels their branches); until the answered side's first packet the RtpSession may
 *   still latch to the old source's last packets, and moves once that source is silent (relatchMs).
 *
 * Early media of several forks at once: sip.js follows the first early dialog with SDP, the others'
 * SDP is not applied (their packets are dropped as foreign once the first side's are latched).
 */
export class SipEarlyMedia implements SipCallFeature {
  readonly name = 'early-media';

  constructor(private readonly ctx: SipEarlyMediaContext) {}

  attach(call: Call, session: Session): void {
    if (!(session instanceof Inviter)) return;
    const inside = session as unknown as InviterInside;
    const original = inside.onAccept;
    if (typeof original !== 'function') {
      this.ctx.log.warn(`sip early media: sip.js's Inviter has no onAccept to follow (call ${call.id}): a forked early dialog would end the call`);
      return;
    }
    const log = this.ctx.log;
    inside.onAccept = function (this: Inviter, inviteResponse) {
      const early = inside.earlyMediaDialog;
      if (early !== undefined && early !== inviteResponse.session && session.state === SessionState.Establishing) {
        log.info(`sip early media: call ${call.id} was answered in another dialog than its early media's (the INVITE forked): following the answered one`);
        inside.earlyMediaDialog = inviteResponse.session;
      }
      const accepted = original.call(this, inviteResponse);
      if (early !== undefined) followFinalAnswer(call, session, inviteResponse.message, log);
      return accepted;
    };
  }
}

/** After early media: the 200's SDP, when it has one, is the answer the media follows from now. */
function followFinalAnswer(call: Call, session: Inviter, message: IncomingResponseMessage, log: SipEarlyMediaContext['log']): void {
  const handler = RtpDescriptionHandler.of(session);
  const body = message.body;
  if (!handler || !body || !handler.hasDescription(String(message.getHeader('content-type') ?? ''))) return;
  handler.followAnswer(body).then(
    (changed) => {
      if (changed) log.info(`sip early media: call ${call.id}: the 200's SDP differs from the early media's: the media follows it`);
    },
    (err: Error) => log.warn(`sip early media: call ${call.id}: the 200's SDP cannot be used (${err.message}): the media stays as the early media's`),
  );
}
