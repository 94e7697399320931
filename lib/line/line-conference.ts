import type { Call } from '../call/call';
import { CallState } from '../call/call-state';
import type { ConferenceCapability } from '../capabilities/conference';
import { checkMediaValue, checkRoomOptions, loadPartyAudio, PARTY_MEDIA_NAMES, PartyMediaName } from '../conference/room-media';
import { ConferenceRooms, PartyOptions, RoomEvent, RoomSnapshot } from '../conference/rooms';
import { CallStateError, InvalidInputError, LineNotReadyError, NotSupportedError } from '../errors';
import { describe } from '../validate';
import type { FilePlace } from './file-paths';
import type { VoiceLine } from './voice-line';

/** The actions of `voice-conference` (docs/conference.md). */
export const CONFERENCE_ACTIONS = ['join', 'leave', 'mute', 'unmute', 'deaf', 'undeaf', 'kick', 'end', 'get-room', 'bridge'] as const;
export type ConferenceAction = (typeof CONFERENCE_ACTIONS)[number];

/** What a party action gives: the call, and its room as it is afterwards. */
export interface PartyResult {
  call: Call;
  room: RoomSnapshot;
}

/** The longest room name. */
export const MAX_ROOM_NAME = 100;

const PARTY_OPTION_NAMES = ['muted', 'deaf', 'moderator', 'startsRoom', 'endsRoom', 'talkThresholdDbfs', 'beepOnEntry', 'leaveDigit', 'muteDigit', ...PARTY_MEDIA_NAMES] as const;

/**
 * Where the files a join names are (party media, the room recording), per option name: relative
 * paths are resolved against `folder`; a path from a message stays inside it (lib/line/file-paths.ts).
 * None: paths must be absolute.
 */
export type ConferenceFiles = (option: PartyMediaName | 'record') => FilePlace | undefined;

/** A join's extras: the room's options (used when the join creates the room) and where its files are. */
export interface JoinExtras {
  roomOptions?: unknown;
  files?: ConferenceFiles;
}

/**
 * The line's conference rooms (docs/conference.md): validates what a flow gives, resolves the
 * call, and runs the rooms (lib/conference/rooms.ts) over the backend's `conference` capability,
 * which mixes. Room events (`room-start`, `join`, `leave`, `talking`, `silent`, `room-end`) are
 * emitted as `event` by {@link LineConference.rooms}. A line without the capability (AT) refuses
 * with a NotSupportedError.
 */
export class LineConference {
  readonly rooms: ConferenceRooms;

  constructor(readonly line: VoiceLine) {
    this.rooms = new ConferenceRooms(() => this.capability());
  }

  /**
   * Puts a connected call into room `name` (created on first use) with the party's options; a call in
   * another room moves. `ref`: a call id or snapshot; none: the line's only connected call in no room.
   * `extras.roomOptions` (`maxParties`, `record`) count only when this join creates the room. The
   * party's media files are read, and the recording's path checked, before anything changes.
   */
  async join(ref: unknown, name: unknown, options: unknown = {}, extras: JoinExtras = {}): Promise<PartyResult> {
    const room = checkRoomName(name);
    const o = checkPartyOptions(options);
    this.capability();
    const call = this.line.resolveCall(ref, 'join to a conference room', (c) => c.state === CallState.Active && this.rooms.roomNameOf(c) === null);
    const files: ConferenceFiles = extras.files ?? (() => undefined);
    const exists = this.rooms.get(room) !== null;
    const roomOptions = exists ? {} : await checkRoomOptions(extras.roomOptions, files('record'));
    const audio = await loadPartyAudio(o, files);
    return { call, room: await this.rooms.join(call, room, o, { audio, room: roomOptions }) };
  }

  /**
   * Connects two connected calls to each other (click-to-call on a trunk that refuses REFER): a
   * two-party room named `bridge:<first call id>` where both parties end the room when they leave,
   * so the bridge ends when either call leaves or ends (the other call stays up). Its events are
   * room events like any room's. Both calls must be named (a call id or snapshot each), and differ.
   */
  async bridge(ref: unknown, target: unknown): Promise<{ call: Call; target: Call; room: RoomSnapshot }> {
    if (ref === undefined || ref === null || ref === '' || target === undefined || target === null || target === '') {
      throw new InvalidInputError('a bridge needs two calls: msg.call and msg.target (call ids or call objects)');
    }
    this.capability();
    const a = this.line.resolveCall(ref, 'bridge', () => true);
    const b = this.line.resolveCall(target, 'bridge', () => true);
    if (a === b) throw new InvalidInputError(`a call cannot be bridged to itself (${a.id})`);
    for (const c of [a, b]) {
      if (c.state !== CallState.Active) throw new CallStateError(`call ${c.id} is ${c.state}: only connected calls can be bridged`);
    }
    const name = `bridge:${a.id}`;
    await this.rooms.join(a, name, { endsRoom: true });
    try {
      return { call: a, target: b, room: await this.rooms.join(b, name, { endsRoom: true }) };
    } catch (err) {
      await this.rooms.leave(a).catch(() => undefined);
      throw err;
    }
  }

  /** Takes a call out of its room (`ref`: none means the line's only call in a room). */
  async leave(ref: unknown): Promise<PartyResult> {
    const call = this.partyCall(ref, 'take out of its conference room');
    return { call, room: await this.rooms.leave(call, 'left') };
  }

  /** As leave, reported `kicked`. The call stays up. */
  async kick(ref: unknown): Promise<PartyResult> {
    const call = this.partyCall(ref, 'kick out of its conference room');
    return { call, room: await this.rooms.leave(call, 'kicked') };
  }

  async setMuted(ref: unknown, muted: boolean): Promise<PartyResult> {
    const call = this.partyCall(ref, muted ? 'mute in its room' : 'unmute in its room');
    return { call, room: await this.rooms.update(call, { muted }) };
  }

  async setDeaf(ref: unknown, deaf: boolean): Promise<PartyResult> {
    const call = this.partyCall(ref, deaf ? 'make deaf in its room' : 'let hear in its room');
    return { call, room: await this.rooms.update(call, { deaf }) };
  }

  async end(name: unknown): Promise<RoomSnapshot> {
    return this.rooms.end(checkRoomName(name));
  }

  /** A room now: `null` when there is no room of that name. */
  getRoom(name: unknown): RoomSnapshot | null {
    return this.rooms.get(checkRoomName(name));
  }

  /** Room events, for a listener (the voice-conference node). Returns the function that stops it. */
  onEvent(listener: (ev: RoomEvent) => void): () => void {
    this.rooms.on('event', listener);
    return () => this.rooms.off('event', listener);
  }

  private partyCall(ref: unknown, action: string): Call {
    return this.line.resolveCall(ref, action, (c) => this.rooms.roomNameOf(c) !== null);
  }

  private capability(): ConferenceCapability {
    const backend = this.line.backend;
    if (backend && !backend.conference) {
      throw new NotSupportedError(`conference rooms are not supported on this line yet (${backend.description})`);
    }
    if (!backend || !backend.ready) throw new LineNotReadyError('the line is not ready');
    return backend.conference as ConferenceCapability;
  }
}

/** A room name: 1–100 characters, not blank. */
export function checkRoomName(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_ROOM_NAME) {
    throw new InvalidInputError(`the room must be a name of 1 to ${MAX_ROOM_NAME} characters, got ${describe(value)}`);
  }
  return value;
}

/**
 * A party's options: `muted`, `deaf`, `moderator`, `startsRoom`, `endsRoom`, `beepOnEntry` (true /
 * false), `talkThresholdDbfs` (−90 to 0), `leaveDigit` / `muteDigit` (one DTMF key; different keys),
 * `prefixMedia` / `entryMedia` / `exitMedia` / `waitMedia` (a tone or a .wav path, read at the join).
 */
export function checkPartyOptions(value: unknown): Partial<PartyOptions> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new InvalidInputError(`the party options must be an object, got ${describe(value)}`);
  const out: Partial<PartyOptions> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (!(PARTY_OPTION_NAMES as readonly string[]).includes(key)) {
      throw new InvalidInputError(`unknown party option ${JSON.stringify(key)}: the options are ${PARTY_OPTION_NAMES.join(', ')}`);
    }
    if (key === 'talkThresholdDbfs') {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < -90 || v > 0) {
        throw new InvalidInputError(`talkThresholdDbfs must be a level from -90 to 0 dBFS, got ${describe(v)}`);
      }
      out.talkThresholdDbfs = v;
    } else if ((PARTY_MEDIA_NAMES as readonly string[]).includes(key)) {
      out[key as PartyMediaName] = checkMediaValue(key as PartyMediaName, v);
    } else if (key === 'leaveDigit' || key === 'muteDigit') {
      if (v === null || v === '') {
        out[key] = null;
        continue;
      }
      if (typeof v !== 'string' || !/^[0-9*#A-Da-d]$/.test(v)) throw new InvalidInputError(`${key} must be one DTMF key (0-9, *, #, A-D), got ${describe(v)}`);
      out[key] = v.toUpperCase();
    } else {
      if (typeof v !== 'boolean') throw new InvalidInputError(`${key} must be true or false, got ${describe(v)}`);
      (out as Record<string, boolean>)[key] = v;
    }
  }
  if (out.leaveDigit && out.leaveDigit === out.muteDigit) throw new InvalidInputError(`leaveDigit and muteDigit must be different keys, both are ${out.leaveDigit}`);
  return out;
}
