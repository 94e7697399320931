import { SessionState } from 'sip.js';
import type { Session, SessionDescriptionHandlerModifier } from 'sip.js';
import { C, NonInviteClientTransaction, UserAgentClient } from 'sip.js/lib/core';
import type { SessionDialog } from 'sip.js/lib/core';
import type { IncomingResponse, IncomingResponseMessage } from 'sip.js/lib/core';
import type { Call } from '../call/call';
import { CallStateError, CommandFailedError } from '../errors';
import type { RtpDescriptionHandlerOptions } from './rtp-description-handler';
import type { SipCallContext } from './sip-call-context';

/** What the re-INVITE / UPDATE helper needs of the backend. */
export type SipReofferContext = Pick<SipCallContext, 'sessionOf' | 'shape'>;

export interface SipReofferOptions {
  /** `INVITE` (default: a re-INVITE, always with our SDP offer) or `UPDATE` (RFC 3311). */
  method?: 'INVITE' | 'UPDATE';
  /** Words for errors: `hold`, `resume`, `session refresh`. */
  what: string;
  /** Our offer's options (hold: `{ hold: true }`; resume: `{}`). */
  media?: RtpDescriptionHandlerOptions;
  /** UPDATE only: carry an SDP offer (default false: a session refresh without SDP). */
  sdp?: boolean;
  /** Header lines of the caller's own; the features' `outgoing` hooks add theirs (kind `reinvite` / `update`). */
  headers?: string[];
}

/**
 * Sends a re-INVITE or an UPDATE on a connected call and settles when it is answered: 2xx → resolves
 * with the response (after sip.js applied its SDP); any other final answer → CommandFailedError (sip.js
 * rolled the offer back); the call ended meanwhile, or no established session → CallStateError. The
 * features shape it (SipCallFeature.outgoing, kind `reinvite` / `update`: Session-Expires...). One
 * module for hold / resume, swap, call-waiting hold and session refresh.
 *
 * sip.js 0.21 sends re-INVITEs (Session.invite) but has no UPDATE: that one is a non-INVITE client
 * transaction in the session's dialog (RFC 3311: same CSeq space, no ACK), as sip.js sends its BYE.
 */
export function reoffer(ctx: SipReofferContext, call: Call, options: SipReofferOptions): Promise<IncomingResponseMessage> {
  const session = ctx.sessionOf(call);
  const what = options.what;
  if (!session || session.state !== SessionState.Established) {
    return Promise.reject(new CallStateError(`call ${call.id} has no established SIP session for the ${what}`));
  }
  const method = options.method ?? 'INVITE';
  const out = ctx.shape({ kind: method === 'INVITE' ? 'reinvite' : 'update', call, headers: [...(options.headers ?? [])], sdpModifiers: [] });
  return new Promise<IncomingResponseMessage>((resolve, reject) => {
    const onState = (state: SessionState): void => {
      if (state !== SessionState.Terminated) return;
      session.stateChange.removeListener(onState);
      reject(new CallStateError(`call ${call.id} ended before the ${what} was answered`));
    };
    session.stateChange.addListener(onState);
    const settle = (fn: () => void): void => {
      session.stateChange.removeListener(onState);
      fn();
    };
    const accepted = (response: IncomingResponseMessage): void =>
      settle(() => {
        // sip.js calls onAccept also after it gave up on an unusable answer (ACK + BYE).
        if (session.state === SessionState.Terminated || call.ended) {
          reject(new CallStateError(`call ${call.id} ended: the answer to the ${what} could not be used`));
          return;
        }
        resolve(response);
      });
    const refused = (response: IncomingResponseMessage): void =>
      settle(() => reject(new CommandFailedError(`the other side refused the ${what}: ${startLine(response)}`, startLine(response))));
    const notSent = (err: Error): void =>
      // A re-INVITE of ours still pending (RequestPendingError), the session ended...
      settle(() => reject(new CallStateError(`call ${call.id}: the ${what} cannot be sent now: ${err.message}`)));
    if (method === 'INVITE') {
      session
        .invite({
          requestOptions: { extraHeaders: out.headers },
          sessionDescriptionHandlerOptions: (options.media ?? {}) as RtpDescriptionHandlerOptions,
          sessionDescriptionHandlerModifiers: out.sdpModifiers,
          requestDelegate: {
            onAccept: (r: IncomingResponse) => accepted(r.message),
            onReject: (r: IncomingResponse) => refused(r.message),
          },
        })
        .catch(notSent);
      return;
    }
    sendUpdate(session, out.headers, options.sdp ? { media: options.media ?? {}, modifiers: out.sdpModifiers } : undefined, accepted, refused).catch(notSent);
  });
}

/** An UPDATE in the session's dialog, with our SDP offer when `offer` is given; its answer is applied on 2xx. */
async function sendUpdate(
  session: Session,
  extraHeaders: string[],
  offer: { media: RtpDescriptionHandlerOptions; modifiers: SessionDescriptionHandlerModifier[] } | undefined,
  accepted: (m: IncomingResponseMessage) => void,
  refused: (m: IncomingResponseMessage) => void,
): Promise<void> {
  // The API types the dialog as its interface; it is the core's SessionDialog (core/dialogs), whose
  // createOutgoingRequestMessage builds an in-dialog request (route set, CSeq + 1) as its BYE does.
  const dialog = session.dialog as SessionDialog | undefined;
  if (!dialog) throw new Error('the session has no dialog');
  const sdh = session.sessionDescriptionHandler;
  if (offer && !sdh) throw new Error('the session has no media');
  const body = offer && sdh ? await sdh.getDescription(offer.media, offer.modifiers) : undefined;
  const message = dialog.createOutgoingRequestMessage(C.UPDATE, {
    extraHeaders,
    ...(body ? { body: { contentDisposition: 'session', contentType: body.contentType, content: body.body } } : {}),
  });
  new UserAgentClient(NonInviteClientTransaction, dialog.userAgentCore, message, {
    onAccept: (r) => {
      const answer = r.message.body;
      if (!body || !sdh || !answer) return accepted(r.message);
      sdh.setDescription(answer, offer?.media, offer?.modifiers).then(
        () => accepted(r.message),
        (err: Error) => refused(Object.assign(r.message, { reasonPhrase: `${r.message.reasonPhrase ?? ''} (its SDP: ${err.message})` })),
      );
    },
    onReject: (r) => refused(r.message),
    onRedirect: (r) => refused(r.message),
  });
}

export function startLine(m: IncomingResponseMessage): string {
  return `SIP/2.0 ${m.statusCode ?? ''} ${m.reasonPhrase ?? ''}`.trim();
}
