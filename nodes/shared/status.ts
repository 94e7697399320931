import type { LineStatus } from '../../lib/backend';
import { CallState, isAlerting } from '../../lib/call/call-state';
import { printable } from '../../lib/validate';
import type { NodeStatus } from './red-types';

/**
 * The one vocabulary every voice node's status speaks. A node never writes a status literal of its
 * own: it names one of these words, and `error` carries a detail.
 *
 * ```
 *   idle ──► connecting ──► ready ──► ringing ──► in call
 *                │            ▲          │           │
 *                ▼            └──────────┴───────────┘  the call ended
 *              error: …
 *                             closed: the line was stopped
 *   draining (a voice-control action): like ready, but new incoming calls are refused
 * ```
 */
export type StatusWord = 'idle' | 'connecting' | 'ready' | 'draining' | 'ringing' | 'in call' | 'error' | 'closed';

const LOOK: Readonly<Record<StatusWord, Required<Pick<NodeStatus, 'fill' | 'shape'>>>> = {
  idle: { fill: 'grey', shape: 'ring' },
  connecting: { fill: 'yellow', shape: 'ring' },
  ready: { fill: 'green', shape: 'dot' },
  draining: { fill: 'yellow', shape: 'dot' },
  ringing: { fill: 'blue', shape: 'dot' },
  'in call': { fill: 'green', shape: 'ring' },
  error: { fill: 'red', shape: 'ring' },
  closed: { fill: 'grey', shape: 'dot' },
};

/** Longest error detail shown under a node (the full text is in the log). */
const MAX_DETAIL = 48;

/**
 * The status for a word. `detail` is shown after `error: `, and instead of the word while connecting
 * (so that each recovery step shows: "no answer from the modem: resyncing", "reopening the port");
 * the other words ignore it.
 */
export function statusOf(word: StatusWord, detail?: string): NodeStatus {
  let text: string = word;
  if (word === 'error') text = `error: ${printable(detail || 'unknown', MAX_DETAIL)}`;
  else if (word === 'connecting' && detail) text = printable(detail, MAX_DETAIL);
  return { ...LOOK[word], text };
}

/** The word for a call state: `ringing` until answered, `in call` while connected (or held). */
export function wordForCall(state: CallState): StatusWord | null {
  if (state === CallState.Active || state === CallState.Held) return 'in call';
  return isAlerting(state) ? 'ringing' : null;
}

/**
 * A node's status: the line's own state while it is not ready, else the strongest state of the calls
 * the node follows (`in call` over `ringing`), else `ready`.
 */
export function statusFor(line: LineStatus, calls: Iterable<CallState>): NodeStatus {
  if (line.state !== 'ready' && line.state !== 'draining') return statusOf(line.state, line.text);
  let word: StatusWord = line.state;
  for (const state of calls) {
    const w = wordForCall(state);
    if (w === 'in call') return statusOf(w);
    if (w) word = w;
  }
  return statusOf(word);
}
