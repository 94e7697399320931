import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { CallState, TRANSITIONS, eventFor, CallEventName } from './call-state';
import { EndInfo } from './cause';

export type Direction = 'inbound' | 'outbound';

/**
 * Why the caller's number is not shown (27.007 `<CLI validity>` of `+CLIP` / `+CCWA`; SIP `Privacy`,
 * an anonymous From): `withheld` by the caller (CLI validity 1, `Privacy: id`), `unavailable` (2: the
 * network could not deliver it, or 4: other reasons), `payphone` (3: the caller is a payphone).
 */
export type WithheldReason = 'withheld' | 'unavailable' | 'payphone';

export interface RemoteParty {
  /** The number as the network gave it (or as dialled); empty when withheld. */
  number: string;
  uri?: string;
  name?: string;
  /** Set (true) when the caller's number is withheld or not available; absent otherwise. */
  withheld?: boolean;
  /** Why, with `withheld`. */
  withheldReason?: WithheldReason;
}

/** What `msg.call` carries: a plain, JSON-safe copy of a call at one moment. */
export interface CallSnapshot {
  id: string;
  line: string;
  direction: Direction;
  state: CallState;
  remote: RemoteParty;
  startedAt: string;
  answeredAt?: string;
  endedAt?: string;
  cause?: EndInfo['cause'];
  /** The modem's own call index (AT lines), as `AT+CLCC` lists it. */
  index?: number;
}

/**
 * The network's own description of a call, as it reported it with a transition: the fields of
 * QuecPython voiceCall's VoLTE callbacks and of 27.007 `+CLCC`. Events carry it as `payload.callInfo`.
 */
export interface CallInfo {
  /** The network's (AT: the module's `+CLCC`) index of the call. */
  index?: number;
  direction: Direction;
  status: 'dialing' | 'alerting' | 'incoming' | 'waiting' | 'active' | 'held' | 'released';
  /** Only voice calls are followed (data and fax calls are filtered out). */
  type: 'voice';
  /** Part of a multiparty (conference) call; absent when the report does not say. */
  multiparty?: boolean;
  number: string;
  /** Type of number (3GPP TS 24.008): 129 national / unknown, 145 international; when reported. */
  numberType?: number;
  /**
   * `^DSCI`'s `<tone_info>` (ASR firmware): `true` when the module does not play the call's tones
   * itself (1: they come from the network, in the call's audio), `false` when it does (0). Absent
   * when the report has no such field.
   */
  inbandTones?: boolean;
}

/** Why a transition happened: words for people and the raw protocol evidence. */
export interface TransitionReason {
  text: string;
  /** Raw evidence: the URC, final result or SIP start line that caused it. */
  evidence?: string;
  /** Required when moving to `ended`. */
  end?: EndInfo;
  /** The network's description of the call at this transition, when the backend has one. */
  callInfo?: CallInfo;
  /**
   * With a move to or from `held`: whose hold changed, ours (`local`: our hold / resume) or the other
   * side's (`remote`: it put us on hold, or took us back). Events carry it as `payload.heldBy`.
   */
  heldBy?: 'local' | 'remote';
}

export interface CallTransition {
  call: Call;
  from: CallState | null;
  to: CallState;
  event: CallEventName | null;
  reason: TransitionReason;
}

/**
 * A call event that is not a state change (`dtmf`, `transfer`, call analysis' `far-end`, `beep`,
 * `greeting-end`, `tone`): reported by the backend, forwarded by the line.
 */
export interface CallReport {
  call: Call;
  topic: Extract<CallEventName, 'dtmf' | 'transfer' | 'far-end' | 'beep' | 'greeting-end' | 'tone'>;
  payload: Record<string, unknown>;
}

export class InvalidTransitionError extends Error {
  constructor(
    readonly from: CallState,
    readonly to: CallState,
  ) {
    super(`a call cannot go from "${from}" to "${to}"`);
    this.name = 'InvalidTransitionError';
  }
}

/**
 * One call. Its state changes only through {@link Call.transition}, which validates the change against
 * {@link TRANSITIONS}, stamps the times, and emits one `transition` event ({@link CallTransition}).
 *
 * Events: `transition` (CallTransition), `ended` (EndInfo) once, after the `transition` to ended,
 * `report` (CallReport) for events that do not change the state (a DTMF digit, transfer progress);
 * `ending` (EndInfo) once, just before the transition to ended, while reports still go out.
 */
export class Call extends EventEmitter {
  readonly id: string;
  readonly line: string;
  readonly direction: Direction;
  readonly remote: RemoteParty;
  /** The backend's own handle (the modem's call index on AT lines). */
  index?: number;
  private _state: CallState;
  readonly startedAt: Date;
  answeredAt?: Date;
  endedAt?: Date;
  end?: EndInfo;
  /** The reason given with the latest transition. */
  lastReason: TransitionReason;

  constructor(init: {
    line: string;
    direction: Direction;
    remote: RemoteParty;
    state: CallState;
    reason: TransitionReason;
    index?: number;
    id?: string;
    now?: Date;
  }) {
    super();
    if (init.state === CallState.Ended) throw new InvalidTransitionError(CallState.Ended, CallState.Ended);
    this.id = init.id ?? randomUUID();
    this.line = init.line;
    this.direction = init.direction;
    this.remote = { ...init.remote };
    this.index = init.index;
    this._state = init.state;
    this.startedAt = init.now ?? new Date();
    this.lastReason = init.reason;
  }

  get state(): CallState {
    return this._state;
  }

  get ended(): boolean {
    return this._state === CallState.Ended;
  }

  /** True when the state may move to `to` now. */
  canTransition(to: CallState): boolean {
    return TRANSITIONS[this._state].includes(to);
  }

  /**
   * Moves the call to `to`. Refuses (throws {@link InvalidTransitionError}) a change the state machine
   * does not allow; a transition to the state the call is already in is a no-op and returns false.
   */
  transition(to: CallState, reason: TransitionReason): boolean {
    const from = this._state;
    if (from === to) return false;
    if (!this.canTransition(to)) throw new InvalidTransitionError(from, to);
    if (to === CallState.Ended && !reason.end) {
      throw new TypeError('a transition to "ended" needs reason.end (the cause)');
    }
    // The last moment reports still go out (a transfer under way reports its outcome before `ended`).
    if (to === CallState.Ended) this.emit('ending', reason.end);
    this._state = to;
    this.lastReason = reason;
    const now = new Date();
    if (to === CallState.Active && !this.answeredAt) this.answeredAt = now;
    if (to === CallState.Ended) {
      this.endedAt = now;
      this.end = reason.end;
    }
    const t: CallTransition = { call: this, from, to, event: eventFor(from, to), reason };
    this.emit('transition', t);
    if (to === CallState.Ended) {
      this.emit('ended', this.end);
      this.removeAllListeners('transition');
      this.removeAllListeners('report');
    }
    return true;
  }

  /** Like {@link transition}, but does nothing when the change is not allowed (for tolerant parsers). */
  tryTransition(to: CallState, reason: TransitionReason): boolean {
    if (this._state === to || !this.canTransition(to)) return false;
    return this.transition(to, reason);
  }

  /** Announces an event that does not change the state (ignored once the call has ended). */
  report(topic: CallReport['topic'], payload: Record<string, unknown>): void {
    if (this.ended) return;
    const r: CallReport = { call: this, topic, payload };
    this.emit('report', r);
  }

  snapshot(): CallSnapshot {
    const s: CallSnapshot = {
      id: this.id,
      line: this.line,
      direction: this.direction,
      state: this._state,
      remote: { ...this.remote },
      startedAt: this.startedAt.toISOString(),
    };
    if (this.answeredAt) s.answeredAt = this.answeredAt.toISOString();
    if (this.endedAt) s.endedAt = this.endedAt.toISOString();
    if (this.end) s.cause = this.end.cause;
    if (this.index !== undefined) s.index = this.index;
    return s;
  }
}
