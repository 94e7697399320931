import assert from 'node:assert/strict';
import { CAUSES } from '../../lib/call/cause';
import { Inbox, NODES, emulatorOf, lastStatus, helper, lineNode, sink, voiceNode, waitFor, waitReady } from './flow-helpers';

describe('voice-events', function () {
  afterEach(async function () {
    await helper.unload();
  });

  it('sends the line coming up, then each event of an incoming call as { topic, call, payload }', async function () {
    await helper.load(NODES, [lineNode('L'), voiceNode('E', 'voice-events', 'L', [['H']]), sink('H')]);
    const inbox = new Inbox('H');
    const up = await inbox.next('line-up', (m) => m.topic === 'line-up');
    assert.equal(up.call, undefined, 'a line event has no call');
    assert.ok(up._msgid);

    emulatorOf('L').incomingCall('5550100');
    const incoming = await inbox.next('incoming', (m) => m.topic === 'incoming');
    assert.equal(incoming.call.direction, 'inbound');
    assert.equal(incoming.call.state, 'incoming');
    assert.equal(incoming.call.line, 'L');
    assert.equal(incoming.call.remote.number, '5550100');
    assert.equal(incoming.payload.number, '5550100');
    assert.equal(typeof incoming.call.id, 'string');

    emulatorOf('L').remoteHangup();
    const ended = await inbox.next('ended', (m) => m.topic === 'ended');
    assert.equal(ended.call.id, incoming.call.id);
    assert.equal(ended.call.state, 'ended');
    assert.equal(ended.payload.by, 'remote');
    assert.ok((CAUSES as readonly string[]).includes(ended.payload.cause), `a contract cause: ${ended.payload.cause}`);
    assert.deepEqual(inbox.topics().filter((t) => t !== 'line-up'), ['incoming', 'ended']);
  });

  it('sends only the ticked events', async function () {
    await helper.load(NODES, [lineNode('L'), voiceNode('E', 'voice-events', 'L', [['H']], { events: ['incoming'] }), sink('H')]);
    const inbox = new Inbox('H');
    await waitReady('L');
    emulatorOf('L').incomingCall('5550100');
    await inbox.next('incoming', (m) => m.topic === 'incoming');
    emulatorOf('L').remoteHangup();
    await waitFor('the call to end', () => emulatorOf('L').calls.length === 0);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(inbox.topics(), ['incoming']);
  });

  it('shows the line and its latest call in its status', async function () {
    await helper.load(NODES, [lineNode('L'), voiceNode('E', 'voice-events', 'L', [['H']]), sink('H')]);
    const inbox = new Inbox('H');
    await waitReady('L');
    await waitFor('status ready', () => lastStatus('E')?.text === 'ready');
    assert.deepEqual(lastStatus('E'), { fill: 'green', shape: 'dot', text: 'ready' });
    emulatorOf('L').incomingCall('5550100');
    await inbox.next('incoming', (m) => m.topic === 'incoming');
    await waitFor('status ringing', () => lastStatus('E')?.text === 'ringing');
    assert.deepEqual(lastStatus('E'), { fill: 'blue', shape: 'dot', text: 'ringing' });
    emulatorOf('L').remoteHangup();
    await inbox.next('ended', (m) => m.topic === 'ended');
    await waitFor('status ready again', () => lastStatus('E')?.text === 'ready');
  });

  it('says so when it has no line', async function () {
    await helper.load(NODES, [voiceNode('E', 'voice-events', '', [['H']]), sink('H')]);
    assert.deepEqual(lastStatus('E'), { fill: 'red', shape: 'ring', text: 'error: no line configured' });
  });
});
