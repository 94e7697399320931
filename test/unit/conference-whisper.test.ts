/**
 * Whisper (party options `tags` / `whisperTo`) and the moderator actions `mute-all` / `unmute-all`
 * (docs/conference.md): the mixer's sums, the rooms' model, the validation.
 */
import assert from 'node:assert/strict';
import { Call } from '../../lib/call/call';
import { CallState } from '../../lib/call/call-state';
import type { ConferenceCapability, RoomMedia, RoomPartyMedia } from '../../lib/capabilities/conference';
import { FRAME, Mixer, MixPartyOptions } from '../../lib/conference/mixer';
import { ConferenceRooms, RoomEvent } from '../../lib/conference/rooms';
import { InvalidInputError } from '../../lib/errors';
import { checkPartyOptions } from '../../lib/line/line-conference';

const flat = (v: number): Int16Array => new Int16Array(FRAME).fill(v);

/** One tick of a mixer with `parties` (key → options, frame value): what each hears (first sample; null: nothing). */
function tick(parties: Record<string, [Partial<MixPartyOptions>, number]>): Record<string, number | null> {
  const m = new Mixer<string>();
  for (const [k, [o]] of Object.entries(parties)) m.add(k, { muted: false, deaf: false, ...o });
  for (const [k, [, v]] of Object.entries(parties)) m.push(k, flat(v));
  m.tick();
  return Object.fromEntries(Object.keys(parties).map((k) => [k, m.output(k)?.[0] ?? null]));
}

describe('conference whisper: the mixer', () => {
  it('a coach whispering to "agent" is heard by the agent only; the coach hears the whole room; the others are heard as usual', () => {
    const heard = tick({
      customer: [{}, 1],
      agent: [{ tags: ['agent'] }, 10],
      coach: [{ whisperTo: 'agent' }, 100],
    });
    assert.deepEqual(heard, { customer: 10, agent: 101, coach: 11 });
  });

  it('every party carrying the tag hears the whisper, once even with two tags; a muted whisperer is heard by nobody', () => {
    const heard = tick({
      customer: [{ tags: ['vip'] }, 1],
      a1: [{ tags: ['agent', 'sales'] }, 10],
      a2: [{ tags: ['agent'] }, 1000],
      coach: [{ whisperTo: 'agent' }, 100],
      boss: [{ whisperTo: 'sales', tags: ['boss'] }, 10_000],
    });
    assert.deepEqual(heard, { customer: 1010, a1: 11101, a2: 111, coach: 1011, boss: 1011 });
    const muted = tick({ customer: [{}, 1], agent: [{ tags: ['agent'] }, 10], coach: [{ whisperTo: 'agent', muted: true }, 100] });
    assert.deepEqual(muted, { customer: 10, agent: 1, coach: 11 });
  });

  it('a whisperer carrying its own tag does not hear itself; it hears the other whisperer to that tag', () => {
    const heard = tick({
      customer: [{}, 1],
      c1: [{ whisperTo: 'coaches', tags: ['coaches'] }, 10],
      c2: [{ whisperTo: 'coaches', tags: ['coaches'] }, 100],
    });
    assert.deepEqual(heard, { customer: 0, c1: 101, c2: 11 });
  });

  it('a whisper to a tag nobody carries is heard by nobody; a deaf tagged party hears nothing; whispers clip like the rest', () => {
    assert.deepEqual(tick({ a: [{}, 1], b: [{ tags: ['x'] }, 10], c: [{ whisperTo: 'nobody' }, 100] }), { a: 10, b: 1, c: 11 });
    assert.deepEqual(tick({ a: [{}, 1], b: [{ tags: ['x'], deaf: true }, 10], c: [{ whisperTo: 'x' }, 100] }), { a: 10, b: null, c: 11 });
    assert.deepEqual(tick({ a: [{}, 30_000], b: [{ tags: ['x'] }, 0], c: [{ whisperTo: 'x' }, 30_000] }), { a: 0, b: 32767, c: 30_000 });
  });

  it('the whisper sums start afresh each tick (a whisperer who stops sending is not heard again)', () => {
    const m = new Mixer<string>();
    m.add('agent', { muted: false, deaf: false, tags: ['agent'] });
    m.add('coach', { muted: false, deaf: false, whisperTo: 'agent' });
    m.push('coach', flat(100));
    m.tick();
    assert.equal(m.output('agent')?.[0], 100);
    m.tick();
    assert.equal(m.output('agent')?.[0], 0);
  });
});

/** A media side that logs what the rooms asked of it. */
class LoggingMedia implements ConferenceCapability {
  readonly log: string[] = [];
  openRoom(name: string): RoomMedia {
    return {
      add: async (call: Call, p: RoomPartyMedia) => void this.log.push(`add ${call.remote.number} muted=${p.muted} tags=${(p.tags ?? []).join('+')} whisperTo=${p.whisperTo ?? ''}`),
      update: (call: Call, p: Pick<RoomPartyMedia, 'muted' | 'deaf'>) => void this.log.push(`update ${call.remote.number} muted=${p.muted}`),
      remove: async (call: Call) => void this.log.push(`remove ${call.remote.number}`),
      setStarted: () => undefined,
      play: () => undefined,
      close: async () => void this.log.push(`close ${name}`),
    };
  }
}

const call = (number: string): Call =>
  new Call({ line: 'L', direction: 'inbound', remote: { number }, state: CallState.Active, reason: { text: 'up' } });

describe('conference whisper and mute-all: the rooms', () => {
  it('tags and whisperTo reach the media and show in the party (only when set)', async () => {
    const media = new LoggingMedia();
    const rooms = new ConferenceRooms(() => media);
    await rooms.join(call('customer'), 'r');
    await rooms.join(call('agent'), 'r', { tags: ['agent', 'sales'] });
    const snap = await rooms.join(call('coach'), 'r', { whisperTo: 'agent' });
    assert.deepEqual(media.log, ['add customer muted=false tags= whisperTo=', 'add agent muted=false tags=agent+sales whisperTo=', 'add coach muted=false tags= whisperTo=agent']);
    assert.deepEqual(snap.parties.map((p) => [p.number, p.tags, p.whisperTo]), [['customer', undefined, undefined], ['agent', ['agent', 'sales'], undefined], ['coach', undefined, 'agent']]);
  });

  it('mute-all mutes every party but the moderators, and each later join but a moderator; unmute-all unmutes them; no room event', async () => {
    const media = new LoggingMedia();
    const rooms = new ConferenceRooms(() => media);
    const events: RoomEvent[] = [];
    const [mod, a, b] = [call('mod'), call('a'), call('b')];
    await rooms.join(mod, 'r', { moderator: true });
    await rooms.join(a, 'r');
    await rooms.join(b, 'r', { muted: true });
    rooms.on('event', (e) => events.push(e));
    media.log.length = 0;
    const muted = await rooms.setAllMuted('r', true);
    assert.equal(muted.allMuted, true);
    assert.deepEqual(muted.parties.map((p) => [p.number, p.muted]), [['mod', false], ['a', true], ['b', true]]);
    assert.deepEqual(media.log, ['update a muted=true'], 'b was muted already');
    await rooms.join(call('late'), 'r');
    await rooms.join(call('mod2'), 'r', { moderator: true });
    assert.deepEqual(media.log.slice(1), ['add late muted=true tags= whisperTo=', 'add mod2 muted=false tags= whisperTo=']);
    const unmuted = await rooms.setAllMuted('r', false);
    assert.equal(unmuted.allMuted, false);
    assert.deepEqual(unmuted.parties.map((p) => [p.number, p.muted]), [['mod', false], ['a', false], ['b', false], ['late', false], ['mod2', false]]);
    assert.deepEqual(events.map((e) => e.topic), ['join', 'join'], 'only the two joins: mute-all and unmute-all send no room event');
    await rooms.join(call('later'), 'r');
    assert.equal(rooms.get('r')?.parties.at(-1)?.muted, false, 'after unmute-all a join is not muted');
    await assert.rejects(rooms.setAllMuted('nowhere', true), (e: Error) => e instanceof InvalidInputError && /there is no conference room "nowhere"/.test(e.message));
  });
});

describe('conference whisper: validation', () => {
  it('tags: a list or a comma-separated string, duplicates dropped; whisperTo: one tag or empty', () => {
    assert.deepEqual(checkPartyOptions({ tags: ['agent', 'sales', 'agent'] }), { tags: ['agent', 'sales'] });
    assert.deepEqual(checkPartyOptions({ tags: ' agent, sales ,' }), { tags: ['agent', 'sales'] });
    assert.deepEqual(checkPartyOptions({ tags: '' }), { tags: [] });
    assert.deepEqual(checkPartyOptions({ whisperTo: ' agent ' }), { whisperTo: 'agent' });
    assert.deepEqual(checkPartyOptions({ whisperTo: '' }), { whisperTo: null });
  });

  it('refuses bad tags and whisperTo with clear words', () => {
    assert.throws(() => checkPartyOptions({ tags: 7 }), /tags must be a list of tags like \["agent"\]/);
    assert.throws(() => checkPartyOptions({ tags: ['a b'] }), /each tag must be 1 to 50 characters without spaces or commas, got string a b/);
    assert.throws(() => checkPartyOptions({ tags: ['x'.repeat(51)] }), /each tag must be 1 to 50 characters/);
    assert.throws(() => checkPartyOptions({ tags: [3] }), /each tag must be/);
    assert.throws(() => checkPartyOptions({ tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }), /at most 20 tags, got 21/);
    assert.throws(() => checkPartyOptions({ whisperTo: ['agent'] }), /whisperTo must be one tag/);
    assert.throws(() => checkPartyOptions({ whisperTo: 'a,b' }), /whisperTo must be one tag/);
  });
});
