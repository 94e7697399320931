import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { Backend, Logger, LineStatus, SILENT_LOGGER, HangupRequest } from '../backend';
import { Call, CallReport, CallSnapshot, CallTransition } from '../call/call';
import { CapabilityName } from '../capabilities';
import { CallEventName, CallState, LineEventName, eventFor, isAlerting } from '../call/call-state';
import { EndInfo, HANGUP_CAUSES, HangupCause } from '../call/cause';
import { CallStateError, InvalidInputError, LineNotReadyError, NotSupportedError, UnknownCallError } from '../errors';
import { describe, isSipTarget, printable, validateCallTarget, validateDisplayName, validateSipHeaders } from '../validate';
import type { DialOptions } from '../backend';
import type { AtLineSettings } from '../at/at-line-settings';
import type { SipLineSettings } from '../sip/sip-line-settings';
import { LINE_SETTINGS, readSettings, SettingsOf } from './line-settings';
import { causeFromSipCode, q850ForSipCode } from '../sip/sip-cause';
import { LineDtmf } from './line-dtmf';
import { LineControl } from './line-control';
import { LineConference } from './line-conference';
import { LineForwarding } from './line-forwarding';
import { LineAudio } from './line-audio';
import { LineAnalysis } from './line-analysis';
import { analysisIsIdle, checkAnalysisOptions } from '../capabilities/analysis';

/**
 * The settings of one line (the `voice-line` config node's properties, minus secrets): the common ones
 * and each backend's, from their tables (lib/line/line-settings.ts, lib/at/at-line-settings.ts,
 * lib/sip/sip-line-settings.ts). `autoAnswer` also takes a numeric string.
 */
export type LineConfig = {
  id: string;
  backend: 'at' | 'sip';
  autoAnswer?: number | string;
} & Omit<SettingsOf<typeof LINE_SETTINGS>, 'autoAnswer'> &
  AtLineSettings &
  SipLineSettings;

/**
 * A `voice-line` node's properties → the line's settings: the common table and the backend's (loaded
 * lazily, so that the SIP side never loads serialport, and the reverse). Settings left out of the flow
 * JSON (an older flow) are absent, and get their defaults.
 */
export function lineConfigFrom(id: string, props: Readonly<Record<string, unknown>>): LineConfig {
  const backend = props.backend === 'sip' ? 'sip' : 'at';
  /* eslint-disable @typescript-eslint/no-require-imports */
  const own =
    backend === 'sip'
      ? readSettings((require('../sip/sip-line-settings') as typeof import('../sip/sip-line-settings')).SIP_LINE_SETTINGS, props)
      : readSettings((require('../at/at-line-settings') as typeof import('../at/at-line-settings')).AT_LINE_SETTINGS, props);
  /* eslint-enable @typescript-eslint/no-require-imports */
  return { id, backend, ...readSettings(LINE_SETTINGS, props), ...own };
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
  /** Withhold our number (SIP `Privacy: id` and an anonymous From; AT CLIR `ATD<n>I;`): true or false. */
  privacy?: unknown;
  /**
   * Analyse the call's received audio (lib/capabilities/analysis.ts, docs/call-analysis.md): the
   * options (any left out take their defaults, `detect: "machine"` included), or `"machine"` /
   * `"off"`. Absent: no analysis. Refused (NotSupportedError) before dialing when `detect` is
   * `machine` on a line without the call's audio; network tones alone are then not run.
   */
  analysis?: unknown;
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
  readonly analysis: LineAnalysis = new LineAnalysis(this);
  readonly conference: LineConference = new LineConference(this);

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
    // A SIP line also takes users, extensions and tel: URIs (lib/sip/sip-target.ts), and says so when refusing.
    if ((this.backend?.kind ?? this.config.backend) === 'sip') {
      // Loaded as the SIP backend is (below): an AT line never loads sip.js.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { validateSipTarget } = require('../sip/sip-target') as typeof import('../sip/sip-target');
      return validateSipTarget(value, what);
    }
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
    const requested = options.analysis === undefined || options.analysis === null ? null : checkAnalysisOptions(options.analysis);
    const analysis = requested && !analysisIsIdle(requested) ? requested : null;
    const backend = this.readyBackend();
    const asked = Object.keys(sip);
    if (asked.length > 0 && backend.kind !== 'sip') {
      // Refused rather than ignored: a flow that sets a caller ID expects it to be seen.
      throw new NotSupportedError(
        `${asked.map((k) => SIP_DIAL_OPTION_WORDS[k as keyof typeof SIP_DIAL_OPTION_WORDS]).join(' and ')} cannot be set on this line ` +
          `(${backend.description}): a mobile network shows the SIM's own number; leave them empty on an AT line`,
      );
    }
    const privacy = checkPrivacy(options.privacy);
    if (analysis?.detect === 'machine' && !backend.analysis) {
      throw new NotSupportedError(`call analysis is not supported on this line (${backend.description}): it needs the call's audio`);
    }
    const call = await backend.dial(n, { ringTimeoutMs: ringTimeout * 1000, ...sip, ...(privacy ? { privacy } : {}), ...(analysis && backend.analysis ? { analysis } : {}) });
    this.adopt(call);
    if (analysis && backend.analysis) this.analysis.track(call, analysis);
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
   * `cause`: one of {@link HANGUP_CAUSES}, or a SIP status code 400–699 (a number or its digits), sent
   * as it is on a SIP line (with its Q.850 cause in the Reason header, RFC 3398) and signalled as that
   * Q.850 cause on an AT line.
   */
  async hangup(ref?: unknown, cause: unknown = 'normal'): Promise<Call> {
    const code = typeof cause === 'number' || (typeof cause === 'string' && /^\d{3}$/.test(cause)) ? Number(cause) : undefined;
    if (code !== undefined ? !Number.isInteger(code) || code < 400 || code > 699 : !(HANGUP_CAUSES as readonly unknown[]).includes(cause)) {
      throw new InvalidInputError(`the hangup cause must be one of ${HANGUP_CAUSES.join(', ')}, or a SIP status code 400–699, got ${describe(cause)}`);
    }
    const call = this.resolveCall(ref, 'hang up', () => true);
    await this.hangupCall(call, code !== undefined ? hangupWithCode(call, code) : hangupRequest(call, cause as HangupCause));
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

/**
 * A hangup with a SIP status code: an incoming call is refused with it (its cause is the code's, as if
 * the other side had answered it: 486 `busy`, 404 `not-found`), any other ends as with `rejected` /
 * `normal`; the Q.850 cause signalled is the code's (RFC 3398).
 */
function hangupWithCode(call: Call, code: number): HangupRequest {
  const q850 = q850ForSipCode(code);
  if (call.state === CallState.Incoming || call.state === CallState.Waiting) {
    return { signal: 'rejected', endCause: causeFromSipCode(code), text: `rejected by the flow (${code})`, q850, sipCode: code };
  }
  return { ...hangupRequest(call, 'normal'), q850 };
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

/** The privacy dial option: absent, true or false (a flow's `msg.privacy`; strings are refused, not guessed). */
function checkPrivacy(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return false;
  if (typeof value !== 'boolean') throw new InvalidInputError(`privacy must be true (withhold our number) or false, got ${describe(value)}`);
  return value;
}

const SIP_DIAL_OPTION_WORDS = { callerId: 'a caller ID', callerName: 'a caller name', headers: 'SIP headers' } as const;

/** The SIP parts of a dial request, validated; empty values (`''`, `{}`, null) mean "the line's own". */
function sipDialOptions(request: DialRequest): Pick<DialOptions, 'callerId' | 'callerName' | 'headers'> {
  const given = (v: unknown): boolean => v !== undefined && v !== null && v !== '';
  const out: Pick<DialOptions, 'callerId' | 'callerName' | 'headers'> = {};
  if (given(request.callerId)) {
    // A user, an E.164 number or a tel: URI (lib/sip/sip-target.ts); kept as written: its form chooses the identity's form.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { parseSipCallerId, formatSipCallerId } = require('../sip/sip-target') as typeof import('../sip/sip-target');
    out.callerId = formatSipCallerId(parseSipCallerId(request.callerId, 'caller ID'));
  }
  if (given(request.callerName)) out.callerName = validateDisplayName(request.callerName, 'caller name');
  if (given(request.headers)) {
    validateSipHeaders(request.headers);
    const headers = request.headers as Record<string, unknown>;
    if (Object.keys(headers).length > 0) out.headers = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v).trim()]));
  }
  return out;
}

function defaultBackendFactory(line: VoiceLine): Backend {
  if (line.config.backend === 'at') {
    // Loaded lazily so that the SIP side never loads serialport, and the reverse.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { AtBackend } = require('../at/modem-backend') as typeof import('../at/modem-backend');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { atBackendOptions } = require('../at/at-line-settings') as typeof import('../at/at-line-settings');
    return new AtBackend(atBackendOptions(line.config, { lineId: line.id, pin: line.credentials.pin, log: line.log }));
  }
  if (line.config.backend === 'sip') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { SipBackend } = require('../sip/sip-backend') as typeof import('../sip/sip-backend');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { sipBackendOptions } = require('../sip/sip-line-settings') as typeof import('../sip/sip-line-settings');
    return new SipBackend(sipBackendOptions(line.config, { lineId: line.id, password: line.credentials.password, log: line.log }));
  }
  throw new NotSupportedError(`the "${String(line.config.backend)}" backend is not available in this version: use "at" or "sip"`);
}
