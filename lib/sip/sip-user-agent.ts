/**
 * A SIP account as a line needs it: sip.js's UserAgent on one of our Node transports, registered (or
 * not, in trunk mode), kept registered, and brought back after the transport or the server went away.
 * The SIP backend places and takes calls through `userAgent` (sip.js Inviter / Invitation); this class
 * owns the connection and the registration.
 *
 * ```txt
 *   stopped ──start()──► connecting ──(register)──► registering ──200──► ready
 *                          │   ▲   └──(trunk mode: no REGISTER)─────────► ready
 *                          │   │ back-off                  │              │ refresh failed, transport lost,
 *                          ▼   │                           ▼              ▼ server not answering keep-alives
 *                        retrying ◄─────────────────────────┴──────────────┘
 *   every state ──stop()──► stopping ──► stopped     (unregisters first, within unregisterTimeoutMs)
 * ```
 *
 * Events (payloads are plain objects, never a secret):
 * - `state` (SipAgentStateChange): every transition, with words saying why;
 * - `registered` ({ aor, contact, expires, code });
 * - `registration-failed` ({ code, reason, text, authFailed, retryInMs }): a REGISTER that did not
 *   succeed; `authFailed` when the server refused the credentials (401/407 after our answer to its
 *   challenge, or 403); `code` is the SIP status (408/503 also when no answer came / could not send);
 * - `unregistered` ({ reason, code? }): a registration that held ended (close, refresh failure,
 *   transport or server lost).
 *
 * What running sip.js in Node needs, and where it is done (see docs/sip-in-node.md):
 * - sip.js drops every response whose top Via host is not `viaHost` or that carries a port
 *   (node_modules/sip.js/lib/api/user-agent.js:851): `viaHost` is our local address and `forceRport`
 *   makes the server answer our source port;
 * - the Contact is built without a port (user-agent.js:510): its port is set from the transport's local
 *   port every time the transport connects;
 * - sip.js never reconnects or re-registers by itself: `retrying` does both, with back-off;
 * - the password goes only to sip.js's digest authentication, never to a log line or event.
 */
import { EventEmitter } from 'node:events';
import { URI, UserAgent, UserAgentState } from 'sip.js';
import type { UserAgentOptions } from 'sip.js';
import type { IncomingResponse } from 'sip.js/lib/core';
import { Logger, SILENT_LOGGER } from '../backend';
import { installFastGrammar } from './sip-grammar';
import { installMergedRequestIndex } from './sip-merged-request';
import { SipRegistration, RegistrationOutcome } from './sip-registration';
import { defaultSipPort, formatHostPort, HostPort, localAddressFor, parseHostPort, parsePort, resolveHost, SIP_TRANSPORTS, SipTransportName } from './transport-address';
import { isSipJsParseDrop, sipJsParserFault } from './transport-bad-request';
import { NodeTransport, NodeTransportOptions } from './transport-base';
import { RetransmitTimers } from './transport-retransmit';
import { TcpTransport } from './transport-tcp';
import { TlsTransport, TlsTransportOptions } from './transport-tls';
import { UdpTransport, UdpTransportOptions } from './transport-udp';
import { WsTransport, WsTransportOptions } from './transport-ws';

export enum SipAgentState {
  Stopped = 'stopped',
  Connecting = 'connecting',
  Registering = 'registering',
  Ready = 'ready',
  Retrying = 'retrying',
  Stopping = 'stopping',
}

const ALLOWED: Record<SipAgentState, SipAgentState[]> = {
  [SipAgentState.Stopped]: [SipAgentState.Connecting],
  [SipAgentState.Connecting]: [SipAgentState.Registering, SipAgentState.Ready, SipAgentState.Retrying, SipAgentState.Stopping],
  [SipAgentState.Registering]: [SipAgentState.Ready, SipAgentState.Retrying, SipAgentState.Stopping],
  [SipAgentState.Ready]: [SipAgentState.Retrying, SipAgentState.Stopping],
  [SipAgentState.Retrying]: [SipAgentState.Connecting, SipAgentState.Stopping],
  [SipAgentState.Stopping]: [SipAgentState.Stopped],
};

export interface SipAgentStateChange {
  state: SipAgentState;
  previous: SipAgentState;
  /** Words for people (status text, log). */
  text: string;
}

/** TLS settings: which certificates to trust, and whether to check them. */
export type SipTlsOptions = Pick<TlsTransportOptions, 'ca' | 'rejectUnauthorized' | 'servername' | 'cert' | 'key'>;

/** sip.js options the SIP backend passes through (its call handling). The rest is ours to set. */
export type SipPassThroughOptions = Pick<
  UserAgentOptions,
  | 'delegate'
  | 'sessionDescriptionHandlerFactory'
  | 'sessionDescriptionHandlerFactoryOptions'
  | 'sipExtension100rel'
  | 'sipExtensionReplaces'
  | 'sipExtensionExtraSupported'
  | 'noAnswerTimeout'
  | 'sendInitialProvisionalResponse'
  | 'allowLegacyNotifications'
  | 'userAgentString'
>;

export interface SipUserAgentOptions {
  /** The registrar / PBX: `host[:port]` (port default 5060; 5061 for TLS; 80 / 443 for WS / WSS). */
  server: string;
  transport?: SipTransportName;
  /** The WebSocket URL's path, for `ws` / `wss` (default `/`). */
  wsPath?: string;
  /** The account's user part (AOR `sip:username@domain`). */
  username: string;
  /** The account's domain (default: the server's host). */
  domain?: string;
  /** The digest password. A secret: given to sip.js's digest authentication only, never logged. */
  password?: string;
  /** The digest user name, when it is not `username`. */
  authUsername?: string;
  /** Register the account (default true). False: trunk mode, nothing is registered. */
  register?: boolean;
  /** Registration expiry asked for, in seconds (default 600). */
  expires?: number;
  /** Local SIP port (default 0: any free port). */
  localPort?: number;
  /** Local address to use (default: the one the system routes to the server through). */
  localAddress?: string;
  /** The name shown to the people we call (From display name). */
  displayName?: string;
  /** `host[:port]` every request is sent to instead of the server. */
  outboundProxy?: string;
  /** An OPTIONS to the server every this many seconds while ready, to notice it is gone (default 30; 0 off). */
  keepAliveSeconds?: number;
  /** How long a keep-alive may wait for an answer (default 5 s). */
  keepAliveTimeoutMs?: number;
  /** First and longest wait between attempts to connect / register (default 1 s and 60 s, doubling). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** How long close() waits for the server to confirm the unregistration (default 4 s). */
  unregisterTimeoutMs?: number;
  tls?: SipTlsOptions;
  /** RFC 3261 T1/T2 for UDP retransmissions (tests shorten them). */
  timers?: RetransmitTimers;
  /** Log every SIP message (credentials redacted) at debug level. */
  traceSip?: boolean;
  log?: Logger;
  /** Options for sip.js that belong to call handling (the SIP backend's delegate, SDH factory...). */
  sip?: SipPassThroughOptions;
  /**
   * The `Supported:` option tags of every request and response (the SIP backend computes them from its
   * features). sip.js adds `outbound` (RFC 5626, which we do not do) and its own tags by itself: given
   * this, exactly these are sent. Default: sip.js's own list without `outbound`.
   */
  supported?: readonly string[];
}

interface Resolved {
  transport: SipTransportName;
  server: HostPort;
  /** Where requests go: the outbound proxy, else the server. */
  nextHop: HostPort;
  aor: URI;
  registrar: URI;
  register: boolean;
  expires: number;
  localPort: number;
  keepAliveMs: number;
  keepAliveTimeoutMs: number;
  retryMinMs: number;
  retryMaxMs: number;
  unregisterTimeoutMs: number;
}

/** A SIP user part: RFC 3261 unreserved, escaped and user-unreserved characters. */
const SIP_USER = /^(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+$/;

export class SipUserAgent extends EventEmitter {
  private readonly config: Resolved;
  private readonly log: Logger;
  private _state = SipAgentState.Stopped;
  private ua: UserAgent | undefined;
  private registration: SipRegistration | undefined;
  private registered = false;
  /** Bumped whenever what is in progress must be abandoned (a new attempt, stop). */
  private generation = 0;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: SipUserAgentOptions) {
    super();
    this.log = options.log ?? SILENT_LOGGER;
    this.config = resolveOptions(options);
  }

  get state(): SipAgentState {
    return this._state;
  }

  /** True when calls can be made: connected, and registered unless in trunk mode. */
  get ready(): boolean {
    return this._state === SipAgentState.Ready;
  }

  /** The address of record, `sip:user@domain`. */
  get aor(): string {
    return this.config.aor.toString();
  }

  /** `sip:alice@example.com via pbx.example.com:5060 (udp)`: what this line is, for status and errors. */
  get description(): string {
    return `${this.aor} via ${formatHostPort(this.config.nextHop)} (${this.config.transport})`;
  }

  /** The sip.js user agent, for the SIP backend. Exists from the first successful connection on. */
  get userAgent(): UserAgent {
    if (!this.ua) throw new Error(`the SIP user agent for ${this.aor} has not connected yet`);
    return this.ua;
  }

  /** Our Contact as sent (`<sip:alice@127.0.0.1:40112;transport=udp>`), once connected. */
  get contact(): string | undefined {
    return this.ua && this.ua.contact.uri.port ? this.ua.contact.toString() : undefined;
  }

  /** The transport in use, once connected (for tests and the backend's diagnostics). */
  get transport(): NodeTransport | undefined {
    return this.ua?.transport as NodeTransport | undefined;
  }

  /**
   * Connects and registers in the background, retrying with back-off until `stop()`. Resolves after the
   * first attempt to connect (the REGISTER goes on in the background): a missing server is a
   * `retrying` state, not an error. Watch `state` / `registered` for the outcome.
   */
  async start(): Promise<void> {
    if (this._state !== SipAgentState.Stopped) return;
    this.failures = 0;
    await this.attempt(++this.generation);
  }

  /**
   * Unregisters (waiting at most `unregisterTimeoutMs` for the server), then closes the transport.
   * Never rejects; calling it again returns the same promise.
   */
  stop(): Promise<void> {
    if (this._state === SipAgentState.Stopped) return Promise.resolve();
    if (!this.stopping) {
      this.stopping = this.shutdown().finally(() => {
        this.stopping = undefined;
      });
    }
    return this.stopping;
  }

  // ───────────────────────────── connecting and registering ─────────────────────────────

  private async attempt(generation: number): Promise<void> {
    if (generation !== this.generation) return;
    this.transition(SipAgentState.Connecting, `connecting to ${formatHostPort(this.config.nextHop)} (${this.config.transport})`);
    let ua: UserAgent;
    try {
      ua = this.ua ?? (await this.build());
      if (generation !== this.generation) return;
      if (!ua.isConnected()) {
        if (ua.state === UserAgentState.Stopped) await ua.start();
        else await ua.reconnect();
      }
    } catch (err) {
      if (generation !== this.generation) return;
      this.scheduleRetry(`cannot connect to ${formatHostPort(this.config.nextHop)}: ${errorText(err)}`);
      return;
    }
    if (generation !== this.generation) return;
    const local = (ua.transport as NodeTransport).local;
    if (local) ua.contact.uri.port = local.port;
    if (!this.config.register) {
      this.becomeReady(`connected to ${formatHostPort(this.config.nextHop)} (trunk mode: not registering)`);
      return;
    }
    this.transition(SipAgentState.Registering, `registering ${this.aor}`);
    // Not awaited: over UDP an unanswered REGISTER takes 32 s to time out, and start() must not wait.
    this.background(this.registerNow(generation));
  }

  private async registerNow(generation: number): Promise<void> {
    const registration = this.registration as SipRegistration;
    const outcome = await registration.register();
    if (generation !== this.generation) return;
    if (outcome.ok) {
      this.registered = true;
      this.scheduleRefresh(outcome.expires);
      const wasReady = this._state === SipAgentState.Ready;
      if (!wasReady) this.becomeReady(`registered ${this.aor} (expires in ${outcome.expires} s)`);
      this.emit('registered', { aor: this.aor, contact: this.contact, expires: outcome.expires, code: outcome.code });
      return;
    }
    const wasRegistered = this.registered;
    this.registered = false;
    const text = failureText(outcome);
    const authFailed = !outcome.local && (outcome.code === 401 || outcome.code === 407 || outcome.code === 403);
    // Wrong credentials do not fix themselves, and servers ban addresses that fail often (fail2ban):
    // after one, wait the longest back-off.
    const retryInMs = authFailed ? Math.max(this.config.retryMaxMs, this.nextDelay(outcome.retryAfter)) : this.nextDelay(outcome.retryAfter);
    this.emit('registration-failed', { code: outcome.code, reason: outcome.phrase, text, authFailed, retryInMs });
    if (wasRegistered) this.emit('unregistered', { reason: `registration refresh failed: ${text}`, code: outcome.code });
    // The state text is the status under every node of the line, cut to its first 48 characters
    // (nodes/shared/status.ts): what the user must fix comes first, or "password" is never seen.
    this.scheduleRetry(`${authFailed ? 'username or password refused' : 'registration failed'}: ${text}`, retryInMs);
  }

  private becomeReady(text: string): void {
    this.failures = 0;
    this.transition(SipAgentState.Ready, text);
    this.scheduleKeepAlive();
  }

  /** Refresh well before expiry: half-way for short registrations, 30 s early for long ones. */
  private scheduleRefresh(expires: number): void {
    clearTimeout(this.refreshTimer);
    const generation = this.generation;
    const delayMs = Math.max(expires / 2, expires - 30) * 1000;
    this.refreshTimer = setTimeout(() => this.background(this.registerNow(generation)), Math.max(delayMs, 500));
  }

  private scheduleKeepAlive(): void {
    clearTimeout(this.keepAliveTimer);
    if (this.config.keepAliveMs <= 0) return;
    const generation = this.generation;
    this.keepAliveTimer = setTimeout(() => {
      this.background(
        this.ping().then((alive) => {
          if (generation !== this.generation || this._state !== SipAgentState.Ready) return;
          if (alive) this.scheduleKeepAlive();
          else this.lose(`the server ${formatHostPort(this.config.nextHop)} does not answer`);
        }),
      );
    }, this.config.keepAliveMs);
  }

  /**
   * An OPTIONS to the next hop. Any answer from it (even 404, or a 401 challenge) means it is there:
   * one OPTIONS per keep-alive. So does any other message from it while the answer is awaited (a
   * request, a response to a call's request): a server busy with many calls answers an OPTIONS late
   * (SIPp at 1000 calls in bench/sip-load took longer than the 5 s) but is plainly there.
   */
  private ping(): Promise<boolean> {
    const ua = this.ua;
    if (!ua || !ua.isConnected()) return Promise.resolve(false);
    const target = new URI('sip', '', this.config.nextHop.host, this.config.nextHop.port);
    const askedAt = performance.now();
    const heardSince = (): boolean => ((ua.transport as NodeTransport | undefined)?.lastFromServerAt ?? -Infinity) >= askedAt;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(heardSince()), this.config.keepAliveTimeoutMs);
      // sip.js's own 408/503 (no answer, could not send) carry no Via: they are not the server's.
      const answered = (response: IncomingResponse): void => {
        clearTimeout(timer);
        resolve(response.message.hasHeader('via'));
      };
      try {
        const request = ua.userAgentCore.makeOutgoingRequestMessage('OPTIONS', target, this.config.aor, target, {});
        const uac = ua.userAgentCore.request(request, { onAccept: answered, onReject: answered, onRedirect: answered });
        // A 401/407 is an answer too: sip.js would answer the challenge and send the OPTIONS again
        // (user-agent-client.js authenticationGuard), two OPTIONS per keep-alive to a registrar that
        // challenges them. Its guard is switched off for this request, so the challenge is the answer.
        (uac as unknown as { authenticationGuard: () => boolean }).authenticationGuard = () => true;
      } catch (err) {
        clearTimeout(timer);
        this.log.debug(`sip: keep-alive not sent: ${errorText(err)}`);
        resolve(false);
      }
    });
  }

  /** The transport dropped, or the server stopped answering: start over. */
  private lose(text: string): void {
    if (this._state === SipAgentState.Stopping || this._state === SipAgentState.Stopped || this._state === SipAgentState.Retrying) return;
    this.registration?.abandon();
    if (this.registered) {
      this.registered = false;
      this.emit('unregistered', { reason: text });
    }
    this.scheduleRetry(text);
  }

  private scheduleRetry(text: string, delayMs = this.nextDelay()): void {
    this.generation++;
    this.clearTimers();
    this.failures++;
    this.transition(SipAgentState.Retrying, `${text}; retrying in ${Math.round(delayMs / 100) / 10} s`);
    const generation = this.generation;
    this.retryTimer = setTimeout(() => this.background(this.attempt(generation)), delayMs);
  }

  /** Doubling back-off from retryMinMs to retryMaxMs; the server's Retry-After wins when it says more. */
  private nextDelay(retryAfterSeconds?: number): number {
    const backoff = Math.min(this.config.retryMinMs * 2 ** Math.min(this.failures, 20), this.config.retryMaxMs);
    return retryAfterSeconds !== undefined ? Math.max(backoff, retryAfterSeconds * 1000) : backoff;
  }

  /** Work started by a timer: a failure (a listener that threw) is logged, never an unhandled rejection. */
  private background(work: Promise<void>): void {
    work.catch((err) => this.log.error(`sip ${this.aor}: ${errorText(err)}`));
  }

  private clearTimers(): void {
    clearTimeout(this.retryTimer);
    clearTimeout(this.refreshTimer);
    clearTimeout(this.keepAliveTimer);
    this.retryTimer = this.refreshTimer = this.keepAliveTimer = undefined;
  }

  // ───────────────────────────── building the sip.js user agent ─────────────────────────────

  /** Made once the local address is known: sip.js takes Via's host at construction. */
  private async build(): Promise<UserAgent> {
    const { config, options } = this;
    const remote = await resolveHost(config.nextHop.host);
    const localAddress = options.localAddress ?? (await localAddressFor(remote, config.nextHop.port));
    const transportOptions: NodeTransportOptions & UdpTransportOptions & TlsTransportOptions & WsTransportOptions = {
      server: config.nextHop,
      localAddress: options.localAddress,
      localPort: config.localPort,
      traceSip: options.traceSip,
      log: this.log,
      timers: options.timers,
      secure: config.transport === 'wss',
      path: options.wsPath,
      ...options.tls,
    };
    const transportConstructor = TRANSPORTS[config.transport];
    const log = this.log;
    // sip.js hands the connector every line it writes, whatever `logLevel` says (core/log/
    // logger-factory.js: the level gates only its console printer): about twenty debug lines per
    // call. Each was a Node-RED `node.debug()`, which builds an Error for its stack before the log
    // level drops it (bench/setup-cost.ts: ~5 % of a call's set-up). They are passed on with
    // `traceSip` only, the setting that asks for SIP detail; warnings and errors always.
    const sipJsDebug = options.traceSip === true;
    const ua = new UserAgent({
      ...options.sip,
      uri: config.aor,
      displayName: options.displayName,
      authorizationUsername: options.authUsername ?? options.username,
      authorizationPassword: options.password,
      contactName: options.username,
      contactParams: { transport: config.transport },
      viaHost: localAddress,
      forceRport: true,
      transportConstructor,
      transportOptions,
      logBuiltinEnabled: false,
      logConfiguration: false,
      logLevel: options.traceSip ? 'debug' : 'warn',
      // sip.js calls its own failures (a transport error, a timeout) "error"; for the line they are
      // warnings, reported through the states and events above.
      // What sip.js's parser refused, and its drop of the message, are passed on to the transport,
      // which answers 400 naming the fault when it is a request, and logs it once, rate-limited
      // (transport-bad-request.ts says why and how): not logged here, or each would be a warning.
      logConnector: (level, category, _label, content) => {
        if (!sipJsDebug && level !== 'warn' && level !== 'error') return;
        const fault = sipJsParserFault(category, content);
        if (fault !== undefined) return (ua.transport as NodeTransport).unparsable(fault);
        if (isSipJsParseDrop(category, content)) return (ua.transport as NodeTransport).unparsable();
        if (level === 'error') log.warn(`sip: the SIP library reported a problem (sip.js ${category}: ${content})`);
        else log.debug(`sip.js ${category}: ${content}`);
      },
    });
    if (!FAST_GRAMMAR.installed) log.debug(FAST_GRAMMAR.reason);
    if (!MERGED_REQUESTS.installed) log.debug(MERGED_REQUESTS.reason);
    // sip.js 0.21 has no option for the list (api/user-agent.js pushes "outbound" unconditionally):
    // its core reads these two fields for each message it builds. Without a list given, sip.js's own
    // less `outbound` (RFC 5626: no flow token, no CRLF keep-alive here).
    const core = ua.userAgentCore.configuration;
    core.supportedOptionTags = [...(options.supported ?? core.supportedOptionTags.filter((t) => t !== 'outbound'))];
    core.supportedOptionTagsResponse = [...(options.supported ?? core.supportedOptionTagsResponse.filter((t) => t !== 'outbound'))];
    ua.transport.stateChange.addListener((state) => {
      if (this.ua !== ua || state !== 'Disconnected') return;
      const cause = (ua.transport as NodeTransport).lastError;
      if (this._state === SipAgentState.Ready || this._state === SipAgentState.Registering) {
        this.lose(`connection to ${formatHostPort(config.nextHop)} lost${cause ? `: ${cause.message}` : ''}`);
      }
    });
    this.ua = ua;
    this.registration = config.register ? new SipRegistration(ua, { registrar: config.registrar, aor: config.aor, expires: config.expires }) : undefined;
    return ua;
  }

  private async shutdown(): Promise<void> {
    const wasRegistered = this.registered;
    this.generation++;
    this.clearTimers();
    this.transition(SipAgentState.Stopping, 'closing');
    const ua = this.ua;
    if (ua && wasRegistered && ua.isConnected() && this.registration) {
      this.registration.abandon();
      const outcome = await withTimeout(this.registration.unregister(), this.config.unregisterTimeoutMs);
      this.registered = false;
      this.emit('unregistered', {
        reason: outcome?.ok ? 'closed' : `closed (the server did not confirm: ${outcome ? failureText(outcome) : 'no answer'})`,
        code: outcome?.code,
      });
    }
    this.registered = false;
    this.ua = undefined;
    this.registration = undefined;
    if (ua) {
      // stop() ends what is left (sessions), then disposes of the transport; bounded like the rest.
      await withTimeout(
        ua.stop().catch((err) => this.log.debug(`sip: stop: ${errorText(err)}`)),
        5000,
      );
      await (ua.transport as NodeTransport).dispose().catch(() => undefined);
    }
    this.transition(SipAgentState.Stopped, 'closed');
  }

  private transition(to: SipAgentState, text: string): void {
    const previous = this._state;
    if (previous === to) return;
    if (!ALLOWED[previous].includes(to)) {
      this.log.error(`sip: invalid state change ${previous} -> ${to} (${text})`);
      return;
    }
    this._state = to;
    this.log[to === SipAgentState.Retrying ? 'warn' : 'info'](`sip ${this.aor}: ${text}`);
    this.emit('state', { state: to, previous, text } satisfies SipAgentStateChange);
  }
}

// ───────────────────────────── helpers ─────────────────────────────

/** sip.js's grammar with its bytecode table decoded once, not at every header parse (lib/sip/sip-grammar.ts). */
const FAST_GRAMMAR = installFastGrammar();

/** sip.js's merged-request check by Call-ID, not a scan of every server transaction (lib/sip/sip-merged-request.ts). */
const MERGED_REQUESTS = installMergedRequestIndex();

// sip.js types the constructor's options as `any` (UserAgentOptions.transportConstructor).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const TRANSPORTS: Record<SipTransportName, new (logger: unknown, options: any) => NodeTransport> = {
  udp: UdpTransport,
  tcp: TcpTransport,
  tls: TlsTransport,
  ws: WsTransport,
  wss: WsTransport,
};

function resolveOptions(options: SipUserAgentOptions): Resolved {
  if (!options || typeof options !== 'object') throw new TypeError('options: expected an object');
  const transport = options.transport ?? 'udp';
  if (!SIP_TRANSPORTS.includes(transport)) throw new TypeError(`transport: expected one of ${SIP_TRANSPORTS.join(', ')}, got ${JSON.stringify(transport)}`);
  const server = parseHostPort(options.server, defaultSipPort(transport), 'server');
  const nextHop = options.outboundProxy ? parseHostPort(options.outboundProxy, defaultSipPort(transport), 'outboundProxy') : server;
  if (typeof options.username !== 'string' || !SIP_USER.test(options.username)) {
    throw new TypeError(`username: expected a SIP user name (letters, digits, - _ . ! ~ * ' ( ) & = + $ , ; ? /), got ${JSON.stringify(options.username)}`);
  }
  const domain = options.domain === undefined || options.domain === '' ? { host: server.host, port: 0 } : parseHostPort(options.domain, 0, 'domain');
  const aor = new URI('sip', options.username, domain.host, domain.port || undefined);
  const registrar = new URI('sip', '', domain.host, domain.port || undefined);
  if (options.password !== undefined && typeof options.password !== 'string') throw new TypeError('password: expected a string');
  const positive = (value: number | undefined, fallback: number, option: string, min = 0): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min) throw new TypeError(`${option}: expected a number >= ${min}, got ${JSON.stringify(value)}`);
    return value;
  };
  return {
    transport,
    server,
    nextHop,
    aor,
    registrar,
    register: options.register !== false,
    expires: Math.round(positive(options.expires, 600, 'expires', 1)),
    localPort: options.localPort === undefined ? 0 : parsePort(options.localPort, 'localPort', true),
    keepAliveMs: positive(options.keepAliveSeconds, 30, 'keepAliveSeconds') * 1000,
    keepAliveTimeoutMs: positive(options.keepAliveTimeoutMs, 5000, 'keepAliveTimeoutMs', 1),
    retryMinMs: positive(options.retryMinMs, 1000, 'retryMinMs', 1),
    retryMaxMs: positive(options.retryMaxMs, 60_000, 'retryMaxMs', 1),
    unregisterTimeoutMs: positive(options.unregisterTimeoutMs, 4000, 'unregisterTimeoutMs', 1),
  };
}

/** Words for a failed REGISTER. */
export function failureText(outcome: Extract<RegistrationOutcome, { ok: false }>): string {
  const status = `${outcome.code}${outcome.phrase ? ` ${outcome.phrase}` : ''}`;
  if (outcome.local && outcome.code === 408) return 'no answer from the server (408 timeout)';
  if (outcome.local) return `could not send to the server (${outcome.phrase || outcome.code})`;
  if (outcome.code === 401 || outcome.code === 407) return `the server refused the credentials (${status}): check the username and password`;
  if (outcome.code === 403) return `the server refused the registration (${status}): check the username and password, or whether this account may register`;
  return `the server answered ${status}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The promise's value, or undefined after `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]).finally(() => clearTimeout(timer));
}
