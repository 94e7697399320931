import assert from 'node:assert/strict';
import { Inbox, NODES, emulatorOf, getNode, nextError, statusesOf, helper, lineNode, lineOf, sink, voiceNode, waitFor, waitReady } from './flow-helpers';

const PIN = '8642';

describe('voice-line (config node)', function () {
  afterEach(async function () {
    await helper.unload();
  });

  it('hands the PIN to the line as a credential, and never shows it in the flow, a status or a log', async function () {
    const flow = [lineNode('L'), voiceNode('E', 'voice-events', 'L', [['H']]), sink('H')];
    await helper.load(NODES, flow, { L: { pin: PIN } });
    const inbox = new Inbox('H');
    await inbox.next('line-up', (m) => m.topic === 'line-up');

    const line = lineOf('L');
    assert.equal(line.credentials.pin, PIN, 'the core got the PIN');
    assert.equal(JSON.stringify(line.config).includes(PIN), false, 'the line settings carry no PIN');
    assert.equal(JSON.stringify(helper._redNodes.getFlows().flows).includes(PIN), false, 'the flow JSON carries no PIN');
    const statuses = statusesOf('E').map((s) => s.text ?? '');
    assert.ok(statuses.includes('ready'));
    assert.equal(statuses.some((t) => t.includes(PIN)), false, 'no status shows the PIN');
    assert.equal(inbox.messages.some((m) => JSON.stringify(m).includes(PIN)), false, 'no message carries the PIN');
    const logged = helper.log().args.map((args: unknown[]) => args.map((a) => (a && typeof a === 'object' ? JSON.stringify(a, replaceErrors) : String(a))).join(' '));
    assert.ok(logged.length > 0, 'the log spy saw the line connect');
    assert.deepEqual(logged.filter((t: string) => t.includes(PIN)), [], 'no log line shows the PIN');
  });

  it('shows bad settings on the nodes that use the line, and fails their messages', async function () {
    const flow = [lineNode('L', { autoAnswer: -1 }), voiceNode('D', 'voice-dial', 'L', [[], []], { number: '5551234', ringTimeout: 30 })];
    await helper.load(NODES, flow);
    assert.equal(getNode('L').line, undefined, 'no line was made');
    assert.match(statusesOf('D').at(-1)?.text ?? '', /^error: auto-answer must be/);
    getNode('D').receive({ payload: 'go' });
    const err = await nextError('D');
    assert.match(String(err), /the line cannot be used: auto-answer must be/);
  });

  it('is released by a full redeploy: every listener removed, the port closed, and opened again by the next deploy', async function () {
    const flow = () => [
      lineNode('L'),
      voiceNode('E', 'voice-events', 'L', [['H']]),
      voiceNode('D', 'voice-dial', 'L', [[], []], { number: '', ringTimeout: 30 }),
      voiceNode('A', 'voice-answer', 'L', [[]]),
      voiceNode('X', 'voice-hangup', 'L', [[]], { mode: 'hangup', cause: 'busy' }),
      sink('H'),
    ];
    await helper.load(NODES, flow());
    await waitReady('L');
    const first = lineOf('L');
    assert.equal(first.userCount, 4);
    assert.equal(first.listenerCount('event'), 4);
    assert.equal(first.listenerCount('status'), 4);

    await helper.unload();
    assert.equal(first.listenerCount('event'), 0, 'every event listener removed');
    assert.equal(first.listenerCount('status'), 0, 'every status listener removed');
    assert.equal(first.userCount, 0);
    assert.equal(first.status.state, 'closed');
    assert.equal(first.backend, null, 'the port was closed');

    await helper.load(NODES, flow());
    await waitReady('L');
    const second = lineOf('L');
    assert.notEqual(second, first);
    assert.equal(second.listenerCount('event'), 4);
  });

  it('survives a redeploy of one user node: the line is released, then acquired again', async function () {
    const flow = (name: string) => [lineNode('L'), voiceNode('E', 'voice-events', 'L', [['H']], { name }), sink('H')];
    await helper.load(NODES, flow('before'));
    await waitReady('L');
    const line = lineOf('L');
    await helper.setFlows(flow('after'), 'nodes');
    await waitFor('the line ready again', () => line.status.state === 'ready' && line.userCount === 1, 8000);
    assert.equal(lineOf('L'), line, 'the config node was not restarted');
    assert.equal(line.listenerCount('event'), 1, 'the old node left no listener behind');
    const inbox = new Inbox('H');
    emulatorOf('L').incomingCall('5550100');
    await inbox.next('the new node sends', (m) => m.topic === 'incoming');
  });
});

function replaceErrors(_key: string, value: unknown): unknown {
  return value instanceof Error ? `${value.name}: ${value.message}` : value;
}
