import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { VoiceEvent } from '../../lib/line/voice-line';
import voiceForward = require('../../nodes/voice-forward');
import voiceDtmf = require('../../nodes/voice-dtmf');
import voicePlay = require('../../nodes/voice-play');
import voiceRecord = require('../../nodes/voice-record');
import voiceConference = require('../../nodes/voice-conference');
import { readWavFile } from '../../lib/media/wav-reader';
import { dominantHz } from '../helpers/audio-spectrum';
import { FlowNode, Inbox, NODES, emulatorOf, errorsOf, getNode, helper, lineOf, waitFor, waitReady } from './flow-helpers';

/**
 * The example flows (examples/*.json) and the `npm start` demo flow (scripts/demo-flow.json) load and
 * do what their comments say, on the emulator. Their debug nodes are replaced by test sinks (the
 * helper has no editor to publish to), so the test reads what they would show.
 */
const ROOT = findRoot(__dirname);
const CORE = '@node-red/nodes/core';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const CORE_NODES = ['common/20-inject.js', 'function/10-switch.js', 'function/15-change.js', 'function/89-delay.js', 'common/90-comment.js'].map((f) => require(`${CORE}/${f}`));

function findRoot(dir: string): string {
  for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'examples')) && fs.existsSync(path.join(d, 'package.json'))) return d;
  }
  throw new Error(`no repository above ${dir}`);
}

/**
 * A flow file as the editor would deploy it: the examples carry no tab (Import puts them on the
 * current one), so their nodes are put on one here; debug nodes become test sinks.
 */
function readFlow(file: string): FlowNode[] {
  const nodes = JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8')) as FlowNode[];
  const tab = nodes.find((n) => n.type === 'tab')?.id ?? 'examples-tab';
  const placed = nodes.map((n) => (n.type === 'voice-line' || n.type === 'tab' || n.z ? n : { ...n, z: tab }));
  if (!nodes.some((n) => n.type === 'tab')) placed.unshift({ id: tab, type: 'tab', label: file });
  return placed.map((n) => (n.type === 'debug' ? { id: n.id, type: 'helper', name: n.name, z: n.z } : n));
}

async function load(
  file: string,
  adapt: (flow: FlowNode[]) => FlowNode[] = (f) => f,
): Promise<{ flow: FlowNode[]; lineId: string; events: VoiceEvent[]; byName: (name: string) => string }> {
  const flow = adapt(readFlow(file));
  await helper.load([...NODES, voiceForward, voiceDtmf, voicePlay, voiceRecord, voiceConference, ...CORE_NODES], flow);
  const lineId = flow.find((n) => n.type === 'voice-line')!.id;
  await waitReady(lineId);
  const events: VoiceEvent[] = [];
  lineOf(lineId).on('event', (e: VoiceEvent) => events.push(e));
  const byName = (name: string) => {
    const node = flow.find((n) => n.name === name);
    assert.ok(node, `a node named "${name}" in ${file}`);
    return node.id;
  };
  return { flow, lineId, events, byName };
}

function assertNoErrors(flow: FlowNode[]): void {
  for (const n of flow) assert.deepEqual(errorsOf(n.id).map(String), [], `${n.type} ${n.id} reported no error`);
}

const ended = (events: VoiceEvent[]) => events.filter((e) => e.topic === 'ended');

describe('example flows', function () {
  afterEach(async function () {
    await helper.unload();
  });

  it('every example and the demo flow runs with no hardware and no server: one sim: line, or SIP lines on loopback', function () {
    const files = [...fs.readdirSync(path.join(ROOT, 'examples')).map((f) => `examples/${f}`), 'scripts/demo-flow.json'];
    assert.ok(files.length >= 5);
    for (const file of files) {
      const flow = readFlow(file);
      const lines = flow.filter((n) => n.type === 'voice-line');
      if (lines.every((l) => l.backend === 'sip')) {
        // The SIP loopback example: lines calling each other on this machine, no PBX.
        assert.ok(lines.length >= 2, `${file}: two SIP lines`);
        for (const l of lines) assert.match(String(l.server), /^127\.0\.0\.1:\d+$/, `${file}: ${l.id} stays on loopback`);
      } else {
        assert.equal(lines.length, 1, `${file}: one line`);
        assert.match(String(lines[0].serialPort), /^sim:/, `${file}: runs on the emulator`);
      }
      const ids = lines.map((l) => l.id);
      for (const n of flow.filter((n) => String(n.type).startsWith('voice-') && n.type !== 'voice-line')) {
        assert.ok(ids.includes(n.line as string), `${file}: ${n.type} uses a line of the file`);
      }
    }
  });

  it('answer-incoming-calls: answers an incoming call and hangs it up 5 s later', async function () {
    this.timeout(15000);
    const { flow, lineId, events, byName } = await load('examples/answer-incoming-calls.json');
    const shown = new Inbox(byName('every event'));
    emulatorOf(lineId).incomingCall('5550100');
    await waitFor('the call to be hung up by the flow', () => ended(events).length > 0, 9000);
    assert.deepEqual(
      events.map((e) => e.topic),
      ['incoming', 'answered', 'ended'],
    );
    assert.equal(ended(events)[0].payload.by, 'local');
    assert.equal(ended(events)[0].payload.cause, 'normal');
    assert.ok(Number(ended(events)[0].payload.duration) >= 4.5, 'after the 5 s delay');
    await waitFor('the debug node saw all three', () => shown.topics().includes('ended'));
    assertNoErrors(flow);
  });

  it('dial-out: 5551234 answers on output 1, 555486 is busy on output 2', async function () {
    const { flow, byName } = await load('examples/dial-out.json');
    const answered = new Inbox(byName('answered'));
    const notAnswered = new Inbox(byName('not answered'));
    getNode(byName('call 555486 (busy)')).receive({});
    const busy = await notAnswered.next('busy');
    assert.equal(busy.payload.cause, 'busy');
    getNode(byName('call 5551234')).receive({});
    const ok = await answered.next('answered');
    assert.equal(ok.call.remote.number, '5551234');
    assertNoErrors(flow);
  });

  it('reject-with-busy: rejects an incoming call with cause busy', async function () {
    const { flow, lineId, byName } = await load('examples/reject-with-busy.json');
    const causes = new Inbox(byName('end cause'));
    emulatorOf(lineId).incomingCall('5550100');
    const end = await causes.next('ended');
    assert.equal(end.payload.cause, 'busy');
    assertNoErrors(flow);
  });

  it('all-events: the debug node gets the line and call events; a click dials 5551234', async function () {
    const { flow, byName } = await load('examples/all-events.json');
    const shown = new Inbox(byName('event'));
    getNode(byName('call 5551234')).receive({ payload: '5551234' });
    await shown.next('answered', (m) => m.topic === 'answered');
    // The line's own `line-up` may reach the debug node before or after the inbox opens: call events only.
    const callTopics = shown.topics().filter((t: string) => !t.startsWith('line-'));
    assert.deepEqual(callTopics.slice(0, 2), ['dialing', 'ringing']);
    assertNoErrors(flow);
  });

  it('all-events: a click while a call rings in declines that call (busy), then dials 5551234', async function () {
    this.timeout(20000);
    const { flow, lineId, events, byName } = await load('examples/all-events.json');
    const shown = new Inbox(byName('event'));
    emulatorOf(lineId).incomingCall('5550100');
    // The flow remembers the ringing call from its `incoming` event (flow.ringing): wait for that, not for a time.
    const ringing = () => helper.getNode(byName('a call ringing?')).context().flow.get('ringing') as { id: string } | undefined;
    await waitFor('the flow to remember the ringing call', () => ringing() !== undefined);
    const incomingId = ringing()!.id;
    getNode(byName('call 5551234')).receive({ payload: '5551234' });
    const answered = await shown.next('the dial answered', (m) => m.topic === 'answered' && m.call?.direction === 'outbound');
    assert.equal(answered.call.remote.number, '5551234');
    const declined = ended(events).find((e) => e.call?.id === incomingId);
    assert.ok(declined, 'the ringing call ended before the dial');
    assert.deepEqual([declined.payload.cause, declined.payload.by], ['busy', 'local']);
    assert.equal(ringing(), undefined, 'the flow forgot the declined call');
    assertNoErrors(flow);
  });

  it('sip-two-line-loopback: 1001 calls 2002 over SIP on 127.0.0.1, 2002 answers and hangs up 5 s later', async function () {
    this.timeout(40000);
    const { flow, lineId, events, byName } = await load('examples/sip-two-line-loopback.json');
    const callee = flow.filter((n) => n.type === 'voice-line').find((n) => n.id !== lineId)!.id;
    await waitReady(callee);
    const calleeEvents: VoiceEvent[] = [];
    lineOf(callee).on('event', (e: VoiceEvent) => calleeEvents.push(e));
    const shownA = new Inbox(byName('line 1001'));
    getNode(byName('call 2002')).receive({ payload: '2002' });
    // voice-dial's output 1 (answered) goes to the same debug node as the line's events.
    await shownA.next('the dial answered', (m) => m.topic === 'answered' && m.call?.remote?.number === '2002');
    await waitFor('2002 to hang up after its 5 s delay', () => ended(events).length === 1, 20000);
    assert.deepEqual(events.map((e) => e.topic), ['dialing', 'ringing', 'answered', 'ended']);
    assert.deepEqual([ended(events)[0].payload.cause, ended(events)[0].payload.by], ['normal', 'remote']);
    assert.deepEqual(calleeEvents.map((e) => e.topic), ['incoming', 'answered', 'ended']);
    assert.equal(ended(calleeEvents)[0].payload.by, 'local');
    assertNoErrors(flow);
  });

  it('conference-room: two callers dialled from 1001 are answered on 2002 and join room demo; get-room lists them; end ends the room and hangs them up', async function () {
    this.timeout(60000);
    const { flow, lineId, events, byName } = await load('examples/conference-room.json');
    const room = flow.filter((n) => n.type === 'voice-line').find((n) => n.id !== lineId)!.id;
    await waitReady(room);
    const roomEvents = new Inbox(byName('room events'));
    const results = new Inbox(byName('result'));
    getNode(byName('caller 1')).receive({ payload: '2002' });
    await roomEvents.next('caller 1 joined', (m) => m.topic === 'join', 30000);
    getNode(byName('caller 2')).receive({ payload: '2002' });
    await roomEvents.next('caller 2 joined', (m) => m.topic === 'join' && m.payload.parties.length === 2, 30000);
    const topics = () => roomEvents.topics().filter((t: string) => t !== 'talking' && t !== 'silent');
    assert.deepEqual(topics(), ['join', 'room-start', 'join']);
    assert.ok(roomEvents.messages.every((m) => m.room === 'demo'), 'every event is about room demo');
    getNode(byName('get-room')).receive({});
    const got = await results.next('the room', (m) => m.action === 'get-room');
    assert.equal(got.payload.name, 'demo');
    assert.equal(got.payload.state, 'started');
    assert.equal(got.payload.parties.length, 2);
    getNode(byName('end')).receive({});
    await roomEvents.next('the room ended', (m) => m.topic === 'room-end');
    assert.deepEqual(topics(), ['join', 'room-start', 'join', 'leave', 'leave', 'room-end']);
    // Ending the room does not end calls: the flow hangs up each party the room's end took out.
    await waitFor('both callers hung up by 2002', () => ended(events).length === 2, 20000);
    assert.deepEqual(ended(events).map((e) => [e.payload.cause, e.payload.by]), [['normal', 'remote'], ['normal', 'remote']]);
    assertNoErrors(flow);
  });

  it('click-to-call: calls 5551234, then 5557777, and connects them; both calls end transferred', async function () {
    this.timeout(30000);
    const { flow, events, byName } = await load('examples/click-to-call.json');
    const connected = new Inbox(byName('connected'));
    getNode(byName('connect 5551234 with 5557777')).receive({ payload: '5551234', second: '5557777' });
    const out = await connected.next('the two parties connected', () => true, 20000);
    assert.equal(out.call.remote.number, '5551234');
    assert.equal(out.payload.to, '5557777');
    await waitFor('both calls to end', () => ended(events).length === 2, 10000);
    assert.deepEqual(ended(events).map((e) => [e.call?.remote.number, e.payload.cause]).sort(), [['5551234', 'transferred'], ['5557777', 'transferred']]);
    const dialled = events.filter((e) => e.topic === 'dialing').map((e) => e.call?.remote.number);
    assert.deepEqual(dialled, ['5551234', '5557777'], 'the first party is called first, then the second');
    assertNoErrors(flow);
  });

  it('ivr: answers, the caller\'s 1 stops the prompt and picks voicemail, the message is recorded (its 1 kHz tone), the IVR hangs up', async function () {
    this.timeout(40000);
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'ivr-example-'));
    // Where the voicemail goes is the deployment's choice (the example leaves it to <userDir>): a temporary folder here.
    const { flow, lineId, events, byName } = await load('examples/ivr.json', (f) => f.map((n) => (n.type === 'voice-record' ? { ...n, folder } : n)));
    const caller = flow.filter((n) => n.type === 'voice-line').find((n) => n.id !== lineId)!.id;
    await waitReady(caller);
    const saved = new Inbox(byName('voicemail saved'));
    getNode(byName('call the IVR')).receive({ payload: '1001' });
    const message = await saved.next('the voicemail recorded', () => true, 30000);
    assert.equal(message.topic, 'recording');
    assert.equal(path.dirname(message.payload.path), folder);
    assert.equal(message.payload.endedBy, 'call-ended');
    assert.ok(message.payload.durationMs >= 3000 && message.payload.durationMs <= 6500, `about 5 s recorded, got ${message.payload.durationMs} ms`);
    const audio = await readWavFile(message.payload.path);
    assert.ok(Math.abs(dominantHz(audio) - 1000) <= 20, `the caller's 1 kHz message is in the file, got ${dominantHz(audio)} Hz`);
    const topics = events.map((e) => e.topic);
    assert.deepEqual(topics.filter((t) => t !== 'dtmf'), ['incoming', 'answered', 'ended']);
    assert.deepEqual(events.filter((e) => e.topic === 'dtmf').map((e) => e.payload.digit), ['1']);
    assert.deepEqual([ended(events)[0].payload.cause, ended(events)[0].payload.by], ['normal', 'local']);
    assertNoErrors(flow);
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it('the npm start demo: answers incoming calls, and dials 5551234 from the inject', async function () {
    this.timeout(40000);
    const { flow, lineId, events, byName } = await load('scripts/demo-flow.json');
    const shown = new Inbox(byName('every event'));
    const answered = new Inbox(byName('answered'));
    emulatorOf(lineId).incomingCall('5550100');
    // The demo hangs up 5 s after the answer; a loaded machine needs headroom beyond that.
    await waitFor('the incoming call answered, then hung up', () => ended(events).length === 1, 20000);
    // The line's event and the debug node's copy of it are not the same moment: wait for the copy.
    await shown.next('the debug node to show the end', (m) => m.topic === 'ended');
    assert.deepEqual(shown.topics().filter((t: string) => !t.startsWith('line-')), ['incoming', 'answered', 'ended']);
    // One call at a time: a call arriving during another is `waiting`, which the demo leaves alone.
    getNode(byName('dial')).receive({});
    const out = await answered.next('the dial answered');
    assert.equal(out.call.remote.number, '5551234');
    assertNoErrors(flow);
  });
});
