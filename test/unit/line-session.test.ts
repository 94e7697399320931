/**
 * nodes/shared/line-session.ts: a node's status follows the strongest state of the calls it follows
 * (`in call` over `ringing` over the line's own word), through many calls coming, changing and
 * ending in any order; the same status statusFor gives for the list of those calls' states.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import { CallState } from '../../lib/call/call-state';
import type { VoiceLine } from '../../lib/line/voice-line';
import { LineSession } from '../../nodes/shared/line-session';
import type { Node, NodeAPI, NodeStatus } from '../../nodes/shared/red-types';
import { statusFor } from '../../nodes/shared/status';

/** A line as LineSession uses it: its status, its `event`s, acquire and release. */
class FakeLine extends EventEmitter {
  status = { state: 'ready' as const, text: 'ready' };
  acquire(): void {}
  async release(): Promise<void> {}
}

function session(follow: 'every-call' | 'own-calls'): { line: FakeLine; shown: NodeStatus[]; session: LineSession } {
  const line = new FakeLine();
  const shown: NodeStatus[] = [];
  const node = { id: 'n1', on: () => undefined, status: (s: NodeStatus) => shown.push(s), error: () => undefined } as unknown as Node;
  const RED = { nodes: { getNode: () => ({ line: line as unknown as VoiceLine }) } } as unknown as NodeAPI;
  return { line, shown, session: LineSession.open(RED, node, 'line-1', { follow }) };
}

const STATES = Object.values(CallState);

describe('line-session: a node status over many calls', () => {
  it('shows what statusFor shows for the live calls followed, whatever the order of their events (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.constantFrom(...STATES)), { maxLength: 40 }), (events) => {
        const { line, shown } = session('every-call');
        const live = new Map<string, CallState>();
        for (const [n, state] of events) {
          const id = `c${n}`;
          line.emit('event', { topic: 'x', call: { id, state } });
          if (state === CallState.Ended) live.delete(id);
          else live.set(id, state);
          assert.deepEqual(shown.at(-1), statusFor(line.status, live.values()), `after ${id} → ${state}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('own calls: an in-call call ending leaves the ringing one shown, then ready', () => {
    const { line, shown, session: s } = session('own-calls');
    s.follow({ id: 'a', state: CallState.Incoming, ended: false } as never);
    s.follow({ id: 'b', state: CallState.Incoming, ended: false } as never);
    line.emit('event', { topic: 'answered', call: { id: 'a', state: CallState.Active } });
    line.emit('event', { topic: 'other', call: { id: 'z', state: CallState.Active } }); // not followed
    assert.equal(shown.at(-1)?.text, 'in call');
    line.emit('event', { topic: 'ended', call: { id: 'a', state: CallState.Ended } });
    assert.equal(shown.at(-1)?.text, 'ringing');
    line.emit('event', { topic: 'ended', call: { id: 'b', state: CallState.Ended } });
    assert.equal(shown.at(-1)?.text, 'ready');
  });
});
