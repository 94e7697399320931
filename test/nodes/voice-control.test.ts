import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { EmulatorAudioControl } from '../../lib/at/emulator/features/control';
import { FlowNode, Inbox, NODES, emulatorOf, errorsOf, getNode, helper, lineNode, lineOf, sink, voiceNode, waitFor, waitReady } from './flow-helpers';
import voiceControl = require('../../nodes/voice-control');

/** A line, one voice-control node C (→ OUT), and the held / resumed / waiting events (→ EV). */
function flow(controlProps: Record<string, unknown>, line: Record<string, unknown> = {}) {
  return [
    lineNode('L', line),
    voiceNode('C', 'voice-control', 'L', [['OUT']], controlProps),
    voiceNode('E', 'voice-events', 'L', [['EV']], { events: ['held', 'resumed', 'waiting', 'answered'] }),
    sink('OUT'),
    sink('EV'),
  ];
}

const audio = () => emulatorOf('L').feature<EmulatorAudioControl>('control');
const commands = () => emulatorOf('L').commands;

describe('voice-control', function () {
  this.timeout(15000);
  afterEach(async function () {
    await helper.unload();
  });

  it('holds and resumes the call of the message (msg.action overrides the node)', async function () {
    await helper.load([...NODES, voiceControl], flow({ action: 'hold' }));
    const out = new Inbox('OUT');
    const events = new Inbox('EV');
    await waitReady('L');
    const { call } = await lineOf('L').dialAndWait('5551234');

    getNode('C').receive({ call: call.snapshot(), topic: 'keep me' });
    const held = await out.next('held');
    assert.equal(held.payload, 'held');
    assert.equal(held.action, 'hold');
    assert.equal(held.call.id, call.id);
    assert.equal(held.call.state, 'held');
    assert.equal(held.topic, 'keep me', 'the rest of the message is kept');
    assert.equal(commands().filter((c) => c === 'AT+CHLD=2').length, 1);

    getNode('C').receive({ call: call.id, action: 'resume' });
    const resumed = await out.next('resumed', (m) => m.action === 'resume');
    assert.equal(resumed.payload, 'active');
    assert.equal(resumed.call.state, 'active');
    await events.next('resumed event', (m) => m.topic === 'resumed');
    assert.deepEqual(events.topics().filter((t) => t === 'held' || t === 'resumed'), ['held', 'resumed']);
    assert.equal(events.messages.find((m) => m.topic === 'held')?.payload.callInfo.status, 'held');
    assert.deepEqual(errorsOf('C'), []);
  });

  it('swaps between an active and a waiting-then-held call', async function () {
    await helper.load([...NODES, voiceControl], flow({ action: 'swap' }));
    const out = new Inbox('OUT');
    const events = new Inbox('EV');
    await waitReady('L');
    const line = lineOf('L');
    const a = (await line.dialAndWait('5551234')).call;
    emulatorOf('L').incomingCall('+4930123456');
    const waiting = await events.next('waiting', (m) => m.topic === 'waiting');
    await line.answer(waiting.call.id);
    await events.next('a held', (m) => m.topic === 'held' && m.call.id === a.id);

    getNode('C').receive({});
    const swapped = await out.next('swapped');
    assert.equal(swapped.call.id, a.id, 'msg.call is the call now active');
    assert.equal(swapped.payload.active.id, a.id);
    assert.equal(swapped.payload.active.state, 'active');
    assert.equal(swapped.payload.held.id, waiting.call.id);
    assert.equal(swapped.payload.held.state, 'held');
  });

  it('sets the volume from the node, from msg.payload, and reads it back', async function () {
    await helper.load([...NODES, voiceControl], flow({ action: 'set-volume', value: '7' }, { serialPort: 'sim:ec25' }));
    const out = new Inbox('OUT');
    await waitReady('L');
    getNode('C').receive({ payload: { some: 'event payload' } });
    const first = await out.next('volume set');
    assert.equal(first.payload, 7, 'an object payload is not a value: the node\'s applies');
    assert.equal(commands().at(-1), 'AT+CLVL=3', '7 of 0–11 on the EC25\'s (0-5)');
    getNode('C').receive({ payload: 11 });
    await out.next('volume 11', (m) => m.payload === 11);
    assert.equal(audio().level, 5);
    getNode('C').receive({ action: 'get-volume' });
    const read = await out.next('read', (m) => m.action === 'get-volume');
    assert.equal(read.payload, 11);
  });

  it('mutes, sets the channel and auto-answer / auto-reject, and reports them in get-settings', async function () {
    await helper.load([...NODES, voiceControl], flow({ action: 'get-settings' }));
    const out = new Inbox('OUT');
    await waitReady('L');
    // One at a time: messages are handled concurrently, and the settings are read last.
    const steps: Array<[Record<string, unknown>, unknown]> = [
      [{ action: 'mute' }, true],
      [{ action: 'set-channel', payload: 'speaker' }, 'speaker'],
      [{ action: 'set-auto-answer', payload: '5' }, 5],
      [{ action: 'set-auto-reject', payload: true }, true],
    ];
    for (const [msg, result] of steps) {
      getNode('C').receive(msg);
      const done = await out.next(String(msg.action), (m) => m.action === msg.action);
      assert.deepEqual(done.payload, result);
    }
    getNode('C').receive({});
    const settings = await out.next('settings', (m) => m.action === 'get-settings');
    assert.deepEqual(settings.payload, { autoAnswer: 5, autoReject: true, volume: 6, muted: true, channel: 'speaker', dtmfDetection: true });
    assert.ok(commands().includes('AT+CMUT=1'));
    assert.ok(commands().includes('AT+QAUDCH=2'));
    assert.equal(lineOf('L').autoAnswer, 5);
    assert.equal(audio().muted, true);
  });

  it('fails a message with a clear error, and sends nothing to the module', async function () {
    await helper.load([...NODES, voiceControl], flow({ action: 'set-volume', value: '' }));
    const out = new Inbox('OUT');
    await waitReady('L');
    const before = commands().length;
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ action: 'explode' }, /^the action must be one of hold, resume, swap, mute, unmute, mute-call, unmute-call, get-stats, set-volume, get-volume, set-channel, set-auto-answer, set-auto-reject, set-dtmf-detection, get-settings, drain, undrain, got string explode$/],
      [{ payload: 12 }, /^the volume must be a whole number from 0 to 11, got number 12$/],
      [{ payload: '3;+CFUN=0' }, /^the volume must be a whole number from 0 to 11/],
      [{}, /^set-volume needs a value: set one in the node, or send it in msg.payload$/],
      [{ action: 'set-channel', payload: 'loudspeaker' }, /^the audio channel must be one of handset, headset, speaker/],
      [{ action: 'hold' }, /^there is no call to hold on this line$/],
    ];
    for (const [i, [msg, error]] of cases.entries()) {
      getNode('C').receive(msg);
      await waitFor(`error ${i + 1}`, () => errorsOf('C').length === i + 1);
      assert.match(String(errorsOf('C')[i]), error);
    }
    assert.equal((errorsOf('C')[1] as Error & { code?: string }).code, 'EINVAL');
    assert.equal(commands().length, before);
    assert.deepEqual(out.messages, []);
  });

  it('says which module lacks a command', async function () {
    await helper.load([...NODES, voiceControl], flow({ action: 'set-channel', value: 'speaker' }, { serialPort: 'sim:generic' }));
    await waitReady('L');
    getNode('C').receive({});
    await waitFor('an error', () => errorsOf('C').length === 1);
    assert.equal(String(errorsOf('C')[0]), 'choosing the audio channel is not supported on this line (Generic GSM Modem (generic))');
    assert.equal((errorsOf('C')[0] as Error & { code?: string }).code, 'ENOTSUP');
  });

  it('mute-call and get-stats on an AT line: ENOTSUP, "not supported / not available on this line"', async function () {
    await helper.load([...NODES, voiceControl], flow({ action: 'get-stats' }));
    await waitReady('L');
    const { call } = await lineOf('L').dialAndWait('5551234');
    getNode('C').receive({ call: call.snapshot() });
    getNode('C').receive({ call: call.id, action: 'mute-call' });
    await waitFor('two errors', () => errorsOf('C').length === 2);
    assert.match(String(errorsOf('C')[0]), /^media statistics are not available on this line \(.*\): the call's audio does not pass through this host$/);
    assert.match(String(errorsOf('C')[1]), /^muting one call is not supported on this line \(.*\): mute \(the microphone\) mutes every call$/);
    for (const err of errorsOf('C')) assert.equal((err as Error & { code?: string }).code, 'ENOTSUP');
  });

  it('refuses drain on an AT line, saying only a SIP line can drain (docs/scale-out.md)', async function () {
    await helper.load([...NODES, voiceControl], flow({ action: 'drain' }, { serialPort: 'sim:generic' }));
    await waitReady('L');
    getNode('C').receive({});
    await waitFor('an error', () => errorsOf('C').length === 1);
    assert.match(String(errorsOf('C')[0]), /^draining is not supported on this line \(.*\): only a SIP line can drain$/);
    assert.equal((errorsOf('C')[0] as Error & { code?: string }).code, 'ENOTSUP');
    assert.equal(lineOf('L').draining, false);
  });

  describe('examples', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const CORE = ['common/20-inject.js', 'common/90-comment.js'].map((f) => require(`@node-red/nodes/core/${f}`));

    /** An example as the editor deploys it: on one tab, its debug nodes turned into test sinks. */
    async function load(file: string): Promise<{ flow: FlowNode[]; lineId: string; byName: (name: string) => string }> {
      let dir = __dirname;
      while (!fs.existsSync(path.join(dir, 'examples', file))) dir = path.dirname(dir);
      const nodes = JSON.parse(fs.readFileSync(path.join(dir, 'examples', file), 'utf8')) as FlowNode[];
      const flow: FlowNode[] = [
        { id: 'tab', type: 'tab', label: file },
        ...nodes.map((n) => (n.type === 'debug' ? { id: n.id, type: 'helper', name: n.name, z: 'tab' } : n.type === 'voice-line' ? n : { ...n, z: 'tab' })),
      ];
      await helper.load([...NODES, voiceControl, ...CORE], flow);
      const lineId = flow.find((n) => n.type === 'voice-line')!.id;
      await waitReady(lineId);
      const byName = (name: string) => {
        const node = flow.find((n) => n.name === name);
        assert.ok(node, `a node named "${name}" in ${file}`);
        return node.id;
      };
      return { flow, lineId, byName };
    }

    const noErrors = (flow: FlowNode[]) => {
      for (const n of flow) assert.deepEqual(errorsOf(n.id).map(String), [], `${n.type} ${n.id} reported no error`);
    };

    it('call-waiting-and-hold: two calls, swap, hold refused with the reason, a waiting caller answered', async function () {
      this.timeout(20000);
      const { flow, lineId, byName } = await load('call-waiting-and-hold.json');
      const dialled = new Inbox(byName('dialled'));
      const control = new Inbox(byName('control result'));
      const events = new Inbox(byName('call events'));
      const answeredWaiting = new Inbox(byName('answered waiting'));
      getNode(byName('call A')).receive({});
      const a = await dialled.next('A answered');
      getNode(byName('call B')).receive({});
      await dialled.next('B answered', (m) => m.call.remote.number === '5557777' && m.topic === 'answered');
      const heldA = await events.next('A held', (m) => m.topic === 'held');
      assert.equal(heldA.call.id, a.call.id);
      assert.equal(heldA.payload.callInfo.status, 'held');

      getNode(byName('swap')).receive({});
      const swapped = await control.next('swapped');
      assert.equal(swapped.payload.active.id, a.call.id);
      assert.equal(swapped.payload.held.remote.number, '5557777');
      assert.deepEqual(errorsOf(byName('hold / resume / swap')), []);

      // Two calls: hold is refused, with the reason.
      getNode(byName('hold')).receive({});
      await waitFor('hold refused', () => errorsOf(byName('hold / resume / swap')).length === 1);
      assert.match(String(errorsOf(byName('hold / resume / swap'))[0]), /already on hold, and a module holds one call at a time: use swap/);

      // Call waiting, from the far end: answered by the flow, which holds the active call (A).
      emulatorOf(lineId).remoteHangup(emulatorOf(lineId).calls.find((c) => c.number === '5557777')!.idx);
      await events.next('B ended', (m) => m.topic === 'ended');
      emulatorOf(lineId).incomingCall('+4930123456');
      const answered = await answeredWaiting.next('waiting answered');
      assert.equal(answered.call.remote.number, '+4930123456');
      await events.next('A held again', (m) => m.topic === 'held' && m.call.id === a.call.id && events.messages.indexOf(m) > events.messages.indexOf(heldA));
      // A held; the swap: B held, A resumed; B ended; the waiting caller; A held when it was answered.
      assert.deepEqual(events.topics(), ['held', 'held', 'resumed', 'ended', 'waiting', 'held']);
      noErrors(flow.filter((n) => n.name !== 'hold / resume / swap'));
    });

    it('volume-and-mute: volume 8 as AT+CLVL=4 on an EC25, mute, speaker, auto-answer, settings', async function () {
      const { flow, lineId, byName } = await load('volume-and-mute.json');
      const result = new Inbox(byName('result'));
      const press = async (name: string, action: string) => {
        getNode(byName(name)).receive({});
        return (await result.next(name, (m) => m.action === action)).payload; // each action is pressed once
      };
      assert.equal(await press('set volume 8', 'set-volume'), 8);
      const commands = emulatorOf(lineId).commands;
      assert.equal(commands.at(-1), 'AT+CLVL=4');
      assert.equal(await press('mute', 'mute'), true);
      assert.equal(await press('speaker', 'set-channel'), 'speaker');
      assert.equal(commands.at(-1), 'AT+QAUDMOD=2');
      assert.equal(await press('auto-answer after 3 s', 'set-auto-answer'), 3);
      assert.deepEqual(await press('settings', 'get-settings'), { autoAnswer: 3, autoReject: false, volume: 8, muted: true, channel: 'speaker', dtmfDetection: true });
      noErrors(flow);
    });
  });
});
