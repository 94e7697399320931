import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { ForwardingEmulator } from '../../lib/at/emulator/features/forwarding';
import type { VoiceEvent } from '../../lib/line/voice-line';
import voiceForward = require('../../nodes/voice-forward');
import { FlowNode, Inbox, NODES, emulatorOf, errorsOf, getNode, helper, lineNode, lineOf, nextError, sink, voiceNode, waitFor, waitReady } from './flow-helpers';

const ALL = [...NODES, voiceForward];
const forwardingCommands = (lineId: string) => emulatorOf(lineId).commands.filter((c) => /^AT\+(CCFC|CTFR)|^AT\+CHLD=4$/.test(c));

/** Line L; voice-forward F (`props`) → OUT; `ended` events → END; with `fromIncoming`, `incoming` events feed F. */
async function load(props: Record<string, unknown>, fromIncoming = false): Promise<{ out: Inbox; ended: Inbox }> {
  await helper.load(ALL, [
    lineNode('L'),
    ...(fromIncoming ? [voiceNode('IN', 'voice-events', 'L', [['F']], { events: ['incoming'] })] : []),
    voiceNode('F', 'voice-forward', 'L', [['OUT']], props),
    voiceNode('E', 'voice-events', 'L', [['END']], { events: ['ended'] }),
    sink('OUT'),
    sink('END'),
  ]);
  const inboxes = { out: new Inbox('OUT'), ended: new Inbox('END') };
  await waitReady('L');
  return inboxes;
}

describe('voice-forward', function () {
  afterEach(async function () {
    await helper.unload();
  });

  it('network rule: the node\'s settings, overridden field by field by msg.forward; a query gives the rules', async () => {
    const { out } = await load({ mode: 'rule', reason: 'unconditional', forwardMode: 'register', number: '+4930123', time: '' });
    getNode('F').receive({ topic: 'keep me' });
    const registered = await out.next('registered');
    assert.deepEqual(registered.payload, { reason: 'unconditional', mode: 'register', number: '+4930123' });
    assert.equal(registered.topic, 'keep me');
    getNode('F').receive({ forward: { mode: 'query' } });
    const queried = await out.next('queried', (m) => m.forward?.mode === 'query');
    assert.deepEqual(queried.payload, [{ reason: 'unconditional', active: true, classes: 1, number: '+4930123', numberType: 145 }]);
    getNode('F').receive({ forward: { reason: 'no-reply', number: '5551234', time: 25 } });
    await out.next('no-reply registered', (m) => m.forward?.reason === 'no-reply');
    assert.deepEqual(forwardingCommands('L'), ['AT+CCFC=0,3,"+4930123",145', 'AT+CCFC=0,2', 'AT+CCFC=2,3,"5551234",129,1,,,25']);
    assert.deepEqual(errorsOf('F'), []);
  });

  it('network rule: bad input from the message is an error, and nothing is sent', async () => {
    await load({ mode: 'rule', reason: 'busy', forwardMode: 'query' });
    getNode('F').receive({ forward: { mode: 'register', number: '123;+CFUN=0' } });
    const err = await nextError('F');
    assert.match(String(err), /the forwarding number "123;\+CFUN=0" is not valid/);
    assert.equal((err as Error & { code?: string }).code, 'EINVAL');
    getNode('F').receive({ forward: 'busy' });
    await waitFor('a second error', () => errorsOf('F').length === 2);
    assert.match(String(errorsOf('F')[1]), /msg.forward must be an object/);
    assert.deepEqual(forwardingCommands('L'), []);
  });

  it('divert: an incoming call goes to the configured number and ends redirected', async () => {
    const { out, ended } = await load({ mode: 'divert', number: '5551234' }, true);
    emulatorOf('L').incomingCall('5550100');
    const msg = await out.next('diverted');
    assert.equal(msg.topic, 'incoming', 'the rest of the message is kept');
    assert.deepEqual(msg.payload, { to: '5551234' });
    const end = await ended.next('ended');
    assert.equal(end.call.id, msg.call.id);
    assert.equal(end.payload.cause, 'redirected');
    assert.equal(end.payload.by, 'local');
    assert.deepEqual(forwardingCommands('L'), ['AT+CTFR="5551234",129']);
    assert.deepEqual(errorsOf('F'), []);
  });

  it('divert: takes the number from msg.payload when the node has none, and says when there is none', async () => {
    const { out } = await load({ mode: 'divert', number: '' });
    emulatorOf('L').incomingCall('5550100');
    await waitFor('the call', () => lineOf('L').activeCalls().length === 1);
    getNode('F').receive({});
    assert.match(String(await nextError('F')), /no number to divert to: set one in the node, or send it in msg.payload/);
    getNode('F').receive({ payload: { number: '+4930123' } });
    await out.next('diverted');
    assert.deepEqual(forwardingCommands('L'), ['AT+CTFR="+4930123",145']);
  });

  it('divert: a SIP address on a modem line is refused with why, nothing is sent, the call keeps ringing', async () => {
    await load({ mode: 'divert', number: '' });
    emulatorOf('L').incomingCall('5550100');
    await waitFor('the call', () => lineOf('L').activeCalls().length === 1);
    getNode('F').receive({ payload: 'sip:alice@pbx.example.com' });
    assert.match(String(await nextError('F')), /SIP address, which only a SIP line can use/);
    getNode('F').receive({ payload: 'sip:alice@pbx\r\nX: 1' });
    await waitFor('a second error', () => errorsOf('F').length === 2);
    assert.match(String(errorsOf('F')[1]), /not a valid SIP address/);
    assert.deepEqual(forwardingCommands('L'), []);
    assert.equal(lineOf('L').activeCalls()[0].state, 'incoming');
  });

  it('transfer: attended with msg.target joins the two calls; both end transferred', async () => {
    const { out, ended } = await load({ mode: 'transfer', number: '' });
    const line = lineOf('L');
    const first = await line.dialAndWait('5551234');
    const second = await line.dialAndWait('5555678');
    await waitFor('the first call held', () => first.call.state === 'held');
    getNode('F').receive({ call: second.call.snapshot(), target: first.call.id });
    const msg = await out.next('transferred');
    assert.equal(msg.call.id, second.call.id);
    assert.equal(msg.payload.to, '5551234');
    assert.equal(msg.payload.target.id, first.call.id);
    await waitFor('both ended', () => ended.messages.length === 2);
    assert.deepEqual(ended.messages.map((m) => m.payload.cause), ['transferred', 'transferred']);
    assert.deepEqual(forwardingCommands('L'), ['AT+CHLD=4']);
  });

  it('transfer: blind to the configured number once it answers', async () => {
    const { out } = await load({ mode: 'transfer', number: '5551234', ringTimeout: 10 });
    const call = (await lineOf('L').dialAndWait('5550100')).call;
    getNode('F').receive({ call: call.id });
    const msg = await out.next('transferred');
    assert.equal(msg.call.id, call.id);
    assert.deepEqual(msg.payload.to, '5551234');
    assert.equal(msg.payload.target.remote.number, '5551234');
    assert.ok(emulatorOf('L').commands.includes('ATD5551234;'));
    assert.deepEqual(forwardingCommands('L'), ['AT+CHLD=4']);
    assert.deepEqual(emulatorOf('L').feature<ForwardingEmulator>('forwarding').transfers.length, 1);
  });

  it('examples/forwarding.json: register, query, erase, and incoming calls diverted', async function () {
    this.timeout(15000);
    const flow = readExample('forwarding.json');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const inject = require('@node-red/nodes/core/common/20-inject.js');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const comment = require('@node-red/nodes/core/common/90-comment.js');
    await helper.load([...ALL, inject, comment], flow);
    const byName = (name: string) => flow.find((n) => n.name === name)?.id ?? assert.fail(`no node "${name}"`);
    const lineId = flow.find((n) => n.type === 'voice-line')!.id;
    await waitReady(lineId);
    const events: VoiceEvent[] = [];
    lineOf(lineId).on('event', (e: VoiceEvent) => events.push(e));
    const rules = new Inbox(byName('forwarding rules'));
    const diverted = new Inbox(byName('diverted'));

    getNode(byName('1. forward every call to +4930123')).receive({});
    await rules.next('registered');
    getNode(byName('2. query')).receive({});
    const active = await rules.next('query', (m) => Array.isArray(m.payload));
    assert.equal(active.payload[0].active, true);
    assert.equal(active.payload[0].number, '+4930123');
    getNode(byName('3. erase')).receive({});
    await rules.next('erased', (m) => m.forward?.mode === 'erase');

    emulatorOf(lineId).incomingCall('5550100');
    await diverted.next('diverted');
    await waitFor('the call ended redirected', () => events.some((e) => e.topic === 'ended' && e.payload.cause === 'redirected'));
    for (const n of flow) assert.deepEqual(errorsOf(n.id).map(String), [], `${n.type} ${n.id} reported no error`);
  });
});

/** An example as the editor would deploy it: on a tab, its debug nodes as test sinks. */
function readExample(file: string): FlowNode[] {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'examples', file))) {
    assert.notEqual(path.dirname(dir), dir, `examples/${file} not found`);
    dir = path.dirname(dir);
  }
  const nodes = JSON.parse(fs.readFileSync(path.join(dir, 'examples', file), 'utf8')) as FlowNode[];
  return [
    { id: 'tab', type: 'tab', label: file },
    ...nodes.map((n) => (n.type === 'debug' ? { id: n.id, type: 'helper', name: n.name, z: 'tab' } : n.type === 'voice-line' ? n : { ...n, z: 'tab' })),
  ];
}
