/**
 * The states of one call, the same for every backend.
 *
 * ```
 *   outbound                                inbound
 *   ────────                                ───────
 *   dialing ──► ringing ──► early-media     incoming ◄──► waiting
 *      │           │   ◄──────┘  │             │             │
 *      │           ▼             ▼             ▼             ▼
 *      └────────► active ◄─────────────────── active ◄───────┘
 *                  ▲  │
 *        resumed   │  ▼  held
 *                 held
 *
 *   every state except ended ──► ended   (with a cause and the evidence)
 * ```
 *
 * `waiting` is an incoming call that arrives while another call of the line is in progress (call
 * waiting); it becomes `incoming` when the other call ends, or `active` when it is answered.
 * `ended` is final: nothing leaves it.
 */
export enum CallState {
  Dialing = 'dialing',
  Ringing = 'ringing',
  EarlyMedia = 'early-media',
  Incoming = 'incoming',
  Waiting = 'waiting',
  Active = 'active',
  Held = 'held',
  Ended = 'ended',
}

/** The transitions allowed out of each state. */
export const TRANSITIONS: Readonly<Record<CallState, readonly CallState[]>> = {
  [CallState.Dialing]: [CallState.Ringing, CallState.EarlyMedia, CallState.Active, CallState.Ended],
  [CallState.Ringing]: [CallState.EarlyMedia, CallState.Active, CallState.Ended],
  [CallState.EarlyMedia]: [CallState.Ringing, CallState.Active, CallState.Ended],
  [CallState.Incoming]: [CallState.Waiting, CallState.Active, CallState.Ended],
  [CallState.Waiting]: [CallState.Incoming, CallState.Active, CallState.Ended],
  [CallState.Active]: [CallState.Held, CallState.Ended],
  [CallState.Held]: [CallState.Active, CallState.Ended],
  [CallState.Ended]: [],
};

/** Events of the public contract (msg.topic of call messages). */
export const CALL_EVENT_NAMES = [
  'incoming',
  'dialing',
  'ringing',
  'early-media',
  'answered',
  'held',
  'resumed',
  'waiting',
  'dtmf',
  'transfer',
  'far-end',
  'beep',
  'greeting-end',
  'tone',
  'ended',
] as const;
export type CallEventName = (typeof CALL_EVENT_NAMES)[number];

/** Line events of the public contract. */
export const LINE_EVENT_NAMES = ['line-up', 'line-down', 'registered', 'unregistered', 'registration-failed', 'draining', 'drained'] as const;
export type LineEventName = (typeof LINE_EVENT_NAMES)[number];

/**
 * The event a transition announces. `null`: the transition is silent (a waiting call that becomes a
 * plain incoming call when the other call ends is still the same ringing call for the flow).
 */
export function eventFor(from: CallState | null, to: CallState): CallEventName | null {
  switch (to) {
    case CallState.Dialing:
      return 'dialing';
    case CallState.Ringing:
      return from === CallState.EarlyMedia ? null : 'ringing';
    case CallState.EarlyMedia:
      return 'early-media';
    case CallState.Incoming:
      return from === CallState.Waiting ? null : 'incoming';
    case CallState.Waiting:
      return 'waiting';
    case CallState.Active:
      return from === CallState.Held ? 'resumed' : 'answered';
    case CallState.Held:
      return 'held';
    case CallState.Ended:
      return 'ended';
  }
}

/** States in which a call has not been answered yet. */
export function isAlerting(state: CallState): boolean {
  return (
    state === CallState.Dialing ||
    state === CallState.Ringing ||
    state === CallState.EarlyMedia ||
    state === CallState.Incoming ||
    state === CallState.Waiting
  );
}
