import { Core, Invitation, Inviter, SessionState } from 'sip.js';
import type { Session, UserAgent } from 'sip.js';
import type { IncomingRequestMessage, IncomingResponseMessage, OutgoingRequestDelegate, OutgoingRequestMessage, ResponseOptions, SessionDialog } from 'sip.js/lib/core';
import type { Call } from '../call/call';
import { CommandFailedError } from '../errors';
import type { RtpDescriptionHandlerOptions } from './rtp-description-handler';
import type { SipBackendOptions } from './sip-backend';
import type { SipCallContext, SipCallFeature, SipIncomingRefusal, SipOutgoing } from './sip-call-context';
import { reoffer } from './sip-reinvite';
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
  sessionTimerSettings,
  TimerAnswer,
} from './session-timer-rules';

/** What the session timers use of the backend. */
export type SessionTimerContext = Pick<SipCallContext, 'userAgent' | 'hangup' | 'log' | 'sessionOf' | 'shape'>;

/** The registry's factory (lib/sip/sip-features.ts): the line's settings checked here, each refusal naming its setting. */
export function sessionTimersFeature(ctx: SipCallContext, options: Readonly<SipBackendOptions>): SessionTimers {
  return new SessionTimers(ctx, sessionTimerSettings(options));
}

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
 * in lib/sip/session-timer-rules.ts. A SIP_FEATURES entry (lib/sip/sip-features.ts) on the backend's hooks:
 * - `supported` / `allow`: `Supported: timer` on every request and response, UPDATE in Allow (and
 *   past sip.js's 405);
 * - `outgoing`: `Session-Expires` / `Min-SE` on our INVITE, our 200 (what `incoming` decided, or the
 *   INVITE is refused 422), every re-INVITE / UPDATE of ours, and the Reason of an expiry's BYE;
 * - a 422 to our INVITE is retried once with the Min-SE it asks, as a new transaction of the same
 *   INVITE (same Call-ID and From tag, CSeq + 1): sip.js's own retry path, the one it uses for a 401
 *   (UserAgentClient.authenticationGuard), see {@link SessionTimers.hookUserAgent};
 * - the refresher refreshes at half the interval with the backend's `reoffer()`: by UPDATE when the
 *   other side's Allow lists it (no SDP, nothing renegotiated: RFC 4028 §7.4 recommends it), else by
 *   re-INVITE (our current SDP offered again, holds kept);
 * - their refreshes, by re-INVITE (sip.js answers it; we add our headers to its 200) or by UPDATE
 *   (with or without SDP: sip.js 0.21 has no UPDATE at all, see {@link SessionTimers.hookUpdate});
 * - with no refresh by the interval minus min(32 s, interval / 3) (RFC 4028 §10), or our refresh
 *   answered 408 / 481, we end the call with the backend's hangup (a BYE with `Reason: SIP;cause=408`)
 *   and the cause `session-expired`.
 */
export class SessionTimers implements SipCallFeature {
  readonly name = 'session-timer';
  /** `Supported: timer` on every request and response of the line (lib/sip/sip-features.ts). */
  readonly supported = ['timer'];
  /** UPDATE in the line's Allow, and past sip.js's 405 (its AllowedMethods, set from the features). */
  readonly allow = ['UPDATE'];
  private readonly timers = new Map<Call, CallTimer>();
  /** Per outgoing INVITE: the 2xx that established it (the core hook records it for `attach`). */
  private readonly answers = new WeakMap<OutgoingRequestMessage, IncomingResponseMessage>();
  private readonly hooked = new WeakSet<UserAgent>();
  /** An incoming INVITE's timer facts, from `incoming` (before the call is tracked) to `attach` and our 200. */
  private readonly inbound = new WeakMap<Call, { allowsUpdate: boolean; answer: Exclude<TimerAnswer, { refuse: 422 }> }>();

  constructor(
    private readonly ctx: SessionTimerContext,
    readonly settings: SessionTimerSettings,
  ) {}

  /**
   * Our timer headers: on our INVITE, on our 200 to theirs (what `incoming` decided), on every
   * re-INVITE and UPDATE of ours (the refreshes, and hold / resume too: any of them refreshes the
   * session for the other side), and the Reason of the BYE that ends an expired session.
   */
  outgoing(out: SipOutgoing): void {
    if (out.kind === 'invite') {
      this.hookUserAgent();
      out.headers.push(...requestHeaders(this.settings));
    } else if (out.kind === 'answer') {
      const inbound = this.inbound.get(out.call);
      const t = this.timers.get(out.call);
      if (!inbound) return;
      out.headers.push(...inbound.answer.headers);
      if (t) t.plan = inbound.answer.plan;
    } else if (out.kind === 'reinvite' || out.kind === 'update') {
      const plan = this.timers.get(out.call)?.plan;
      if (plan) out.headers.push(...requestHeaders(this.settings, plan));
    } else if (out.kind === 'bye' && out.end?.cause === 'session-expired') {
      out.headers = [...out.headers.filter((h) => !/^reason\s*:/i.test(h)), 'Reason: SIP;cause=408;text="Session expired"'];
    }
  }

  /**
   * An incoming INVITE: refused 422 when its Session-Expires is below our Min-SE (and it supports
   * timers); otherwise our 200 (whenever the call is answered) carries the timer's headers.
   */
  incoming(call: Call, invitation: Invitation): SipIncomingRefusal | void {
    const request = invitation.request;
    const answer = answerRequest(timerRequest(request), this.settings);
    if ('refuse' in answer) return { refuse: answer.refuse, why: answer.why, extraHeaders: answer.headers };
    this.inbound.set(call, { allowsUpdate: listsToken(request.getHeaders('allow'), 'UPDATE'), answer });
  }

  attach(call: Call, session: Session): void {
    const t: CallTimer = { call, session, peerAllowsUpdate: this.inbound.get(call)?.allowsUpdate ?? false };
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
    const retryLater = (why: string): void => {
      this.ctx.log.debug(`sip: call ${t.call.id} session refresh postponed: ${why}`);
      t.refreshTimer = setTimeout(() => this.refresh(t), REFRESH_RETRY_MS);
    };
    const method = t.peerAllowsUpdate && !t.updateRefused ? 'UPDATE' : 'INVITE';
    const name = method === 'UPDATE' ? 'UPDATE' : 're-INVITE';
    // The backend's one re-INVITE / UPDATE helper; our `outgoing` hook adds the Session-Expires. A
    // re-INVITE offers our SDP again with the options of the last one (sip.js keeps them on the
    // session, privately): a call we hold stays held.
    const media = (session as unknown as { sessionDescriptionHandlerOptionsReInvite?: RtpDescriptionHandlerOptions }).sessionDescriptionHandlerOptionsReInvite ?? {};
    reoffer(this.ctx, t.call, { method, what: 'session refresh', ...(method === 'INVITE' ? { media } : {}) }).then(
      (response) => this.refreshed(t, response),
      (err: Error) => {
        if (t.call.ended || session.state !== SessionState.Established) return;
        const code = err instanceof CommandFailedError ? Number(/^SIP\/2\.0 (\d{3})/.exec(err.evidence ?? '')?.[1] ?? 0) : 0;
        // RFC 4028 §10: a refresh answered 408 or 481 means the session is gone.
        if (code === 408 || code === 481) this.expire(t, `our session refresh (${name}) was answered ${code}`);
        else if (method === 'UPDATE' && (code === 405 || code === 501)) {
          t.updateRefused = true;
          retryLater(`UPDATE answered ${code}: re-INVITE from now on`);
        } else {
          // 491, 500, another refusal, or not sent (another offer of ours in progress): again soon,
          // until the expiry says the session is over.
          retryLater(`${name}: ${err.message}`);
        }
      },
    );
  }

  /** The session has expired: BYE, cause `session-expired` (RFC 4028 §10). */
  private expire(t: CallTimer, why: string): void {
    clearTimeout(t.refreshTimer);
    clearTimeout(t.expiryTimer);
    t.refreshTimer = t.expiryTimer = undefined;
    const session = t.session;
    if (t.call.ended || session.state !== SessionState.Established) return;
    this.ctx.log.info(`sip: call ${t.call.id} ended: ${why}`);
    // The backend's hangup (its BYE, shaped by the features: our `outgoing` hook gives it the Reason).
    this.ctx.hangup(t.call, { signal: 'normal', endCause: 'session-expired', text: `the session expired: ${why}` }).catch((err: Error) =>
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
   * 501 to one it has no case for. So UPDATE is in our `allow` (the backend sets that list from the
   * features), and this dialog's request handler takes UPDATE before sip.js's: the same in-dialog
   * checks sip.js makes for every request (CSeq order: `sequenceGuard`, then the base Dialog's
   * bookkeeping), then
   * (Not the backend's `request` hook: its answer is given at once, and the answer to an UPDATE with
   * SDP comes later, from the media handler; and the offer / answer state is the dialog's. One path
   * for every UPDATE, here.)
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
    // As sip.js answers a re-INVITE (Session.onInviteRequest): with the options of our last offer (a
    // call we hold stays held in our answer).
    const session = t.session as unknown as {
      setOfferAndGetAnswer(offer: Core.Body, options: object): Promise<Core.Body>;
      sessionDescriptionHandlerOptionsReInvite?: object;
      sessionDescriptionHandlerModifiersReInvite?: unknown[];
    };
    const options = {
      sessionDescriptionHandlerOptions: session.sessionDescriptionHandlerOptionsReInvite,
      sessionDescriptionHandlerModifiers: session.sessionDescriptionHandlerModifiersReInvite,
    };
    session.setOfferAndGetAnswer(offer, options).then(
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
