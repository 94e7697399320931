import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { Backend, Logger, LineStatus, SILENT_LOGGER, HangupRequest } from '../backend';
import { Call, CallReport, CallSnapshot, CallTransition } from '../call/call';
import { CapabilityName } from '../capabilities';
import { CallEventName, CallState, LineEventName, eventFor, isAlerting } from '../call/call-state';
import { EndInfo, HANGUP_CAUSES, HangupCause } from '../call/cause';
import { CallStateError, InvalidInputError, LineNotReadyError, NotSupportedError, UnknownCallError } from '../errors';
import { describe, isSipTarget, printable, validateCallTarget, validateDisplayName, validateSipHeaders, validateSipUser } from '../validate';
import type { DialOptions } from '../backend';
import type { SipDtmfMode } from '../sip/rtp-description-handler';
import type { IncomingReferPolicy } from '../sip/sip-forwarding';
import { LineDtmf } from './line-dtmf';
import { LineControl } from './line-control';
import { LineForwarding } from './line-forwarding';
import { LineAudio } from './line-audio';

/** The settings of one line (the `voice-line` config node's properties, minus secrets). */
export interface LineConfig {
  id: string;
  name?: string;
  backend: 'at' | 'sip';
  /** AT: a device path, or `sim:<profile>` for the built-in emulator. */
  serialPort?: string;
  /** AT: the module's PCM audio port (a second USB serial port, `AT+QPCMV`), for streaming and playback. */
  pcmPort?: string;
  baudRate?: number;
  /** AT: `auto` or a modem profile name. */
  modem?: string;
  /** Seconds before an incoming call is answered automatically; 0 = off (a numeric string is accepted). */
  autoAnswer?: number | string;
  /** Reject every incoming call. */
  autoReject?: boolean;
  /** AT: restart a module that stays silent after the port was reopened (`AT+CFUN=1,1`). */
  resetOnHang?: boolean;
  /** SIP: the registrar / PBX / trunk, `host[:port]` (the password is a credential). */
  server?: string;
  /** SIP: `udp` (default), `tcp`, `tls`, `ws`, `wss`. */
  transport?: 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';
  /** SIP: the account's user name (also the caller ID sent). */
  username?: string;
  /** SIP: the account's domain (default: the server's host). */
  domain?: string;
  /** SIP: register the account (default true); false = trunk mode. */
  register?: boolean;
  /** SIP: local SIP port (0 = any). */
  localPort?: number;
  /** SIP: local address for SIP and RTP (default: the one routed towards the server). */
  localAddress?: string;
  /** SIP: RTP port range. */
  rtpPortMin?: number;
  rtpPortMax?: number;
  /** SIP: From display name. */
  displayName?: string;
  /** SIP: calls at once; beyond it an INVITE is answered 486 (0 = no limit). */
  maxCalls?: number;
  /** SIP: `host[:port]` every request is sent to instead of the server (the registrar stays the server). */
  outboundProxy?: string;
  /** SIP, trunk mode: more `host[:port]` places calls may come from (commas or spaces; no port: any), docs/scale-out.md. */
  trustedSources?: string | readonly string[];
  /** SIP: the codecs offered and accepted, in order of preference: `"PCMU,PCMA"` or `['PCMA']` (default PCMU, PCMA). */
  codecs?: string | readonly string[];
  /** SIP: how DTMF is sent: `rfc4733` (default), `info` (SIP INFO) or `inband` (tones in the audio). */
  dtmfMode?: SipDtmfMode;
  /** SIP: a REFER from the other side: `refuse` it (default) or `follow` it. */
  incomingRefer?: IncomingReferPolicy;
  /** SIP over TLS / WSS: check the server's certificate (default true). */
  tlsVerify?: boolean;
  /** SIP over TLS / WSS: a PEM file of the CA certificates to trust instead of the system's, read when the line starts. */
  tlsCa?: string;
}

/**
 * What a flow may ask of one dial (raw values, validated by {@link VoiceLine.dial}). `callerId`,
 * `callerName` and `headers` are SIP's; empty or absent means the line's own.
 */
export interface DialRequest {
  /** Seconds to let it ring (0 = no limit of ours). */
  ringTimeout?: unknown;
  /** The From user (caller ID) of this call. */
  callerId?: unknown;
  /** The From display name of this call. */
  callerName?: unknown;
  /** Extra INVITE headers, `{ "X-Ticket": "4711" }`. */
  headers?: unknown;
}

/** Secrets: Node-RED credentials. Never logged, never in status or errors. */
export interface LineCredentials {
  pin?: string;
  password?: string;
}

/** One message's worth of event: what `voice-events` sends and the action nodes report. */
export interface VoiceEvent {
  topic: CallEventName | LineEventName;
  call?: CallSnapshot;
  payload: Record<string, unknown>;
}

export interface DialResult {
  answered: boolean;
  call: Call;
  /** Set when not answered. */
  end?: EndInfo;
}

export type BackendFactory = (line: VoiceLine) => Backend;

export interface VoiceLineOptions {
  credentials?: LineCredentials;
  log?: Logger;
  /** Builds the backend; the default picks one from `config.backend`. */
  backendFactory?: BackendFactory;
}

/** Longest ring timeout accepted from a flow, in seconds. */
export const MAX_RING_TIMEOUT_S = 600;

/**
 * One line: the object every voice node talks to. It owns one {@link Backend}, counts the nodes that
 * use it (the backend starts with the first and stops after the last), keeps the calls, applies the
 * line's policies (auto-answer, auto-reject, ring timeout) and turns every call transition and line
 * change into one {@link VoiceEvent}.
 *
 * Events: `event` (VoiceEvent), `status` (LineStatus), `report` (CallReport: a dtmf digit or
 * transfer progress, for the line's own features such as gathers).
 */
export class VoiceLine extends EventEmitter {
  readonly id: string;
  readonly config: Readonly<LineConfig>;
  readonly credentials: Readonly<LineCredentials>;
  readonly log: Logger;
  private readonly factory: BackendFactory;
  private _backend: Backend | null = null;
  private readonly users = new Set<string>();
  private readonly calls = new Map<string, Call>();
  private readonly timers = new Map<string, NodeJS.Timeout[]>();
  private _status: LineStatus = { state: 'idle', text: 'idle' };
  private autoAnswerS: number;
  private autoRejectOn: boolean;
  private drainingOn = false;
  private stopping: Promise<void> | null = null;

  /** Features beyond dial / answer / hang up, one object each (lib/line/line-*.ts). */
  readonly dtmf: LineDtmf = new LineDtmf(this);
  readonly control: LineControl = new LineControl(this);
  readonly forwarding: LineForwarding = new LineForwarding(this);
  readonly audio: LineAudio = new LineAudio(this);

  constructor(config: LineConfig, options: VoiceLineOptions = {}) {
    super();
    this.id = config.id;
    this.config = { ...config };
    this.credentials = { ...(options.credentials ?? {}) };
    this.log = options.log ?? SILENT_LOGGER;
    this.factory = options.backendFactory ?? defaultBackendFactory;
    this.autoAnswerS = checkAutoAnswer(config.autoAnswer ?? 0);
    this.autoRejectOn = Boolean(config.autoReject);
  }

  get status(): LineStatus {
    return this._status;
  }

  get backend(): Backend | null {
    return this._backend;
  }

  get userCount(): number {
    return this.users.size;
  }

  get autoAnswer(): number {
    return this.autoAnswerS;
  }

  get autoReject(): boolean {
    return this.autoRejectOn;
  }

  /** Seconds before an incoming call is answered (0 = off). Applies to calls that arrive afterwards. */
  setAutoAnswer(seconds: unknown): void {
    this.autoAnswerS = checkAutoAnswer(seconds);
  }

  setAutoReject(on: unknown): void {
    if (typeof on !== 'boolean') throw new InvalidInputError(`auto-reject must be true or false, got ${describe(on)}`);
    this.autoRejectOn = on;
  }

  /** True while the line refuses new incoming calls (`setDraining`). */
  get draining(): boolean {
    return this.drainingOn;
  }

  /**
   * Drains the line (`true`: new incoming calls refused, calls in progress finish, `drained` when none
   * is left) or takes calls again (`false`); docs/scale-out.md. Kept across a restart of the backend.
   * A backend that cannot drain (the AT line) refuses with a NotSupportedError.
   */
  setDraining(on: unknown): void {
    if (typeof on !== 'boolean') throw new InvalidInputError(`draining must be true or false, got ${describe(on)}`);
    const backend = this._backend;
    if (backend && !backend.setDraining) throw new NotSupportedError(`draining is not supported on this line (${backend.description}): only a SIP line can drain`);
    if (!backend && this.config.backend !== 'sip') throw new NotSupportedError('draining is not supported on this line: only a SIP line can drain');
    this.drainingOn = on;
    backend?.setDraining?.(on);
  }

  /** A node starts using the line: the first user connects it. */
  acquire(userId: string): void {
    this.users.add(userId);
    if (this.users.size === 1 && !this._backend) void this.start();
  }

  /** A node stops using the line: after the last one, the line disconnects. */
  async release(userId: string): Promise<void> {
    this.users.delete(userId);
    if (this.users.size === 0) await this.stop();
  }

  /** Connects the backend. Never rejects for a missing device: the status says what is wrong. */
  async start(): Promise<void> {
    if (this._backend) return;
    if (this.stopping) await this.stopping;
    let backend: Backend;
    try {
      backend = this.factory(this);
    } catch (err) {
      this.setStatus({ state: 'error', text: (err as Error).message });
      return;
    }
    this._backend = backend;
    backend.on('status', (s: LineStatus) => this.setStatus(s));
    backend.on('line', (e: { topic: LineEventName; payload: Record<string, unknown> }) =>
      this.emitEvent({ topic: e.topic, payload: e.payload }),
    );
    backend.on('call', (call: Call) => this.adopt(call));
    if (this.drainingOn) backend.setDraining?.(true);
    await backend.start();
  }

  /** Disconnects: ends the calls, closes the device. Resolves within the backend's 10 s bound. */
  async stop(): Promise<void> {
    const backend = this._backend;
    if (!backend) return this.stopping ?? undefined;
    this._backend = null;
    this.stopping = (async () => {
      try {
        await backend.stop();
      } catch (err) {
        this.log.warn(`closing the line: ${(err as Error).message}`);
      } finally {
        backend.removeAllListeners();
        for (const id of [...this.timers.keys()]) this.clearTimers(id);
        this.calls.clear();
        this.setStatus({ state: 'closed', text: 'closed' });
        this.stopping = null;
      }
    })();
    return this.stopping;
  }

  /** The calls not yet ended, oldest first. */
  activeCalls(): Call[] {
    return [...this.calls.values()];
  }

  /**
   * Whom a call goes to (dial, divert, transfer): a phone number, or on a SIP line a SIP address
   * (`sip:user@host[:port]`, lib/validate.ts validateCallTarget). Other lines dial numbers only: an
   * address is an InvalidInputError that says so, before anything is sent.
   */
  callTarget(value: unknown, what: string): string {
    const target = validateCallTarget(value, what);
    if (isSipTarget(target) && (this.backend?.kind ?? this.config.backend) !== 'sip') {
      throw new InvalidInputError(`the ${what} is a SIP address, which only a SIP line can use: give a phone number (${printable(target)})`);
    }
    return target;
  }

  /**
   * Dials `number` (validated here: nothing invalid reaches the backend). Resolves with the call as
   * soon as it is placed; `ringTimeout` (seconds, 0 = none) hangs it up with cause `no-answer`
   * when it has not been answered by then.
   */
  async dial(number: unknown, options: DialRequest = {}): Promise<Call> {
    const n = this.callTarget(number, 'phone number');
    const ringTimeout = checkRingTimeout(options.ringTimeout ?? 0);
    const sip = sipDialOptions(options);
    const backend = this.readyBackend();
    const asked = Object.keys(sip);
    if (asked.length > 0 && backend.kind !== 'sip') {
      // Refused rather than ignored: a flow that sets a caller ID expects it to be seen.
      throw new NotSupportedError(
        `${asked.map((k) => SIP_DIAL_OPTION_WORDS[k as keyof typeof SIP_DIAL_OPTION_WORDS]).join(' and ')} cannot be set on this line ` +
          `(${backend.description}): a mobile network shows the SIM's own number; leave them empty on an AT line`,
      );
    }
    const call = await backend.dial(n, { ringTimeoutMs: ringTimeout * 1000, ...sip });
    this.adopt(call);
    if (ringTimeout > 0 && isAlerting(call.state)) {
      this.addTimer(call.id, ringTimeout * 1000, () => {
        if (!isAlerting(call.state)) return;
        this.hangupCall(call, {
          signal: 'normal',
          endCause: 'no-answer',
          text: `not answered within ${ringTimeout} s`,
        }).catch((err: Error) => this.log.warn(`ring timeout of call ${call.id}: ${err.message}`));
      });
    }
    return call;
  }

  /** Dials and waits for the outcome: answered, or ended before answer (with its cause). */
  async dialAndWait(number: unknown, options: DialRequest = {}): Promise<DialResult> {
    const call = await this.dial(number, options);
    return outcome(call);
  }

  /** Answers an incoming or waiting call (`ref`: a call id, a call snapshot, or nothing for "the one ringing"). */
  async answer(ref?: unknown): Promise<Call> {
    const call = this.resolveCall(ref, 'answer', (c) => c.state === CallState.Incoming || c.state === CallState.Waiting);
    if (call.state !== CallState.Incoming && call.state !== CallState.Waiting) {
      throw new CallStateError(`call ${call.id} is ${call.state}: only an incoming or waiting call can be answered`);
    }
    await this.readyBackend().answer(call);
    return call;
  }

  /**
   * Ends a call: hangs up a connected call, cancels an outgoing call, rejects an incoming one with
   * `cause` (`normal`, `busy`, `rejected`, `unavailable`).
   */
  async hangup(ref?: unknown, cause: unknown = 'normal'): Promise<Call> {
    if (!(HANGUP_CAUSES as readonly unknown[]).includes(cause)) {
      throw new InvalidInputError(`the hangup cause must be one of ${HANGUP_CAUSES.join(', ')}, got ${describe(cause)}`);
    }
    const call = this.resolveCall(ref, 'hang up', () => true);
    await this.hangupCall(call, hangupRequest(call, cause as HangupCause));
    return call;
  }

  /**
   * Finds the call a message names. `ref` is a call id string, an object with an `id` (a `msg.call`
   * snapshot), or undefined: then the line's only call that `fits` (an error when there are none or
   * several, so a flow never acts on the wrong call).
   */
  resolveCall(ref: unknown, action: string, fits: (call: Call) => boolean): Call {
    if (ref === undefined || ref === null || ref === '') {
      const candidates = this.activeCalls().filter(fits);
      if (candidates.length === 1) return candidates[0];
      if (candidates.length === 0) throw new UnknownCallError(`there is no call to ${action} on this line`);
      throw new InvalidInputError(
        `there are ${candidates.length} calls to ${action} on this line: say which in msg.call (a call id)`,
      );
    }
    const id = typeof ref === 'string' ? ref : typeof ref === 'object' ? (ref as { id?: unknown }).id : undefined;
    if (typeof id !== 'string' || id === '') {
      throw new InvalidInputError(`msg.call must be a call id or a call object with an id, got ${describe(ref)}`);
    }
    const call = this.calls.get(id);
    if (!call) throw new UnknownCallError(`call ${id} is not in progress on this line (it has ended, or never existed)`);
    return call;
  }

  /**
   * A capability of the connected backend, or a NotSupportedError that says what and where:
   * "sending DTMF is not supported on this line (generic 27.007 modem)".
   */
  capability<K extends CapabilityName>(name: K, what: string): NonNullable<Backend[K]> {
    const backend = this.readyBackend();
    const cap = backend[name];
    if (!cap) throw new NotSupportedError(`${what} is not supported on this line (${backend.description})`);
    return cap as NonNullable<Backend[K]>;
  }

  private readyBackend(): Backend {
    const backend = this._backend;
    if (!backend || !backend.ready) {
      throw new LineNotReadyError(`the line is not ready (${this._status.text})`);
    }
    return backend;
  }

  private async hangupCall(call: Call, request: HangupRequest): Promise<void> {
    const backend = this._backend;
    if (!backend) throw new LineNotReadyError(`the line is not ready (${this._status.text})`);
    await backend.hangup(call, request);
  }

  /** Takes a new call into the line's registry, announces it, and follows its transitions. */
  private adopt(call: Call): void {
    if (this.calls.has(call.id) || call.ended) return;
    this.calls.set(call.id, call);
    call.on('transition', (t: CallTransition) => this.onTransition(t));
    call.on('report', (r: CallReport) => {
      this.emitEvent({ topic: r.topic, call: call.snapshot(), payload: r.payload });
      this.emit('report', r);
    });
    const first = eventFor(null, call.state);
    if (first) this.emitEvent({ topic: first, call: call.snapshot(), payload: initialPayload(call) });
    if (call.direction === 'inbound') this.applyInboundPolicy(call);
  }

  private onTransition(t: CallTransition): void {
    const { call } = t;
    if (t.to === CallState.Ended) {
      this.clearTimers(call.id);
      this.calls.delete(call.id);
    }
    if (t.from === CallState.Waiting && t.to === CallState.Incoming) this.applyInboundPolicy(call);
    if (!t.event) return;
    const payload: Record<string, unknown> =
      t.to === CallState.Ended && call.end
        ? { ...call.end, ...(call.answeredAt ? { duration: seconds(call.answeredAt, call.endedAt ?? new Date()) } : {}) }
        : { state: t.to, reason: t.reason.text, ...(t.reason.evidence ? { evidence: t.reason.evidence } : {}) };
    if (t.reason.callInfo) payload.callInfo = { ...t.reason.callInfo };
    if (t.reason.heldBy) payload.heldBy = t.reason.heldBy;
    this.emitEvent({ topic: t.event, call: call.snapshot(), payload });
  }

  private applyInboundPolicy(call: Call): void {
    if (this.autoRejectOn) {
      // Deferred: the `incoming` event reaches the flow before the call ends.
      setImmediate(() => {
        if (call.ended) return;
        this.hangupCall(call, { signal: 'rejected', endCause: 'rejected', text: 'rejected by the line (auto-reject)' }).catch(
          (err: Error) => this.log.warn(`auto-reject of call ${call.id}: ${err.message}`),
        );
      });
      return;
    }
    if (this.autoAnswerS > 0 && call.state === CallState.Incoming) {
      this.addTimer(call.id, this.autoAnswerS * 1000, () => {
        if (call.state !== CallState.Incoming) return;
        this.answer(call.id).catch((err: Error) => this.log.warn(`auto-answer of call ${call.id}: ${err.message}`));
      });
    }
  }

  private addTimer(callId: string, ms: number, fn: () => void): void {
    const t = setTimeout(fn, ms);
    const list = this.timers.get(callId) ?? [];
    list.push(t);
    this.timers.set(callId, list);
  }

  private clearTimers(callId: string): void {
    for (const t of this.timers.get(callId) ?? []) clearTimeout(t);
    this.timers.delete(callId);
  }

  private setStatus(s: LineStatus): void {
    this._status = s;
    this.emit('status', s);
  }

  private emitEvent(e: VoiceEvent): void {
    this.emit('event', e);
  }
}

/** Resolves when the call is answered or ends unanswered. */
export function outcome(call: Call): Promise<DialResult> {
  if (call.state === CallState.Active || call.state === CallState.Held) return Promise.resolve({ answered: true, call });
  if (call.ended) return Promise.resolve({ answered: false, call, end: call.end });
  return new Promise((resolve) => {
    const onT = (t: CallTransition) => {
      if (t.to === CallState.Active) {
        call.off('transition', onT);
        resolve({ answered: true, call });
      } else if (t.to === CallState.Ended) {
        call.off('transition', onT);
        resolve({ answered: false, call, end: call.end });
      }
    };
    call.on('transition', onT);
  });
}

function hangupRequest(call: Call, cause: HangupCause): HangupRequest {
  switch (call.state) {
    case CallState.Incoming:
    case CallState.Waiting:
      return { signal: cause, endCause: cause === 'normal' ? 'rejected' : cause, text: `rejected by the flow (${cause})` };
    case CallState.Dialing:
    case CallState.Ringing:
    case CallState.EarlyMedia:
      return { signal: 'normal', endCause: 'cancelled', text: 'cancelled by the flow before answer' };
    default:
      return { signal: cause, endCause: 'normal', text: 'hung up by the flow' };
  }
}

function initialPayload(call: Call): Record<string, unknown> {
  const p: Record<string, unknown> = { number: call.remote.number };
  if (call.remote.name) p.name = call.remote.name;
  if (call.lastReason.evidence) p.evidence = call.lastReason.evidence;
  if (call.lastReason.callInfo) p.callInfo = { ...call.lastReason.callInfo };
  return p;
}

function seconds(from: Date, to: Date): number {
  return Math.round((to.getTime() - from.getTime()) / 100) / 10;
}

function checkAutoAnswer(value: unknown): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > 3600) {
    throw new InvalidInputError(`auto-answer must be a number of seconds from 0 (off) to 3600, got ${describe(value)}`);
  }
  return n;
}

function checkRingTimeout(value: unknown): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > MAX_RING_TIMEOUT_S) {
    throw new InvalidInputError(
      `the ring timeout must be a number of seconds from 0 (none) to ${MAX_RING_TIMEOUT_S}, got ${describe(value)}`,
    );
  }
  return n;
}

const SIP_DIAL_OPTION_WORDS = { callerId: 'a caller ID', callerName: 'a caller name', headers: 'SIP headers' } as const;

/** The SIP parts of a dial request, validated; empty values (`''`, `{}`, null) mean "the line's own". */
function sipDialOptions(request: DialRequest): Pick<DialOptions, 'callerId' | 'callerName' | 'headers'> {
  const given = (v: unknown): boolean => v !== undefined && v !== null && v !== '';
  const out: Pick<DialOptions, 'callerId' | 'callerName' | 'headers'> = {};
  if (given(request.callerId)) out.callerId = validateSipUser(request.callerId, 'caller ID');
  if (given(request.callerName)) out.callerName = validateDisplayName(request.callerName, 'caller name');
  if (given(request.headers)) {
    validateSipHeaders(request.headers);
    const headers = request.headers as Record<string, unknown>;
    if (Object.keys(headers).length > 0) out.headers = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v).trim()]));
  }
  return out;
}

/**
 * TLS settings of a SIP line: certificate checking (on unless `tlsVerify` is false) and the CA file,
 * read now (the line is starting), so that a path that does not work is the line's error status, in
 * words. Only for TLS and WSS: a CA path on a UDP line is left alone.
 */
function tlsOptions(c: Readonly<LineConfig>): { ca?: Buffer; rejectUnauthorized: boolean } | undefined {
  if (c.transport !== 'tls' && c.transport !== 'wss') return undefined;
  const rejectUnauthorized = c.tlsVerify !== false;
  const path = (c.tlsCa ?? '').trim();
  if (!path) return { rejectUnauthorized };
  let ca: Buffer;
  try {
    ca = readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'there is no such file' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'it is a folder' : e.message;
    throw new InvalidInputError(`the TLS CA file "${printable(path, 200)}" cannot be read: ${why}`);
  }
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new InvalidInputError(`the TLS CA file "${printable(path, 200)}" holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  return { ca, rejectUnauthorized };
}

function defaultBackendFactory(line: VoiceLine): Backend {
  if (line.config.backend === 'at') {
    // Loaded lazily so that the SIP side never loads serialport, and the reverse.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { AtBackend } = require('../at/modem-backend') as typeof import('../at/modem-backend');
    return new AtBackend({
      lineId: line.id,
      path: line.config.serialPort ?? '',
      pcmPort: line.config.pcmPort,
      resetOnHang: line.config.resetOnHang,
      baudRate: line.config.baudRate ?? 115200,
      modem: line.config.modem ?? 'auto',
      pin: line.credentials.pin,
      log: line.log,
    });
  }
  if (line.config.backend === 'sip') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { SipBackend, parseCodecs } = require('../sip/sip-backend') as typeof import('../sip/sip-backend');
    const c = line.config;
    return new SipBackend({
      lineId: line.id,
      server: c.server ?? '',
      transport: c.transport,
      username: c.username ?? '',
      password: line.credentials.password,
      domain: c.domain || undefined,
      register: c.register,
      localPort: c.localPort,
      localAddress: c.localAddress || undefined,
      rtpPortMin: c.rtpPortMin,
      rtpPortMax: c.rtpPortMax,
      displayName: c.displayName || undefined,
      maxCalls: c.maxCalls,
      outboundProxy: c.outboundProxy || undefined,
      trustedSources: c.trustedSources || undefined,
      codecs: c.codecs === undefined || c.codecs === '' ? undefined : parseCodecs(c.codecs),
      dtmfMode: c.dtmfMode,
      incomingRefer: c.incomingRefer,
      tls: tlsOptions(c),
      log: line.log,
    });
  }
  throw new NotSupportedError(`the "${String(line.config.backend)}" backend is not available in this version: use "at" or "sip"`);
}
