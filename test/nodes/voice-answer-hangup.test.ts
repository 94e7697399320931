import assert from 'node:assert/strict';
import { Inbox, NODES, emulatorOf, errorsOf, getNode, helper, lastStatus, lineNode, nextError, sink, voiceNode, waitFor, waitReady } from './flow-helpers';

/**
 * incoming calls (IN) → answer (A) → ANS; hang-up node X → HUP; ended events → END.
 * The test moves the answered message on to X itself, as a delay node would.
 */
function flow(hangupProps: Record<string, unknown> = { mode: 'hangup', cause: 'busy' }, answer = true) {
  return [
    lineNode('L'),
    voiceNode('IN', 'voice-events', 'L', [[answer ? 'A' : 'X']], { events: ['incoming'] }),
    voiceNode('A', 'voice-answer', 'L', [['ANS']]),
    voiceNode('X', 'voice-hangup', 'L', [['HUP']], hangupProps),
    voiceNode('E', 'voice-events', 'L', [['END']], { events: ['ended'] }),
    sink('ANS'),
    sink('HUP'),
    sink('END'),
  ];
}

describe('voice-answer and voice-hangup', function () {
  afterEach(async function () {
    await helper.unload();
  });

  it('answers the incoming call of the message, then hangs it up', async function () {
    await helper.load(NODES, flow());
    const answered = new Inbox('ANS');
    const hungUp = new Inbox('HUP');
    const ended = new Inbox('END');
    await waitReady('L');
    emulatorOf('L').incomingCall('5550100');

    const msg = await answered.next('answered');
    assert.equal(msg.topic, 'answered');
    assert.equal(msg.call.state, 'active');
    assert.equal(msg.call.direction, 'inbound');
    assert.equal(msg.call.remote.number, '5550100');
    assert.deepEqual(lastStatus('A'), { fill: 'green', shape: 'ring', text: 'in call' });
    assert.ok(emulatorOf('L').calls.some((c) => c.state === 'active'), 'the modem has the call up');

    getNode('X').receive(msg);
    const out = await hungUp.next('hung up');
    assert.equal(out.call.id, msg.call.id);
    assert.equal(out.topic, 'answered', 'the rest of the message is kept');
    const end = await ended.next('ended');
    assert.equal(end.call.id, msg.call.id);
    assert.equal(end.payload.cause, 'normal');
    assert.equal(end.payload.by, 'local');
    assert.equal(typeof end.payload.duration, 'number');
    await waitFor('status ready', () => lastStatus('A')?.text === 'ready');
    assert.deepEqual(errorsOf('A'), []);
    assert.deepEqual(errorsOf('X'), []);
  });

  it('rejects an incoming call with cause busy', async function () {
    await helper.load(NODES, flow({ mode: 'reject', cause: 'busy' }, false));
    const hungUp = new Inbox('HUP');
    const ended = new Inbox('END');
    await waitReady('L');
    emulatorOf('L').incomingCall('5550100');
    const out = await hungUp.next('rejected');
    assert.equal(out.topic, 'incoming');
    const end = await ended.next('ended');
    assert.equal(end.call.id, out.call.id);
    assert.equal(end.payload.cause, 'busy');
    assert.equal(end.payload.by, 'local');
    await waitFor('the modem released the call', () => emulatorOf('L').calls.length === 0);
  });

  it('takes the cause from msg.cause, and the call from a call id', async function () {
    await helper.load(NODES, [
      lineNode('L'),
      voiceNode('X', 'voice-hangup', 'L', [['HUP']], { mode: 'hangup', cause: 'busy' }),
      voiceNode('E', 'voice-events', 'L', [['END']], { events: ['incoming', 'ended'] }),
      sink('HUP'),
      sink('END'),
    ]);
    const events = new Inbox('END');
    await waitReady('L');
    emulatorOf('L').incomingCall('5550100');
    const incoming = await events.next('incoming', (m) => m.topic === 'incoming');
    getNode('X').receive({ call: incoming.call.id, cause: 'unavailable' });
    const end = await events.next('ended', (m) => m.topic === 'ended');
    assert.equal(end.call.id, incoming.call.id);
    assert.equal(end.payload.cause, 'unavailable');
  });

  it('fails a message naming an unknown call, with the core\'s message and code', async function () {
    await helper.load(NODES, flow());
    await waitReady('L');
    getNode('A').receive({ call: 'no-such-call' });
    const err = await nextError('A');
    assert.equal(String(err), 'call no-such-call is not in progress on this line (it has ended, or never existed)');
    assert.equal((err as Error & { code?: string }).code, 'ENOCALL');
  });

  it('fails when there is no call to answer or to hang up', async function () {
    await helper.load(NODES, flow());
    await waitReady('L');
    getNode('A').receive({});
    assert.match(String(await nextError('A')), /^there is no call to answer/);
    getNode('X').receive({ payload: 'hang up' });
    assert.match(String(await nextError('X')), /^there is no call to hang up/);
  });

  it('refuses a hangup cause outside the contract', async function () {
    await helper.load(NODES, flow());
    await waitReady('L');
    emulatorOf('L').incomingCall('5550100');
    const answered = new Inbox('ANS');
    const msg = await answered.next('answered');
    getNode('X').receive({ call: msg.call, cause: 'loudly' });
    assert.match(String(await nextError('X')), /^the hangup cause must be one of normal, busy, rejected, unavailable, changed-number, out-of-order, no-circuit, barred, or a SIP status code 400–699/);
  });
});
