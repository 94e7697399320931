import { Core, Invitation, Inviter, SessionState } from 'sip.js';
import type { Session, UserAgent } from 'sip.js';
import type { IncomingRequestMessage, IncomingResponse, IncomingResponseMessage, OutgoingRequestDelegate, OutgoingRequestMessage, ResponseOptions, SessionDialog } from 'sip.js/lib/core';
import type { Call } from '../call/call';
import type { SipCallContext, SipCallFeature, SipIncomingRefusal } from './sip-call-context';
import {
  answerRequest,
  expiryDelayMs,
  listsToken,
  parseMinSe,
  parseSessionExpires,
  planFromAnswer,
  refreshDelayMs,
  requestHeaders,
  retryAfter422,
  SessionTimerPlan,
  SessionTimerSettings,
} from './session-timer-rules';

/** What the session timers use of the backend. */
export type SessionTimerContext = Pick<SipCallContext, 'userAgent' | 'conclude' | 'log'>;

/** How long a refresh that could not be sent (another offer of the call in progress: 491, RequestPendingError) waits before it tries again. */
const REFRESH_RETRY_MS = 2000;

/** One call's timer. */
interface CallTimer {
  call: Call;
  session: Session;
  plan?: SessionTimerPlan;
  /** The other side's `Allow` lists UPDATE (from its INVITE, or its 2xx to ours): we refresh with UPDATE. */
  peerAllowsUpdate: boolean;
  refreshTimer?: NodeJS.Timeout;
  expiryTimer?: NodeJS.Timeout;
  /** The UPDATE refresh failed with a code that says the other side does not take UPDATE after all: re-INVITE from now on. */
  updateRefused?: boolean;
}

/**
 * Session timers (RFC 4028) on a SIP line's calls (docs/sip-backend.md, "Session timers"), the rules
 * in lib/sip/session-timer-rules.ts:
 * - our INVITE carries `Session-Expires` / `Min-SE` (and, as every request and response of the line,
 *   `Supported: timer`: the backend sets sip.js's `sipExtensionExtraSupported`); a 422 is retried once
 *   with the Min-SE it asks, as a new transaction of the same INVITE (same Call-ID and From tag, CSeq + 1):
 *   sip.js's own retry path, the one it uses for a 401 (UserAgentClient.authenticationGuard);
 * - our 200 to an INVITE says the interval and the refresher (or the INVITE is refused 422);
 * - the refresher refreshes at half the interval: by UPDATE when the other side's Allow lists it
 *   (no SDP, nothing renegotiated: RFC 4028 §7.4 recommends it), else by re-INVITE (sip.js's
 *   `Session.invite`, which offers the current SDP again, holds kept);
 * - their refreshes, by re-INVITE (sip.js answers it; we add our headers to its 200) or by UPDATE
 *   (with or without SDP: sip.js 0.21 has no UPDATE at all, see {@link SessionTimers.hookUpdate});
 * - with no refresh by the interval minus min(32 s, interval / 3) (RFC 4028 §10), or our refresh
 *   answered 408 / 481, we end the call with a BYE (`Reason: SIP;cause=408`) and the cause `session-expired`.
 */
export class SessionTimers implements SipCallFeature {
  readonly name = 'session-timer';
  private readonly timers = new Map<Call, CallTimer>();
  /** Per outgoing INVITE: the 2xx that established it (the core hook records it for `attach`). */
  private readonly answers = new WeakMap<OutgoingRequestMessage, IncomingResponseMessage>();
  private readonly hooked = new WeakSet<UserAgent>();
  /** An incoming INVITE's timer facts, from \`incoming\` (before the call is tracked) to \`attach\`. */
  private readonly inbound = new WeakMap<Session, { allowsUpdate: boolean }>();

  constructor(
    private readonly ctx: SessionTimerContext,
    readonly settings: SessionTimerSettings,
  ) {
    allowUpdate();
  }

  /** The timer headers of our initial INVITE. */
  inviteHeaders(): string[] {
    this.hookUserAgent();
    return requestHeaders(this.settings);
  }

  /**
   * An incoming INVITE: refused 422 when its Session-Expires is below our Min-SE (and it supports
   * timers); otherwise our 200 (whenever the call is answered) carries the timer's headers.
   */
  incoming(call: Call, invitation: Invitation): SipIncomingRefusal | void {
    const request = invitation.request;
    const answer = answerRequest(timerRequest(request), this.settings);
    if ('refuse' in answer) return { refuse: answer.refuse, why: answer.why, headers: answer.headers };
    this.inbound.set(invitation, { allowsUpdate: listsToken(request.getHeaders('allow'), 'UPDATE') });
    // sip.js's Invitation.accept takes extra headers for its 200: ours are added to whatever the caller gives.
    const accept = invitation.accept.bind(invitation);
    invitation.accept = (options = {}) => {
      const t = this.timers.get(call);
      if (t) t.plan = answer.plan;
      return accept({ ...options, extraHeaders: [...(options.extraHeaders ?? []), ...answer.headers] });
    };
  }

  attach(call: Call, session: Session): void {
    const t: CallTimer = { call, session, peerAllowsUpdate: this.inbound.get(session)?.allowsUpdate ?? false };
    this.timers.set(call, t);
    session.stateChange.addListener((state) => {
      if (state === SessionState.Established) this.established(t);
      else if (state === SessionState.Terminated) this.forget(t);
    });
  }

  async stop(): Promise<void> {
    for (const t of [...this.timers.values()]) this.forget(t);
  }

  /** The timer in force on a call (for tests and logs). */
  planOf(call: Call): SessionTimerPlan | undefined {
    return this.timers.get(call)?.plan;
  }

  // ── inside ────────────────────────────────────────────────────────────────────────────────────

  private established(t: CallTimer): void {
    const session = t.session;
    if (session instanceof Inviter) {
      const answer = this.answers.get(session.request);
      if (answer) {
        t.peerAllowsUpdate = listsToken(answer.getHeaders('allow'), 'UPDATE');
        t.plan = planFromAnswer(sessionExpiresOf(answer));
      }
    }
    const dialog = session.dialog as SessionDialog | undefined;
    if (dialog) {
      this.hookUpdate(t, dialog);
      this.hookReInvite(t);
    }
    this.arm(t, 'the call was answered');
  }

  private forget(t: CallTimer): void {
    clearTimeout(t.refreshTimer);
    clearTimeout(t.expiryTimer);
    t.refreshTimer = t.expiryTimer = undefined;
    if (this.timers.get(t.call) === t) this.timers.delete(t.call);
  }

  /** (Re)starts the call's clocks from now: our refresh at half the interval, the expiry either way. */
  private arm(t: CallTimer, why: string): void {
    clearTimeout(t.refreshTimer);
    clearTimeout(t.expiryTimer);
    t.refreshTimer = t.expiryTimer = undefined;
    const plan = t.plan;
    if (!plan || t.call.ended) return;
    this.ctx.log.debug(`sip: call ${t.call.id} session timer ${plan.interval} s, ${plan.weRefresh ? 'we refresh' : 'they refresh'} (${why})`);
    if (plan.weRefresh) t.refreshTimer = setTimeout(() => this.refresh(t), refreshDelayMs(plan.interval));
    t.expiryTimer = setTimeout(() => this.expire(t, `no session refresh within ${plan.interval} s (RFC 4028 §10)`), expiryDelayMs(plan.interval));
  }

  /** The plan a 2xx to our refresh sets (the answerer may change interval or refresher), from now. */
  private refreshed(t: CallTimer, response: IncomingResponseMessage): void {
    t.plan = planFromAnswer(sessionExpiresOf(response));
    this.arm(t, `our refresh was answered ${response.statusCode}`);
  }

  private refresh(t: CallTimer): void {
    t.refreshTimer = undefined;
    const session = t.session;
    if (!t.plan || session.state !== SessionState.Established) return;
    const headers = requestHeaders(this.settings, t.plan);
    const retryLater = (why: string): void => {
      this.ctx.log.debug(`sip: call ${t.call.id} session refresh postponed: ${why}`);
      t.refreshTimer = setTimeout(() => this.refresh(t), REFRESH_RETRY_MS);
    };
    const failed = (response: IncomingResponseMessage, method: string): void => {
      const code = response.statusCode ?? 0;
      // RFC 4028 §10: a refresh answered 408 or 481 means the session is gone.
      if (code === 408 || code === 481) this.expire(t, `our session refresh (${method}) was answered ${code}`);
      else if (code === 491 || code === 500) retryLater(`${method} answered ${code}`);
      else if (method === 'UPDATE' && (code === 405 || code === 501)) {
        t.updateRefused = true;
        retryLater(`UPDATE answered ${code}: re-INVITE from now on`);
      } else {
        // Refused for another reason (a 4xx/5xx/6xx that does not end the dialog): tried again until the expiry says the session is over.
        retryLater(`${method} answered ${code}`);
      }
    };
    const dialog = session.dialog as SessionDialog | undefined;
    if (t.peerAllowsUpdate && !t.updateRefused && dialog) {
      sendUpdate(session, dialog, headers, {
        onAccept: (r) => this.refreshed(t, r.message),
        onReject: (r) => failed(r.message, 'UPDATE'),
        onRedirect: (r) => failed(r.message, 'UPDATE'),
      });
      return;
    }
    // sip.js's re-INVITE: without sessionDescriptionHandlerOptions it offers with the options of the
    // last one (a held call stays held, lib/sip/sip-control.ts).
    session
      .invite({
        requestOptions: { extraHeaders: headers },
        requestDelegate: {
          onAccept: (r: IncomingResponse) => this.refreshed(t, r.message),
          onReject: (r: IncomingResponse) => failed(r.message, 're-INVITE'),
        },
      })
      .catch((err: Error) => retryLater(`re-INVITE not sent: ${err.message}`));
  }

  /** The session has expired: BYE, cause `session-expired` (RFC 4028 §10). */
  private expire(t: CallTimer, why: string): void {
    clearTimeout(t.refreshTimer);
    clearTimeout(t.expiryTimer);
    t.refreshTimer = t.expiryTimer = undefined;
    const session = t.session;
    if (t.call.ended || session.state !== SessionState.Established) return;
    this.ctx.log.info(`sip: call ${t.call.id} ended: ${why}`);
    this.ctx.conclude(t.call, { cause: 'session-expired', by: 'local', text: `the session expired: ${why}` });
    session.bye({ requestOptions: { extraHeaders: ['Reason: SIP;cause=408;text="Session expired"'] } }).catch((err: Error) =>
      this.ctx.log.debug(`sip: call ${t.call.id} BYE on session expiry: ${err.message}`),
    );
  }

  /**
   * Their refresh by re-INVITE: sip.js answers it (Session.onInviteRequest, SDP and all); we add our
   * timer headers to its 200, or refuse it 422 when its interval is below our Min-SE. sip.js has no
   * hook for the headers of that 200 (its in-dialog INVITE handler builds them itself), so the handler
   * is wrapped on this session.
   */
  private hookReInvite(t: CallTimer): void {
    const session = t.session as unknown as { onInviteRequest?: (request: Core.IncomingInviteRequest) => void };
    const original = session.onInviteRequest;
    if (typeof original !== 'function') return;
    session.onInviteRequest = (request: Core.IncomingInviteRequest): void => {
      const answer = answerRequest(timerRequest(request.message), this.settings);
      if ('refuse' in answer) {
        this.ctx.log.debug(`sip: call ${t.call.id} re-INVITE refused 422: ${answer.why}`);
        request.reject({ statusCode: 422, extraHeaders: answer.headers });
        return;
      }
      const accept = request.accept.bind(request);
      request.accept = (options?: ResponseOptions) => {
        const response = accept({ statusCode: 200, ...options, extraHeaders: [...(options?.extraHeaders ?? []), ...answer.headers] });
        t.plan = answer.plan;
        this.arm(t, 'their re-INVITE');
        return response;
      };
      original.call(t.session, request);
    };
  }

  /**
   * Their UPDATE (RFC 3311) in the confirmed dialog. sip.js 0.21 has none: its core answers 405 to a
   * method missing from its AllowedMethods list (user-agent-core.js), and its SessionDialog answers
   * 501 to one it has no case for. So UPDATE is added to that list ({@link allowUpdate}), and this
   * dialog's request handler takes UPDATE before sip.js's: the same in-dialog checks sip.js makes
   * for every request (CSeq order: `sequenceGuard`, then the base Dialog's bookkeeping), then
   * - no SDP: a session refresh, answered 200 with our timer headers;
   * - SDP: an offer (RFC 3311 §5.2) given to the call's media handler as sip.js gives a re-INVITE's
   *   (Session.setOfferAndGetAnswer), the answer in our 200; 491 while an offer of the dialog is in
   *   progress, 488 when the media refuses it (the offer rolled back).
   */
  private hookUpdate(t: CallTimer, dialog: SessionDialog): void {
    const receive = dialog.receiveRequest.bind(dialog);
    dialog.receiveRequest = (message: IncomingRequestMessage): void => {
      if (message.method !== Core.C.UPDATE) {
        receive(message);
        return;
      }
      if (!(dialog as unknown as { sequenceGuard(m: IncomingRequestMessage): boolean }).sequenceGuard(message)) return;
      Core.Dialog.prototype.receiveRequest.call(dialog, message);
      this.onUpdate(t, dialog, message, new Core.UserAgentServer(Core.NonInviteServerTransaction, dialog.userAgentCore, message));
    };
  }

  private onUpdate(t: CallTimer, dialog: SessionDialog, message: IncomingRequestMessage, uas: Core.UserAgentServer): void {
    const answer = answerRequest(timerRequest(message), this.settings);
    if ('refuse' in answer) {
      uas.reject({ statusCode: 422, extraHeaders: answer.headers });
      return;
    }
    const contact = contactOf(t.session);
    const accepted = (body?: Core.Body): void => {
      uas.accept({ statusCode: 200, extraHeaders: [...answer.headers, ...(contact ? [`Contact: ${contact}`] : [])], ...(body ? { body } : {}) });
      if (body) dialog.signalingStateTransition(body);
      t.plan = answer.plan;
      this.arm(t, 'their UPDATE');
    };
    const offer = Core.getBody(message);
    if (!offer || offer.contentDisposition !== 'session') {
      accepted();
      return;
    }
    if (dialog.signalingState !== Core.SignalingState.Stable) {
      // RFC 3311 §5.2: an offer while one is outstanding.
      uas.reject({ statusCode: 491 });
      return;
    }
    dialog.signalingStateTransition(message);
    const session = t.session as unknown as { setOfferAndGetAnswer(offer: Core.Body, options: object): Promise<Core.Body> };
    session.setOfferAndGetAnswer(offer, {}).then(
      (body) => accepted(body),
      (err: Error) => {
        this.ctx.log.info(`sip: call ${t.call.id} UPDATE offer refused (488): ${err.message}`);
        dialog.signalingStateRollback();
        uas.reject({ statusCode: 488 });
      },
    );
  }

  /**
   * Our initial INVITEs, at sip.js's core (UserAgentCore.invite): the 2xx that establishes a call is
   * recorded (its Session-Expires and Allow set the timer), and a 422 is retried once with the Min-SE
   * it asks. sip.js's Inviter gives neither: the 2xx reaches only the request delegate, and any 4xx ends
   * the Inviter. The retry goes through the InviteUserAgentClient's `authenticationGuard`, the one
   * place where sip.js re-sends a request as a new transaction (CSeq + 1, same Call-ID and tags):
   * returning false there stops the 422 from reaching the Inviter.
   */
  private hookUserAgent(): void {
    const ua = this.ctx.userAgent();
    if (!ua || this.hooked.has(ua)) return;
    this.hooked.add(ua);
    const core = ua.userAgentCore;
    const invite = core.invite.bind(core);
    core.invite = (request: OutgoingRequestMessage, delegate?: OutgoingRequestDelegate) => {
      const onAccept = delegate?.onAccept;
      const wrapped: OutgoingRequestDelegate = {
        ...delegate,
        onAccept: (response: Core.AckableIncomingResponseWithSession) => {
          if (!this.answers.has(request)) this.answers.set(request, response.message);
          onAccept?.call(delegate, response);
        },
      };
      const uac = invite(request, wrapped);
      const guarded = uac as unknown as { authenticationGuard(message: IncomingResponseMessage): boolean };
      const guard = guarded.authenticationGuard.bind(uac);
      let retried = false;
      guarded.authenticationGuard = (message: IncomingResponseMessage): boolean => {
        if (message.statusCode !== 422 || retried) return guard(message);
        const asked = parseSessionExpires(headerOf(request.extraHeaders, 'session-expires'))?.interval ?? this.settings.expires;
        const interval = retryAfter422(asked, parseMinSe(message.getHeader('min-se')));
        if (interval === undefined) return guard(message);
        retried = true;
        this.ctx.log.info(`sip: INVITE to ${request.ruri.toString()} answered 422 (Min-SE ${interval}): sent again with Session-Expires ${interval}`);
        const kept = request.extraHeaders.filter((h) => !/^(session-expires|x|min-se)\s*:/i.test(h));
        const se = parseSessionExpires(headerOf(request.extraHeaders, 'session-expires'));
        request.extraHeaders.length = 0;
        request.extraHeaders.push(...kept, `Session-Expires: ${interval}${se?.refresher ? `;refresher=${se.refresher}` : ''}`, `Min-SE: ${interval}`);
        request.cseq += 1;
        request.setHeader('cseq', `${request.cseq} ${request.method}`);
        // As authenticationGuard does for a 401: a new client transaction for the same request.
        (uac as unknown as { init(): void }).init();
        return false;
      };
      return uac;
    };
  }
}

/**
 * sip.js answers 405 to any method missing from its AllowedMethods (an exported array that its own
 * source marks "FIXME: Should be configurable"), and lists the same array in its Allow headers:
 * UPDATE joins it, so that it reaches the dialog and our Allow says we take it.
 */
function allowUpdate(): void {
  // The very module sip.js's core imports (its package has no exports map: the path is the file's).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { AllowedMethods } = require('sip.js/lib/core/user-agent-core/allowed-methods.js') as { AllowedMethods: string[] };
  if (!AllowedMethods.includes(Core.C.UPDATE)) AllowedMethods.push(Core.C.UPDATE);
}

/** Sends an UPDATE without SDP in the dialog (RFC 3311): sip.js has no UPDATE client, its generic one is used. */
function sendUpdate(session: Session, dialog: SessionDialog, headers: string[], delegate: OutgoingRequestDelegate): void {
  const contact = contactOf(session);
  // UPDATE is a target refresh request (RFC 3311 §5.1): it carries our Contact, as sip.js's re-INVITE does.
  const message = dialog.createOutgoingRequestMessage(Core.C.UPDATE, { extraHeaders: [...headers, ...(contact ? [`Contact: ${contact}`] : [])] });
  new Core.UserAgentClient(Core.NonInviteClientTransaction, dialog.userAgentCore, message, delegate);
}

/** The Contact header value sip.js uses for the session (Session's private `_contact`). */
function contactOf(session: Session): string | undefined {
  const contact = (session as unknown as { _contact?: string })._contact;
  return typeof contact === 'string' && contact ? contact : undefined;
}

/** What a request that starts or refreshes a session says of timers. */
function timerRequest(message: IncomingRequestMessage): Parameters<typeof answerRequest>[0] {
  const se = sessionExpiresOf(message);
  const minSe = parseMinSe(message.getHeader('min-se'));
  return {
    ...(se ? { sessionExpires: se } : {}),
    ...(minSe !== undefined ? { minSe } : {}),
    supportsTimer: listsToken([...message.getHeaders('supported'), ...message.getHeaders('k'), ...message.getHeaders('require')], 'timer'),
  };
}

/** Session-Expires, or its compact form `x` (RFC 4028 §4). */
function sessionExpiresOf(message: IncomingRequestMessage | IncomingResponseMessage): ReturnType<typeof parseSessionExpires> {
  return parseSessionExpires(message.getHeader('session-expires') ?? message.getHeader('x'));
}

function headerOf(extraHeaders: readonly string[], name: string): string | undefined {
  const prefix = new RegExp(`^${name}\\s*:\\s*`, 'i');
  const line = extraHeaders.find((h) => prefix.test(h));
  return line?.replace(prefix, '');
}
