import assert from 'node:assert/strict';
import { Call } from '../../lib/call/call';
import { CallState } from '../../lib/call/call-state';
import type { ConferenceCapability, RoomMedia, RoomPartyMedia } from '../../lib/capabilities/conference';
import { ConferenceRooms, ENTRY_BEEP, RoomEvent } from '../../lib/conference/rooms';
import { CallStateError, InvalidInputError } from '../../lib/errors';
import { checkPartyOptions, checkRoomName } from '../../lib/line/line-conference';

/** A media side that records what the rooms asked of it (the mixing itself is tested in conference-mixer). */
class RecordingMedia implements ConferenceCapability {
  readonly log: string[] = [];
  readonly talk = new Map<string, (call: Call, talking: boolean, level: number) => void>();
  refuse: Call | null = null;

  openRoom(name: string, onTalk: (call: Call, talking: boolean, level: number) => void): RoomMedia {
    this.talk.set(name, onTalk);
    this.log.push(`open ${name}`);
    return {
      add: async (call: Call, p: RoomPartyMedia) => {
        if (call === this.refuse) throw new CallStateError('no media');
        this.log.push(`add ${name} ${call.remote.number} muted=${p.muted} deaf=${p.deaf}`);
      },
      update: (call: Call, p: Pick<RoomPartyMedia, 'muted' | 'deaf'>) => void this.log.push(`update ${name} ${call.remote.number} muted=${p.muted} deaf=${p.deaf}`),
      remove: async (call: Call) => void this.log.push(`remove ${name} ${call.remote.number}`),
      setStarted: (s: boolean) => void this.log.push(`started ${name} ${s}`),
      play: (audio: Int16Array) => void this.log.push(`play ${name} ${audio.length}`),
      close: async () => void this.log.push(`close ${name}`),
    };
  }
}

const call = (number: string): Call =>
  new Call({ line: 'L', direction: 'inbound', remote: { number }, state: CallState.Active, reason: { text: 'up' } });

function setup(): { rooms: ConferenceRooms; media: RecordingMedia; events: RoomEvent[]; topics: () => string[] } {
  const media = new RecordingMedia();
  const rooms = new ConferenceRooms(() => media);
  const events: RoomEvent[] = [];
  rooms.on('event', (e) => events.push(e));
  const topics = (): string[] => events.map((e) => `${e.topic}${e.party ? ' ' + e.party.number : ''}${e.reason ? ' ' + e.reason : ''}`);
  return { rooms, media, events, topics };
}

describe('conference rooms (the model)', () => {
  it('a room is made on the first join and starts then (startsRoom defaults to true); events carry the parties', async () => {
    const { rooms, media, events, topics } = setup();
    const a = call('100');
    const b = call('200');
    const snap = await rooms.join(a, 'sales');
    assert.equal(snap.state, 'started');
    await rooms.join(b, 'sales', { moderator: true });
    assert.deepEqual(topics(), ['join 100', 'room-start', 'join 200']);
    assert.deepEqual(events[2].parties.map((p) => [p.number, p.moderator]), [['100', false], ['200', true]]);
    assert.deepEqual(media.log, ['open sales', 'started sales false', 'add sales 100 muted=false deaf=false', 'started sales true', 'add sales 200 muted=false deaf=false']);
    assert.deepEqual(rooms.get('sales')?.parties.map((p) => p.call), [a.id, b.id]);
    assert.equal(rooms.get('nope'), null);
  });

  it('parties without startsRoom wait (ring-back) until one with it enters', async () => {
    const { rooms, media, topics } = setup();
    await rooms.join(call('1'), 'r', { startsRoom: false });
    await rooms.join(call('2'), 'r', { startsRoom: false });
    assert.equal(rooms.get('r')?.state, 'waiting');
    await rooms.join(call('3'), 'r');
    assert.equal(rooms.get('r')?.state, 'started');
    assert.deepEqual(topics(), ['join 1', 'join 2', 'join 3', 'room-start']);
    assert.deepEqual(media.log.filter((l) => l.startsWith('started')), ['started r false', 'started r true']);
  });

  it('the room ends when the last party leaves, and a new one of that name starts afresh', async () => {
    const { rooms, media, topics } = setup();
    const a = call('1');
    const b = call('2');
    await rooms.join(a, 'r');
    await rooms.join(b, 'r');
    await rooms.leave(a);
    await rooms.leave(b, 'kicked');
    assert.deepEqual(topics(), ['join 1', 'room-start', 'join 2', 'leave 1 left', 'leave 2 kicked', 'room-end last-left']);
    assert.equal(rooms.get('r'), null);
    assert.ok(media.log.includes('close r'));
    await rooms.join(a, 'r');
    assert.equal(media.log.filter((l) => l === 'open r').length, 2);
  });

  it('a party with endsRoom ends the room when it leaves: every other party leaves (room-ended) first', async () => {
    const { rooms, topics, events } = setup();
    const host = call('1');
    await rooms.join(host, 'r', { endsRoom: true });
    await rooms.join(call('2'), 'r');
    await rooms.join(call('3'), 'r');
    await rooms.leave(host);
    assert.deepEqual(topics().slice(4), ['leave 1 left', 'leave 2 room-ended', 'leave 3 room-ended', 'room-end ends-room']);
    assert.deepEqual(events.at(-1)?.parties, []);
  });

  it('a call that ends leaves its room (call-ended); end() ends a room; unknown rooms and calls are refused', async () => {
    const { rooms, topics } = setup();
    const a = call('1');
    const b = call('2');
    await rooms.join(a, 'r');
    await rooms.join(b, 'r');
    a.transition(CallState.Ended, { text: 'bye', end: { cause: 'normal', by: 'remote' } });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(topics().slice(3), ['leave 1 call-ended']);
    await rooms.end('r');
    assert.deepEqual(topics().slice(4), ['leave 2 room-ended', 'room-end ended']);
    await assert.rejects(rooms.end('r'), InvalidInputError);
    await assert.rejects(rooms.leave(b), CallStateError);
    await assert.rejects(rooms.join(a, 'x'), /has ended/);
  });

  it('mute / deaf reach the media; joining another room moves the call; a join the media refuses changes nothing', async () => {
    const { rooms, media, topics } = setup();
    const a = call('1');
    const b = call('2');
    await rooms.join(a, 'r');
    await rooms.join(b, 'r');
    const snap = await rooms.update(a, { muted: true });
    assert.equal(snap.parties[0].muted, true);
    await rooms.update(a, { deaf: true });
    assert.deepEqual(media.log.filter((l) => l.startsWith('update')), ['update r 1 muted=true deaf=false', 'update r 1 muted=true deaf=true']);
    await rooms.join(b, 's');
    assert.deepEqual(topics().slice(3), ['leave 2 moved', 'join 2', 'room-start']);
    assert.equal(rooms.roomNameOf(b), 's');
    await assert.rejects(rooms.join(b, 's'), /already in room s/);
    const c = call('3');
    media.refuse = c;
    await assert.rejects(rooms.join(c, 'new'), CallStateError);
    assert.equal(rooms.get('new'), null);
    assert.ok(media.log.includes('close new'));
  });

  it('talking / silent come from the media, once per change, with the level', async () => {
    const { rooms, media, events } = setup();
    const a = call('1');
    await rooms.join(a, 'r');
    const talk = media.talk.get('r')!;
    talk(a, true, -20.5);
    talk(a, true, -20);
    talk(a, false, -80);
    const t = events.filter((e) => e.topic === 'talking' || e.topic === 'silent');
    assert.deepEqual(t.map((e) => [e.topic, e.levelDbfs, e.party?.talking]), [['talking', -20.5, true], ['silent', -80, false]]);
  });

  it('beepOnEntry: the room hears a beep when that party enters a started room (not while it waits)', async () => {
    const { rooms, media } = setup();
    await rooms.join(call('1'), 'r', { startsRoom: false, beepOnEntry: true });
    assert.deepEqual(media.log.filter((l) => l.startsWith('play')), [], 'waiting: no beep');
    await rooms.join(call('2'), 'r', { beepOnEntry: true });
    await rooms.join(call('3'), 'r');
    assert.deepEqual(media.log.filter((l) => l.startsWith('play')), [`play r ${ENTRY_BEEP.length}`]);
  });

  it('leaveDigit takes the party out (reason digit); muteDigit toggles its mute; other keys do nothing', async () => {
    const { rooms, topics } = setup();
    const a = call('1');
    const b = call('2');
    await rooms.join(a, 'r', { leaveDigit: '#', muteDigit: '*' });
    await rooms.join(b, 'r');
    a.report('dtmf', { digit: '5', source: 'rfc4733' });
    a.report('dtmf', { digit: '*', source: 'rfc4733' });
    await rooms.update(b, {}); // after the toggle (actions run in order)
    assert.equal(rooms.get('r')?.parties[0].muted, true);
    a.report('dtmf', { digit: '*', source: 'rfc4733' });
    await rooms.update(b, {});
    assert.equal(rooms.get('r')?.parties[0].muted, false);
    b.report('dtmf', { digit: '#', source: 'rfc4733' });
    a.report('dtmf', { digit: '#', source: 'rfc4733' });
    await rooms.update(b, {});
    assert.deepEqual(topics().slice(3), ['leave 1 digit']);
    assert.deepEqual(rooms.get('r')?.parties.map((p) => p.number), ['2']);
  });

  it('with an unmuteDigit, muteDigit only mutes and unmuteDigit only unmutes (Aculab\'s two keys)', async () => {
    const { rooms } = setup();
    const a = call('1');
    await rooms.join(a, 'r', { muteDigit: '7', unmuteDigit: '9' });
    assert.equal(rooms.get('r')?.parties[0].unmuteDigit, '9');
    const muted = async (digit: string): Promise<boolean | undefined> => {
      a.report('dtmf', { digit, source: 'rfc4733' });
      await rooms.update(a, {}); // after the key's action (actions run in order)
      return rooms.get('r')?.parties[0].muted;
    };
    assert.equal(await muted('7'), true);
    assert.equal(await muted('7'), true, 'the mute key again: still muted (no toggle)');
    assert.equal(await muted('9'), false);
    assert.equal(await muted('9'), false, 'the unmute key again: still heard');
    assert.equal(await muted('7'), true);
  });

  it('validates room names and party options with clear words', () => {
    assert.equal(checkRoomName('sales'), 'sales');
    assert.throws(() => checkRoomName(''), /room must be a name of 1 to 100/);
    assert.throws(() => checkRoomName(7), InvalidInputError);
    assert.deepEqual(checkPartyOptions({ muted: true, talkThresholdDbfs: -50 }), { muted: true, talkThresholdDbfs: -50 });
    assert.throws(() => checkPartyOptions({ mute: true }), /unknown party option "mute"/);
    assert.throws(() => checkPartyOptions({ deaf: 'yes' }), /deaf must be true or false/);
    assert.throws(() => checkPartyOptions({ talkThresholdDbfs: 3 }), /-90 to 0/);
    assert.throws(() => checkPartyOptions('x'), /must be an object/);
    assert.deepEqual(checkPartyOptions({ leaveDigit: 'a', muteDigit: '' }), { leaveDigit: 'A', muteDigit: null });
    assert.throws(() => checkPartyOptions({ leaveDigit: '##' }), /one DTMF key/);
    assert.throws(() => checkPartyOptions({ leaveDigit: '#', muteDigit: '#' }), /must be different keys/);
    assert.throws(() => checkPartyOptions({ muteDigit: '*', unmuteDigit: '*' }), /muteDigit and unmuteDigit must be different keys, both are \*/);
    assert.throws(() => checkPartyOptions({ unmuteDigit: 'x' }), /unmuteDigit must be one DTMF key/);
  });
});
