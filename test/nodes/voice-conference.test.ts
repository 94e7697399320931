/**
 * voice-conference in a flow: two SIP lines on 127.0.0.1 (A dials B twice); the node on B joins
 * both calls to a room (tags from the node, whisperTo from msg.party), mutes one, mute-all /
 * unmute-all, reads the room, ends it; its second output sends the room events.
 * On an AT line (the emulator) the room is the network's multiparty call: a first join waits, mute fails
 * to the Catch path (test/unit/at-conference.test.ts has the rest).
 */
import assert from 'node:assert/strict';
import { answeredCalls, twoSipLineNodes } from './conference-flow';
import { errorsOf, getNode, helper, Inbox, lineNode, lineOf, Msg, NODES, sink, voiceNode, waitReady } from './flow-helpers';
import voiceConference = require('../../nodes/voice-conference');

describe('voice-conference', function () {
  this.timeout(30000);
  afterEach(async function () {
    await helper.unload();
  });

  it('joins two SIP calls to a room (tags, whisperTo), mutes one, mute-all / unmute-all, get-room, end; the second output sends join, room-start, leave, room-end', async function () {
    await helper.load([...NODES, voiceConference], [
      ...(await twoSipLineNodes()),
      voiceNode('C', 'voice-conference', 'B', [['OUT'], ['EV']], { action: 'join', room: 'sales', moderator: true, tags: 'agent, sales' }),
      sink('OUT'),
      sink('EV'),
      // A line runs while a node uses it: this one keeps A (the far ends) up.
      voiceNode('EA', 'voice-events', 'A', [['EVA']], { events: ['ended'] }),
      sink('EVA'),
    ]);
    await Promise.all([waitReady('A'), waitReady('B')]);
    const out = new Inbox('OUT');
    const ev = new Inbox('EV');
    const a = lineOf('A');
    const b = lineOf('B');
    const calls = await answeredCalls(a, b, 2);

    getNode('C').receive({ call: calls[0], topic: 'keep' });
    const first = await out.next('joined', (m) => m.action === 'join');
    assert.equal(first.room, 'sales');
    assert.equal(first.call.id, calls[0]);
    assert.equal(first.topic, 'keep');
    assert.equal(first.payload.state, 'started');
    assert.deepEqual(first.payload.parties.map((p: { call: string; moderator: boolean; tags: string[] }) => [p.call, p.moderator, p.tags]), [[calls[0], true, ['agent', 'sales']]]);
    getNode('C').receive({ call: calls[1], party: { moderator: false, muted: true, tags: [], whisperTo: 'agent' } });
    const second = await out.next('second joined', (m) => m.action === 'join' && m.call.id === calls[1]);
    assert.deepEqual(second.payload.parties.map((p: { muted: boolean; moderator: boolean; whisperTo?: string }) => [p.muted, p.moderator, p.whisperTo]), [[false, true, undefined], [true, false, 'agent']]);

    getNode('C').receive({ call: calls[1], action: 'unmute' });
    const unmuted = await out.next('unmuted', (m) => m.action === 'unmute');
    assert.equal(unmuted.payload.parties[1].muted, false);
    getNode('C').receive({ action: 'mute-all', room: 'sales' });
    const allMuted = await out.next('mute-all', (m) => m.action === 'mute-all');
    assert.deepEqual([allMuted.payload.allMuted, ...allMuted.payload.parties.map((p: { muted: boolean }) => p.muted)], [true, false, true], 'the moderator stays unmuted');
    getNode('C').receive({ action: 'unmute-all', room: 'sales' });
    const allUnmuted = await out.next('unmute-all', (m) => m.action === 'unmute-all');
    assert.deepEqual([allUnmuted.payload.allMuted, ...allUnmuted.payload.parties.map((p: { muted: boolean }) => p.muted)], [false, false, false]);
    getNode('C').receive({ action: 'get-room', room: 'sales' });
    const room = await out.next('room', (m) => m.action === 'get-room');
    assert.equal(room.payload.parties.length, 2);
    getNode('C').receive({ action: 'get-room', room: 'none' });
    assert.equal((await out.next('no room', (m) => m.action === 'get-room' && m.payload === null)).payload, null);
    getNode('C').receive({ action: 'end' });
    const ended = await out.next('ended', (m) => m.action === 'end');
    assert.deepEqual(ended.payload.parties, []);
    await ev.next('room-end', (m) => m.topic === 'room-end');
    assert.deepEqual(
      ev.messages.filter((m) => m.topic !== 'talking' && m.topic !== 'silent').map((m) => `${m.topic} ${m.room} ${m.payload.reason ?? ''}`.trim()),
      ['join sales', 'room-start sales', 'join sales', 'leave sales room-ended', 'leave sales room-ended', 'room-end sales ended'],
    );
    getNode('C').receive({ call: calls[0], party: { loud: true } });
    await waitFor(() => errorsOf('C').length === 1);
    assert.match(errorsOf('C')[0].message, /unknown party option "loud"/);
    assert.equal(a.activeCalls().length, 2, 'the calls stay up after the room ended');
  });

  it('on an AT line: the network\'s multiparty call; join waits for a second party; mute fails "… is not on this line (AT: the network\'s three-party call)"', async function () {
    await helper.load([...NODES, voiceConference], [lineNode('L'), voiceNode('C', 'voice-conference', 'L', [['OUT'], ['EV']], { room: 'r' }), sink('OUT'), sink('EV')]);
    await waitReady('L');
    const { call } = await lineOf('L').dialAndWait('5551234');
    const out = new Inbox('OUT');
    const ev = new Inbox('EV');
    getNode('C').receive({ call: call.snapshot() });
    const joined = await out.next('joined');
    assert.equal(joined.payload.state, 'waiting');
    assert.deepEqual(joined.payload.parties.map((p: Msg) => p.call), [call.id]);
    assert.equal((await ev.next('join event')).topic, 'join');
    getNode('C').receive({ call: call.snapshot(), action: 'mute' });
    await waitFor(() => errorsOf('C').length === 1);
    assert.match(errorsOf('C')[0].message, /^mute is not on this line \(AT: the network's three-party call\)/);
  });
});

async function waitFor(cond: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
