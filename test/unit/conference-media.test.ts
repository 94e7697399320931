/**
 * Party media and room options (docs/conference.md "Party media", "Room options"): the mixer's owned
 * room-wide audio (entry media not heard by the party it announces), each party's own waiting audio,
 * the room's whole mix; the room recorder (a new file, and one that goes on in the same file after a
 * move); party media read with voice-play's parsing; room options checked; the rooms' hooks (entry /
 * exit media played to the room, maxParties refusing a join without moving the call).
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { FRAME, Mixer } from '../../lib/conference/mixer';
import { checkRoomOptions, entryAudio, exitAudio, loadPartyAudio } from '../../lib/conference/room-media';
import { RoomRecorder } from '../../lib/conference/room-recorder';
import { ConferenceRooms, RoomEvent } from '../../lib/conference/rooms';
import type { Call } from '../../lib/call/call';
import type { ConferenceCapability, RoomMedia, RoomPartyMedia } from '../../lib/capabilities/conference';
import { checkPartyOptions } from '../../lib/line/line-conference';
import { goertzelCoefficient, goertzelPower } from '../../lib/media/goertzel';
import { beep, ringback } from '../../lib/media/tone-generator';
import { decodeWav } from '../../lib/media/wav-reader';
import { WavWriter } from '../../lib/media/wav-writer';

const flat = (v: number): Int16Array => new Int16Array(FRAME).fill(v);
const power = (s: Int16Array, hz: number): number => goertzelPower(s, goertzelCoefficient(hz));

describe('conference party media: the mixer', () => {
  it('room-wide audio owned by a party: every other party hears it, the owner does not; the room mix holds it', () => {
    const m = new Mixer<string>();
    for (const k of ['a', 'b', 'c']) m.add(k, { muted: false, deaf: false });
    m.play(flat(1000), 'c');
    m.push('a', flat(10));
    m.push('b', flat(20));
    m.push('c', flat(40));
    m.tick();
    assert.equal((m.output('a') as Int16Array)[0], 1060, 'a: b + c + the announcement');
    assert.equal((m.output('b') as Int16Array)[0], 1050);
    assert.equal((m.output('c') as Int16Array)[0], 30, 'c: a + b, not its own announcement');
    assert.equal(m.roomMix(new Int16Array(FRAME))[0], 1070, 'the room mix: every party and the announcement');
    m.play(flat(500));
    m.tick();
    assert.equal((m.output('c') as Int16Array)[0], 500, 'an announcement nobody owns: every party hears it');
  });

  it('a muted owner still announces itself to the others; an owner that left is ignored', () => {
    const m = new Mixer<string>();
    m.add('a', { muted: false, deaf: false });
    m.add('b', { muted: true, deaf: false });
    m.play(flat(300), 'b');
    m.play(flat(200), 'gone');
    m.tick();
    assert.equal((m.output('a') as Int16Array)[0], 300);
    assert.equal((m.output('b') as Int16Array)[0], 0);
    m.tick();
    assert.equal((m.output('b') as Int16Array)[0], 200);
  });

  it('while the room waits, a party with its own waiting audio hears it looped; the others hear the room\'s; the room mix is silence', () => {
    const m = new Mixer<string>();
    m.add('a', { muted: false, deaf: false });
    m.add('b', { muted: false, deaf: false });
    const own = beep(100, 700, -20); // 5 frames, looped
    m.setPartyWaiting('a', own);
    m.setWaiting(ringback(5000));
    const heardA: Int16Array[] = [];
    const heardB: Int16Array[] = [];
    for (let t = 0; t < 12; t++) {
      m.push('a', flat(5000));
      m.push('b', flat(5000));
      m.tick();
      heardA.push(m.output('a') as Int16Array);
      heardB.push(m.output('b') as Int16Array);
      assert.ok(m.roomMix(new Int16Array(FRAME)).every((v) => v === 0));
    }
    assert.deepEqual([...heardA[5]], [...heardA[0]], 'looped after 5 frames');
    assert.deepEqual([...heardA[0]], [...own.subarray(0, FRAME)]);
    const a = Int16Array.from(heardA.flatMap((f) => [...f]));
    const b = Int16Array.from(heardB.flatMap((f) => [...f]));
    assert.ok(power(a, 700) > 1000 * power(a, 425), 'a hears its own, not ring-back');
    assert.ok(power(b, 425) > 1000 * power(b, 700), 'b hears ring-back');
    m.setWaiting(null);
    m.push('a', flat(5));
    m.push('b', flat(7));
    m.tick();
    assert.equal((m.output('a') as Int16Array)[0], 7, 'once started, the others again');
  });
});

describe('conference room recorder', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(join(tmpdir(), 'room-rec-'));
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('writes each frame; a second recorder goes on in the same file once the first has closed it', async () => {
    const path = join(dir, 'room.wav');
    const first = new RoomRecorder(path, false);
    for (let i = 0; i < 10; i++) first.write(flat(100));
    let closed!: () => void;
    const ready = new Promise<void>((r) => (closed = r));
    const second = new RoomRecorder(path, true, ready);
    for (let i = 0; i < 5; i++) second.write(flat(-200)); // kept in memory until `ready`
    const r1 = await first.close();
    assert.deepEqual(r1, { path, durationMs: 200 });
    closed();
    for (let i = 0; i < 5; i++) second.write(flat(300));
    const r2 = await second.close();
    assert.deepEqual(r2, { path, durationMs: 400 });
    const pcm = decodeWav(await fsp.readFile(path));
    assert.equal(pcm.length, 20 * FRAME);
    assert.deepEqual([pcm[0], pcm[10 * FRAME], pcm[15 * FRAME], pcm[20 * FRAME - 1]], [100, -200, 300, 300]);
  });

  it('ticks the clock skipped after a stall are written as silence (the file keeps the room\'s time)', async () => {
    const path = join(dir, 'gap.wav');
    const rec = new RoomRecorder(path, false);
    rec.write(flat(5), 10);
    rec.write(flat(6), 11);
    rec.write(flat(7), 15); // 12, 13, 14 skipped
    assert.equal((await rec.close()).durationMs, 120);
    const pcm = decodeWav(await fsp.readFile(path));
    assert.deepEqual([pcm[0], pcm[FRAME], pcm[2 * FRAME], pcm[4 * FRAME], pcm[5 * FRAME]], [5, 6, 0, 0, 7]);
  });

  it('WavWriter.append counts the samples on disk by the file size (a header that lags behind)', async () => {
    const path = join(dir, 'lag.wav');
    const w = await WavWriter.open(path);
    w.write(flat(1));
    await w.close();
    await fsp.appendFile(path, Buffer.alloc(FRAME * 2)); // written, header not updated (a host that died)
    const a = await WavWriter.append(path);
    a.write(flat(2));
    assert.equal((await a.close()).durationMs, 60);
  });

  it('a file that cannot be opened: close rejects with the reason', async () => {
    const rec = new RoomRecorder(join(dir, 'no', 'such', 'room.wav'), false);
    rec.write(flat(1));
    await assert.rejects(rec.close(), /ENOENT/);
  });
});

describe('conference party media and room options: checks', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(join(tmpdir(), 'room-media-'));
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('party media: tones as voice-play reads them, a .wav file, prefix before entry / exit', async () => {
    const o = checkPartyOptions({ prefixMedia: 'beep:100', entryMedia: 'dtmf:1', exitMedia: 'silence:40', waitMedia: 'ringback:1000' });
    const a = await loadPartyAudio(o, () => undefined);
    assert.equal(a.prefix?.length, 800);
    assert.equal(a.entry?.length, 1600, 'dtmf:1 is 100 ms tone + 100 ms gap');
    assert.equal(a.wait?.length, 8000);
    assert.equal(entryAudio(a)?.length, 2400);
    assert.deepEqual([...(entryAudio(a) as Int16Array).subarray(0, 800)], [...(a.prefix as Int16Array)]);
    assert.equal(exitAudio(a)?.length, 800 + 320);
    assert.equal(entryAudio({ prefix: a.prefix }), null, 'a prefix alone announces nothing');
    const file = join(dir, 'name.wav');
    const w = await WavWriter.open(file);
    w.write(beep(300, 800, -20));
    await w.close();
    const f = await loadPartyAudio(checkPartyOptions({ entryMedia: 'name.wav' }), () => ({ folder: dir, confine: true }));
    assert.equal(f.entry?.length, 2400);
  });

  it('party media refused clearly: not a tone nor a .wav, a missing file, a path leaving the folder, a relative path with no folder', async () => {
    assert.throws(() => checkPartyOptions({ waitMedia: 5 }), /waitMedia must be a tone .* or a \.wav file path, got number 5/);
    await assert.rejects(loadPartyAudio({ entryMedia: 'hello' }, () => undefined), /entryMedia: "hello" is neither a tone/);
    await assert.rejects(loadPartyAudio({ exitMedia: join(dir, 'none.wav') }, () => undefined), /exitMedia: cannot play .*none\.wav: it does not exist/);
    await fsp.mkdir(join(dir, 'sub'));
    const w = await WavWriter.open(join(dir, 'x.wav'));
    w.write(flat(1));
    await w.close();
    await assert.rejects(loadPartyAudio({ prefixMedia: '../x.wav' }, () => ({ folder: join(dir, 'sub'), confine: true })), /leads outside the folder/);
    await assert.rejects(loadPartyAudio({ waitMedia: 'x.wav' }, () => undefined), /waitMedia: the file to play must be an absolute path/);
  });

  it('room options: maxParties 1–1000, record a .wav path in a folder that exists; unknown options refused', async () => {
    assert.deepEqual(await checkRoomOptions({ maxParties: 3 }), { maxParties: 3 });
    assert.deepEqual(await checkRoomOptions({ maxParties: '2', record: '' }), { maxParties: 2 });
    assert.deepEqual(await checkRoomOptions({ record: 'r.wav' }, { folder: dir, confine: true }), { record: join(await fsp.realpath(dir), 'r.wav') });
    await assert.rejects(checkRoomOptions({ maxParties: 0 }), /maxParties must be a whole number from 1 to 1000, got number 0/);
    await assert.rejects(checkRoomOptions({ maxParties: 1.5 }), /maxParties/);
    await assert.rejects(checkRoomOptions({ record: join(dir, 'r.mp3') }), /record must be the path of a \.wav file/);
    await assert.rejects(checkRoomOptions({ record: 'r.wav' }), /must be absolute/);
    await assert.rejects(checkRoomOptions({ record: join(dir, 'no', 'r.wav') }), /cannot record the room to .*its folder cannot be written/);
    await assert.rejects(checkRoomOptions({ record: '../r.wav' }, { folder: dir, confine: true }), /leads outside the folder/);
    await assert.rejects(checkRoomOptions({ size: 3 }), /unknown room option "size"/);
    await assert.rejects(checkRoomOptions([1]), /room options must be an object/);
  });
});

/** A fake backend: records what the rooms ask of the media. */
class FakeMedia implements RoomMedia {
  plays: Array<{ length: number; except?: string }> = [];
  added: Array<{ call: string; wait?: number }> = [];
  closed = false;
  constructor(private readonly recording: string | undefined) {}
  async add(call: Call, party: RoomPartyMedia): Promise<void> {
    this.added.push({ call: call.id, ...(party.waitAudio ? { wait: party.waitAudio.length } : {}) });
  }
  update(): void {}
  async remove(): Promise<void> {}
  play(audio: Int16Array, except?: Call): void {
    this.plays.push({ length: audio.length, ...(except ? { except: except.id } : {}) });
  }
  setStarted(): void {}
  async close(): Promise<{ path: string; durationMs: number } | null> {
    this.closed = true;
    return this.recording ? { path: this.recording, durationMs: 1234 } : null;
  }
}

function fakeCall(id: string): Call {
  return Object.assign(new EventEmitter(), { id, ended: false, remote: { number: '' } }) as unknown as Call;
}

describe('conference rooms: party media and room options', () => {
  let medias: FakeMedia[];
  let rooms: ConferenceRooms;
  let events: RoomEvent[];
  let opened: Array<{ name: string; record?: string }>;
  beforeEach(() => {
    medias = [];
    opened = [];
    const cap: ConferenceCapability = {
      openRoom: (name, _onTalk, options) => {
        opened.push({ name, ...(options?.record ? { record: options.record } : {}) });
        const m = new FakeMedia(options?.record);
        medias.push(m);
        return m;
      },
    };
    rooms = new ConferenceRooms(() => cap);
    events = [];
    rooms.on('event', (e) => events.push(e));
  });

  it('entry media (prefix + entry) is played to the room except the party; exit media when it leaves a room that goes on; wait audio reaches the media', async () => {
    const [a, b, c] = ['a', 'b', 'c'].map(fakeCall);
    const audio = { prefix: new Int16Array(80), entry: new Int16Array(160), exit: new Int16Array(240), wait: new Int16Array(400) };
    await rooms.join(a, 'r');
    await rooms.join(b, 'r', {}, { audio });
    assert.deepEqual(medias[0].plays, [{ length: 240, except: 'b' }]);
    assert.deepEqual(medias[0].added, [{ call: 'a' }, { call: 'b', wait: 400 }]);
    await rooms.join(c, 'r');
    await rooms.leave(b);
    assert.deepEqual(medias[0].plays[1], { length: 320 }, 'prefix + exit, heard by all who are left');
    await rooms.join(b, 'r', { endsRoom: true }, { audio });
    const n = medias[0].plays.length;
    await rooms.leave(b);
    assert.equal(medias[0].plays.length, n, 'a party that ends the room: no exit media');
  });

  it('maxParties: a join into a full room fails naming the room and its limit; the call stays in its own room; options of later joins are ignored', async () => {
    const [a, b, c] = ['a', 'b', 'c'].map(fakeCall);
    await rooms.join(a, 'small', {}, { room: { maxParties: 2, record: '/tmp/x.wav' } });
    assert.deepEqual(opened, [{ name: 'small', record: '/tmp/x.wav' }]);
    await rooms.join(b, 'small', {}, { room: { maxParties: 5 } });
    await rooms.join(c, 'other');
    await assert.rejects(rooms.join(c, 'small'), /room small is full: it takes at most 2 parties \(room option maxParties\)/);
    assert.equal(rooms.roomNameOf(c), 'other', 'not moved');
    assert.equal(events.filter((e) => e.topic === 'leave').length, 0);
    await rooms.end('small');
    const end = events.find((e) => e.topic === 'room-end' && e.room === 'small');
    assert.deepEqual(end?.recording, { path: '/tmp/x.wav', durationMs: 1234 });
    assert.equal(events.find((e) => e.topic === 'room-end' && e.room === 'other'), undefined);
  });
});
