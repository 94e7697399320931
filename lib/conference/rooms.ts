/**
 * Conference rooms, backend-neutral (docs/conference.md): rooms by name, created on the first
 * join; parties (a call and its options); the room's lifetime; the events. The audio is mixed by
 * the backend's {@link RoomMedia} (lib/capabilities/conference.ts), one per room.
 *
 * Lifetime: a room starts when a party with `startsRoom` (default true) enters: so at the first
 * join, unless that party (and every one after it) joins with `startsRoom: false`, in which case
 * they hear ring-back until one with `startsRoom` comes. A room ends when a party with `endsRoom`
 * leaves (every other party leaves with it, reason `room-ended`), when the last party leaves, or on
 * `end`. A party leaves by `leave`, `kick`, its call ending, or moving to another room.
 */
import { EventEmitter } from 'node:events';
import type { Call } from '../call/call';
import type { ConferenceCapability, RoomMedia } from '../capabilities/conference';
import type { CallReport } from '../call/call';
import { CallStateError, InvalidInputError } from '../errors';
import { beep } from '../media/tone-generator';
import { entryAudio, exitAudio, fullRoomError, PartyAudio, PartyMediaSpec, RoomOptions } from './room-media';
import type { RoomRecording } from './room-recorder';

export interface PartyOptions extends PartyMediaSpec {
  muted: boolean;
  deaf: boolean;
  /** A label the flows may use (shown in every event); it gives no rights by itself. */
  moderator: boolean;
  /** The room starts when this party enters (default true). */
  startsRoom: boolean;
  /** The room ends when this party leaves (default false). */
  endsRoom: boolean;
  /** Talk detection threshold on what this party sends us, dBFS (default −40). */
  talkThresholdDbfs: number;
  /** The room hears a beep when this party enters (a started room; default false). */
  beepOnEntry: boolean;
  /** A DTMF key this party presses to leave the room (reason `digit`); `null`: none (default). */
  leaveDigit: string | null;
  /** A DTMF key this party presses to mute itself (to mute / unmute it when there is no `unmuteDigit`); `null`: none (default). */
  muteDigit: string | null;
  /** A DTMF key this party presses to unmute itself (Aculab's unmute digit); with it, `muteDigit` only mutes. `null`: none (default). */
  unmuteDigit: string | null;
  /** The party's tags: it hears the parties that whisper to one of them (default none). */
  tags: string[];
  /** A tag: only the parties carrying it hear this party (a coach to the agents); `null`: everyone (default). */
  whisperTo: string | null;
}

/** The entry beep: 1 kHz, 200 ms, −16 dBFS. */
export const ENTRY_BEEP = beep(200, 1000, -16);

export const DEFAULT_PARTY_OPTIONS: Readonly<PartyOptions> = {
  muted: false,
  deaf: false,
  moderator: false,
  startsRoom: true,
  endsRoom: false,
  talkThresholdDbfs: -40,
  beepOnEntry: false,
  leaveDigit: null,
  muteDigit: null,
  unmuteDigit: null,
  tags: [],
  whisperTo: null,
};

export interface PartySnapshot {
  /** The call's id (`msg.call.id`). */
  call: string;
  /** The far end's number, when known. */
  number?: string;
  muted: boolean;
  deaf: boolean;
  moderator: boolean;
  startsRoom: boolean;
  endsRoom: boolean;
  talking: boolean;
  joinedAt: string;
  leaveDigit?: string;
  muteDigit?: string;
  unmuteDigit?: string;
  /** When it has tags. */
  tags?: string[];
  /** When it whispers. */
  whisperTo?: string;
}

export type RoomState = 'waiting' | 'started';

export interface RoomSnapshot {
  name: string;
  state: RoomState;
  createdAt: string;
  startedAt?: string;
  /** After `mute-all` (until `unmute-all`): every party but the moderators is muted, and so is each one that joins. */
  allMuted: boolean;
  parties: PartySnapshot[];
}

export type RoomEventTopic = 'room-start' | 'join' | 'leave' | 'talking' | 'silent' | 'room-end';
export const ROOM_EVENT_TOPICS: readonly RoomEventTopic[] = ['room-start', 'join', 'leave', 'talking', 'silent', 'room-end'];

/** Why a party left: `left` (leave), `kicked`, `room-ended`, `call-ended`, `moved` (joined another room), `digit` (its leave digit). */
export type LeaveReason = 'left' | 'kicked' | 'room-ended' | 'call-ended' | 'moved' | 'digit';

export interface RoomEvent {
  topic: RoomEventTopic;
  room: string;
  /** The party it is about (join, leave, talking, silent). */
  party?: PartySnapshot;
  /** leave: why; room-end: why the room ended (`last-left`, `ends-room` with the party that ended it, `ended`). */
  reason?: LeaveReason | 'last-left' | 'ends-room' | 'ended';
  /** talking / silent: the level that decided it, dBFS. */
  levelDbfs?: number;
  /** room-end of a room recorded (room option `record`): the file and its length. */
  recording?: RoomRecording;
  /** The room's parties after the change (room-end: none). */
  parties: PartySnapshot[];
}

/** What a room model keeps that its snapshot and events show (the SIP rooms here, the AT line's multiparty call). */
export interface RoomShape<P> {
  name: string;
  state: RoomState;
  createdAt: Date;
  startedAt?: Date;
  parties: Map<Call, P>;
}

/** A room as flows see it (`get-room`, output 1), its parties shown by `party`. */
export function roomSnapshot<P>(room: RoomShape<P>, party: (p: P) => PartySnapshot, allMuted: boolean): RoomSnapshot {
  return {
    name: room.name,
    state: room.state,
    createdAt: room.createdAt.toISOString(),
    ...(room.startedAt ? { startedAt: room.startedAt.toISOString() } : {}),
    allMuted,
    parties: [...room.parties.values()].map(party),
  };
}

/** A room event with the room's parties after the change, shown by `party`. */
export function roomEvent<P>(room: RoomShape<P>, topic: RoomEventTopic, extra: Partial<RoomEvent>, party: (p: P) => PartySnapshot): RoomEvent {
  return { topic, room: room.name, ...extra, parties: [...room.parties.values()].map(party) };
}

interface Party {
  call: Call;
  onEnded: () => void;
  onReport: (r: CallReport) => void;
  options: PartyOptions;
  /** Its prefix / entry / exit / wait media, read (lib/conference/room-media.ts). */
  audio: PartyAudio;
  talking: boolean;
  joinedAt: Date;
}

interface Room {
  name: string;
  state: RoomState;
  createdAt: Date;
  startedAt?: Date;
  allMuted: boolean;
  parties: Map<Call, Party>;
  media: RoomMedia;
  /** Room options (from the join that created it). */
  options: RoomOptions;
}

export class ConferenceRooms extends EventEmitter<{ event: [RoomEvent] }> {
  private readonly rooms = new Map<string, Room>();
  private readonly roomOf = new Map<Call, Room>();
  /** One change at a time (a join waits for the media): the events come in the order of the actions. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly media: () => ConferenceCapability) {
    super();
  }

  /**
   * Puts a call into a room (created on first use); a call in another room moves (it leaves that one,
   * `moved`). `more`: the party's media, read, and the room's options (used only when this join
   * creates the room). A full room (`maxParties`) refuses the join; the call stays where it is.
   */
  join(call: Call, name: string, options: Partial<PartyOptions> = {}, more: { audio?: PartyAudio; room?: RoomOptions } = {}): Promise<RoomSnapshot> {
    return this.serial(async () => {
      if (call.ended) throw new CallStateError(`call ${call.id} has ended: it cannot join room ${name}`);
      const current = this.roomOf.get(call);
      if (current?.name === name) throw new CallStateError(`call ${call.id} is already in room ${name}`);
      const full = this.rooms.get(name);
      if (full?.options.maxParties !== undefined && full.parties.size >= full.options.maxParties) throw fullRoomError(name, full.options.maxParties);
      const o: PartyOptions = { ...DEFAULT_PARTY_OPTIONS, ...options };
      const audio = more.audio ?? {};
      // Moving: out of the old room first (its media lets go of the call before the new room takes it).
      if (current) await this.removeParty(current, call, 'moved');
      let room = this.rooms.get(name);
      const created = !room;
      if (!room) {
        room = {
          name,
          state: 'waiting',
          createdAt: new Date(),
          allMuted: false,
          parties: new Map(),
          options: more.room ?? {},
          media: this.media().openRoom(name, (c, talking, level) => this.onTalk(c, talking, level), more.room?.record ? { record: more.room.record } : undefined),
        };
        room.media.setStarted(false);
      }
      // A room muted by mute-all: whoever joins is muted too, but a moderator.
      if (room.allMuted && !o.moderator) o.muted = true;
      try {
        await room.media.add(call, { muted: o.muted, deaf: o.deaf, talkThresholdDbfs: o.talkThresholdDbfs, tags: o.tags, whisperTo: o.whisperTo, ...(audio.wait ? { waitAudio: audio.wait } : {}) });
      } catch (err) {
        if (created) await room.media.close();
        throw err;
      }
      if (created) this.rooms.set(name, room);
      const onEnded = (): void => this.callEnded(call);
      const onReport = (r: CallReport): void => this.onDigit(call, r);
      call.once('ended', onEnded);
      call.on('report', onReport);
      room.parties.set(call, { call, onEnded, onReport, options: o, audio, talking: false, joinedAt: new Date() });
      this.roomOf.set(call, room);
      this.emitRoom(room, 'join', { party: this.partySnapshot(room.parties.get(call) as Party) });
      if (room.state === 'waiting' && o.startsRoom) {
        room.state = 'started';
        room.startedAt = new Date();
        room.media.setStarted(true);
        this.emitRoom(room, 'room-start', {});
      }
      if (o.beepOnEntry && room.state === 'started') room.media.play(ENTRY_BEEP);
      const entry = entryAudio(audio);
      if (entry && room.state === 'started') room.media.play(entry, call);
      return this.snapshot(room);
    });
  }

  /** Takes a call out of its room (`kicked` for kick). CallStateError when it is in none. */
  leave(call: Call, reason: 'left' | 'kicked' = 'left'): Promise<RoomSnapshot> {
    return this.serial(async () => {
      const room = this.roomOf.get(call);
      if (!room) throw new CallStateError(`call ${call.id} is not in a conference room`);
      await this.removeParty(room, call, reason);
      return this.snapshot(room);
    });
  }

  /** Mutes / unmutes, deafens / undeafens a party. */
  update(call: Call, change: Partial<Pick<PartyOptions, 'muted' | 'deaf'>>): Promise<RoomSnapshot> {
    return this.serial(async () => {
      const room = this.roomOf.get(call);
      const party = room?.parties.get(call);
      if (!room || !party) throw new CallStateError(`call ${call.id} is not in a conference room`);
      party.options = { ...party.options, ...change };
      room.media.update(call, { muted: party.options.muted, deaf: party.options.deaf });
      return this.snapshot(room);
    });
  }

  /**
   * `mute-all` (`muted` true): mutes every party but the moderators, and every party that joins the
   * room afterwards but a moderator, until `unmute-all` (`muted` false), which unmutes every party
   * but the moderators. A party's mute digit still works meanwhile. No room event (as mute / unmute);
   * InvalidInputError for a room that does not exist.
   */
  setAllMuted(name: string, muted: boolean): Promise<RoomSnapshot> {
    return this.serial(async () => {
      const room = this.rooms.get(name);
      if (!room) throw new InvalidInputError(`there is no conference room ${JSON.stringify(name)}`);
      room.allMuted = muted;
      for (const party of room.parties.values()) {
        if (party.options.moderator || party.options.muted === muted) continue;
        party.options = { ...party.options, muted };
        room.media.update(party.call, { muted, deaf: party.options.deaf });
      }
      return this.snapshot(room);
    });
  }

  /** Ends a room: every party leaves (`room-ended`), then `room-end`. InvalidInputError for a room that does not exist. */
  end(name: string): Promise<RoomSnapshot> {
    return this.serial(async () => {
      const room = this.rooms.get(name);
      if (!room) throw new InvalidInputError(`there is no conference room ${JSON.stringify(name)}`);
      const before = this.snapshot(room);
      await this.endRoom(room, 'ended');
      return { ...before, parties: [] };
    });
  }

  /** A call ended (the line says so): it leaves its room. */
  callEnded(call: Call): void {
    if (!this.roomOf.has(call)) return;
    void this.serial(async () => {
      const room = this.roomOf.get(call);
      if (room) await this.removeParty(room, call, 'call-ended');
    }).catch(() => undefined);
  }

  /** A room now, or `null` when there is none of that name. */
  get(name: string): RoomSnapshot | null {
    const room = this.rooms.get(name);
    return room ? this.snapshot(room) : null;
  }

  /** The room a call is in, or `null`. */
  roomNameOf(call: Call): string | null {
    return this.roomOf.get(call)?.name ?? null;
  }

  list(): RoomSnapshot[] {
    return [...this.rooms.values()].map((r) => this.snapshot(r));
  }

  /** Ends every room (the line stops). */
  async close(): Promise<void> {
    await this.serial(async () => {
      for (const room of [...this.rooms.values()]) await this.endRoom(room, 'ended');
    });
  }

  private async removeParty(room: Room, call: Call, reason: LeaveReason): Promise<void> {
    const party = room.parties.get(call);
    if (!party) return;
    room.parties.delete(call);
    this.roomOf.delete(call);
    call.off('ended', party.onEnded);
    call.off('report', party.onReport);
    await room.media.remove(call).catch(() => undefined);
    this.emitRoom(room, 'leave', { party: this.partySnapshot(party), reason });
    if (reason === 'room-ended') return;
    const exit = exitAudio(party.audio);
    if (exit && room.state === 'started' && room.parties.size > 0 && !party.options.endsRoom) room.media.play(exit);
    if (party.options.endsRoom) await this.endRoom(room, 'ends-room');
    else if (room.parties.size === 0) await this.endRoom(room, 'last-left');
  }

  private async endRoom(room: Room, reason: 'last-left' | 'ends-room' | 'ended'): Promise<void> {
    if (this.rooms.get(room.name) !== room) return;
    for (const call of [...room.parties.keys()]) await this.removeParty(room, call, 'room-ended');
    this.rooms.delete(room.name);
    const recording = await room.media.close().catch(() => undefined);
    this.emitRoom(room, 'room-end', { reason, ...(recording ? { recording } : {}) });
  }

  /**
   * A key the party pressed: its leave digit takes it out; its mute digit mutes it (toggles its mute
   * when it has no unmute digit); its unmute digit unmutes it.
   */
  private onDigit(call: Call, r: CallReport): void {
    if (r.topic !== 'dtmf') return;
    const party = this.roomOf.get(call)?.parties.get(call);
    const digit = String(r.payload.digit ?? '').toUpperCase();
    if (!party || digit === '') return;
    if (digit === party.options.leaveDigit) {
      void this.serial(async () => {
        const room = this.roomOf.get(call);
        if (room) await this.removeParty(room, call, 'digit');
      }).catch(() => undefined);
    } else if (digit === party.options.muteDigit) {
      void this.update(call, { muted: party.options.unmuteDigit ? true : !party.options.muted }).catch(() => undefined);
    } else if (digit === party.options.unmuteDigit) {
      void this.update(call, { muted: false }).catch(() => undefined);
    }
  }

  private onTalk(call: Call, talking: boolean, levelDbfs: number): void {
    const room = this.roomOf.get(call);
    const party = room?.parties.get(call);
    if (!room || !party || party.talking === talking) return;
    party.talking = talking;
    this.emitRoom(room, talking ? 'talking' : 'silent', { party: this.partySnapshot(party), levelDbfs });
  }

  private emitRoom(room: Room, topic: RoomEventTopic, extra: Partial<RoomEvent>): void {
    this.emit('event', roomEvent(room, topic, extra, (p) => this.partySnapshot(p)));
  }

  private snapshot(room: Room): RoomSnapshot {
    return roomSnapshot(room, (p) => this.partySnapshot(p), room.allMuted);
  }

  private partySnapshot(p: Party): PartySnapshot {
    const o = p.options;
    const number = p.call.remote.number;
    return {
      call: p.call.id,
      ...(number ? { number } : {}),
      muted: o.muted,
      deaf: o.deaf,
      moderator: o.moderator,
      startsRoom: o.startsRoom,
      endsRoom: o.endsRoom,
      talking: p.talking,
      joinedAt: p.joinedAt.toISOString(),
      ...(o.leaveDigit ? { leaveDigit: o.leaveDigit } : {}),
      ...(o.muteDigit ? { muteDigit: o.muteDigit } : {}),
      ...(o.unmuteDigit ? { unmuteDigit: o.unmuteDigit } : {}),
      ...(o.tags.length > 0 ? { tags: [...o.tags] } : {}),
      ...(o.whisperTo ? { whisperTo: o.whisperTo } : {}),
    };
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}
