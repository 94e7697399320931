import { EventEmitter } from 'node:events';
import { Grammar, Invitation, Inviter, SessionState, URI, UserAgent } from 'sip.js';
import type { Session, UserAgentDelegate } from 'sip.js';
import { InviteServerTransaction, NonInviteServerTransaction, UserAgentServer } from 'sip.js/lib/core';
import type { IncomingRequestMessage, IncomingResponse, IncomingResponseMessage } from 'sip.js/lib/core';
import { Backend, DialOptions, DialReferral, HangupRequest, LineStatus, Logger, SILENT_LOGGER } from '../backend';
import { Call, TransitionReason } from '../call/call';
import { CallState, isAlerting } from '../call/call-state';
import { EndInfo, q850ForHangup } from '../call/cause';
import { SIP_USER_AGENT } from '../package-info';
import { CallStateError, InvalidInputError, LineNotReadyError } from '../errors';
import { describe, printable, validateDisplayName, validateSipHeaders, validateSipHeaderValue } from '../validate';
import { G711_CODECS, G711Codec } from './media-params';
import { RtpDescriptionHandler } from './rtp-description-handler';
import { RtpDescriptionHandlerFactory } from './rtp-description-handler-factory';
import { RtpPortAllocator } from './rtp-port-allocator';
import { RtpPortsExhaustedError } from './rtp-ports-exhausted-error';
import type { RtpMedia } from '../media-engine/rtp-media';
import { callerOf } from './sip-caller-id';
import { outgoingIdentity } from './sip-privacy';
import { sipTargetUri, validateSipTarget } from './sip-target';
import { SdpNegotiationError } from './sdp-negotiation-error';
import { endFromRequest, endFromResponse, rejectCodeFor } from './sip-cause';
import type { SipCallContext, SipCallFeature, SipOutgoing, SipOutgoingKind, SipRequestAnswer, SipSessionHooks } from './sip-call-context';
import { allowedMethods, applyAllowedMethods, SIP_FEATURES, SipFeatureFactory, supportedTags } from './sip-features';
import { fanOutDelegate } from './sip-session-delegate';
import { SipAudio } from './sip-audio';
import { SipAnalysis } from './sip-analysis';
import { SipConference } from './sip-conference';
import { SipControl } from './sip-control';
import { SipDtmf } from './sip-dtmf';
import { SipForwarding } from './sip-forwarding';
import { sipMediaStats } from './sip-media-stats';
import { SIP_LINE_SETTINGS, SipLineOnlySettings, SipLineSettings } from './sip-line-settings';
import { checkSettings } from '../line/line-settings';
import { SipAgentState, SipAgentStateChange, SipUserAgent, SipUserAgentOptions } from './sip-user-agent';
import { defaultSipPort, HostPort, localAddressFor, parseHostPort, resolveHost } from './transport-address';
import type { NodeTransport, SourceAddress } from './transport-base';

/**
 * The account and its connection are {@link SipUserAgent}'s options (server, transport, username,
 * password, domain, register: false for trunk mode, localPort, localAddress, displayName, ...); the rest
 * is the backend's.
 */
export interface SipBackendOptions
  extends Omit<SipUserAgentOptions, 'sip' | 'log' | 'supported'>,
    Omit<SipLineSettings, keyof SipUserAgentOptions | SipLineOnlySettings> {
  lineId: string;
  /**
   * How long a transfer of ours waits for the final NOTIFY after the 202 (ms; default 32 s,
   * lib/sip/sip-forwarding.ts). Not a line setting (the editor has none): for tests and embedders.
   */
  transferNotifyTimeoutMs?: number;
  /**
   * Our Min-SE, the smallest session interval we accept (seconds; default RFC 4028's 90). Not a line
   * setting (the editor has none, and RFC 4028 forbids less): for tests that need a session to expire in seconds.
   */
  sessionMinSe?: number;
  /** Features added after the registry's (lib/sip/sip-features.ts). Not a line setting: for tests and embedders. */
  features?: readonly SipFeatureFactory[];
  log?: Logger;
}

/** One call's SIP side. */
interface CallRecord {
  call: Call;
  session: Session;
  /** How the call ends, once something (our hangup, their BYE/CANCEL, a final response) has said so. */
  end?: EndInfo;
}

const DEFAULT_RTP_MIN = 10000;
const DEFAULT_RTP_MAX = 20000;

/**
 * The SIP backend: a {@link SipUserAgent} (connection, registration, recovery) and sip.js sessions, one
 * per {@link Call}, with our RTP media ({@link RtpDescriptionHandlerFactory}). See docs/sip-backend.md.
 *
 * Every call ends through one path: whatever learns how it ends (our hangup, the peer's BYE or CANCEL,
 * a final response) records an {@link EndInfo} on its record, first one wins; when sip.js's session
 * reaches Terminated the call ends with it. (sip.js moves the session to Terminated before it hands
 * a final response to the request delegate, so the ending waits one turn of the event loop.)
 */
export class SipBackend extends EventEmitter implements Backend {
  readonly kind = 'sip' as const;
  /** DTMF: RFC 4733, SIP INFO or in-band (lib/sip/sip-dtmf.ts). */
  readonly dtmf: SipDtmf;
  /** Hold / resume / swap by re-INVITE, the other side's hold, mute (lib/sip/sip-control.ts). */
  readonly control: SipControl;
  /** Redirect (302), transfer (REFER), incoming REFER; network rules are refused (lib/sip/sip-forwarding.ts). */
  readonly forwarding: SipForwarding;
  /** Recording and playback on the call's RTP session (lib/sip/sip-audio.ts). */
  readonly audio: SipAudio;
  /** Call analysis on the call's received audio, where its media runs (lib/sip/sip-analysis.ts). */
  readonly analysis: SipAnalysis;
  /** Conference rooms mixed where the calls' media runs (lib/sip/sip-conference.ts, docs/conference.md). */
  readonly conference: SipConference;
  /** What the call features may use of the backend (lib/sip/sip-call-context.ts). */
  private readonly ctx: SipCallContext;
  private readonly opts: SipBackendOptions;
  private readonly log: Logger;
  private agent: SipUserAgent | null = null;
  private media: RtpDescriptionHandlerFactory | null = null;
  private readonly records = new Map<string, CallRecord>();
  private _status: LineStatus = { state: 'idle', text: 'idle' };
  private wasReady = false;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  /** The codecs setting, parsed (lib/sip/sip-line-settings.ts). */
  private readonly codecs: G711Codec[] | undefined;
  /** The server's (and proxy's) address and port, and the trusted sources: in trunk mode over UDP, the only sources of calls (port 0: any). */
  private trusted: SourceAddress[] = [];
  /** The trusted sources as given (`trustedSources`), resolved at start. */
  private readonly trustedHops: HostPort[];
  /** Draining (`setDraining`): new calls are refused 503, OPTIONS answered 503, calls in progress finish. */
  private draining = false;
  /** Trunk mode: where each initial request came from (its datagram's source), read as sip.js takes it. */
  private readonly sources = new WeakMap<IncomingRequestMessage, SourceAddress>();
  /** Trunk mode: initial requests whose Request-URI user was rewritten to ours, with the original Request-URI. */
  private readonly dialled = new WeakMap<IncomingRequestMessage, URI>();
  private readonly hooked = new WeakSet<UserAgent>();
  private readonly requestsHooked = new WeakSet<UserAgent>();
  /** The features of the registry (lib/sip/sip-features.ts), after the four capabilities. */
  private readonly extra: SipCallFeature[];
  /** `Supported:` and `Allow:` of this line, from its features. */
  private readonly supportedList: string[];
  private readonly allowList: string[];

  constructor(options: SipBackendOptions) {
    super();
    this.opts = { ...options };
    this.log = options.log ?? SILENT_LOGGER;
    // Settings are checked now, so that the line shows what is wrong instead of a failed start().
    if (!options.server) throw new InvalidInputError('the "sip" backend is not available without a server: set the line\'s SIP server (host[:port])');
    if (!options.username) throw new InvalidInputError('the "sip" backend is not available without a user name: set the account (in trunk mode, the number this line is)');
    checkLineSettings(options);
    parseHostPort(options.server, defaultSipPort(options.transport ?? 'udp'), 'server');
    this.codecs = options.codecs !== undefined ? parseCodecs(options.codecs) : undefined;
    this.trustedHops = parseTrustedSources(options.trustedSources);
    this.ctx = {
      sessionOf: (call) => this.records.get(call.id)?.session,
      rtpOf: (call) => this.rtpOf(call),
      calls: () => this.calls(),
      answer: (call) => this.answer(call),
      dial: (number, dialOptions) => this.dial(number, dialOptions),
      hangup: (call, request) => this.hangup(call, request),
      conclude: (call, end) => {
        const rec = this.records.get(call.id);
        if (rec) this.conclude(rec, end);
      },
      shape: (out) => this.shape(out),
      supported: () => this.supportedList,
      allowed: () => this.allowList,
      userAgent: () => this.agent?.userAgent,
      description: () => this.description,
      log: this.log,
    };
    this.dtmf = new SipDtmf(this.ctx);
    this.control = new SipControl(this.ctx);
    this.forwarding = new SipForwarding(this.ctx, {
      incomingRefer: options.incomingRefer,
      targetHost: () => this.targetHost(),
      transferNotifyTimeoutMs: options.transferNotifyTimeoutMs,
    });
    this.audio = new SipAudio(this.ctx);
    this.analysis = new SipAnalysis(this.ctx);
    this.conference = new SipConference(this.ctx);
    this.extra = [...SIP_FEATURES, ...(options.features ?? [])].map((make) => make(this.ctx, this.opts));
    const features = this.features();
    this.supportedList = supportedTags(features);
    this.allowList = allowedMethods(features);
  }

  /** The call features, each told of every call (lib/sip/sip-call-context.ts): the capabilities, then the registry's. */
  private features(): SipCallFeature[] {
    return [this.dtmf, this.control, this.forwarding, this.audio, ...this.extra];
  }

  /** Every feature's `outgoing` hook on what we are about to send, in order. */
  private shape(out: SipOutgoing): SipOutgoing {
    for (const feature of this.features()) {
      try {
        feature.outgoing?.(out);
      } catch (err) {
        this.log.warn(`sip: ${feature.name}, shaping our ${out.kind} of call ${out.call.id}: ${(err as Error).message}`);
      }
    }
    return out;
  }

  /** A new message of `kind` for `call`, shaped by the features. */
  private outgoing(kind: SipOutgoingKind, call: Call, headers: string[] = [], more: Partial<Pick<SipOutgoing, 'end' | 'statusCode'>> = {}): SipOutgoing {
    return this.shape({ kind, call, headers, sdpModifiers: [], ...more });
  }

  /** The session delegate of a call: every feature's hooks, then the backend's own (lib/sip/sip-session-delegate.ts). */
  private delegateFor(rec: CallRecord): void {
    const own: SipSessionHooks = {
      onBye: (_call, bye) => this.conclude(rec, endFromRequest('BYE', bye.request.getHeader('reason'), 'normal')),
      onCancel: (_call, cancel) => this.conclude(rec, endFromRequest('CANCEL', cancel.request.getHeader('reason'), 'cancelled')),
    };
    rec.session.delegate = fanOutDelegate(rec.call, () => this.features(), own, this.log);
  }

  get description(): string {
    return this.agent?.description ?? `sip:${this.opts.username}@${this.opts.domain || this.opts.server}`;
  }

  get ready(): boolean {
    return !!this.agent?.ready;
  }

  get status(): LineStatus {
    return this._status;
  }

  calls(): Call[] {
    return [...this.records.values()].map((r) => r.call);
  }

  /** A call's RTP session (audio, stats) once its media exists; `undefined` before, or for a call not of this line. */
  rtpOf(call: Call): RtpMedia | undefined {
    const session = this.records.get(call.id)?.session;
    return (session && RtpDescriptionHandler.of(session)?.session) ?? undefined;
  }

  async start(): Promise<void> {
    if (this.agent || this.stopped) return;
    this.setStatus('connecting', `connecting to ${this.opts.server}`);
    let local: { sip: string; rtp: string };
    try {
      local = await this.localAddresses();
    } catch (err) {
      // A server name that does not resolve yet is a state, not a failure of start(): try again later.
      this.setStatus('error', `cannot resolve ${this.opts.server}: ${(err as Error).message}`);
      this.retryTimer = setTimeout(() => void this.start(), this.opts.retryMinMs ?? 5000);
      return;
    }
    if (this.stopped) return;
    let agent: SipUserAgent;
    try {
      agent = this.build(local);
    } catch (err) {
      // A setting the user agent or the RTP range refuses (a TypeError naming it): shown, not thrown.
      this.setStatus('error', (err as Error).message);
      return;
    }
    this.agent = agent;
    agent.on('state', (s: SipAgentStateChange) => this.onAgentState(s));
    agent.on('registered', (p: Record<string, unknown>) => this.emit('line', { topic: 'registered', payload: { ...p } }));
    agent.on('unregistered', (p: Record<string, unknown>) => this.emit('line', { topic: 'unregistered', payload: { ...p } }));
    agent.on('registration-failed', (p: Record<string, unknown>) => this.emit('line', { topic: 'registration-failed', payload: { ...p } }));
    await agent.start();
  }

  /** The media factory and the user agent, from the settings (throws a TypeError naming a bad one). */
  private build(local: { sip: string; rtp: string }): SipUserAgent {
    const allocator = new RtpPortAllocator({
      rtpPortMin: this.opts.rtpPortMin ?? DEFAULT_RTP_MIN,
      rtpPortMax: this.opts.rtpPortMax ?? DEFAULT_RTP_MAX,
      address: local.rtp,
    });
    const encryption = this.opts.mediaEncryption ?? 'none';
    this.media = new RtpDescriptionHandlerFactory({
      allocator,
      address: local.sip,
      codecs: this.codecs,
      dtmfMode: this.opts.dtmfMode,
      encryption,
      mediaWorkers: this.opts.mediaWorkers,
      mediaPriority: this.opts.mediaPriority,
      log: this.log,
    });
    if (encryption !== 'none' && !['tls', 'wss'].includes(this.opts.transport ?? 'udp')) {
      // SDES puts the SRTP keys in the SDP: over UDP or TCP anyone who sees the signalling can decrypt the audio.
      this.log.warn(
        `sip: media encryption is ${encryption}, but the SIP transport is ${(this.opts.transport ?? 'udp').toUpperCase()}: the SRTP keys travel unencrypted ` +
          'in the SDP, so anyone who can read the signalling can decrypt the calls (use the TLS transport)',
      );
    }
    const delegate: UserAgentDelegate = { onInvite: (invitation) => this.onInvite(invitation) };
    applyAllowedMethods(this.allowList);
    // The account's options are SipUserAgent's, by name; it reads those and nothing else of the rest.
    return new SipUserAgent({
      ...this.opts,
      supported: this.supportedList,
      log: this.log,
      sip: {
        delegate,
        sessionDescriptionHandlerFactory: this.media.sessionDescriptionHandlerFactory,
        // We refuse first (trunk source 403, call limit 486, media 488/503), then ring ourselves.
        sendInitialProvisionalResponse: false,
        userAgentString: SIP_USER_AGENT,
      },
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const agent = this.agent;
    await Promise.all(this.features().map((f) => f.stop?.().catch(() => undefined)));
    // Calls first (sip.js's own stop() would end them one by one, each waiting for its exchange).
    const ending = [...this.records.values()].map((rec) =>
      this.hangup(rec.call, { signal: 'unavailable', endCause: 'normal', text: 'the line closed' }).catch(() => undefined),
    );
    await withTimeout(Promise.all(ending), 3000);
    for (const rec of [...this.records.values()]) this.finish(rec, { cause: 'normal', by: 'local', text: 'the line closed' });
    if (agent) await agent.stop();
    await this.media?.closeAll();
    this.agent = null;
    this.setStatus('closed', 'closed');
  }

  /**
   * Places a call to a number or user (`sip:<number>@<domain, else server>`, `;user=phone` for E.164),
   * a `tel:` URI (the same with its params) or a SIP address, which is the Request-URI as given
   * (lib/sip/sip-target.ts; the request still goes to the server / outbound proxy: the transport sends
   * everything there). The call's remote number is the number dialled, or the address's user part.
   * Caller ID, name and privacy: lib/sip/sip-privacy.ts.
   */
  async dial(number: string, options: DialOptions = {}): Promise<Call> {
    const n = validateSipTarget(number);
    const agent = this.agent;
    if (!agent || !agent.ready) throw new LineNotReadyError(`the line is not ready (${this._status.text})`);
    const max = this.opts.maxCalls ?? 0;
    if (max > 0 && this.records.size >= max) {
      throw new CallStateError(`this line already has ${this.records.size} calls, its maximum: hang one up first`);
    }
    const ua = agent.userAgent;
    // A number, user, sip:/sips: or tel: target → its SIP URI (lib/sip/sip-target.ts).
    const { uri: target, number: remoteNumber } = sipTargetUri(n, this.targetHost());
    // Checked again here (VoiceLine did): nothing unchecked reaches a header, whoever calls dial().
    const identity = outgoingIdentity({
      callerId: options.callerId,
      callerName: options.callerName,
      lineName: this.opts.displayName,
      privacy: options.privacy,
      aor: ua.configuration.uri,
    });
    const flowHeaders = options.headers ? validateSipHeaders(options.headers) : [];
    const ours = new Set(identity.extraHeaders.map((h) => h.slice(0, h.indexOf(':')).toLowerCase()));
    const twice = flowHeaders.find((h) => ours.has(h.slice(0, h.indexOf(':')).toLowerCase()));
    if (twice) throw new InvalidInputError(`the header "${twice.slice(0, twice.indexOf(':'))}" is written by the line for this call (privacy or a tel: caller ID): leave it out of the SIP headers`);
    const extraHeaders = [...identity.extraHeaders, ...flowHeaders, ...referralHeaders(options.referral)];
    const call = new Call({
      line: this.opts.lineId,
      direction: 'outbound',
      remote: { number: remoteNumber, uri: target.toString() },
      state: CallState.Dialing,
      reason: { text: `calling ${target.toString()}`, evidence: `INVITE ${target.toString()}` },
    });
    const out = this.outgoing('invite', call, extraHeaders);
    const inviter = new Inviter(ua, target, {
      earlyMedia: true,
      extraHeaders: out.headers,
      sessionDescriptionHandlerModifiers: out.sdpModifiers,
      params:
        identity.fromDisplayName || identity.fromUri
          ? { ...(identity.fromDisplayName ? { fromDisplayName: identity.fromDisplayName } : {}), ...(identity.fromUri ? { fromUri: identity.fromUri } : {}) }
          : undefined,
    });
    // sip.js writes a fixed Allow into every INVITE (api/inviter.js): ours says what this line handles.
    const request = inviter.request;
    request.extraHeaders = [...request.extraHeaders.filter((h) => !/^allow\s*:/i.test(h)), `Allow: ${this.allowList.join(',')}`];
    const rec: CallRecord = { call, session: inviter };
    this.delegateFor(rec);
    this.track(rec);
    this.emit('call', call);
    if (options.analysis) this.analysis.dialled(call, inviter, options.analysis);
    inviter
      .invite({
        requestDelegate: {
          onProgress: (r) => this.onProgress(rec, r),
          onAccept: (r) => this.settle(rec, CallState.Active, { text: 'answered', evidence: startLine(r.message) }),
          onRedirect: (r) => this.onFinal(rec, r.message),
          onReject: (r) => this.onFinal(rec, r.message),
        },
      })
      .catch((err: Error) => {
        // The INVITE could not be built or sent (no media ports...): the call ends with why.
        const cause = err instanceof RtpPortsExhaustedError ? 'congestion' : 'failed';
        this.conclude(rec, { cause, by: 'local', text: `the call could not be placed: ${err.message}` });
        this.finish(rec);
      });
    return call;
  }

  /** Whether a call that comes while another is in progress waits (the `callWaiting` setting; `auto`: on unless in trunk mode). */
  private get callWaiting(): boolean {
    const mode = this.opts.callWaiting ?? 'auto';
    return mode === 'auto' ? this.opts.register !== false : mode === 'on';
  }

  async answer(call: Call): Promise<void> {
    const rec = this.recordOf(call);
    if (!(rec.session instanceof Invitation) || (call.state !== CallState.Incoming && call.state !== CallState.Waiting)) {
      throw new CallStateError(`call ${call.id} is ${call.state}: only an incoming or waiting call can be answered`);
    }
    // Call waiting: the active call is held first (lib/sip/sip-control.ts), as on an AT line. Without
    // call waiting (a trunk), calls are independent: answering one leaves the others as they are.
    if (call.state === CallState.Waiting) await this.control.holdActiveBefore(call);
    const out = this.outgoing('answer', call);
    await rec.session.accept({ extraHeaders: out.headers, sessionDescriptionHandlerModifiers: out.sdpModifiers });
  }

  async hangup(call: Call, request: HangupRequest): Promise<void> {
    const rec = this.records.get(call.id);
    if (!rec || call.ended) return;
    const session = rec.session;
    // The Q.850 cause goes with every ending (the reason feature's `Reason:` header, lib/sip/sip-reason.ts).
    const local: EndInfo = { cause: request.endCause, by: 'local', text: request.text, q850: request.q850 ?? q850ForHangup(request.signal) };
    if (session.state === SessionState.Established) {
      this.conclude(rec, local);
      const out = this.outgoing('bye', call, [], { end: local });
      await session.bye({ requestOptions: { extraHeaders: out.headers } });
      return;
    }
    if (session instanceof Invitation) {
      if (session.state !== SessionState.Initial && session.state !== SessionState.Establishing) return;
      const end = { ...local, sipCode: request.sipCode ?? rejectCodeFor(request.signal) };
      const out = this.outgoing('reject', call, [], { end, statusCode: end.sipCode });
      const statusCode = out.statusCode ?? end.sipCode;
      this.conclude(rec, { ...end, sipCode: statusCode });
      await session.reject({ statusCode, extraHeaders: out.headers });
      return;
    }
    if (session instanceof Inviter) {
      this.conclude(rec, local);
      // cancel() rejects outside Initial/Establishing (docs/sip-in-node.md): a call that just ended needs nothing.
      if (session.state === SessionState.Initial || session.state === SessionState.Establishing) {
        await session.cancel({ extraHeaders: this.outgoing('cancel', call, [], { end: local }).headers });
      }
    }
  }

  // ───────────────────────────── incoming calls ─────────────────────────────

  private onInvite(invitation: Invitation): void {
    const request = invitation.request;
    const refuse = (statusCode: number, why: string, extraHeaders?: string[]): void => {
      this.log.info(`sip: refused a call from ${request.from.uri.toString()} with ${statusCode}: ${why}`);
      invitation.reject({ statusCode, ...(extraHeaders ? { extraHeaders } : {}) }).catch(() => undefined);
    };
    if (this.opts.register === false && !this.fromTrustedSource(request)) {
      const source = this.sources.get(request);
      refuse(403, `trunk mode takes calls from ${this.trusted.map((t) => formatSource(t)).join(' or ')} only, this came from ${source ? formatSource(source) : request.via.host}`);
      return;
    }
    if (this.draining) {
      refuse(503, `the line is draining (${this.records.size} calls in progress)`);
      return;
    }
    const max = this.opts.maxCalls ?? 0;
    if (max > 0 && this.records.size >= max) {
      refuse(486, `the line has ${this.records.size} calls, its maximum`);
      return;
    }
    const media = this.media as RtpDescriptionHandlerFactory;
    const identity = invitation.remoteIdentity;
    const busy = this.callWaiting && this.records.size > 0;
    const ruri = this.dialled.get(request) ?? request.ruri;
    const call = new Call({
      line: this.opts.lineId,
      direction: 'inbound',
      remote: callerOf(request),
      state: busy ? CallState.Waiting : CallState.Incoming,
      reason: { text: `call from ${identity.uri.toString()}${ruri?.user ? ` to ${ruri.user}` : ''}`, evidence: `INVITE ${ruri?.toString()}` },
    });
    const rec: CallRecord = { call, session: invitation };
    guardAckTimeout(invitation);
    this.delegateFor(rec);
    // The media first: a caller we cannot take gets the precise refusal (488 / 503), not a ring.
    media.prepare(invitation).then(
      (handler) => {
        if (invitation.state !== SessionState.Initial) return;
        for (const feature of this.features()) {
          const refusal = feature.incoming?.(call, invitation);
          if (refusal) {
            refuse(refusal.refuse, `${feature.name}: ${refusal.why}`, refusal.extraHeaders);
            return;
          }
        }
        this.track(rec);
        // Its media worker dies while it rings: refused 500, ended `media-failed` (once answered, SipControl ends it the same way).
        handler.on('media-failed', (err) => {
          if (invitation.state === SessionState.Initial) this.control.mediaFailed(call, err);
        });
        this.emit('call', call);
        // A flow that answered (or refused) at once, within the event, needs no 180: sip.js would
        // refuse it with a warning per call ("Invalid session state Establishing").
        if (invitation.state !== SessionState.Initial) return;
        invitation.progress().catch((err: Error) => this.log.debug(`sip: 180 for call ${call.id}: ${err.message}`));
      },
      (err: unknown) => {
        const statusCode = err instanceof SdpNegotiationError ? err.statusCode : err instanceof RtpPortsExhaustedError ? 503 : 500;
        refuse(statusCode, (err as Error).message);
      },
    );
  }

  /**
   * Trunk mode: the INVITE came from the server's (or proxy's) address and port, the very place our
   * requests go (docs/sip-backend.md, "Trunk mode"): a call from another port of the same host would
   * be a dialog whose BYE we send elsewhere. Over TCP/TLS/WS it came over our one connection to it.
   */
  private fromTrustedSource(request: IncomingRequestMessage): boolean {
    if ((this.opts.transport ?? 'udp') !== 'udp') return true;
    const source = this.sources.get(request);
    return source !== undefined && this.trusted.some((t) => t.address === source.address && (t.port === 0 || t.port === source.port));
  }

  // ───────────────────────────── call progress ─────────────────────────────

  /**
   * A 18x with SDP (180 or 183: sip.js has applied its answer by now) is early media; one without is
   * ringing, unless early media plays already: it goes on until the answer (RFC 3960).
   */
  private onProgress(rec: CallRecord, response: IncomingResponse): void {
    const message = response.message;
    const code = message.statusCode ?? 0;
    const reason = { text: code === 183 ? 'session progress' : 'ringing', evidence: startLine(message) };
    const sdp = !!message.body && /^application\/sdp\b/i.test(String(message.getHeader('content-type') ?? ''));
    if (code > 100 && sdp) this.settle(rec, CallState.EarlyMedia, { ...reason, text: 'early media' });
    else if (code >= 180 && rec.call.state !== CallState.EarlyMedia) this.settle(rec, CallState.Ringing, reason);
  }

  private onFinal(rec: CallRecord, message: IncomingResponseMessage): void {
    const statusCode = message.statusCode ?? 0;
    const mine = rec.end?.by === 'local';
    const end = endFromResponse(
      { statusCode, reasonPhrase: message.reasonPhrase, reason: message.getHeader('reason'), synthetic: !message.hasHeader('via') },
      mine ? 'local' : 'remote',
      mine && rec.end?.cause === 'no-answer',
    );
    if (statusCode >= 300 && statusCode < 400) {
      const contact = message.getHeader('contact');
      if (contact) end.text = `${end.text} (to ${contact})`;
    }
    // After our CANCEL the 487 (or a late 480) is the evidence of our ending, not a new cause.
    if (rec.end) rec.end = { ...end, ...rec.end, sipCode: statusCode, ...(end.reason ? { reason: end.reason } : {}) };
    else rec.end = end;
  }

  private settle(rec: CallRecord, to: CallState, reason: TransitionReason): void {
    if (rec.call.ended) return;
    rec.call.tryTransition(to, reason);
  }

  /** Records how the call ends (first one wins). */
  private conclude(rec: CallRecord, end: EndInfo): void {
    if (!rec.end) rec.end = end;
  }

  private track(rec: CallRecord): void {
    this.records.set(rec.call.id, rec);
    const session = rec.session;
    for (const feature of this.features()) feature.attach?.(rec.call, session);
    session.stateChange.addListener((state) => {
      if (state === SessionState.Established) {
        this.settle(rec, CallState.Active, { text: 'answered' });
      } else if (state === SessionState.Terminated) {
        // sip.js calls the request delegate's onReject right after this: let it record the response.
        setImmediate(() => this.finish(rec));
      }
    });
  }

  /** Ends the call with what was recorded (or `fallback`), once. */
  private finish(rec: CallRecord, fallback?: EndInfo): void {
    if (this.records.get(rec.call.id) !== rec) return;
    this.records.delete(rec.call.id);
    const found: EndInfo = rec.end ??
      fallback ?? {
        cause: isAlerting(rec.call.state) ? (rec.call.direction === 'inbound' ? 'no-answer' : 'failed') : 'normal',
        by: isAlerting(rec.call.state) ? 'local' : 'remote',
        text: isAlerting(rec.call.state) ? 'the call was not answered in time' : 'the SIP session ended',
      };
    // The call's RTP figures, final once its media closed (lib/sip/sip-media-stats.ts).
    const media = sipMediaStats(rec.session);
    const end: EndInfo = media ? { ...found, media } : found;
    if (!rec.call.ended) {
      rec.call.transition(CallState.Ended, { text: end.text ?? `ended (${end.cause})`, ...(end.sipCode ? { evidence: `SIP ${end.sipCode}` } : {}), end });
    }
    if (this.draining && this.records.size === 0) this.reportDrain();
    // Call waiting: a waiting call is a plain incoming one once nothing else is in progress.
    const others = [...this.records.values()];
    if (others.length > 0 && others.every((r) => r.call.state === CallState.Waiting)) {
      const next = others[0];
      next.call.tryTransition(CallState.Incoming, { text: 'the other call ended' });
    }
  }

  private recordOf(call: Call): CallRecord {
    const rec = this.records.get(call.id);
    if (!rec) throw new CallStateError(`call ${call.id} is not in progress on this line`);
    return rec;
  }

  // ───────────────────────────── the line ─────────────────────────────

  private onAgentState(s: SipAgentStateChange): void {
    if (s.state === SipAgentState.Ready) {
      this.hookRequests();
      this.hookTransportRequests();
      this.wasReady = true;
      if (this.draining) {
        this.setStatus('draining', this.drainText());
        return;
      }
      this.setStatus('ready', s.text);
      this.emit('line', { topic: 'line-up', payload: { state: 'ready', text: s.text, aor: this.agent?.aor } });
      return;
    }
    const wasReady = this.wasReady;
    this.wasReady = false;
    if (s.state === SipAgentState.Stopping || s.state === SipAgentState.Stopped) {
      if (wasReady) this.emit('line', { topic: 'line-down', payload: { state: 'closed', text: s.text } });
      return;
    }
    this.setStatus(s.state === SipAgentState.Retrying ? 'error' : 'connecting', s.text);
    if (wasReady) this.emit('line', { topic: 'line-down', payload: { state: this._status.state, text: s.text } });
  }

  /**
   * Every new incoming request (after sip.js's transaction layer: retransmissions are absorbed there)
   * goes to the features' `request` hooks before sip.js's core sees it, with its call when it is within
   * one's dialog; the first feature that answers it wins, in a server transaction of ours.
   * Installed when the agent is first ready, as the trunk hook.
   */
  private hookRequests(): void {
    if (!this.agent) return;
    const ua = this.agent.userAgent;
    if (this.requestsHooked.has(ua)) return;
    this.requestsHooked.add(ua);
    // receiveRequest is private in sip.js's types (core/user-agent-core/user-agent-core.d.ts): it is
    // where a request that matched no server transaction goes, the one place to see each request once.
    const core = ua.userAgentCore as unknown as { receiveRequest(message: IncomingRequestMessage): void };
    const receive = core.receiveRequest.bind(core);
    core.receiveRequest = (message: IncomingRequestMessage) => {
      if (message.method !== 'ACK' && message.method !== 'CANCEL') {
        const call = message.toTag ? this.callInDialog(message) : undefined;
        for (const feature of this.features()) {
          let answer: SipRequestAnswer | void = undefined;
          try {
            answer = feature.request?.(message, call);
          } catch (err) {
            this.log.warn(`sip: ${feature.name}, reading a ${message.method}: ${(err as Error).message}`);
          }
          if (!answer) continue;
          this.answerRequest(message, answer, feature.name);
          return;
        }
      }
      receive(message);
    };
  }

  /** The call whose dialog an in-dialog request belongs to. */
  private callInDialog(message: IncomingRequestMessage): Call | undefined {
    const id = message.callId + message.toTag + message.fromTag;
    for (const rec of this.records.values()) if (rec.session.dialog?.id === id) return rec.call;
    return undefined;
  }

  /** Sends a feature's answer to a request, statefully (its retransmissions get the same answer). */
  private answerRequest(message: IncomingRequestMessage, answer: SipRequestAnswer, by: string): void {
    const core = this.agent?.userAgent.userAgentCore;
    if (!core) return;
    const text = `sip: ${by} answered a ${message.method} from ${message.from.uri.toString()} with ${answer.statusCode}: ${answer.why}`;
    if (answer.statusCode >= 300) this.log.info(text);
    else this.log.debug(text);
    const uas = new UserAgentServer(message.method === 'INVITE' ? InviteServerTransaction : NonInviteServerTransaction, core, message);
    const options = {
      statusCode: answer.statusCode,
      ...(answer.extraHeaders ? { extraHeaders: answer.extraHeaders } : {}),
      ...(answer.body ? { body: { contentDisposition: 'render', contentType: answer.body.contentType, content: answer.body.content } } : {}),
    };
    try {
      if (answer.statusCode >= 200 && answer.statusCode < 300) uas.accept(options);
      else uas.reject(options);
    } catch (err) {
      this.log.warn(`${text}: not sent: ${(err as Error).message}`);
    }
  }

  /**
   * Draining (docs/scale-out.md): new INVITEs are answered 503 and OPTIONS 503 with the number of calls
   * in progress (`X-Calls`), so that a proxy in front (Kamailio's dispatcher) sends new calls elsewhere;
   * calls in progress go on (and the flow may still dial). A `draining` line event now, `drained` when
   * the last call has ended (at once when there is none); undraining is a `line-up` again. Works while
   * the line is not ready too: it applies once it is.
   */
  setDraining(on: boolean): void {
    if (on === this.draining) return;
    this.draining = on;
    if (on) {
      this.emit('line', { topic: 'draining', payload: { state: 'draining', calls: this.records.size, text: this.drainText() } });
      if (this.ready) this.setStatus('draining', this.drainText());
      if (this.records.size === 0) this.reportDrain();
      return;
    }
    if (!this.ready) return;
    const text = 'taking calls again';
    this.setStatus('ready', text);
    this.emit('line', { topic: 'line-up', payload: { state: 'ready', text, aor: this.agent?.aor } });
  }

  get isDraining(): boolean {
    return this.draining;
  }

  private drainText(): string {
    const n = this.records.size;
    return n === 0 ? 'drained: no calls, new ones refused' : `draining: ${n} call${n === 1 ? '' : 's'} in progress, new ones refused`;
  }

  /** The last call of a draining line has ended. */
  private reportDrain(): void {
    if (this.ready) this.setStatus('draining', this.drainText());
    this.emit('line', { topic: 'drained', payload: { state: 'draining', calls: 0, text: this.drainText() } });
  }

  /**
   * Out-of-dialog requests, read before sip.js's core takes them (installed when the agent is first
   * ready: before that no request can reach the user agent):
   * - OPTIONS to any Request-URI of ours, with or without a user part: sip.js's core answers 404 to a
   *   Request-URI whose user is not its own (user-agent-core.js:395-416, docs/sip-in-node.md), so the
   *   user is set to ours and the core answers 200 with its Allow / Accept; while draining we answer
   *   503 ourselves, with the calls in progress in `X-Calls` (RFC 3261 §11.2: OPTIONS gets what an
   *   INVITE would get).
   * - Trunk mode: a trunk sends `INVITE sip:<the DID dialled>@us`: every out-of-dialog request gets our
   *   user name in its Request-URI; the user dialled is kept (the call's `incoming` reason) and the
   *   INVITE's evidence keeps the original URI text. The datagram's source is kept for the trust check.
   */
  private hookTransportRequests(): void {
    if (!this.agent) return;
    const ua = this.agent.userAgent;
    if (this.hooked.has(ua)) return;
    this.hooked.add(ua);
    const core = ua.userAgentCore;
    const receive = core.receiveIncomingRequestFromTransport.bind(core);
    const user = this.opts.username;
    const trunk = this.opts.register === false;
    core.receiveIncomingRequestFromTransport = (message: IncomingRequestMessage) => {
      const outOfDialog = !message.toTag;
      const options = message.method === 'OPTIONS';
      if (trunk && outOfDialog) {
        const source = (ua.transport as NodeTransport).deliveringFrom;
        if (source) this.sources.set(message, source);
      }
      if (outOfDialog && options && this.draining) {
        core.replyStateless(message, { statusCode: 503, reasonPhrase: 'Draining', extraHeaders: [`X-Calls: ${this.records.size}`] });
        return;
      }
      if (outOfDialog && (trunk || options) && message.ruri && message.ruri.scheme === 'sip' && message.ruri.user !== user) {
        if (!options) this.dialled.set(message, message.ruri);
        const ruri = message.ruri.clone();
        ruri.user = user;
        message.ruri = ruri;
      }
      receive(message);
    };
  }

  /** The address we put in Via/Contact/SDP, and the one RTP binds to; fills the trusted sources. */
  private async localAddresses(): Promise<{ sip: string; rtp: string }> {
    const transport = this.opts.transport ?? 'udp';
    const server = parseHostPort(this.opts.server, defaultSipPort(transport), 'server');
    const hops = [server];
    if (this.opts.outboundProxy) hops.push(parseHostPort(this.opts.outboundProxy, defaultSipPort(transport), 'outboundProxy'));
    const resolved = await Promise.all(hops.map((h) => resolveHost(h.host)));
    const others = await Promise.all(this.trustedHops.map((h) => resolveHost(h.host)));
    this.trusted = [...resolved.map((r, i) => ({ address: r.address, port: hops[i].port })), ...others.map((r, i) => ({ address: r.address, port: this.trustedHops[i].port }))];
    if (this.opts.localAddress) return { sip: this.opts.localAddress, rtp: this.opts.localAddress };
    const last = hops.length - 1;
    return { sip: await localAddressFor(resolved[last], hops[last].port), rtp: '0.0.0.0' };
  }

  private targetHost(): string {
    const domain = this.opts.domain;
    if (domain) return domain;
    return this.opts.server;
  }

  private setStatus(state: LineStatus['state'], text: string): void {
    this._status = { state, text };
    this.emit('status', this._status);
  }
}

/**
 * The codecs setting of a line: `"PCMU,PCMA"` (commas or spaces, any case) or `['PCMA']` → the codecs
 * in order of preference. At least one, each once. Throws InvalidInputError naming the setting.
 */
export function parseCodecs(value: unknown): G711Codec[] {
  const names = typeof value === 'string' ? value.split(/[\s,]+/).filter(Boolean) : Array.isArray(value) ? value : undefined;
  const hint = `list ${G711_CODECS.join(' and/or ')} in order of preference, such as "PCMU,PCMA"`;
  if (!names || names.length === 0) throw new InvalidInputError(`the codecs setting must ${hint}, got ${typeof value === 'string' ? 'nothing' : describe(value)}`);
  const codecs: G711Codec[] = [];
  for (const name of names) {
    const codec = typeof name === 'string' ? G711_CODECS.find((c) => c === name.toUpperCase()) : undefined;
    if (!codec) throw new InvalidInputError(`the codecs setting names "${printable(String(name))}", which this line cannot use: ${hint}`);
    if (codecs.includes(codec)) throw new InvalidInputError(`the codecs setting names ${codec} twice: ${hint}`);
    codecs.push(codec);
  }
  return codecs;
}

/**
 * The SIP line's own settings (the account's are SipUserAgent's, the RTP range the allocator's, all
 * checked when the line starts): each refusal names the setting as the editor shows it.
 */
function checkLineSettings(o: SipBackendOptions): void {
  checkSettings(SIP_LINE_SETTINGS, o as unknown as Record<string, unknown>);
  if (o.codecs !== undefined) parseCodecs(o.codecs);
  const notifyMs = o.transferNotifyTimeoutMs;
  if (notifyMs !== undefined && (typeof notifyMs !== 'number' || !Number.isFinite(notifyMs) || notifyMs <= 0)) {
    throw new InvalidInputError(`the transfer NOTIFY timeout must be a number of milliseconds above 0, got ${describe(notifyMs)}`);
  }
  if (o.displayName !== undefined) validateDisplayName(o.displayName, 'display name');
  if (o.outboundProxy !== undefined) {
    try {
      parseHostPort(o.outboundProxy, defaultSipPort(o.transport ?? 'udp'), 'outboundProxy');
    } catch (err) {
      throw new InvalidInputError(`the outbound proxy must be host[:port], such as proxy.example.com:5060: ${(err as Error).message}`);
    }
  }
  if (o.tls !== undefined && o.tls.rejectUnauthorized !== undefined && typeof o.tls.rejectUnauthorized !== 'boolean') {
    throw new InvalidInputError(`the TLS certificate check must be on or off (true or false), got ${describe(o.tls.rejectUnauthorized)}`);
  }
}

/**
 * The headers of a call that follows a REFER (DialOptions.referral): `Replaces` and `Referred-By`, as
 * the REFER gave them. They came from the network: each is checked as any header value (no CR/LF,
 * bounded) and must read as what it is (sip.js's grammar), or the dial is refused before anything is sent.
 */
function referralHeaders(referral: DialReferral | undefined): string[] {
  if (!referral) return [];
  const headers: string[] = [];
  if (referral.replaces !== undefined) {
    const value = validateSipHeaderValue('Replaces', referral.replaces);
    if (Grammar.parse(value, 'Replaces') === -1) throw new InvalidInputError(`the Replaces header "${printable(value)}" cannot be read (RFC 3891: call-id;to-tag=...;from-tag=...)`);
    headers.push(`Replaces: ${value}`);
  }
  if (referral.referredBy !== undefined) {
    const value = validateSipHeaderValue('Referred-By', referral.referredBy);
    if (Grammar.parse(value, 'Name_Addr_Header') === -1) throw new InvalidInputError(`the Referred-By header "${printable(value)}" cannot be read (RFC 3892: <sip:...>)`);
    headers.push(`Referred-By: ${value}`);
  }
  return headers;
}

/**
 * sip.js 0.21.2 (api/invitation.js `onAckTimeout`) ends a session whose 200 was never ACKed by
 * moving it to Terminated, even when it is Terminated already (the caller sent BYE without ACK, or
 * we hung up meanwhile): that throws "Invalid state transition from Terminated to Terminated" from
 * the dialog's timer, 32 s later, and ended the process in the INVITE flood (bench/sip-flood.ts).
 * A session that has ended has nothing left to end: the timeout is then only logged.
 */
function guardAckTimeout(invitation: Invitation): void {
  const target = invitation as unknown as { onAckTimeout?: () => void };
  const original = target.onAckTimeout;
  if (typeof original !== 'function') return;
  target.onAckTimeout = function (this: Invitation): void {
    if (invitation.state === SessionState.Terminated) return;
    original.call(invitation);
  };
}

/** `host:port`, `[v6]:port` (port 0: any, `host`). */
function formatSource(s: SourceAddress): string {
  const host = s.address.includes(':') ? `[${s.address}]` : s.address;
  return s.port === 0 ? host : `${host}:${s.port}`;
}

/**
 * The `trustedSources` setting: `host[:port]` entries, a list or one string separated by commas or
 * spaces; no port = any port of that host (port 0). Throws InvalidInputError naming the entry.
 */
export function parseTrustedSources(value: unknown): HostPort[] {
  if (value === undefined || value === '') return [];
  const entries = typeof value === 'string' ? value.split(/[\s,]+/).filter(Boolean) : Array.isArray(value) ? value : undefined;
  const hint = 'give host[:port] entries separated by commas, such as "10.0.0.5:5060, 10.0.0.6"';
  if (!entries) throw new InvalidInputError(`the trusted sources must be a list of addresses: ${hint}, got ${describe(value)}`);
  if (entries.length > 32) throw new InvalidInputError(`the trusted sources list ${entries.length} addresses, at most 32`);
  return entries.map((entry) => {
    try {
      return parseHostPort(entry, 0, 'trusted source');
    } catch (err) {
      throw new InvalidInputError(`the trusted source ${describe(entry)} is not host[:port]: ${hint} (${(err as Error).message})`);
    }
  });
}

function startLine(message: IncomingResponseMessage): string {
  return `SIP/2.0 ${message.statusCode ?? ''} ${message.reasonPhrase ?? ''}`.trim();
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}
