import { strict as assert } from 'node:assert';
import { Call, CallTransition, InvalidTransitionError } from '../../lib/call/call';
import { CallState, TRANSITIONS, eventFor } from '../../lib/call/call-state';
import { causeFromQ850, HANGUP_CAUSES, isCause, q850ForHangup } from '../../lib/call/cause';

function outbound(): Call {
  return new Call({ line: 'L1', direction: 'outbound', remote: { number: '5551234' }, state: CallState.Dialing, reason: { text: 'dial' } });
}

function inbound(state = CallState.Incoming): Call {
  return new Call({ line: 'L1', direction: 'inbound', remote: { number: '+4930123' }, state, reason: { text: 'ring' } });
}

/** Records the sequence of (state, event) a call goes through. */
function record(call: Call): Array<[CallState, string | null]> {
  const seen: Array<[CallState, string | null]> = [];
  call.on('transition', (t: CallTransition) => seen.push([t.to, t.event]));
  return seen;
}

describe('Call state machine', () => {
  it('walks an answered outbound call through dialing → ringing → active → held → active → ended', () => {
    const c = outbound();
    const seen = record(c);
    c.transition(CallState.Ringing, { text: 'alerting', evidence: '^DSCI: 1,0,7,0,"5551234",129' });
    c.transition(CallState.Active, { text: 'answered' });
    c.transition(CallState.Held, { text: 'hold' });
    c.transition(CallState.Active, { text: 'resume' });
    c.transition(CallState.Ended, { text: 'bye', end: { cause: 'normal', by: 'remote' } });
    assert.deepEqual(seen, [
      [CallState.Ringing, 'ringing'],
      [CallState.Active, 'answered'],
      [CallState.Held, 'held'],
      [CallState.Active, 'resumed'],
      [CallState.Ended, 'ended'],
    ]);
    const snap = c.snapshot();
    assert.equal(snap.state, 'ended');
    assert.equal(snap.cause, 'normal');
    assert.ok(snap.answeredAt && snap.endedAt);
    assert.doesNotThrow(() => JSON.stringify(snap));
  });

  it('walks a waiting call: waiting → incoming (silent) → active', () => {
    const c = inbound(CallState.Waiting);
    const seen = record(c);
    c.transition(CallState.Incoming, { text: 'other call ended' });
    c.transition(CallState.Active, { text: 'answered' });
    assert.deepEqual(seen, [
      [CallState.Incoming, null],
      [CallState.Active, 'answered'],
    ]);
  });

  it('refuses transitions the diagram does not have', () => {
    const c = inbound();
    assert.throws(() => c.transition(CallState.Ringing, { text: 'x' }), InvalidTransitionError);
    assert.throws(() => c.transition(CallState.Held, { text: 'x' }), /cannot go from "incoming" to "held"/);
    assert.equal(c.state, CallState.Incoming);
    c.transition(CallState.Ended, { text: 'x', end: { cause: 'cancelled', by: 'remote' } });
    for (const to of Object.values(CallState)) {
      if (to === CallState.Ended) continue;
      assert.throws(() => c.transition(to, { text: 'x' }), InvalidTransitionError, `ended → ${to}`);
    }
  });

  it('needs a cause to end, and ends once', () => {
    const c = outbound();
    assert.throws(() => c.transition(CallState.Ended, { text: 'no cause' }), /needs reason.end/);
    let ended = 0;
    c.on('ended', () => ended++);
    c.transition(CallState.Ended, { text: 'busy', end: { cause: 'busy', by: 'remote', finalResult: 'BUSY' } });
    assert.equal(c.transition(CallState.Ended, { text: 'again', end: { cause: 'normal', by: 'local' } }), false);
    assert.equal(ended, 1);
    assert.equal(c.end?.cause, 'busy');
  });

  it('tryTransition ignores what is not allowed', () => {
    const c = outbound();
    assert.equal(c.tryTransition(CallState.Waiting, { text: 'x' }), false);
    assert.equal(c.tryTransition(CallState.Active, { text: 'x' }), true);
  });

  it('names an event for every state reachable in the table', () => {
    for (const [from, tos] of Object.entries(TRANSITIONS)) {
      for (const to of tos) {
        const e = eventFor(from as CallState, to);
        if (e === null) assert.ok([CallState.Incoming, CallState.Ringing].includes(to), `${from} → ${to} is silent`);
      }
    }
  });

  it('each hangup cause a flow may give is signalled with its Q.850 value, which reads back as that cause', () => {
    for (const cause of HANGUP_CAUSES) assert.equal(causeFromQ850(q850ForHangup(cause)), cause, cause);
    assert.deepEqual(HANGUP_CAUSES.map(q850ForHangup), [16, 17, 21, 20, 22, 27, 34, 54]);
  });

  it('maps Q.850 causes onto the contract causes', () => {
    assert.equal(causeFromQ850(16), 'normal');
    assert.equal(causeFromQ850(17), 'busy');
    assert.equal(causeFromQ850(19), 'no-answer');
    assert.equal(causeFromQ850(21), 'rejected');
    assert.equal(causeFromQ850(1), 'not-found');
    assert.equal(causeFromQ850(42), 'congestion');
    // design §3.1: the causes of the second wave, as Aculab's list has them.
    assert.equal(causeFromQ850(22), 'changed-number');
    assert.equal(causeFromQ850(27), 'out-of-order');
    assert.equal(causeFromQ850(34), 'no-circuit');
    assert.equal(causeFromQ850(54), 'barred');
    assert.equal(causeFromQ850(55), 'barred');
    assert.equal(causeFromQ850(999), 'failed');
    for (let q = 0; q < 128; q++) assert.ok(isCause(causeFromQ850(q)));
  });
});
